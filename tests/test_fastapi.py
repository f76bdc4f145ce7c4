"""The FastAPI dependency and examples/fastapi, in-process and on a real uvicorn."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.testclient import TestClient

from webhook_guard import Guard, Verdict
from webhook_guard.adapters.asgi import GuardMiddleware, webhook_verdict

from .conftest import SW_SECRET, sdk_signed, sw_route
from .servers import free_port, run_process, serve_asgi

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fastapi"
EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = '{"order":1234,"total":"9.99"}'


def sdk_headers(msg_id: str, secret: str = EXAMPLE_SECRET, body: str = BODY) -> dict[str, str]:
    return sdk_signed(msg_id, body, secret=secret)


@pytest.fixture
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_example_app", EXAMPLE / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.pop(spec.name, None)
    spec.loader.exec_module(module)
    return module


def test_example_accepts_signed_refuses_forged_and_acknowledges_replays(
    example: ModuleType,
) -> None:
    with TestClient(example.app) as client:
        ok = client.post("/hooks/orders", content=BODY, headers=sdk_headers("msg_ex1"))
        assert ok.status_code == 200
        assert ok.json() == {"received": "msg_ex1", "secret": "current"}
        forged = client.post(
            "/hooks/orders", content=BODY, headers=sdk_headers("msg_ex2", secret=SW_SECRET)
        )
        assert forged.status_code == 401
        assert forged.json()["reason"] == "signature_mismatch"
        replay = client.post("/hooks/orders", content=BODY, headers=sdk_headers("msg_ex1"))
        assert replay.status_code == 200
        assert replay.json()["reason"] == "duplicate_event"
        assert client.get("/health").json() == {"status": "ok"}
    assert example.processed == [{"order": 1234, "total": "9.99"}]


def test_example_runs_on_uvicorn_as_documented() -> None:
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "--app-dir", str(EXAMPLE), "app:app"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with run_process(args, port), httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        ok = http.post("/hooks/orders", content=BODY, headers=sdk_headers("msg_up1"))
        assert ok.status_code == 200
        assert ok.json()["received"] == "msg_up1"
        bad = http.post("/hooks/orders", content=BODY + " ", headers=sdk_headers("msg_up2"))
        assert bad.status_code == 401
        assert bad.headers["content-type"] == "application/problem+json"


def dependent_app() -> FastAPI:
    api = FastAPI()

    @api.post("/hooks/sw")
    @api.post("/elsewhere")
    def hook(verdict: Annotated[Verdict, Depends(webhook_verdict)]) -> dict[str, str | None]:
        return {"event": verdict.event_id}

    return api


def test_dependency_fails_closed_without_the_middleware() -> None:
    with TestClient(dependent_app(), raise_server_exceptions=False) as client:
        resp = client.post("/hooks/sw", content=BODY)
    assert resp.status_code == 500
    assert resp.json() == {"detail": "webhook verification is not set up for this path"}


def test_dependency_fails_closed_on_a_path_no_route_covers() -> None:
    guard = Guard.from_dict({"version": 1, "routes": [sw_route()]})
    with TestClient(GuardMiddleware(dependent_app(), guard=guard)) as client:
        unguarded = client.post("/elsewhere", content=BODY)
        guarded = client.post("/hooks/sw", content=BODY, headers=sdk_headers("m", SW_SECRET))
    assert unguarded.status_code == 500
    assert guarded.json() == {"event": "m"}


def test_add_middleware_form_works() -> None:
    api = dependent_app()
    api.add_middleware(GuardMiddleware, config={"version": 1, "routes": [sw_route()]})
    with TestClient(api) as client:
        assert client.post("/hooks/sw", content=BODY).json()["reason"] == "signature_missing"
        ok = client.post("/hooks/sw", content=BODY, headers=sdk_headers("m2", SW_SECRET))
    assert ok.json() == {"event": "m2"}


def test_dependency_binds_the_verdict_to_the_route_the_app_dispatched() -> None:
    """Something between the middleware and the router rewrites the path (here: from
    /hooks/sw2 to /hooks/sw): the handler of route sw must not run on route sw2's verdict."""

    async def rewrite(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/hooks/sw2":
            scope["path"] = "/hooks/sw"
        await api(scope, receive, send)

    api = dependent_app()
    config = {"version": 1, "routes": [sw_route(), sw_route(name="sw2", path="/hooks/sw2")]}
    with serve_asgi(GuardMiddleware(rewrite, config=config)) as url:
        moved = httpx.post(f"{url}/hooks/sw2", content=BODY, headers=sdk_headers("m3", SW_SECRET))
        direct = httpx.post(f"{url}/hooks/sw", content=BODY, headers=sdk_headers("m4", SW_SECRET))
    assert moved.status_code == 400
    assert moved.json() == {
        "detail": "the application routes this request to route sw, but its target was "
        "checked as route sw2"
    }
    assert direct.json() == {"event": "m4"}
