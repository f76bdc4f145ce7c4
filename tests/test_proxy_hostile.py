"""`webhook-guard serve` under hostile clients, as a real process on real sockets: slow
and idle connections (slowloris), oversized request heads, gzip bombs, and the verified
token that must not travel on to the application or into the log.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import hmac
import http.client
import itertools
import json
import os
import select
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import free_port, run_process, serve_asgi
from tests.test_proxy import Upstream, serve_args
from webhook_guard.cli import main
from webhook_guard.proxy import _without_param
from webhook_guard.proxy_limits import ClientLimits

GH_SECRET = "gh-secret-for-hostile-tests"
QUERY_TOKEN = "qtok-8c1d9e"
HEADER_TOKEN = "htok-5a7b3f"
BASIC_PASSWORD = "bpass-2e6f0a"
SIGNED_ROUTE_TOKEN = "stok-91b4c2"
GITLAB_TOKEN = "gltok-3d8e51"
BODY_LIMIT = 262_144


def token_route(name: str, path: str, token: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"name": name, "path": path, "token": token, "event_id": "none", **more}


def github_route(name: str, path: str, **more: Any) -> dict[str, Any]:
    return {
        "name": name, "path": path, "provider": "github", "secrets": [GH_SECRET],
        "event_id": "none", **more,
    }  # fmt: skip


CONFIG: dict[str, Any] = {
    "version": 1,
    "routes": [
        github_route("gh", "/hooks/gh", max_body_bytes=BODY_LIMIT),
        token_route("query", "/hooks/query", {"query": "token", "secrets": [QUERY_TOKEN]}),
        token_route("header", "/hooks/header/*", {"header": "X-Token", "secrets": [HEADER_TOKEN]}),
        token_route("basic", "/hooks/basic", {"basic": "deployer", "secrets": [BASIC_PASSWORD]}),
        token_route(
            "forwarded",
            "/hooks/forwarded",
            {"header": "X-Token", "secrets": [HEADER_TOKEN]},
            forward_credentials=True,
        ),
        github_route(
            "signed", "/hooks/signed", token={"query": "key", "secrets": [SIGNED_ROUTE_TOKEN]}
        ),
        {
            "name": "gitlab",
            "path": "/hooks/gitlab",
            "provider": "gitlab",
            "secrets": [GITLAB_TOKEN],
            "event_id": "none",
        },
    ],
}

#: Small limits, so that a test outlives them many times over; `give_up` below is the
#: generous bound within which a hostile connection must have been closed.
HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
GIVE_UP = 30.0
MAX_HEADERS = 40


class Server:
    def __init__(self, url: str, upstream: Upstream, proc: subprocess.Popen[bytes], log: Path):
        self.url = url
        self.port = int(url.rpartition(":")[2])
        self.upstream = upstream
        self.proc = proc
        self.log = log


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("hostile")
    config = tmp / "c.yaml"
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    log = tmp / "serve.log"
    app = Upstream()
    with serve_asgi(app) as upstream_url:
        port = free_port()
        limits = ["--header-timeout", str(HEADER_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT)]
        limits += ["--max-headers", str(MAX_HEADERS), "--log-level", "debug"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # the log is read while it runs
        args = serve_args(config, upstream_url, port, *limits)
        with run_process(args, port, env=env, output=log) as proc:
            yield Server(f"http://127.0.0.1:{port}", app, proc, log)


@pytest.fixture
def upstream(server: Server) -> Upstream:
    server.upstream.seen.clear()
    return server.upstream


def github_signed(body: bytes, secret: str = GH_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Event": "push"}


# -- slowloris ------------------------------------------------------------------------------


def head(path: str, *lines: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\n" + "".join(f"{line}\r\n" for line in lines)
    ).encode()


GENUINE = head("/hooks/header/a", f"X-Token: {HEADER_TOKEN}", "Content-Length: 2") + b"\r\n{}"


class Trickler(threading.Thread):
    """A slowloris client: sends ``prefix`` at once (and reads one response to it when
    ``answered``), then ``drip`` one byte at a time, every ``interval`` seconds, until the
    server closes the connection or ``GIVE_UP`` seconds have passed."""

    def __init__(
        self, port: int, prefix: bytes = b"", drip: bytes = b"", *, answered: bool = False
    ) -> None:
        super().__init__(daemon=True)
        self.port, self.prefix, self.drip, self.answered = port, prefix, drip, answered
        self.closed = False
        self.first_status: int | None = None
        self.dripped = 0

    def run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=GIVE_UP) as sock:
            sock.sendall(self.prefix)
            if self.answered:
                response = http.client.HTTPResponse(sock)
                response.begin()
                response.read()
                self.first_status = response.status
            drops = itertools.cycle(self.drip) if self.drip else None
            deadline = time.monotonic() + GIVE_UP
            while time.monotonic() < deadline:
                try:
                    if drops is not None:
                        sock.send(bytes([next(drops)]))
                        self.dripped += 1
                    readable, _, _ = select.select([sock], [], [], 0.1)
                    if readable and sock.recv(65536) == b"":
                        self.closed = True
                        return
                except OSError:  # reset, broken pipe: closed as well
                    self.closed = True
                    return


def test_slowloris_connections_are_closed_while_genuine_deliveries_pass(
    server: Server, upstream: Upstream
) -> None:
    port = server.port
    filler = b"a"  # a header value that never ends
    clients = {
        "idle": [Trickler(port) for _ in range(20)],
        "head trickled": [Trickler(port, drip=head("/hooks/header/a", "X-Filler: ") + filler)],
        "body trickled": [
            Trickler(
                port,
                head("/hooks/header/a", f"X-Token: {HEADER_TOKEN}", "Content-Length: 100000")
                + b"\r\n",
                b"x",
            )
        ],
        "body trickled after a refusal": [
            Trickler(port, head("/nowhere", "Content-Length: 100000") + b"\r\n", b"x")
        ],
        "idle after a response": [Trickler(port, GENUINE, answered=True)],
        "next head trickled after a response": [
            Trickler(port, GENUINE, head("/hooks/header/a", "X-Filler: ") + filler, answered=True)
        ],
    }
    everyone = [c for group in clients.values() for c in group]
    for client in everyone:
        client.start()
    # Meanwhile a genuine delivery on a fresh connection is served.
    r = httpx.post(
        f"{server.url}/hooks/header/meanwhile", content=b"{}", headers={"X-Token": HEADER_TOKEN}
    )
    assert r.status_code == 202
    # The deadlines cover receiving the request, not the application's answer: an
    # upstream that takes longer than both still gets its delivery answered.
    r = httpx.post(
        f"{server.url}/hooks/header/slow", content=b"{}", headers={"X-Token": HEADER_TOKEN},
        timeout=GIVE_UP,
    )  # fmt: skip
    assert r.status_code == 202
    for client in everyone:
        client.join(GIVE_UP + 10)
    still_open = [name for name, group in clients.items() for c in group if not c.closed]
    assert still_open == []
    assert [c.first_status for c in clients["idle after a response"]] == [202]
    # Nothing trickled ever reached the application: only the complete requests did.
    paths = sorted(s["path"] for s in upstream.seen)
    assert paths == [
        "/hooks/header/a", "/hooks/header/a", "/hooks/header/meanwhile", "/hooks/header/slow",
    ]  # fmt: skip
    # And the server is still fine afterwards.
    r = httpx.post(
        f"{server.url}/hooks/header/after", content=b"{}", headers={"X-Token": HEADER_TOKEN}
    )
    assert r.status_code == 202


# -- oversized request heads ---------------------------------------------------------------


def exchange(port: int, *pieces: bytes) -> tuple[int | None, bytes, bool]:
    """Send the request in ``pieces`` (a moment apart, so that they arrive as separate
    reads); return the response status (None: the connection was reset before one could
    be read), its body, and whether the server then closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=GIVE_UP) as sock:
        # The server may close before it has read all of a huge head.
        with contextlib.suppress(OSError):
            for piece in pieces:
                sock.sendall(piece)
                time.sleep(0.01)
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
            body = response.read()
        except ConnectionResetError:
            # Closing with unread bytes in its buffer makes the kernel reset the
            # connection, which may discard the response already sent.
            return None, b"", True
        try:
            closed = sock.recv(1) == b""
        except OSError:
            closed = True
        return response.status, body, closed


