"""What every adapter shares: building the guard, and the refusal for an oversized body."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, TypeAlias
from urllib.parse import quote, urlsplit

from ..config import Config, load_config
from ..guard import Guard
from ..verdict import Reason, Verdict

ConfigSource: TypeAlias = str | os.PathLike[str] | Mapping[str, Any] | Config

logger = logging.getLogger("webhook_guard")

# Characters a decoded path keeps unencoded when it has to be re-encoded (RFC 3986 pchar).
SAFE_PATH = "/!$&'()*+,;=:@~"


def resolve_guard(config: ConfigSource | None, guard: Guard | None, owner: str) -> Guard:
    """The guard an adapter was given, or one built from ``config``.

    Raises:
        TypeError: both or neither were given.
        ConfigError: the configuration is invalid.
    """
    if guard is not None and config is not None:
        raise TypeError(f"{owner}: pass either config= or guard=, not both")
    if guard is not None:
        if not isinstance(guard, Guard):
            raise TypeError(f"{owner}: guard= must be a webhook_guard.Guard, got {guard!r}")
        return guard
    if config is None:
        raise TypeError(
            f"{owner}: pass config= (a YAML file path, a mapping or a Config) or guard="
        )
    return Guard(config if isinstance(config, Config) else load_config(config))


def body_too_large(pre: Verdict, limit: int) -> Verdict:
    """The refusal for a body without Content-Length that grew past ``limit`` while read.

    (A declared Content-Length over the limit is refused by ``Guard.precheck`` already.)
    """
    detail = f"the body exceeds the limit of {limit} bytes"
    logger.info(
        "webhook rejected: route=%s reason=%s client_ip=%s detail=%s",
        pre.route,
        Reason.BODY_TOO_LARGE.value,
        pre.client_ip,
        detail,
    )
    return Verdict(
        ok=False,
        reason=Reason.BODY_TOO_LARGE,
        status=Reason.BODY_TOO_LARGE.status,
        detail=detail,
        route=pre.route,
        client_ip=pre.client_ip,
    )


def wsgi_path(environ: Mapping[str, Any]) -> str:
    """The request path as sent, from a WSGI environ (or Django's ``META``).

    Servers that keep the raw request target (werkzeug, gunicorn: ``RAW_URI``,
    ``REQUEST_URI``) let the guard see encoded tricks such as ``%2F``; otherwise the decoded
    ``SCRIPT_NAME + PATH_INFO`` (latin-1 per PEP 3333) is re-encoded.
    """
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path: str = raw.partition("?")[0]
        if not path.startswith("/"):  # absolute-form target: "POST http://host/path"
            path = urlsplit(path).path or "/"
        return path
    decoded = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    return quote(decoded.encode("latin-1", "replace"), safe=SAFE_PATH)
