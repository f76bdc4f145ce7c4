"""The Django middleware, protect() and system checks: Django's test clients (sync and
async), and real servers over a socket (werkzeug for WSGI, uvicorn for ASGI)."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import django
import httpx
import pytest
from django.conf import settings

if not settings.configured:
    from .servers import django_settings

    settings.configure(**django_settings(__name__, {"version": 1, "routes": []}), USE_TZ=True)
    django.setup()

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path

from webhook_guard import Reason, Verdict
from webhook_guard.adapters import django as adapter
from webhook_guard.adapters.django import protect

from .conftest import SW_SECRET, SW_SECRET_OLD, sdk_signed, sw_route
from .servers import serve_asgi, serve_wsgi

BODY = '{"type":"invoice.paid","amount":1200}'
SEEN: list[dict[str, Any]] = []
BEHAVIOUR: dict[str, Any] = {"status": 200, "raise": False}


def _record(request: HttpRequest) -> HttpResponse:
    SEEN.append(
        {"body": request.body, "json": json.loads(request.body), "verdict": request.webhook}
    )
    if BEHAVIOUR["raise"]:
        raise RuntimeError("view bug")
    return JsonResponse({"ok": True}, status=BEHAVIOUR["status"])


def hook(request: HttpRequest) -> HttpResponse:
    return _record(request)


async def ahook(request: HttpRequest) -> HttpResponse:
    return _record(request)


def plain(request: HttpRequest) -> HttpResponse:
    verdict = getattr(request, "webhook", None)
    return JsonResponse({"route": verdict.route if verdict else "unset"})


@protect("psw")
def protected(request: HttpRequest) -> HttpResponse:
    return _record(request)


@protect("pasw")
async def aprotected(request: HttpRequest) -> HttpResponse:
    return _record(request)


@protect("sw")
def misnamed(request: HttpRequest) -> HttpResponse:
    return _record(request)


STREAM = {"fail": False}


def streamed(request: HttpRequest) -> StreamingHttpResponse:
    SEEN.append({"body": request.body, "verdict": request.webhook})

    def body() -> Iterator[bytes]:
        yield b'{"part":1,'
        if STREAM["fail"]:
            raise RuntimeError("handler failed while streaming")
        yield b'"part2":2}'

    return StreamingHttpResponse(body(), content_type="application/json")


async def astreamed(request: HttpRequest) -> StreamingHttpResponse:
    SEEN.append({"body": request.body, "verdict": request.webhook})

    async def body() -> AsyncIterator[bytes]:
        yield b'{"part":1,'
        if STREAM["fail"]:
            raise RuntimeError("handler failed while streaming")
        yield b'"part2":2}'

    return StreamingHttpResponse(body(), content_type="application/json")


def absolute(request: HttpRequest) -> HttpResponse:
    # A view that links back to itself: get_host() checks ALLOWED_HOSTS (DisallowedHost).
    link = request.build_absolute_uri("/done")
    return _record(request) if link else HttpResponse(status=500)


urlpatterns = [
    path("hooks/absolute", absolute),
    path("hooks/stream", streamed),
    path("hooks/astream", astreamed),
    path("hooks/sw", hook),
    path("hooks/async", ahook),
    path("hooks/report", hook),
    path("protected/sw", protected),
    path("protected/async", aprotected),
    path("protected/misnamed", misnamed),
    path("plain", plain),
]


def routes(**overrides: Any) -> list[dict[str, Any]]:
    return [
        sw_route(max_body_bytes=1024, **overrides),
        sw_route(name="asw", path="/hooks/async"),
        sw_route(name="report", path="/hooks/report", mode="report"),
        sw_route(name="psw", path="/protected/sw"),
        sw_route(name="pasw", path="/protected/async"),
        sw_route(name="pmis", path="/protected/misnamed"),
        sw_route(name="stream", path="/hooks/stream"),
        sw_route(name="astream", path="/hooks/astream"),
        sw_route(name="absolute", path="/hooks/absolute"),
    ]


def guard_setting(guard_all: bool = True, **overrides: Any) -> dict[str, Any]:
    # A fresh dict per test: the adapter rebuilds the guard (and its replay store).
    return {"CONFIG": {"version": 1, "routes": routes(**overrides)}, "GUARD_ALL": guard_all}


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    SEEN.clear()
    BEHAVIOUR.update({"status": 200, "raise": False})
    STREAM["fail"] = False
    with override_settings(WEBHOOK_GUARD=guard_setting()):
        yield


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True, raise_request_exception=False)


def signed(msg_id: str | None = None, body: str = BODY) -> dict[str, str]:
    return sdk_signed(msg_id or "msg_" + uuid.uuid4().hex, body)


def post(client: Client, url: str, headers: dict[str, str], body: str = BODY) -> Any:
    return client.post(url, body, content_type="application/json", headers=headers)


def assert_problem(resp: Any, status: int, reason: Reason) -> dict[str, Any]:
    assert resp.status_code == status
    assert resp["Content-Type"] == "application/problem+json"
    problem: dict[str, Any] = json.loads(resp.content)
    assert problem["reason"] == reason.value
    return problem


# -- middleware, sync ------------------------------------------------------------------


def test_signed_webhook_reaches_the_view_without_csrf_exempt(client: Client) -> None:
    resp = post(client, "/hooks/sw", signed("msg_d1"))
    assert resp.status_code == 200
    [seen] = SEEN
    assert seen["body"] == BODY.encode()
    assert seen["json"]["amount"] == 1200
    verdict: Verdict = seen["verdict"]
    assert (verdict.route, verdict.event_id) == ("sw", "msg_d1")


class RewritePathInfo:
    """A middleware after the guard's that rewrites ``path_info`` (as tenant or locale
    middleware may): /tenant/plain is then resolved as /hooks/sw."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        if request.path_info == "/tenant/plain":
            request.path_info = "/hooks/sw"
        return self.get_response(request)


