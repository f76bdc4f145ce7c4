"""GuardMiddleware (pure ASGI) through Starlette's TestClient, a raw ASGI driver for the
message-level cases, and a real uvicorn server with requests signed by the real SDKs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import svix.webhooks
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from webhook_guard import Guard, Reason, Verdict, load_config
from webhook_guard.adapters.asgi import GuardMiddleware, Message, Scope

from .conftest import NOW, SW_SECRET, GuardFactory, sdk_signed, sw_route
from .servers import serve_asgi

WHEN = datetime.fromtimestamp(NOW, timezone.utc)
BODY = '{"type":"invoice.paid","amount":1200,"note":"caf\u00e9"}'


def signed(
    msg_id: str = "msg_1", body: str = BODY, when: datetime = WHEN, secret: str = SW_SECRET
) -> dict[str, str]:
    return sdk_signed(msg_id, body, when, secret)


class Recorder:
    """A Starlette app whose handler records what it saw and answers a chosen status."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, Verdict]] = []
        self.status = 200
        self.raise_exc = False

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        self.calls.append((body, request.state.webhook))
        if self.raise_exc:
            raise RuntimeError("handler bug")
        return JSONResponse({"len": len(body)}, status_code=self.status)

    async def other(self, request: Request) -> Response:
        body = await request.body()
        verdict = request.state.webhook
        return JSONResponse({"body": body.decode(), "ok": verdict.ok, "route": verdict.route})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/hooks/sw", self.hook, methods=["POST"]),
                Route("/health", self.other, methods=["GET", "POST"]),
            ]
        )


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def guard(make_guard: GuardFactory) -> Guard:
    return make_guard(sw_route(max_body_bytes=1024))


@pytest.fixture
def client(recorder: Recorder, guard: Guard) -> Iterator[TestClient]:
    app = GuardMiddleware(recorder.app(), guard=guard)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def assert_problem(resp: httpx.Response, status: int, reason: Reason) -> dict[str, Any]:
    assert resp.status_code == status
    assert resp.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = resp.json()
    assert problem["reason"] == reason.value
    assert problem["status"] == status
    return problem


# -- through Starlette's test client --------------------------------------------------


def test_signed_request_reaches_handler_with_exact_body_and_verdict(
    client: TestClient, recorder: Recorder
) -> None:
    resp = client.post("/hooks/sw", content=BODY.encode(), headers=signed())
    assert resp.status_code == 200
    assert resp.json() == {"len": len(BODY.encode())}
    [(body, verdict)] = recorder.calls
    assert body == BODY.encode()
    assert verdict.ok
    assert verdict.route == "sw"
    assert verdict.event_id == "msg_1"
    assert verdict.secret_id == "secrets[0]"


def test_tampered_body_is_refused_before_the_handler(
    client: TestClient, recorder: Recorder
) -> None:
    resp = client.post("/hooks/sw", content=BODY.replace("1200", "1").encode(), headers=signed())
    problem = assert_problem(resp, 401, Reason.SIGNATURE_MISMATCH)
    assert "secret" in problem["detail"]
    assert SW_SECRET not in resp.text
    assert recorder.calls == []


def test_missing_signature_is_refused(client: TestClient, recorder: Recorder) -> None:
    resp = client.post("/hooks/sw", content=BODY.encode())
    assert_problem(resp, 401, Reason.SIGNATURE_MISSING)
    assert recorder.calls == []


def test_duplicate_is_acknowledged_without_running_the_handler(
    client: TestClient, recorder: Recorder
) -> None:
    first = client.post("/hooks/sw", content=BODY.encode(), headers=signed())
    again = client.post("/hooks/sw", content=BODY.encode(), headers=signed())
    assert first.status_code == 200
    problem = assert_problem(again, 200, Reason.DUPLICATE_EVENT)
    assert problem["event_id"] == "msg_1"
    assert len(recorder.calls) == 1


def test_duplicate_rejected_with_409_when_configured(
    make_guard: GuardFactory, recorder: Recorder
) -> None:
    app = GuardMiddleware(recorder.app(), guard=make_guard(sw_route(on_duplicate="reject")))
    with TestClient(app) as c:
        assert c.post("/hooks/sw", content=BODY.encode(), headers=signed()).status_code == 200
        again = c.post("/hooks/sw", content=BODY.encode(), headers=signed())
    assert_problem(again, 409, Reason.DUPLICATE_EVENT)
    assert len(recorder.calls) == 1