TOKEN_LINE = f"X-Token: {HEADER_TOKEN}"
END = b"Content-Length: 2\r\n\r\n{}"


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize(
    ("request_pieces", "statuses"),
    [
        pytest.param([head("/hooks/header/a", TOKEN_LINE, "X-Big: " + "b" * 20_000) + END],
                     {431}, id="one huge header"),
        pytest.param([head("/hooks/header/" + "p" * 20_000, TOKEN_LINE) + END],
                     {431}, id="huge request line"),
        pytest.param([head("/hooks/header/a", *[f"X-H{i}: v" for i in range(2_000)]) + END],
                     {431}, id="thousands of headers"),
        pytest.param([head("/hooks/header/a", TOKEN_LINE, *[f"X-{i}: v" for i in range(60)]) + END],
                     {431}, id="more headers than max-headers"),
        # Arriving in pieces, the overflow is seen by uvicorn's parser first (400) unless
        # the pieces happen to be read together.
        pytest.param(pieces(head("/hooks/header/a", TOKEN_LINE, "X-Big: " + "b" * 40_000) + END,
                            1_000),
                     {400, 431}, id="huge header in pieces"),
        pytest.param([head("/hooks/header/a", TOKEN_LINE, "X-Big: " + "b" * 2_000_000) + END],
                     {400, 431, None}, id="2 MB header"),
    ],
)  # fmt: skip
def test_oversized_request_head_is_refused_and_the_connection_closed(
    server: Server, upstream: Upstream, request_pieces: list[bytes], statuses: set[int]
) -> None:
    status, body, closed = exchange(server.port, *request_pieces)
    assert status in statuses, body
    assert closed
    assert upstream.seen == []