@pytest.mark.parametrize("headers", [{}, signed()], ids=["unsigned", "signed"])
def test_a_view_resolved_after_a_path_rewrite_is_bound_to_its_route(
    client: Client, headers: dict[str, str]
) -> None:
    middleware = [adapter.MIDDLEWARE_PATH, f"{__name__}.RewritePathInfo"]
    with override_settings(MIDDLEWARE=middleware):
        resp = post(client, "/tenant/plain", headers)
    problem = assert_problem(resp, 400, Reason.PATH_INVALID)
    assert problem["detail"] == (
        "the application routes this request to route sw, but its target was checked as no route"
    )
    assert SEEN == []


def test_unverified_post_still_meets_csrf(client: Client) -> None:
    assert client.post("/plain", "x", content_type="text/plain").status_code == 403


def test_report_mode_failure_does_not_skip_csrf(client: Client) -> None:
    headers = signed()
    headers["webhook-signature"] = "v1,AAAA"  # reported, let through... and CSRF applies
    assert post(client, "/hooks/report", headers).status_code == 403
    assert SEEN == []
    assert post(client, "/hooks/report", signed()).status_code == 200


def test_forged_and_unsigned_requests_are_refused(client: Client) -> None:
    assert_problem(post(client, "/hooks/sw", signed(), BODY + " "), 401, Reason.SIGNATURE_MISMATCH)
    assert_problem(post(client, "/hooks/sw", {}), 401, Reason.SIGNATURE_MISSING)
    assert SEEN == []


def test_duplicate_is_acknowledged_without_the_view(client: Client) -> None:
    headers = signed()
    assert post(client, "/hooks/sw", headers).status_code == 200
    assert_problem(post(client, "/hooks/sw", headers), 200, Reason.DUPLICATE_EVENT)
    assert len(SEEN) == 1


@pytest.mark.parametrize("failure", ["status", "raise"])
def test_view_failure_releases_the_event(client: Client, failure: str) -> None:
    BEHAVIOUR.update({"status": 503} if failure == "status" else {"raise": True})
    headers = signed()
    assert post(client, "/hooks/sw", headers).status_code >= 500
    BEHAVIOUR.update({"status": 200, "raise": False})
    assert post(client, "/hooks/sw", headers).status_code == 200
    assert len(SEEN) == 2
    assert_problem(post(client, "/hooks/sw", headers), 200, Reason.DUPLICATE_EVENT)


def test_body_limits(client: Client) -> None:
    too_big = "x" * 1025
    problem = assert_problem(
        post(client, "/hooks/sw", signed(body=too_big), too_big), 413, Reason.BODY_TOO_LARGE
    )
    assert "1025" in problem["detail"]
    exact = json.dumps({"pad": "x" * 1013})
    assert post(client, "/hooks/sw", signed(body=exact), exact).status_code == 200


def test_wrong_method_is_405_with_allow(client: Client) -> None:
    resp = client.put("/hooks/sw", BODY, content_type="application/json", headers=signed())
    assert_problem(resp, 405, Reason.METHOD_NOT_ALLOWED)
    assert resp["Allow"] == "POST"


def test_unrouted_path_gets_a_route_none_verdict(client: Client) -> None:
    assert client.get("/plain").json() == {"route": None}