@pytest.mark.parametrize("failure", ["status_500", "status_503", "exception"])
def test_handler_failure_releases_the_event_so_the_retry_is_processed(
    client: TestClient, recorder: Recorder, failure: str
) -> None:
    if failure == "exception":
        recorder.raise_exc = True
    else:
        recorder.status = int(failure.removeprefix("status_"))
    first = client.post("/hooks/sw", content=BODY.encode(), headers=signed())
    assert first.status_code >= 500
    recorder.status, recorder.raise_exc = 200, False
    retry = client.post("/hooks/sw", content=BODY.encode(), headers=signed())
    assert retry.status_code == 200
    assert retry.headers["content-type"] == "application/json"
    assert len(recorder.calls) == 2
    # ...and the successful retry is committed: a third delivery is a duplicate.
    third = client.post("/hooks/sw", content=BODY.encode(), headers=signed())
    assert_problem(third, 200, Reason.DUPLICATE_EVENT)


def test_4xx_from_handler_releases_the_event(client: TestClient, recorder: Recorder) -> None:
    recorder.status = 422
    assert client.post("/hooks/sw", content=BODY.encode(), headers=signed()).status_code == 422
    recorder.status = 200
    assert client.post("/hooks/sw", content=BODY.encode(), headers=signed()).status_code == 200
    assert len(recorder.calls) == 2


def test_4xx_commits_under_commit_on_below_500(
    make_guard: GuardFactory, recorder: Recorder
) -> None:
    recorder.status = 422
    guard = make_guard(sw_route(commit_on="below_500"))
    with TestClient(GuardMiddleware(recorder.app(), guard=guard)) as c:
        assert c.post("/hooks/sw", content=BODY.encode(), headers=signed()).status_code == 422
        again = c.post("/hooks/sw", content=BODY.encode(), headers=signed())
    assert_problem(again, 200, Reason.DUPLICATE_EVENT)
    assert len(recorder.calls) == 1


def test_wrong_method_gets_405_with_allow(client: TestClient) -> None:
    resp = client.put("/hooks/sw", content=BODY.encode(), headers=signed())
    assert_problem(resp, 405, Reason.METHOD_NOT_ALLOWED)
    assert resp.headers["allow"] == "POST"


def test_declared_length_over_limit_is_413(client: TestClient, recorder: Recorder) -> None:
    resp = client.post("/hooks/sw", content=b"x" * 1025, headers=signed())
    problem = assert_problem(resp, 413, Reason.BODY_TOO_LARGE)
    assert "1025" in problem["detail"]
    assert recorder.calls == []


def test_body_of_exactly_the_limit_is_checked_normally(
    client: TestClient, recorder: Recorder
) -> None:
    body = json.dumps({"pad": "x" * 1013})
    assert len(body) == 1024
    resp = client.post("/hooks/sw", content=body.encode(), headers=signed(body=body))
    assert resp.status_code == 200
    assert recorder.calls[0][0] == body.encode()


def test_unrouted_path_passes_through_untouched_with_a_verdict(client: TestClient) -> None:
    resp = client.post("/health", content=b"not a webhook")
    assert resp.json() == {"body": "not a webhook", "ok": True, "route": None}


def test_non_canonical_spelling_of_a_route_is_refused(
    client: TestClient, recorder: Recorder
) -> None:
    resp = client.post("/hooks//sw", content=BODY.encode(), headers=signed())
    assert_problem(resp, 404, Reason.ROUTE_NOT_FOUND)
    assert recorder.calls == []


# -- raw ASGI messages ---------------------------------------------------------------


def http_scope(path: str = "/hooks/sw", headers: dict[str, str] | None = None) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("203.0.113.9", 50000),
        "server": ("127.0.0.1", 8000),
    }


