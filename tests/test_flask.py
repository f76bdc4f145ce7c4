"""The Flask extension through Flask's test client and on werkzeug's real server."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import svix.webhooks
from flask import Flask, abort, g, request
from flask.testing import FlaskClient

from webhook_guard import ConfigError, Guard, Reason, Verdict
from webhook_guard.adapters.flask import WebhookGuard
from webhook_guard.testing import sign

from .conftest import NOW, SW_SECRET, GuardFactory, sdk_signed, sw_route
from .servers import serve_wsgi

WHEN = datetime.fromtimestamp(NOW, timezone.utc)
BODY = '{"type":"invoice.paid","amount":1200}'


def signed(msg_id: str = "msg_1", body: str = BODY) -> dict[str, str]:
    return sdk_signed(msg_id, body, WHEN)


class Views:
    """A Flask app whose views record what they saw."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.status = 200
        self.raise_exc = False

    def app(self, testing: bool = True) -> Flask:
        app = Flask(__name__)
        app.config["TESTING"] = testing

        @app.post("/hooks/sw")
        def hook() -> Any:
            self.calls.append(
                {
                    "data": request.get_data(),
                    "json": request.get_json(silent=True),
                    "form": request.form.to_dict(),
                    "verdict": g.webhook,
                }
            )
            if self.raise_exc:
                raise RuntimeError("view bug")
            if self.status >= 500:
                abort(self.status)
            return {"ok": True}, self.status

        @app.route("/health", methods=["GET", "POST"])
        def health() -> Any:
            verdict = g.get("webhook")
            return {"body": request.get_data(as_text=True), "route": verdict and verdict.route}

        return app


@pytest.fixture
def views() -> Views:
    return Views()


@pytest.fixture
def guard(make_guard: GuardFactory) -> Guard:
    return make_guard(sw_route(max_body_bytes=1024))


@pytest.fixture
def client(views: Views, guard: Guard) -> Iterator[FlaskClient]:
    app = views.app()
    WebhookGuard(app, guard=guard)
    with app.test_client() as c:
        yield c


def assert_problem(resp: Any, status: int, reason: Reason) -> dict[str, Any]:
    assert resp.status_code == status
    assert resp.headers["content-type"] == "application/problem+json"
    raw = resp.content if isinstance(resp, httpx.Response) else resp.get_data()
    problem: dict[str, Any] = json.loads(raw)
    assert problem["reason"] == reason.value
    return problem


def test_signed_request_reaches_the_view_with_body_json_and_verdict(
    client: FlaskClient, views: Views
) -> None:
    resp = client.post("/hooks/sw", data=BODY, headers=signed())
    assert resp.status_code == 200
    [call] = views.calls
    assert call["data"] == BODY.encode()
    assert call["json"] == {"type": "invoice.paid", "amount": 1200}
    verdict: Verdict = call["verdict"]
    assert verdict.ok
    assert verdict.route == "sw"
    assert verdict.event_id == "msg_1"


def test_form_encoded_webhook_body_still_parses_in_the_view(
    make_guard: GuardFactory, views: Views
) -> None:
    guard = make_guard(sw_route())
    app = views.app()
    WebhookGuard(app, guard=guard)
    body = urlencode({"payload": '{"a": 1}', "team": "T1"})
    headers = {**sign(guard, "sw", body), "content-type": "application/x-www-form-urlencoded"}
    resp = app.test_client().post("/hooks/sw", data=body, headers=headers)
    assert resp.status_code == 200
    assert views.calls[0]["form"] == {"payload": '{"a": 1}', "team": "T1"}
    assert views.calls[0]["data"] == body.encode()


def test_tampered_body_is_refused_before_the_view(client: FlaskClient, views: Views) -> None:
    resp = client.post("/hooks/sw", data=BODY.replace("1200", "1"), headers=signed())
    assert_problem(resp, 401, Reason.SIGNATURE_MISMATCH)
    assert SW_SECRET.encode() not in resp.get_data()
    assert views.calls == []


def test_duplicate_is_acknowledged_without_the_view(client: FlaskClient, views: Views) -> None:
    assert client.post("/hooks/sw", data=BODY, headers=signed()).status_code == 200
    again = client.post("/hooks/sw", data=BODY, headers=signed())
    assert_problem(again, 200, Reason.DUPLICATE_EVENT)
    assert len(views.calls) == 1