# -- middleware, async -----------------------------------------------------------------


def test_async_client_with_async_and_sync_views() -> None:
    async def scenario() -> list[int]:
        aclient = AsyncClient(enforce_csrf_checks=True)
        statuses = []
        for url in ("/hooks/async", "/hooks/sw"):
            headers = signed()
            for _ in range(2):
                resp = await aclient.post(
                    url, BODY, content_type="application/json", headers=headers
                )
                statuses.append(resp.status_code)
        forged = await aclient.post(
            "/hooks/async", BODY + " ", content_type="application/json", headers=signed()
        )
        statuses.append(forged.status_code)
        statuses.append((await aclient.post("/plain", "x", content_type="text/plain")).status_code)
        return statuses

    assert asyncio.run(scenario()) == [200, 200, 200, 200, 401, 403]
    assert [s["verdict"].route for s in SEEN] == ["asw", "sw"]  # the replays never ran


# -- protect() ------------------------------------------------------------------------


@pytest.mark.parametrize("guard_all", [True, False])
def test_protect_checks_once_with_or_without_the_middleware(
    client: Client, guard_all: bool
) -> None:
    with override_settings(WEBHOOK_GUARD=guard_setting(guard_all=guard_all)):
        for url in ("/protected/sw", "/protected/async"):
            headers = signed()
            assert post(client, url, headers).status_code == 200  # a second check: 409
            assert_problem(post(client, url, headers), 200, Reason.DUPLICATE_EVENT)
            assert_problem(post(client, url, {}), 401, Reason.SIGNATURE_MISSING)
        # Without guard_all an undecorated webhook path is not checked at all (CSRF 403).
        status = post(client, "/hooks/sw", signed()).status_code
    assert status == (200 if guard_all else 403)
    assert [s["verdict"].route for s in SEEN[:2]] == ["psw", "pasw"]


@pytest.mark.parametrize("guard_all", [True, False])
def test_protect_with_a_route_that_does_not_cover_the_path_fails_closed(
    client: Client, guard_all: bool
) -> None:
    with override_settings(WEBHOOK_GUARD=guard_setting(guard_all=guard_all)):
        assert post(client, "/protected/misnamed", signed()).status_code == 500
    assert SEEN == []


def test_protect_release_on_view_failure_under_protect_only(client: Client) -> None:
    with override_settings(WEBHOOK_GUARD=guard_setting(guard_all=False)):
        BEHAVIOUR["status"] = 500
        headers = signed()
        assert post(client, "/protected/sw", headers).status_code == 500
        BEHAVIOUR["status"] = 200
        assert post(client, "/protected/sw", headers).status_code == 200
    assert len(SEEN) == 2


# -- settings and system checks ---------------------------------------------------------


def test_config_from_a_yaml_path(tmp_path: Path, client: Client) -> None:
    config = tmp_path / "webhook-guard.yaml"
    config.write_text(json.dumps({"version": 1, "routes": routes()}))
    with override_settings(WEBHOOK_GUARD={"CONFIG": config}):
        assert post(client, "/hooks/sw", signed()).status_code == 200
        assert_problem(post(client, "/hooks/sw", {}), 401, Reason.SIGNATURE_MISSING)


def test_get_guard_reload_revokes_a_secret_without_a_restart(
    tmp_path: Path, client: Client
) -> None:
    config = tmp_path / "webhook-guard.yaml"
    config.write_text(json.dumps({"version": 1, "routes": routes()}))
    with override_settings(WEBHOOK_GUARD={"CONFIG": config}):
        assert post(client, "/hooks/sw", signed()).status_code == 200
        leaked = routes()
        leaked[0]["secrets"] = [SW_SECRET_OLD]  # the old secret is revoked
        config.write_text(json.dumps({"version": 1, "routes": leaked}))
        adapter.get_guard().reload()
        assert_problem(post(client, "/hooks/sw", signed()), 401, Reason.SIGNATURE_MISMATCH)