def test_a_head_within_the_limits_passes(server: Server, upstream: Upstream) -> None:
    lines = [f"X-H{i}: " + "v" * 100 for i in range(MAX_HEADERS - 4)]
    request = head("/hooks/header/a", f"X-Token: {HEADER_TOKEN}", *lines)
    status, _, _ = exchange(
        server.port, request + b"Connection: close\r\nContent-Length: 2\r\n\r\n{}"
    )
    assert status == 202
    assert len(upstream.seen) == 1


@pytest.mark.parametrize("option", ["--header-timeout", "--body-timeout", "--max-headers"])
@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "x"])
def test_limits_must_be_positive_numbers(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--config", "c.yaml", "--upstream", "http://127.0.0.1:9", option, value])
    assert exc.value.code == 2
    assert f"argument {option}: " in capsys.readouterr().err


def test_client_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="body_timeout"):
        ClientLimits(body_timeout=0)
    with pytest.raises(ValueError, match="keep_alive_timeout"):
        ClientLimits(keep_alive_timeout=0)


# -- gzip bodies ----------------------------------------------------------------------------

TEN_MB_OF_ZEROS = gzip.compress(b"\0" * 10_000_000, 9)


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/PID/status")


def test_gzip_bomb_is_verified_as_sent_and_forwarded_as_sent(
    server: Server, upstream: Upstream
) -> None:
    bomb = TEN_MB_OF_ZEROS * 10  # ten gzip members: 100 MB inflated, ~100 KB as sent
    assert len(bomb) < BODY_LIMIT < 100_000_000
    before = peak_rss_kib(server.proc.pid)
    headers = {**github_signed(bomb), "Content-Encoding": "gzip"}
    r = httpx.post(f"{server.url}/hooks/gh", content=bomb, headers=headers, timeout=30)
    # Accepted: the signature is over the bytes as sent, and so is the size limit
    # (inflated, the body would be 400 times max_body_bytes).
    assert r.status_code == 202
    [seen] = upstream.seen
    assert seen["body"] == bomb
    assert dict(seen["headers"])["content-encoding"] == "gzip"
    # Never inflated: the proxy's peak memory did not grow by anything like 100 MB.
    assert peak_rss_kib(server.proc.pid) - before < 40_000


def test_signature_over_the_inflated_body_is_refused(server: Server, upstream: Upstream) -> None:
    inflated = gzip.decompress(TEN_MB_OF_ZEROS)
    headers = {**github_signed(inflated), "Content-Encoding": "gzip"}
    r = httpx.post(f"{server.url}/hooks/gh", content=TEN_MB_OF_ZEROS, headers=headers, timeout=30)
    assert r.status_code == 401
    assert r.json()["reason"] == "signature_mismatch"
    assert upstream.seen == []


def test_upstream_gets_no_header_the_sender_did_not_send(
    server: Server, upstream: Upstream
) -> None:
    status, _, _ = exchange(
        server.port, GENUINE.replace(b"Host: x", b"Host: x\r\nConnection: close")
    )
    assert status == 202
    names = {name for name, _ in upstream.seen[0]["headers"]}
    # In particular no Accept-Encoding from the proxy's HTTP client, which would let the
    # upstream answer in gzip to a sender that cannot read it.
    assert names - {"x-token"} == {
        "host", "content-length", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
        "x-webhook-guard-route", "x-webhook-guard-secret-id",
    }  # fmt: skip


