"""What every adapter shares: building the guard and reading the request path."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeAlias, TypeVar
from urllib.parse import quote, urlsplit

from ..config import Config
from ..guard import Guard
from ..verdict import Verdict

ConfigSource: TypeAlias = str | os.PathLike[str] | Mapping[str, Any] | Config

logger = logging.getLogger("webhook_guard")

T = TypeVar("T")

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
    if isinstance(config, Config):
        return Guard(config)
    # Built from the file or mapping itself, so that guard.reload() can re-read it.
    return Guard.from_dict(config) if isinstance(config, Mapping) else Guard.from_file(config)


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


class SettleWhenSent(Generic[T]):
    """A streamed response body that settles the verdict's event once it was sent.

    A WSGI framework has a streamed response's status before the view's iterator ran, so
    settling then would commit an event whose handler may still fail. As under ASGI,
    where the app returns only once the stream is done: committed (status < 500) after the
    last chunk; released when the stream raises, or is closed before its end (the client
    went away, or the server never started it), so the provider's retry is processed.
    """

    def __init__(self, body: Iterable[T], guard: Guard, verdict: Verdict, status: int) -> None:
        self._body = body
        self._guard = guard
        self._verdict = verdict
        self._status = status

    def __iter__(self) -> Iterator[T]:
        try:
            yield from self._body
        except BaseException:
            self._guard.complete(self._verdict, None)
            raise
        self._guard.complete(self._verdict, self._status)

    def close(self) -> None:
        """Called by the server (PEP 3333) or Django once the response is done."""
        self._guard.complete(self._verdict, None)  # nothing left to do once settled
        close = getattr(self._body, "close", None)
        if close is not None:
            close()


async def asettle_when_sent(
    body: AsyncIterable[T], guard: Guard, verdict: Verdict, status: int
) -> AsyncIterator[T]:
    """Async twin of :class:`SettleWhenSent` (Django's async streaming responses, which
    Django's ASGI handler always iterates)."""
    try:
        async for chunk in body:
            yield chunk
    except BaseException:
        await guard.acomplete(verdict, None)
        raise
    await guard.acomplete(verdict, status)