@pytest.mark.parametrize(
    ("value", "check_id", "fragment"),
    [
        ({"CONFIG": {"version": 1, "routes": [{"name": "x"}]}}, "webhook_guard.E002", "routes[0]"),
        ({"CONFIG": 42}, "webhook_guard.E002", "must be a file path or a dict"),
        ({"CONFIG": "/nonexistent/webhook-guard.yaml"}, "webhook_guard.E002", "cannot read"),
        ({}, "webhook_guard.E002", "pass config="),
        (
            {"CONFIG": {"version": 1, "routes": []}, "GAURD_ALL": False},
            "webhook_guard.E002",
            "GAURD_ALL",
        ),
        ("webhook-guard.yaml", "webhook_guard.E002", "must be a dict"),
        (None, "webhook_guard.E001", "is not set"),
        (
            {"CONFIG": {"version": 1, "routes": [sw_route(max_body_bytes=10_000_000)]}},
            "webhook_guard.W001",
            "DATA_UPLOAD_MAX_MEMORY_SIZE",
        ),
    ],
)
def test_system_check_reports_broken_settings(value: Any, check_id: str, fragment: str) -> None:
    with override_settings(WEBHOOK_GUARD=value):
        [message] = adapter.check_settings()
    assert message.id == check_id
    assert fragment in message.msg
    assert message.hint
    assert SW_SECRET not in message.msg


def test_system_check_is_registered_and_passes_on_a_good_config() -> None:
    assert adapter.check_settings() == []
    assert adapter.check_settings in checks.registry.registry.get_checks()
    bad = {"CONFIG": {"version": 1, "routes": [sw_route(secrets=["env:NOPE_NOT_SET"])]}}
    with override_settings(WEBHOOK_GUARD=bad), pytest.raises(SystemCheckError, match="NOPE"):
        call_command("check")


def test_check_ids_are_unique() -> None:
    source = Path(adapter.__file__).read_text()
    ids = re.findall(r'id="(webhook_guard\.[EW]\d{3})"', source)
    assert len(ids) == len(set(ids)) == 3


def test_middleware_refuses_to_start_on_a_broken_config() -> None:
    with (
        override_settings(WEBHOOK_GUARD={"CONFIG": {"version": 2}}),
        pytest.raises(ImproperlyConfigured, match="version"),
    ):
        adapter.WebhookGuardMiddleware(lambda request: HttpResponse())


# -- real servers -----------------------------------------------------------------------


def _exercise(url: str, async_path: bool) -> None:
    target = "/hooks/async" if async_path else "/hooks/sw"
    with httpx.Client(base_url=url) as http:
        headers = signed()
        ok = http.post(target, content=BODY, headers=headers)
        assert ok.status_code == 200, ok.text
        dup = http.post(target, content=BODY, headers=headers)
        assert_problem_httpx(dup, 200, Reason.DUPLICATE_EVENT)
        forged = http.post(target, content=BODY.replace("1200", "1"), headers=signed())
        assert_problem_httpx(forged, 401, Reason.SIGNATURE_MISMATCH)
        assert http.post("/plain", content="x").status_code == 403  # CSRF still on
        encoded = http.post("/hooks%2Fsw", content=BODY, headers=signed())
        assert_problem_httpx(encoded, 404, Reason.ROUTE_NOT_FOUND)
    assert len(SEEN) == 1
    assert SEEN[0]["body"] == BODY.encode()


def assert_problem_httpx(resp: httpx.Response, status: int, reason: Reason) -> None:
    assert resp.status_code == status
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["reason"] == reason.value


def test_disallowed_host_400_leaves_the_event_for_the_retry_on_werkzeug() -> None:
    """Django answers 400 (DisallowedHost) to a verified delivery when ALLOWED_HOSTS lacks
    the Host the provider calls: once the operator fixes ALLOWED_HOSTS, the provider's
    retry must be processed, not acknowledged as a duplicate."""
    from django.core.wsgi import get_wsgi_application

    headers = signed()
    with serve_wsgi(get_wsgi_application()) as url, httpx.Client(base_url=url) as http:
        with override_settings(ALLOWED_HOSTS=["hooks.example.com"]):
            assert http.post("/hooks/absolute", content=BODY, headers=headers).status_code == 400
        with override_settings(ALLOWED_HOSTS=["127.0.0.1"]):
            retry = http.post("/hooks/absolute", content=BODY, headers=headers)
            assert retry.status_code == 200, retry.text
            assert_problem_httpx(
                http.post("/hooks/absolute", content=BODY, headers=headers),
                200,
                Reason.DUPLICATE_EVENT,
            )
    assert len(SEEN) == 1


def test_django_wsgi_on_werkzeug() -> None:
    from django.core.wsgi import get_wsgi_application

    with serve_wsgi(get_wsgi_application()) as url:
        _exercise(url, async_path=False)


@pytest.mark.parametrize("async_path", [False, True])
def test_django_asgi_on_uvicorn(async_path: bool) -> None:
    from django.core.asgi import get_asgi_application

    with serve_asgi(get_asgi_application()) as url:
        _exercise(url, async_path=async_path)


