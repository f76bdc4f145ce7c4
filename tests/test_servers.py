"""The real servers other tests rely on start, answer and stop (a missing one fails here)."""

from __future__ import annotations

import socket
import urllib.request

from .servers import nginx, redis_server, serve_asgi


def test_redis_server_answers_ping() -> None:
    with redis_server() as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"PING\r\n")
            assert sock.recv(64) == b"+PONG\r\n"


def test_nginx_proxies_to_uvicorn_and_sets_forwarded_for() -> None:
    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        xff = dict(scope["headers"]).get(b"x-forwarded-for", b"-")
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": xff})  # type: ignore[operator]

    with serve_asgi(app) as upstream:
        block = (
            f"location / {{ proxy_pass {upstream};"
            " proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }"
        )
        with nginx(block) as port:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/x", headers={"X-Forwarded-For": "198.51.100.7"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback URL built here)
                assert response.read() == b"198.51.100.7, 127.0.0.1"