@pytest.mark.parametrize(
    ("failure", "testing"),
    [("abort_500", True), ("abort_503", True), ("raise", True), ("raise", False)],
)
def test_view_failure_releases_the_event_so_the_retry_is_processed(
    views: Views, guard: Guard, failure: str, testing: bool
) -> None:
    # testing=True propagates the exception out of the client; False turns it into a 500.
    app = views.app(testing=testing)
    WebhookGuard(app, guard=guard)
    client = app.test_client()
    views.raise_exc = failure == "raise"
    if failure.startswith("abort_"):
        views.status = int(failure.removeprefix("abort_"))
    if failure == "raise" and testing:
        with pytest.raises(RuntimeError, match="view bug"):
            client.post("/hooks/sw", data=BODY, headers=signed())
    else:
        assert client.post("/hooks/sw", data=BODY, headers=signed()).status_code >= 500
    views.raise_exc, views.status = False, 200
    assert client.post("/hooks/sw", data=BODY, headers=signed()).status_code == 200
    assert len(views.calls) == 2
    assert_problem(
        client.post("/hooks/sw", data=BODY, headers=signed()), 200, Reason.DUPLICATE_EVENT
    )


def test_4xx_from_the_view_releases_the_event(client: FlaskClient, views: Views) -> None:
    views.status = 422
    assert client.post("/hooks/sw", data=BODY, headers=signed()).status_code == 422
    views.status = 200
    assert client.post("/hooks/sw", data=BODY, headers=signed()).status_code == 200
    assert len(views.calls) == 2


def test_declared_length_over_limit_is_413(client: FlaskClient, views: Views) -> None:
    resp = client.post("/hooks/sw", data=b"x" * 1025, headers=signed())
    assert "1025" in assert_problem(resp, 413, Reason.BODY_TOO_LARGE)["detail"]
    assert views.calls == []


