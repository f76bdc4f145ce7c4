"""``webhook-guard demo``: a local app behind the verifying proxy, and a stream of genuine and
hostile deliveries, with what happened to each. Needs the ``proxy`` extra, nothing else.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from .adapters.asgi import Receive, Scope, Send
from .guard import Guard
from .proxy import create_proxy
from .testing import sign

GITHUB_SECRET = "demo-github-secret"
GITHUB_HOOK_IP = "140.82.115.4"  # inside GitHub's published `hooks` range
ATTACKER_IP = "198.51.100.23"

#: The demo's configuration, as it would be written in webhook-guard.yaml.
CONFIG: dict[str, Any] = {
    "version": 1,
    # The demo's client plays the load balancer in front of the guard too: loopback is
    # the trusted proxy whose X-Forwarded-For is believed (walked right to left).
    "network": {"trusted_proxies": ["loopback"], "client_ip": "x-forwarded-for"},
    "routes": [
        {
            "name": "orders",
            "path": "/hooks/orders",
            "provider": "standard",
            "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        },
        {
            "name": "git",
            "path": "/deploy/webhooks/v1/git/*",
            "provider": "github",
            "secrets": [GITHUB_SECRET],
            "token": {"query": "token", "secrets": ["demo-url-token"]},
            "allow_ips": ["github"],  # GitHub's published `hooks` ranges
        },
    ],
}


class DeployServer:
    """The application behind the proxy: it trusts whatever reaches it."""

    def __init__(self) -> None:
        self.received: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        self.received.append(f"{scope['method']} {scope['path']}")
        body = b'{"build": "queued"}'
        if not scope["path"].startswith(("/hooks/", "/deploy/webhooks/")):
            body = b'{"admin": "every pipeline and credential"}'
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 202, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@contextlib.contextmanager
def _serve(app: Any, port: int = 0) -> Iterator[str]:
    """Run an ASGI app on uvicorn in a thread, on ``port`` of loopback (0: a free one)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="critical", lifespan="on", proxy_headers=False, server_header=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the demo server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _github(body: bytes, delivery: str, key: str = GITHUB_SECRET) -> dict[str, str]:
    # What GitHub sends (docs.github.com, "Validating webhook deliveries").
    digest = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": f"sha256={digest}",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "Content-Type": "application/json",
    }


#: Sends one delivery: (label, path, body, headers).
_Send = Callable[[str, str, bytes, dict[str, str]], None]


class _Narrator:
    """Sends one delivery through the proxy and says what happened to it."""

    def __init__(self, proxy: str, app: DeployServer, out: Any) -> None:
        self.proxy = proxy
        self.app = app
        self.out = out
        self.seen = 0

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def send(self, label: str, path: str, body: bytes, headers: dict[str, str]) -> None:
        # http.client sends the path exactly as written (httpx would resolve "..").
        conn = http.client.HTTPConnection(self.proxy.removeprefix("http://"), timeout=10)
        try:
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            status, text = response.status, response.read().decode()
        finally:
            conn.close()
        reached = len(self.app.received) > self.seen
        self.seen = len(self.app.received)
        if reached:
            self.say(f"{label:<48} forwarded; the app answered {status} {text}")
            return
        try:
            problem = json.loads(text)
        except ValueError:
            problem = {}
        self.say(f"{label:<48} {status} {problem.get('reason', '?')}; the app never saw it")
        if problem.get("detail"):
            self.say(f"{'':<48}   {problem['detail']}")


def _orders_scenes(guard: Guard, send: _Send) -> None:
    """Standard Webhooks: a genuine delivery, then a replay, a tampered body, a stale one."""
    order = json.dumps({"type": "order.created", "id": 1234, "total": "9.99"}).encode()
    signed = sign(guard, "orders", order, event_id="msg_demo_1")
    send("1. genuine signed delivery", "/hooks/orders", order, signed)
    send("2. the same delivery again (replay)", "/hooks/orders", order, signed)
    tampered = order.replace(b"9.99", b"0.01")
    send("3. body tampered in transit", "/hooks/orders", tampered, signed)
    stale = sign(guard, "orders", order, event_id="msg_demo_2", timestamp=int(time.time()) - 412)
    send("4. captured and replayed 412 s later", "/hooks/orders", order, stale)


def _github_scenes(send: _Send) -> None:
    """GitHub: the genuine push, then a spoofed address, a guessed token, a guessed secret,
    and the upstream's other pages however the path is spelled."""
    push = json.dumps({"ref": "refs/heads/main", "after": "9f3c1e2"}).encode()
    git = "/deploy/webhooks/v1/git/push?token=demo-url-token"
    from_github = {"X-Forwarded-For": GITHUB_HOOK_IP}
    send(
        f"5. GitHub push from {GITHUB_HOOK_IP}",
        git,
        push,
        {**_github(push, "d1"), **from_github},
    )
    # The attacker writes GitHub's address into X-Forwarded-For; the load balancer
    # appends the real one. The guard walks right to left and finds the attacker.
    spoofed = {"X-Forwarded-For": f"{GITHUB_HOOK_IP}, {ATTACKER_IP}"}
    send(
        f"6. {ATTACKER_IP} claiming to be {GITHUB_HOOK_IP}",
        git,
        push,
        {**_github(push, "d2"), **spoofed},
    )
    send(
        "7. GitHub push with a guessed URL token",
        git.replace("demo-url-token", "guess"),
        push,
        {**_github(push, "d3"), **from_github},
    )
    send(
        "8. GitHub push signed with a guessed secret",
        git,
        push,
        {**_github(push, "d4", key="guessed-secret"), **from_github},
    )
    send("9. the deploy server's admin page", "/admin", b"", from_github)
    send("10. ...spelled /hooks/orders/../../admin", "/hooks/orders/../../admin", b"", {})
    send("11. ...spelled /hooks/orders/%2e%2e/admin", "/hooks/orders/%2e%2e/admin", b"", {})


def run_demo(out: Any = None, port: int = 0) -> int:
    """Run the walkthrough, printing to ``out`` (default stdout). Returns an exit code.

    ``port``: where the proxy listens on loopback (0: a free port).

    Raises:
        OSError: ``port`` cannot be bound (in use, or privileged).
    """
    guard = Guard.from_dict(CONFIG)
    app = DeployServer()
    with _serve(app) as upstream, _serve(create_proxy(guard, upstream), port) as proxy:
        narrator = _Narrator(proxy, app, out)
        say = narrator.say
        say(f"A deploy server (the upstream) runs at {upstream}; nothing protects it itself.")
        say(f"webhook-guard runs in front of it at {proxy} and exposes only two routes:")
        say("  /hooks/orders              Standard Webhooks signature, timestamp, event ID")
        say("  /deploy/webhooks/v1/git/*  GitHub HMAC + URL token + GitHub's source addresses")
        say()
        _orders_scenes(guard, narrator.send)
        _github_scenes(narrator.send)
        say()
        say(f"The deploy server received {len(app.received)} of 11 requests:")
        for line in app.received:
            say(f"  {line}")
    return 0


__all__ = ["CONFIG", "DeployServer", "run_demo"]
