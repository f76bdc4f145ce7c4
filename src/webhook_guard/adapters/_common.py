"""What every adapter shares: building the guard and reading the request path."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, TypeAlias
from urllib.parse import quote, urlsplit

from ..config import Config, load_config
from ..guard import Guard

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