# -- verified credentials -----------------------------------------------------------------------


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def forwarded(upstream: Upstream) -> tuple[str, dict[str, list[str]]]:
    [seen] = upstream.seen
    headers: dict[str, list[str]] = {}
    for name, value in seen["headers"]:
        headers.setdefault(name, []).append(value)
    return seen["query"], headers


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"a=1&token={QUERY_TOKEN}&b=%2F&a=2", "a=1&b=%2F&a=2"),
        (f"token={QUERY_TOKEN}", ""),
        (f"x=1&t%6Fken={QUERY_TOKEN}&y=", "x=1&y="),  # the name as the guard decodes it
        (f"z=9&tok%65n={QUERY_TOKEN}&token2=keep", "z=9&token2=keep"),
    ],
)
def test_query_token_is_stripped_other_parameters_kept_in_order(
    server: Server, upstream: Upstream, query: str, expected: str
) -> None:
    r = httpx.post(f"{server.url}/hooks/query?{query}", content=b"{}")
    assert r.status_code == 202
    assert forwarded(upstream)[0] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", b""),
        (b"a=1", b"a=1"),
        (b"token=s", b""),
        (b"token", b""),  # no value: still the parameter
        (b"token=", b""),
        (b"a=1&token=s&token=t&b=2", b"a=1&b=2"),
        (b"a=1&&token=s&", b"a=1&&"),  # empty fields are kept as they were
        (b"tok%65n=s&x=%FF", b"x=%FF"),
        (b"to+ken=s&tokens=s&xtoken=s", b"to+ken=s&tokens=s&xtoken=s"),
        (b"a=token&b=token%3Ds", b"a=token&b=token%3Ds"),  # values are not names
        (b"a;token=s", b"a;token=s"),  # ';' separates nothing, here as for the guard
    ],
)
def test_without_param(query: bytes, expected: bytes) -> None:
    assert _without_param(query, "token") == expected


@pytest.mark.parametrize(
    ("path", "sent", "stripped", "kept"),
    [
        pytest.param("/hooks/header/x", {"X-Token": HEADER_TOKEN},
                     "x-token", ("authorization", "Bearer app-own"), id="token header"),
        pytest.param("/hooks/basic", {"Authorization": basic("deployer", BASIC_PASSWORD)},
                     "authorization", ("x-other", "kept"), id="basic auth"),
        pytest.param("/hooks/gitlab", {"X-Gitlab-Token": GITLAB_TOKEN},
                     "x-gitlab-token", ("x-other", "kept"), id="gitlab token"),
    ],
)  # fmt: skip
def test_credential_header_is_stripped(
    server: Server,
    upstream: Upstream,
    path: str,
    sent: dict[str, str],
    stripped: str,
    kept: tuple[str, str],
) -> None:
    headers = {kept[0]: kept[1], **sent}  # the other header: not what this route verified
    r = httpx.post(f"{server.url}{path}", content=b"{}", headers=headers)
    assert r.status_code == 202
    _, forwarded_headers = forwarded(upstream)
    assert stripped not in forwarded_headers
    assert forwarded_headers[kept[0]] == [kept[1]]


def test_forward_credentials_true_passes_the_token_on(server: Server, upstream: Upstream) -> None:
    r = httpx.post(
        f"{server.url}/hooks/forwarded", content=b"{}", headers={"X-Token": HEADER_TOKEN}
    )
    assert r.status_code == 202
    assert forwarded(upstream)[1]["x-token"] == [HEADER_TOKEN]


def test_signature_header_is_forwarded_while_the_token_is_not(
    server: Server, upstream: Upstream
) -> None:
    body = b'{"ref": "main"}'
    signature = github_signed(body)
    r = httpx.post(
        f"{server.url}/hooks/signed?key={SIGNED_ROUTE_TOKEN}&n=1", content=body, headers=signature
    )
    assert r.status_code == 202
    query, headers = forwarded(upstream)
    assert query == "n=1"
    assert headers["x-hub-signature-256"] == [signature["X-Hub-Signature-256"]]


def test_tokens_are_never_logged(server: Server, upstream: Upstream) -> None:
    guesses = {
        "query": "guess-q-0f3a",
        "header": "guess-h-7d21",
        "basic": "guess-b-44c9",
    }
    url = server.url
    for token in (QUERY_TOKEN, guesses["query"]):
        httpx.post(f"{url}/hooks/query?token={token}", content=b"{}")
        httpx.post(f"{url}/hooks/query?token={token}&token={token}", content=b"{}")
    for token in (HEADER_TOKEN, guesses["header"]):
        httpx.post(f"{url}/hooks/header/l", content=b"{}", headers={"X-Token": token})
    for auth in (
        basic("deployer", BASIC_PASSWORD),
        basic("deployer", guesses["basic"]),
        basic("intruder", BASIC_PASSWORD),
        f"Bearer {guesses['basic']}",
    ):
        httpx.post(f"{url}/hooks/basic", content=b"{}", headers={"Authorization": auth})
    assert len(upstream.seen) == 3  # one accepted per route; the rest refused and logged
    log = server.log.read_text()
    assert "webhook rejected" in log  # the guard's refusals are in this log
    secrets = [QUERY_TOKEN, HEADER_TOKEN, BASIC_PASSWORD, *guesses.values()]
    secrets += [
        basic(user, p).split()[1]
        for user, p in (("deployer", BASIC_PASSWORD), ("deployer", guesses["basic"]),
                        ("intruder", BASIC_PASSWORD))
    ]  # fmt: skip
    assert [s for s in secrets if s in log] == []