def test_chunked_body_past_the_limit_is_413(client: FlaskClient, views: Views) -> None:
    # No Content-Length; the server marks the stream as terminated (as werkzeug's does).
    resp = client.post(
        "/hooks/sw",
        input_stream=io.BytesIO(b"x" * 5000),
        headers={**signed(), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_problem(resp, 413, Reason.BODY_TOO_LARGE)
    assert views.calls == []


@pytest.mark.parametrize("chunked", [False, True])
def test_body_of_exactly_the_limit_is_accepted(
    client: FlaskClient, views: Views, chunked: bool
) -> None:
    body = json.dumps({"pad": "x" * 1013})
    assert len(body) == 1024
    if chunked:  # werkzeug stops silently at max_content_length: the edge must still work
        resp = client.post(
            "/hooks/sw",
            input_stream=io.BytesIO(body.encode()),
            headers={**signed(body=body), "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
    else:
        resp = client.post("/hooks/sw", data=body, headers=signed(body=body))
    assert resp.status_code == 200
    assert views.calls[0]["data"] == body.encode()


@pytest.mark.parametrize("chunked", [False, True])
def test_stricter_app_max_content_length_wins(views: Views, guard: Guard, chunked: bool) -> None:
    app = views.app()
    app.config["MAX_CONTENT_LENGTH"] = 100
    WebhookGuard(app, guard=guard)
    if chunked:
        resp = app.test_client().post(
            "/hooks/sw",
            input_stream=io.BytesIO(b"x" * 500),
            headers={**signed(), "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
    else:
        resp = app.test_client().post("/hooks/sw", data=b"x" * 500, headers=signed())
    assert "limit of 100 bytes" in assert_problem(resp, 413, Reason.BODY_TOO_LARGE)["detail"]
    assert views.calls == []


def test_stream_longer_than_its_content_length_is_413(client: FlaskClient, views: Views) -> None:
    # A server that marks its input as terminated may hand over more bytes than the
    # Content-Length the precheck accepted: the bytes read are measured again.
    resp = client.post(
        "/hooks/sw",
        input_stream=io.BytesIO(b"x" * 5000),
        headers=signed(),
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": "10"},
    )
    assert_problem(resp, 413, Reason.BODY_TOO_LARGE)
    assert views.calls == []


def test_wrong_method_is_405_with_allow(client: FlaskClient) -> None:
    resp = client.put("/hooks/sw", data=BODY, headers=signed())
    assert_problem(resp, 405, Reason.METHOD_NOT_ALLOWED)
    assert resp.headers["allow"] == "POST"


def test_encoded_slash_spelling_of_the_route_is_refused(client: FlaskClient, views: Views) -> None:
    resp = client.post("/hooks%2Fsw", data=BODY, headers=signed())
    assert_problem(resp, 404, Reason.ROUTE_NOT_FOUND)
    assert views.calls == []


def test_unrouted_path_passes_through_with_a_route_none_verdict(client: FlaskClient) -> None:
    resp = client.post("/health", data="plain")
    assert resp.get_json() == {"body": "plain", "route": None}


# -- protect(), init_app, precedence ---------------------------------------------------


def protected_app(wg: WebhookGuard, name: str = "sw") -> tuple[Flask, list[Verdict]]:
    app = Flask(__name__)
    seen: list[Verdict] = []

    @app.post("/hooks/sw")
    @wg.protect(name)
    def hook() -> Any:
        seen.append(g.webhook)
        return {"data": request.get_data(as_text=True)}

    @app.post("/hooks/other")
    def other() -> Any:
        return {"checked": "webhook" in g}

    return app, seen


def test_protect_guards_only_the_decorated_view(guard: Guard) -> None:
    wg = WebhookGuard(guard=guard, guard_all=False)
    app, seen = protected_app(wg)
    wg.init_app(app)
    client = app.test_client()
    assert_problem(client.post("/hooks/sw", data=BODY), 401, Reason.SIGNATURE_MISSING)
    assert client.post("/hooks/sw", data=BODY, headers=signed()).get_json() == {"data": BODY}
    assert seen[0].event_id == "msg_1"
    assert client.post("/hooks/other", data="x").get_json() == {"checked": False}


def test_view_covered_by_both_is_checked_once(guard: Guard) -> None:
    wg = WebhookGuard(guard=guard)  # guard_all and protect(): a second check would see the
    app, seen = protected_app(wg)  # event in flight and answer 409
    wg.init_app(app)
    resp = app.test_client().post("/hooks/sw", data=BODY, headers=signed())
    assert resp.status_code == 200
    assert len(seen) == 1


def test_protect_with_a_route_that_does_not_cover_the_path_fails_closed(guard: Guard) -> None:
    wg = WebhookGuard(guard=guard)
    app, seen = protected_app(wg, name="billing")
    wg.init_app(app)
    resp = app.test_client().post("/hooks/sw", data=BODY, headers=signed())
    assert resp.status_code == 500
    assert seen == []


def test_app_factory_reads_app_config_and_registers_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "webhook-guard.yaml"
    path.write_text(json.dumps({"version": 1, "routes": [sw_route()]}))
    wg = WebhookGuard()

    def create_app() -> Flask:
        app = Flask(__name__)
        app.config["WEBHOOK_GUARD_CONFIG"] = str(path)
        wg.init_app(app)
        return app

    first, second = create_app(), create_app()
    state = first.extensions["webhook_guard"]
    assert state.guard.config.route("sw").path == "/hooks/sw"
    assert second.extensions["webhook_guard"].guard is not state.guard
    assert not hasattr(wg, "app")


def test_explicit_argument_wins_over_app_config() -> None:
    app = Flask(__name__)
    app.config["WEBHOOK_GUARD_CONFIG"] = {"version": 1, "routes": [sw_route(name="from_app")]}
    app.config["WEBHOOK_GUARD_ALL"] = False
    WebhookGuard(app, config={"version": 1, "routes": [sw_route(name="explicit")]}, guard_all=True)
    state = app.extensions["webhook_guard"]
    assert [r.name for r in state.guard.config.routes] == ["explicit"]
    assert state.guard_all is True


def test_missing_or_broken_config_fails_at_init_app() -> None:
    with pytest.raises(TypeError, match="WebhookGuard: pass config="):
        WebhookGuard(Flask(__name__))
    app = Flask(__name__)
    app.config["WEBHOOK_GUARD_CONFIG"] = {"version": 1, "routes": [{"name": "x"}]}
    with pytest.raises(ConfigError, match=r"routes\[0\]"):
        WebhookGuard(app)


# -- real werkzeug server, real SDK ----------------------------------------------------


def test_over_a_socket_on_werkzeug_with_svix_signatures() -> None:
    views = Views()
    app = views.app(testing=False)
    WebhookGuard(app, config={"version": 1, "routes": [sw_route(max_body_bytes=1024)]})
    now = datetime.now(timezone.utc)

    def svix_headers(msg_id: str) -> dict[str, str]:
        sig = svix.webhooks.Webhook(SW_SECRET).sign(msg_id, now, BODY)
        return {
            "svix-id": msg_id,
            "svix-timestamp": str(int(now.timestamp())),
            "svix-signature": sig,
            "content-type": "application/json",
        }

    with serve_wsgi(app) as url, httpx.Client(base_url=url) as http:
        assert http.post("/hooks/sw", content=BODY, headers=svix_headers("m1")).status_code == 200
        assert_problem(
            http.post("/hooks/sw", content=BODY, headers=svix_headers("m1")),
            200,
            Reason.DUPLICATE_EVENT,
        )
        chunked = http.post(
            "/hooks/sw",
            content=iter([BODY[:5].encode(), BODY[5:].encode()]),
            headers=svix_headers("m2"),
        )
        assert "content-length" not in chunked.request.headers
        assert chunked.status_code == 200
        big = http.post("/hooks/sw", content=iter([b"z" * 100] * 20), headers=svix_headers("m3"))
        assert_problem(big, 413, Reason.BODY_TOO_LARGE)
        forged = http.post("/hooks/sw", content=BODY + " ", headers=svix_headers("m4"))
        assert_problem(forged, 401, Reason.SIGNATURE_MISMATCH)
    assert [c["verdict"].event_id for c in views.calls] == ["m1", "m2"]
    assert [c["json"]["amount"] for c in views.calls] == [1200, 1200]


def test_protect_without_init_app_says_so() -> None:
    wg = WebhookGuard(config={"version": 1, "routes": [sw_route()]})
    app, _ = protected_app(wg)  # init_app never called for this app
    app.config["TESTING"] = True
    with pytest.raises(RuntimeError, match="init_app"):
        app.test_client().post("/hooks/sw", data=BODY, headers=signed())


def test_concurrent_redelivery_over_a_socket_gets_409_while_the_first_runs() -> None:
    import threading

    started, release = threading.Event(), threading.Event()
    app = Flask(__name__)
    WebhookGuard(app, config={"version": 1, "routes": [sw_route()]})

    @app.post("/hooks/sw")
    def slow() -> Any:
        started.set()
        release.wait(10)
        return {"ok": True}

    now = datetime.now(timezone.utc)
    headers = sdk_signed("msg_slow", BODY, now)
    with serve_wsgi(app) as url, httpx.Client(base_url=url) as http:
        results: list[httpx.Response] = []
        first = threading.Thread(
            target=lambda: results.append(http.post("/hooks/sw", content=BODY, headers=headers))
        )
        first.start()
        assert started.wait(10)
        with httpx.Client(base_url=url) as other:
            second = other.post("/hooks/sw", content=BODY, headers=headers)
        release.set()
        first.join(10)
    assert_problem(second, 409, Reason.EVENT_IN_FLIGHT)
    assert second.headers["retry-after"] == "60"
    assert results[0].status_code == 200


def test_two_apps_share_a_real_redis_replay_store() -> None:
    from .servers import redis_server

    headers = sdk_signed("msg_shared", BODY)  # real clock: the guards use it too
    with redis_server() as url:
        config = {"version": 1, "replay": {"store": url}, "routes": [sw_route()]}
        one, two = Views(), Views()
        app_one, app_two = one.app(testing=False), two.app(testing=False)
        WebhookGuard(app_one, config=config)
        WebhookGuard(app_two, config=config)
        try:
            assert (
                app_one.test_client().post("/hooks/sw", data=BODY, headers=headers).status_code
                == 200
            )
            again = app_two.test_client().post("/hooks/sw", data=BODY, headers=headers)
            assert_problem(again, 200, Reason.DUPLICATE_EVENT)
        finally:
            for app in (app_one, app_two):
                app.extensions["webhook_guard"].guard.store.close()
    assert len(one.calls) == 1
    assert two.calls == []


# -- streamed responses ----------------------------------------------------------------


def streaming_app(calls: list[str], fail_midway: dict[str, bool]) -> Flask:
    app = Flask(__name__)

    @app.post("/hooks/sw")
    def hook() -> Any:
        calls.append(g.webhook.event_id)

        def body() -> Iterator[bytes]:
            yield b'{"part":1,'
            if fail_midway["on"]:
                raise RuntimeError("handler failed while streaming")
            yield b'"part2":2}'

        return app.response_class(body(), mimetype="application/json")

    @app.post("/hooks/abort")
    def aborted() -> Any:
        calls.append(g.webhook.event_id)
        abort(400)

    WebhookGuard(
        app,
        config={
            "version": 1,
            "routes": [
                sw_route(),
                # A 400 that uses the event up, so that settling it at once is visible.
                sw_route(name="abort", path="/hooks/abort", commit_on="below_500"),
            ],
        },
    )
    return app


def test_streamed_response_settles_once_sent_on_werkzeug() -> None:
    """A view's generator runs after Flask's teardown: a failure while streaming must
    release the event (the provider retries), and only a fully sent stream commits it."""
    calls: list[str] = []
    fail = {"on": True}
    app = streaming_app(calls, fail)
    with serve_wsgi(app) as url, httpx.Client(base_url=url) as http:
        headers = sdk_signed("m1", BODY)
        with pytest.raises(httpx.HTTPError):  # the stream breaks off midway
            http.post("/hooks/sw", content=BODY, headers=headers)
        fail["on"] = False
        retry = http.post("/hooks/sw", content=BODY, headers=sdk_signed("m1", BODY))
        assert retry.status_code == 200
        assert retry.json() == {"part": 1, "part2": 2}
        again = http.post("/hooks/sw", content=BODY, headers=sdk_signed("m1", BODY))
        assert_problem(again, 200, Reason.DUPLICATE_EVENT)
    assert calls == ["m1", "m1"]


def test_streamed_response_is_in_flight_until_sent() -> None:
    calls: list[str] = []
    app = streaming_app(calls, {"on": False})
    client = app.test_client()
    first = client.post("/hooks/sw", data=BODY, headers=sdk_signed("m1", BODY))
    assert first.status_code == 200
    # Headers are out, the body is not yet: the handler may still fail.
    assert_problem(
        client.post("/hooks/sw", data=BODY, headers=sdk_signed("m1", BODY)),
        409,
        Reason.EVENT_IN_FLIGHT,
    )
    assert first.get_data() == b'{"part":1,"part2":2}'
    assert_problem(
        client.post("/hooks/sw", data=BODY, headers=sdk_signed("m1", BODY)),
        200,
        Reason.DUPLICATE_EVENT,
    )
    assert calls == ["m1"]


def test_abort_page_is_settled_at_once() -> None:
    # abort() answers through werkzeug's own WSGI body, which runs no view code: the
    # event is settled when the view returns, whether or not anyone reads the page.
    calls: list[str] = []
    client = streaming_app(calls, {"on": False}).test_client()
    assert client.post("/hooks/abort", data=BODY, headers=sdk_signed("a1", BODY)).status_code == 400
    assert_problem(
        client.post("/hooks/abort", data=BODY, headers=sdk_signed("a1", BODY)),
        200,
        Reason.DUPLICATE_EVENT,
    )
    assert calls == ["a1"]


def test_415_from_get_json_leaves_the_event_for_the_retry_on_werkzeug() -> None:
    """A delivery without Content-Type makes ``request.get_json()`` answer 415: the view
    never processed the event, so once the view is fixed the provider's retry must be
    processed, not acknowledged as a duplicate."""
    app = Flask(__name__)
    processed: list[Any] = []
    fixed = {"on": False}

    @app.post("/hooks/sw")
    def hook() -> Any:
        processed.append(request.get_json(force=fixed["on"]))
        return {"ok": True}

    WebhookGuard(app, config={"version": 1, "routes": [sw_route()]})
    headers = sdk_signed("m415", BODY)
    del headers["content-type"]
    with serve_wsgi(app) as url, httpx.Client(base_url=url) as http:
        assert http.post("/hooks/sw", content=BODY, headers=headers).status_code == 415
        assert processed == []
        fixed["on"] = True
        retry = http.post("/hooks/sw", content=BODY, headers=headers)
        assert retry.status_code == 200, retry.text
        assert processed == [{"type": "invoice.paid", "amount": 1200}]
        assert_problem(
            http.post("/hooks/sw", content=BODY, headers=headers), 200, Reason.DUPLICATE_EVENT
        )
