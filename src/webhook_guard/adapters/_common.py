"""What every adapter shares: building the guard, and the refusal for an oversized body."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, TypeAlias

from ..config import Config, load_config
from ..guard import Guard
from ..verdict import Reason, Verdict

ConfigSource: TypeAlias = str | os.PathLike[str] | Mapping[str, Any] | Config

logger = logging.getLogger("webhook_guard")


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
