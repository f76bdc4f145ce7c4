"""Limits on what a client may make ``webhook-guard serve`` hold: time to send a request,
size and number of header lines.

uvicorn's h11 parser bounds only a request head that is still arriving (what it buffers,
16 KiB), and uvicorn closes a connection left idle *after* a response
(``timeout_keep_alive``), but it has no deadline for a request: a connection that never
sends a byte, a request head or body trickled one byte at a time, or a body that is
never finished, holds a socket forever (slowloris). With httptools, which uvicorn picks
when installed, no head limit can be set at all. So ``serve`` runs uvicorn's h11 protocol with
two deadlines (``_h11_deadlines``), and measures each request head in front of the
application (:func:`limit_head`). The rationale is in docs/threat-model.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .verdict import PROBLEM_CONTENT_TYPE

if TYPE_CHECKING:  # the CLI imports this module; no ASGI stack is needed for that
    from .adapters.asgi import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True)
class ClientLimits:
    """What one client connection may cost ``webhook-guard serve``.

    Attributes:
        header_timeout: seconds for the whole request line and headers to arrive, counted
            from the connection opening or from the end of the previous response on it.
        body_timeout: seconds for the whole body to arrive once the headers are in. It
            also runs when the proxy answered without reading the body (a refusal), so
            the rest cannot be trickled in afterwards either.
        max_header_bytes: most bytes of request line plus headers (more: 431, or 400
            when the parser sees the overflow while the head is still arriving; closed).
        max_headers: most header lines (more: 431, closed).
        keep_alive_timeout: seconds an idle connection is kept open after a response.
    """

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_header_bytes: int = 16_384
    max_headers: int = 100
    keep_alive_timeout: int = 5

    def __post_init__(self) -> None:
        for name in ("header_timeout", "body_timeout", "max_header_bytes", "max_headers"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.keep_alive_timeout < 1:
            raise ValueError(f"keep_alive_timeout must be >= 1, got {self.keep_alive_timeout}")

    def uvicorn_options(self) -> dict[str, Any]:
        """The ``uvicorn.Config`` keyword arguments that apply these limits."""
        from ._h11_deadlines import deadline_protocol  # needs uvicorn (the proxy extra)

        return {
            "http": deadline_protocol(self),
            "h11_max_incomplete_event_size": self.max_header_bytes,
            "timeout_keep_alive": self.keep_alive_timeout,
        }


def _head_size(scope: Scope) -> int:
    """The size of the request line and headers as the client could have sent them
    most compactly (no optional whitespace)."""
    query = scope.get("query_string", b"")
    target = len(scope.get("raw_path") or scope["path"].encode()) + (len(query) + 1 if query else 0)
    line = len(scope["method"]) + 1 + target + len(" HTTP/1.1\r\n")
    return line + sum(len(n) + len(v) + 4 for n, v in scope["headers"]) + 2


def limit_head(app: ASGIApp, limits: ClientLimits) -> ASGIApp:
    """Answer 431 and close, before ``app`` sees it, a request whose head is over
    ``limits.max_header_bytes`` or has more than ``limits.max_headers`` lines.

    The server's parser bounds only a head that is still arriving (what it buffers); one
    that arrives in a single read is parsed whole, whatever its size. And within the
    size, thousands of one-byte lines would each cost an entry in every header table
    built downstream.
    """

    def refusal(detail: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
        body = json.dumps(
            {"type": "urn:webhook-guard:proxy:request_head_too_large",
             "title": "Request header fields too large", "status": 431, "detail": detail},
            separators=(",", ":"),
        ).encode()  # fmt: skip
        headers = [
            (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        return headers, body

    too_many = refusal(f"more than {limits.max_headers} header lines")
    too_big = refusal(f"request line and headers over {limits.max_header_bytes} bytes")

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = (
                too_many
                if len(scope["headers"]) > limits.max_headers
                else too_big
                if _head_size(scope) > limits.max_header_bytes
                else None
            )
            if refused is not None:
                await send({"type": "http.response.start", "status": 431, "headers": refused[0]})
                await send({"type": "http.response.body", "body": refused[1]})
                return
        await app(scope, receive, send)

    return limited


__all__ = ["ClientLimits", "limit_head"]