def _chunks(body: str) -> Iterator[bytes]:
    # httpx sends an iterator body with Transfer-Encoding: chunked and no Content-Length.
    data = body.encode()
    yield from (data[i : i + 7] for i in range(0, len(data), 7))


@pytest.mark.parametrize("server", ["wsgi", "asgi"])
def test_chunked_deliveries_on_real_servers(server: str) -> None:
    """No Content-Length: Django under WSGI would read an empty body, so a genuine chunked
    delivery must still verify (werkzeug de-chunks and sets wsgi.input_terminated), a
    forged one still fails, and one past max_body_bytes (1024 here) is refused with 413."""
    from django.core.asgi import get_asgi_application
    from django.core.wsgi import get_wsgi_application

    serve = (
        serve_wsgi(get_wsgi_application())
        if server == "wsgi"
        else serve_asgi(get_asgi_application())
    )
    big = json.dumps({"type": "big", "pad": "x" * 2000})
    with serve as url, httpx.Client(base_url=url) as http:
        ok = http.post("/hooks/sw", content=_chunks(BODY), headers=signed())
        assert "content-length" not in ok.request.headers
        assert ok.status_code == 200, ok.text
        assert SEEN[-1]["body"] == BODY.encode()
        assert SEEN[-1]["json"]["amount"] == 1200
        forged = http.post(
            "/hooks/sw", content=_chunks(BODY.replace("1200", "1")), headers=signed()
        )
        assert_problem_httpx(forged, 401, Reason.SIGNATURE_MISMATCH)
        large = http.post("/hooks/sw", content=_chunks(big), headers=signed(body=big))
        assert_problem_httpx(large, 413, Reason.BODY_TOO_LARGE)
        # The connection is still usable for the next delivery.
        again = http.post("/hooks/sw", content=_chunks(BODY), headers=signed())
        assert again.status_code == 200, again.text
    assert len(SEEN) == 2


def test_chunked_body_over_django_limit_is_413() -> None:
    from django.core.wsgi import get_wsgi_application

    setting = guard_setting()
    setting["CONFIG"]["routes"][0]["max_body_bytes"] = 4096
    with (
        override_settings(WEBHOOK_GUARD=setting, DATA_UPLOAD_MAX_MEMORY_SIZE=1000),
        serve_wsgi(get_wsgi_application()) as url,
        httpx.Client(base_url=url) as http,
    ):
        big = json.dumps({"type": "big", "pad": "x" * 2000})
        resp = http.post("/hooks/sw", content=_chunks(big), headers=signed(body=big))
        assert_problem_httpx(resp, 413, Reason.BODY_TOO_LARGE)
        assert "1000" in resp.json()["detail"]
    assert SEEN == []


@pytest.mark.parametrize(
    ("server", "target"),
    [
        ("wsgi", "/hooks/stream"),
        pytest.param(
            "asgi",
            "/hooks/stream",
            # Django's own advice to use an async iterator under ASGI, an error here.
            marks=pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume"),
        ),
        ("asgi", "/hooks/astream"),
    ],
)
def test_streaming_response_settles_once_sent(server: str, target: str) -> None:
    """The view's iterator runs while the response is sent, after the view returned: a
    failure midway releases the event so the provider's retry is processed; only a fully
    sent stream commits it."""
    from django.core.asgi import get_asgi_application
    from django.core.wsgi import get_wsgi_application

    serve = (
        serve_wsgi(get_wsgi_application())
        if server == "wsgi"
        else serve_asgi(get_asgi_application())
    )
    STREAM["fail"] = True
    with serve as url, httpx.Client(base_url=url) as http:
        with pytest.raises(httpx.HTTPError):  # the stream breaks off midway
            http.post(target, content=BODY, headers=signed("m1"))
        STREAM["fail"] = False
        retry = http.post(target, content=BODY, headers=signed("m1"))
        assert retry.status_code == 200
        assert retry.json() == {"part": 1, "part2": 2}
        assert_problem_httpx(
            http.post(target, content=BODY, headers=signed("m1")), 200, Reason.DUPLICATE_EVENT
        )
    assert len(SEEN) == 2


def test_streaming_response_is_in_flight_until_sent(client: Client) -> None:
    first = post(client, "/hooks/stream", signed("m1"))
    assert first.status_code == 200
    assert_problem(post(client, "/hooks/stream", signed("m1")), 409, Reason.EVENT_IN_FLIGHT)
    assert b"".join(first.streaming_content) == b'{"part":1,"part2":2}'
    assert_problem(post(client, "/hooks/stream", signed("m1")), 200, Reason.DUPLICATE_EVENT)
    assert len(SEEN) == 1
