"""What every adapter shares: building the guard, reading the request path, and keeping
URL tokens out of the server's access log."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeAlias, TypeVar
from urllib.parse import quote, unquote_plus

from ..config import Config
from ..guard import Guard
from ..routes import SAFE_PATH
from ..verdict import Verdict

ConfigSource: TypeAlias = str | os.PathLike[str] | Mapping[str, Any] | Config

logger = logging.getLogger("webhook_guard")

T = TypeVar("T")

# The scheme and authority of an absolute-form request target ("POST http://host/path").
_ABSOLUTE_FORM = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
_NON_ASCII = re.compile(rb"[\x80-\xff]")


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
        redact_access_logs(guard)
        return guard
    if config is None:
        raise TypeError(
            f"{owner}: pass config= (a YAML file path, a mapping or a Config) or guard="
        )
    if isinstance(config, Config):
        built = Guard(config)
    else:
        # Built from the file or mapping itself, so that guard.reload() can re-read it.
        built = Guard.from_dict(config) if isinstance(config, Mapping) else Guard.from_file(config)
    redact_access_logs(built)
    return built


#: The access loggers of the servers the adapters run under (uvicorn, gunicorn, Flask's
#: werkzeug, Django's runserver, hypercorn); each writes the request's query string.
ACCESS_LOGGERS = (
    "uvicorn.access",
    "gunicorn.access",
    "werkzeug",
    "django.server",
    "hypercorn.access",
)
_QUERY = re.compile(r"(/[^\s?\"]*)\?([^\s\"]*)")


class QueryRedactor(logging.Filter):
    """Logging filter that hides query strings (or only the named parameters' values) in
    access log lines, where a URL token (``?token=...``) would otherwise be written.

    It rewrites the record's arguments, whatever shape the server logs them in: uvicorn,
    hypercorn and Django pass a tuple, gunicorn a mapping of its log atoms, werkzeug
    a tuple after a preformatted message.
    """

    def __init__(self, params: frozenset[str] | None = None) -> None:
        super().__init__()
        self.params = params
        """Parameter names whose values are hidden; None: the whole query string."""

    def _redact(self, text: str) -> str:
        def repl(m: re.Match[str]) -> str:
            if self.params is None:
                return f"{m.group(1)}?[redacted]"
            pairs = m.group(2).split("&")
            kept = [
                f"{pair.partition('=')[0]}=[redacted]"
                if unquote_plus(pair.partition("=")[0]) in self.params
                else pair
                for pair in pairs
            ]
            return f"{m.group(1)}?{'&'.join(kept)}"

        return _QUERY.sub(repl, text) if "?" in text else text

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(self._redact(a) if isinstance(a, str) else a for a in args)
        elif isinstance(args, dict):
            # gunicorn and hypercorn: a dict of log atoms ("r" the request line, "q" the
            # bare query), of their own dict type, whose lookups of header atoms must stay.
            for key, value in args.items():
                if isinstance(value, str):
                    args[key] = (
                        self._redact("/?" + value)[2:] if key == "q" else self._redact(value)
                    )
        if isinstance(record.msg, str):
            record.msg = self._redact(record.msg)
        return True


#: One filter per set of parameter names, so that building many guards adds none twice.
_REDACTORS: dict[frozenset[str] | None, QueryRedactor] = {}


def redact_access_logs(guard: Guard) -> None:
    """Hide the values of ``guard``'s query tokens in the access logs of the servers in
    :data:`ACCESS_LOGGERS` (the rest of the query stays, for the application's own
    debugging). Every adapter calls it when it gets its guard.
    """
    names = frozenset(
        r.token.name
        for r in guard.config.routes
        if r.token is not None and r.token.source == "query" and r.token.name
    )
    if names:
        redactor = _REDACTORS.setdefault(names, QueryRedactor(names))
        for logger_name in ACCESS_LOGGERS:
            logging.getLogger(logger_name).addFilter(redactor)


_WHOLE_QUERY = _REDACTORS.setdefault(None, QueryRedactor())


def redact_query(record: logging.LogRecord) -> bool:
    """Logging filter: drop the whole query string from access log lines (the proxy's,
    whose routes may carry a URL token anywhere in the query)."""
    return _WHOLE_QUERY.filter(record)


#: The two headers PEP 3333 (from CGI) gives without the ``HTTP_`` prefix.
_UNPREFIXED = (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length"))


def wsgi_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request headers of a WSGI environ (or Django's ``META``), by lower-case name.

    The same headers werkzeug's ``EnvironHeaders`` lists (an empty ``CONTENT_TYPE`` or
    ``CONTENT_LENGTH`` is absent), read straight from the environ into the one dict the
    guard indexes as it is: going through the framework's header view built a title-case
    name per header and a list of pairs (under Django, a third of the adapter's cost).
    """
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key[:5] == "HTTP_" and key != "HTTP_CONTENT_TYPE" and key != "HTTP_CONTENT_LENGTH"
    }
    for key, name in _UNPREFIXED:
        value = environ.get(key)
        if value:
            headers[name] = value
    return headers