class RawApp:
    """An ASGI app that reads its whole body (like any framework) and answers 204."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        self.bodies.append(b"".join(chunks))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def drive(app: Any, scope: Scope, messages: list[Message]) -> tuple[list[Message], int]:
    """Run one ASGI call; returns what was sent and how many messages were received."""
    inbox = list(messages)
    sent: list[Message] = []
    received = 0

    async def receive() -> Message:
        nonlocal received
        received += 1
        if inbox:
            return inbox.pop(0)
        await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent, received


def chunks_of(body: bytes, size: int) -> list[Message]:
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    return [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
        for i, p in enumerate(parts)
    ]


def test_chunked_body_is_reassembled_and_replayed_byte_for_byte(guard: Guard) -> None:
    body = BODY.encode()
    inner = RawApp()
    sent, _ = drive(
        GuardMiddleware(inner, guard=guard), http_scope(headers=signed()), chunks_of(body, 7)
    )
    assert sent[0]["status"] == 204
    assert inner.bodies == [body]
    assert inner.scopes[0]["state"]["webhook"].event_id == "msg_1"


def test_chunked_body_growing_past_the_limit_is_413_without_reading_on(guard: Guard) -> None:
    inner = RawApp()
    messages = chunks_of(b"y" * 4000, 500)  # no Content-Length: the limit is hit mid-read
    sent, received = drive(
        GuardMiddleware(inner, guard=guard), http_scope(headers=signed()), messages
    )
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["reason"] == "body_too_large"
    assert received == 3  # 1500 bytes > 1024: stopped after the third chunk
    assert inner.scopes == []


def test_declared_length_over_limit_is_refused_before_any_body_is_read(guard: Guard) -> None:
    headers = {**signed(), "content-length": "5000"}
    sent, received = drive(GuardMiddleware(RawApp(), guard=guard), http_scope(headers=headers), [])
    assert sent[0]["status"] == 413
    assert received == 0


def test_client_disconnect_mid_body_neither_calls_the_app_nor_answers(guard: Guard) -> None:
    inner = RawApp()
    messages: list[Message] = [
        {"type": "http.request", "body": b"{", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent, _ = drive(GuardMiddleware(inner, guard=guard), http_scope(headers=signed()), messages)
    assert sent == []
    assert inner.scopes == []


def test_non_utf8_body_is_replayed_exactly(make_guard: GuardFactory) -> None:
    from webhook_guard.testing import sign

    guard = make_guard(sw_route())
    body = bytes(range(256))
    inner = RawApp()
    headers = sign(guard, "sw", body, event_id="msg_bin")
    sent, _ = drive(
        GuardMiddleware(inner, guard=guard), http_scope(headers=headers), chunks_of(body, 100)
    )
    assert sent[0]["status"] == 204
    assert inner.bodies == [body]


@pytest.mark.parametrize("kind", ["lifespan", "websocket"])
def test_other_scope_types_pass_straight_through(guard: Guard, kind: str) -> None:
    inner = RawApp()
    scope: Scope = {"type": kind, "path": "/hooks/sw", "headers": []}
    sent, received = drive(GuardMiddleware(inner, guard=guard), scope, [])
    assert inner.scopes == [scope]
    assert "state" not in scope
    assert (sent, received) == ([], 0)


def test_existing_scope_state_is_kept(guard: Guard) -> None:
    inner = RawApp()
    scope = http_scope("/health")
    scope["state"] = {"db": "pool"}
    drive(GuardMiddleware(inner, guard=guard), scope, chunks_of(b"", 1))
    assert inner.scopes[0]["state"]["db"] == "pool"
    assert inner.scopes[0]["state"]["webhook"].route is None


def test_app_that_never_answers_releases_the_event(guard: Guard) -> None:
    async def silent(scope: Scope, receive: Any, send: Any) -> None:
        await receive()

    app = GuardMiddleware(silent, guard=guard)
    drive(app, http_scope(headers=signed()), chunks_of(BODY.encode(), 1000))
    inner = RawApp()
    sent, _ = drive(
        GuardMiddleware(inner, guard=guard),
        http_scope(headers=signed()),
        chunks_of(BODY.encode(), 1000),
    )
    assert sent[0]["status"] == 204  # the retry was processed, not treated as a duplicate
    assert len(inner.bodies) == 1


# -- construction --------------------------------------------------------------------


def test_config_may_be_a_file_a_mapping_or_a_config(tmp_path: Path) -> None:
    data = {"version": 1, "routes": [sw_route()]}
    path = tmp_path / "webhook-guard.yaml"
    path.write_text(json.dumps(data))  # JSON is YAML
    for source in (path, str(path), data, load_config(data)):
        middleware = GuardMiddleware(RawApp(), config=source)
        assert middleware.guard.config.route("sw").path == "/hooks/sw"


def test_config_and_guard_are_exclusive(guard: Guard) -> None:
    with pytest.raises(TypeError, match="not both"):
        GuardMiddleware(RawApp(), config={"version": 1, "routes": []}, guard=guard)
    with pytest.raises(TypeError, match="config="):
        GuardMiddleware(RawApp())


# -- real uvicorn, real SDK signatures -----------------------------------------------


def test_over_a_socket_on_uvicorn_with_sdk_signatures() -> None:
    recorder = Recorder()
    guard = Guard.from_dict({"version": 1, "routes": [sw_route(max_body_bytes=1024)]})
    now = datetime.now(timezone.utc)
    with (
        serve_asgi(GuardMiddleware(recorder.app(), guard=guard)) as url,
        httpx.Client(base_url=url) as http,
    ):
        ok = http.post("/hooks/sw", content=BODY.encode(), headers=signed("msg_u1", when=now))
        assert ok.status_code == 200
        svix_sig = svix.webhooks.Webhook(SW_SECRET).sign("msg_u2", now, BODY)
        svix_headers = {
            "svix-id": "msg_u2",
            "svix-timestamp": str(int(now.timestamp())),
            "svix-signature": svix_sig,
        }
        assert (
            http.post("/hooks/sw", content=BODY.encode(), headers=svix_headers).status_code == 200
        )
        dup = http.post("/hooks/sw", content=BODY.encode(), headers=signed("msg_u1", when=now))
        assert_problem(dup, 200, Reason.DUPLICATE_EVENT)
        stale = signed("msg_u3", when=datetime.fromtimestamp(time.time() - 400, timezone.utc))
        assert_problem(
            http.post("/hooks/sw", content=BODY.encode(), headers=stale),
            401,
            Reason.TIMESTAMP_TOO_OLD,
        )

        def stream() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding: chunked
            for _ in range(20):
                yield b"z" * 100

        big = http.post("/hooks/sw", content=stream(), headers=signed("msg_u4", when=now))
        assert "content-length" not in big.request.headers
        assert_problem(big, 413, Reason.BODY_TOO_LARGE)
        chunked_ok = http.post(
            "/hooks/sw",
            content=iter([BODY.encode()[:10], BODY.encode()[10:]]),
            headers=signed("msg_u5", when=now),
        )
        assert chunked_ok.status_code == 200
    assert [v.event_id for _, v in recorder.calls] == ["msg_u1", "msg_u2", "msg_u5"]
    assert all(body == BODY.encode() for body, _ in recorder.calls)


def test_concurrent_redelivery_gets_409_in_flight_while_the_first_runs(guard: Guard) -> None:
    release = asyncio.Event()
    calls = 0

    async def slow(scope: Scope, receive: Any, send: Any) -> None:
        nonlocal calls
        calls += 1
        await receive()
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = GuardMiddleware(slow, guard=guard)

    async def one(sent: list[Message]) -> None:
        messages = chunks_of(BODY.encode(), 1000)

        async def receive() -> Message:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            sent.append(message)

        await app(http_scope(headers=signed()), receive, send)

    async def scenario() -> tuple[list[Message], list[Message], list[Message]]:
        first: list[Message] = []
        second: list[Message] = []
        task = asyncio.create_task(one(first))
        await asyncio.sleep(0.01)
        await one(second)  # answered at once while the first is still in the handler
        release.set()
        await task
        third: list[Message] = []
        await one(third)
        return first, second, third

    first, second, third = asyncio.run(scenario())
    assert first[0]["status"] == 200
    assert second[0]["status"] == 409
    assert (b"retry-after", b"60") in second[0]["headers"]
    assert json.loads(second[1]["body"])["reason"] == "event_in_flight"
    assert json.loads(third[1]["body"])["reason"] == "duplicate_event"
    assert calls == 1


def test_exception_after_the_response_started_still_releases(guard: Guard) -> None:
    async def crashes_late(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("failed while streaming")

    with pytest.raises(RuntimeError, match="streaming"):
        drive(
            GuardMiddleware(crashes_late, guard=guard),
            http_scope(headers=signed()),
            chunks_of(BODY.encode(), 1000),
        )
    inner = RawApp()
    sent, _ = drive(
        GuardMiddleware(inner, guard=guard),
        http_scope(headers=signed()),
        chunks_of(BODY.encode(), 1000),
    )
    assert sent[0]["status"] == 204
    assert inner.bodies == [BODY.encode()]


def test_two_uvicorn_workers_share_a_real_redis_replay_store() -> None:
    from .servers import redis_server

    now = datetime.now(timezone.utc)
    with redis_server() as url:
        config = {"version": 1, "replay": {"store": url}, "routes": [sw_route()]}
        first, second = Recorder(), Recorder()
        with (
            # lifespan on: the middleware closes its redis connections at shutdown.
            serve_asgi(GuardMiddleware(first.app(), config=config), lifespan="on") as url_a,
            serve_asgi(GuardMiddleware(second.app(), config=config), lifespan="on") as url_b,
        ):
            headers = signed("msg_shared", when=now)
            assert httpx.post(url_a + "/hooks/sw", content=BODY, headers=headers).status_code == 200
            # The provider's redelivery lands on the other worker: acknowledged, not re-run.
            again = httpx.post(url_b + "/hooks/sw", content=BODY, headers=headers)
            assert_problem(again, 200, Reason.DUPLICATE_EVENT)
            # A failed attempt on B is released in redis, so A processes the retry.
            second.status = 500
            retry = signed("msg_retry", when=now)
            assert httpx.post(url_b + "/hooks/sw", content=BODY, headers=retry).status_code == 500
            assert httpx.post(url_a + "/hooks/sw", content=BODY, headers=retry).status_code == 200
    assert [v.event_id for _, v in first.calls] == ["msg_shared", "msg_retry"]
    assert [v.event_id for _, v in second.calls] == ["msg_retry"]