def wsgi_path(environ: Mapping[str, Any]) -> str:
    """The request path as sent, from a WSGI environ (or Django's ``META``).

    Servers that keep the raw request target (werkzeug, gunicorn: ``RAW_URI``,
    ``REQUEST_URI``) let the guard see encoded tricks such as ``%2F``; otherwise the decoded
    ``SCRIPT_NAME + PATH_INFO`` (latin-1 per PEP 3333) is re-encoded.
    """
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        try:
            return target_path(raw.encode("latin-1"))  # PEP 3333: bytes as latin-1
        except UnicodeEncodeError:  # not from a server: read it as the text it is
            return target_path(raw.encode("utf-8", "surrogatepass"))
    decoded = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    return quote(decoded.encode("latin-1", "replace"), safe=SAFE_PATH)


def target_path(raw: bytes) -> str:
    """The path of a raw request target, as the guard reads it.

    Cut before the query; an absolute-form target (``http://host/path``) loses its scheme
    and authority. Anything else is kept as sent, a fragment (``#``) included, so the
    guard can refuse what servers read differently. Bytes outside ASCII, which a target
    may not contain unencoded, are percent-encoded: the guard then reads them as the
    UTF-8 they must be, and refuses them when they are not.
    """
    path = raw.partition(b"?")[0]
    if not path.startswith(b"/"):
        absolute = _ABSOLUTE_FORM.match(path)
        if absolute is not None:
            path = path[absolute.end() :] or b"/"
    if not path.isascii():
        path = _NON_ASCII.sub(lambda m: b"%%%02X" % m.group()[0], path)
    return path.decode("ascii")


def wsgi_peer(environ: Mapping[str, Any]) -> str | None:
    """The socket peer from a WSGI environ (or Django's ``META``).

    werkzeug's ``ProxyFix`` replaces ``REMOTE_ADDR`` with a value from ``X-Forwarded-For``,
    which the client may have written, and keeps the server's own value in
    ``werkzeug.proxy_fix.orig``: the guard takes that one and finds the client under its
    own ``network`` rules, so a client's header never becomes the socket peer.
    """
    orig = environ.get("werkzeug.proxy_fix.orig")
    if isinstance(orig, Mapping) and "REMOTE_ADDR" in orig:
        peer = orig["REMOTE_ADDR"]
    else:
        peer = environ.get("REMOTE_ADDR")
    return peer if isinstance(peer, str) and peer else None


class SettleWhenSent(Generic[T]):
    """A streamed response body that settles the verdict's event once it was sent.

    A WSGI framework has a streamed response's status before the view's iterator ran, so
    settling then would commit an event whose handler may still fail. As under ASGI,
    where the app returns only once the stream is done: committed (2xx) after the
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
