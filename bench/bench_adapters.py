"""Server CPU per request of each adapter against the hand-written verification users write
today in that framework: ``python bench/bench_adapters.py [--quick]``.

For each framework, three apps run the same handler (parse the JSON body, answer a small
fixed JSON) in their own server process:

- ``bare``: the handler alone, no verification;
- ``hand-written``: ``standardwebhooks.Webhook(secret).verify(raw_body, headers)`` (its
  return value is the parsed event, so the handler does not parse again) in a FastAPI
  ``Depends`` / a Starlette, Flask or Django view, plus the event-ID dedup users add (a set
  of ``webhook-id`` values), answering 401 when verification fails;
- ``guarded``: the handler behind the adapter, set up as docs/getting-started/ shows
  (``GuardMiddleware`` with the ``webhook_verdict`` dependency, ``GuardMiddleware`` around
  a Starlette app, the ``WebhookGuard`` Flask extension, ``WebhookGuardMiddleware`` in
  Django) with one ``provider: standard`` route and the memory replay store.

Servers: uvicorn (one worker, access log off) for FastAPI and Starlette; gunicorn (one
``gthread`` worker with one thread, access log off: the ``sync`` worker closes every
connection, so it cannot keep one alive) for Flask and Django. The same client
(``httpload.py``: asyncio, raw sockets, pre-built request bytes, keep-alive connections)
sends every app the same 1 KiB Standard Webhooks deliveries, each with its own event ID,
signed with ``webhook_guard.testing.sign``. Measured: the server process tree's CPU time
(utime + stime from /proc, so other processes on the machine matter less than for wall
time) over a batch, per request. Rounds alternate the variants in a rotating order; the
minimum per variant counts. Target: guarded / hand-written < 1 for every framework.
The benchmark reports; it exits 0 unless something raises.
"""

# No `from __future__ import annotations`: FastAPI reads the handlers' annotations at
# run time, and their types are imported inside the app builder.
import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import types
from collections.abc import Callable
from typing import Any

import httpload
from httpload import SECRET_ENV

PATH = "/hooks/bench"
REPLY = b'{"ok":true}'
FRAMEWORKS = ("fastapi", "starlette", "flask", "django")
VARIANTS = ("bare", "handwritten", "guarded")
ROW_NAMES = {
    "fastapi": "FastAPI (uvicorn)",
    "starlette": "Starlette (uvicorn)",
    "flask": "Flask (gunicorn)",
    "django": "Django (gunicorn)",
}
UVICORN = ("fastapi", "starlette")


def config() -> dict[str, Any]:
    return httpload.standard_config(PATH)


def standard_webhook() -> Any:
    """The verifier a user builds once, at import time, from the endpoint's secret."""
    from standardwebhooks import Webhook

    return Webhook(os.environ[SECRET_ENV])


# -- the apps: one builder per framework, each returning the variant's app ------------


def fastapi_app(variant: str) -> Any:
    from typing import Annotated

    from fastapi import Depends, FastAPI, HTTPException, Request, Response
    from standardwebhooks import WebhookVerificationError

    from webhook_guard import Verdict
    from webhook_guard.adapters.asgi import GuardMiddleware, webhook_verdict

    api = FastAPI()
    if variant == "bare":

        @api.post(PATH)
        async def bare(request: Request) -> Response:
            await request.json()
            return Response(REPLY, media_type="application/json")

        return api
    if variant == "handwritten":
        webhook = standard_webhook()
        seen: set[str] = set()

        async def verified_event(request: Request) -> Any:
            try:
                event = webhook.verify(await request.body(), request.headers)
            except WebhookVerificationError:
                raise HTTPException(401) from None
            event_id = request.headers["webhook-id"]
            if event_id in seen:
                raise HTTPException(409, "duplicate")
            seen.add(event_id)
            return event

        @api.post(PATH)
        async def handwritten(event: Annotated[Any, Depends(verified_event)]) -> Response:
            return Response(REPLY, media_type="application/json")

        return api

    @api.post(PATH)
    async def guarded(
        request: Request, verdict: Annotated[Verdict, Depends(webhook_verdict)]
    ) -> Response:
        await request.json()
        return Response(REPLY, media_type="application/json")

    return GuardMiddleware(api, config=config())


def starlette_app(variant: str) -> Any:
    from standardwebhooks import WebhookVerificationError
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from webhook_guard.adapters.asgi import GuardMiddleware

    webhook = standard_webhook()
    seen: set[str] = set()

    async def bare(request: Request) -> Response:
        await request.json()
        return Response(REPLY, media_type="application/json")

    async def handwritten(request: Request) -> Response:
        try:
            webhook.verify(await request.body(), request.headers)
        except WebhookVerificationError:
            return Response(status_code=401)
        event_id = request.headers["webhook-id"]
        if event_id in seen:
            return Response(status_code=409)
        seen.add(event_id)
        return Response(REPLY, media_type="application/json")

    async def guarded(request: Request) -> Response:
        request.state.webhook  # noqa: B018 - the verdict, as a handler reads it
        await request.json()
        return Response(REPLY, media_type="application/json")

    views = {"bare": bare, "handwritten": handwritten, "guarded": guarded}
    app = Starlette(routes=[Route(PATH, views[variant], methods=["POST"])])
    return GuardMiddleware(app, config=config()) if variant == "guarded" else app


def flask_app(variant: str) -> Any:
    from flask import Flask, abort, g, request
    from standardwebhooks import WebhookVerificationError

    from webhook_guard.adapters.flask import WebhookGuard

    app = Flask(__name__)
    answer = (REPLY, 200, {"Content-Type": "application/json"})
    if variant == "bare":

        @app.post(PATH)
        def bare() -> Any:
            request.get_json()
            return answer

    elif variant == "handwritten":
        webhook = standard_webhook()
        seen: set[str] = set()

        @app.post(PATH)
        def handwritten() -> Any:
            try:
                webhook.verify(request.get_data(), request.headers)
            except WebhookVerificationError:
                abort(401)
            event_id = request.headers["webhook-id"]
            if event_id in seen:
                abort(409)
            seen.add(event_id)
            return answer

    else:
        WebhookGuard(app, config=config())

        @app.post(PATH)
        def guarded() -> Any:
            g.webhook  # noqa: B018 - the verdict, as a view reads it
            request.get_json()
            return answer

    return app


def django_app(variant: str) -> Any:
    import django
    from django.conf import settings

    middleware = [
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
    ]
    extra: dict[str, Any] = {}
    if variant == "guarded":  # as in docs/getting-started/django.md
        middleware.insert(1, "webhook_guard.adapters.django.WebhookGuardMiddleware")
        extra = {
            "INSTALLED_APPS": ["webhook_guard.adapters.django"],
            "WEBHOOK_GUARD": {"CONFIG": config()},
        }
    urls = sys.modules["bench_urls"] = types.ModuleType("bench_urls")
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only",
        ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF="bench_urls",
        MIDDLEWARE=middleware,
        **extra,
    )
    django.setup()

    from django.core.wsgi import get_wsgi_application
    from django.http import HttpRequest, HttpResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt
    from standardwebhooks import WebhookVerificationError

    webhook = standard_webhook()
    seen: set[str] = set()

    @csrf_exempt  # a provider sends no CSRF token
    def bare(request: HttpRequest) -> HttpResponse:
        json.loads(request.body)
        return HttpResponse(REPLY, content_type="application/json")

    @csrf_exempt
    def handwritten(request: HttpRequest) -> HttpResponse:
        try:
            webhook.verify(request.body, request.headers)
        except WebhookVerificationError:
            return HttpResponse(status=401)
        event_id = request.headers["webhook-id"]
        if event_id in seen:
            return HttpResponse(status=409)
        seen.add(event_id)
        return HttpResponse(REPLY, content_type="application/json")

    def guarded(request: HttpRequest) -> HttpResponse:  # verified: no csrf_exempt needed
        request.webhook  # type: ignore[attr-defined]  # noqa: B018 - the verdict
        json.loads(request.body)
        return HttpResponse(REPLY, content_type="application/json")

    views = {"bare": bare, "handwritten": handwritten, "guarded": guarded}
    urls.urlpatterns = [path(PATH.lstrip("/"), views[variant])]  # type: ignore[attr-defined]
    return get_wsgi_application()


BUILDERS: dict[str, Callable[[str], Any]] = {
    "fastapi": fastapi_app,
    "starlette": starlette_app,
    "flask": flask_app,
    "django": django_app,
}


# -- servers --------------------------------------------------------------------------


def profiling(name: str) -> Callable[[], None] | None:
    """With BENCH_PROFILE=<dir> (and yappi installed): start profiling every thread of this
    process by CPU time; the returned function saves ``<dir>/<name>.pstat``."""
    folder = os.environ.get("BENCH_PROFILE")
    if not folder:
        return None
    import yappi

    yappi.set_clock_type("cpu")
    yappi.start()

    def save() -> None:
        yappi.stop()
        yappi.get_func_stats().save(os.path.join(folder, f"{name}.pstat"), type="pstat")

    return save


def serve(framework: str, variant: str, port: int, http: str) -> None:
    app = BUILDERS[framework](variant)
    name = f"{framework}-{variant}"
    if framework in UVICORN:
        save = profiling(name)
        if save is not None:
            # uvicorn re-raises the SIGTERM that stopped it, once it has shut down.
            signal.signal(signal.SIGTERM, lambda signum, frame: save())
        httpload.run_uvicorn(app, port, http)
        return
    from gunicorn.app.base import BaseApplication

    class Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": f"127.0.0.1:{port}",
                "workers": 1,
                "worker_class": "gthread",
                "threads": 1,
                "keepalive": 30,
                "accesslog": None,
                "loglevel": "warning",
            }
            if os.environ.get("BENCH_PROFILE"):  # in the worker, which serves
                saved: list[Callable[[], None] | None] = []
                options["post_fork"] = lambda arbiter, worker: saved.append(profiling(name))
                options["worker_exit"] = lambda arbiter, worker: saved[0]() if saved[0] else None
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    Gunicorn().run()


@contextlib.contextmanager
def server(framework: str, variant: str, http: str) -> Any:
    port = httpload.free_port()
    args = [sys.executable, __file__, "--serve", f"{framework}:{variant}"]
    args += ["--port", str(port), "--http", http]
    with httpload.server(f"{framework} {variant}", args, port) as pid:
        yield port, pid


def batch(port: int, pid: int, n: int, tag: str, connections: int) -> tuple[float, int]:
    """Send ``n`` fresh deliveries; (server CPU us per request, failed responses)."""
    # Signed now, so every round's timestamps are within the window.
    requests = httpload.build_requests(PATH, n, port, tag)
    before = httpload.cpu_seconds(pid)
    _, failed = asyncio.run(httpload.drive(port, requests, connections, REPLY))
    return (httpload.cpu_seconds(pid) - before) / n * 1e6, failed


def refuses_forgery(port: int) -> bool:
    """Whether the app answers 401 to a delivery whose body was changed after signing."""
    raw = httpload.build_requests(PATH, 1, port, "forged")[0].replace(b'"bench"', b'"BENCH"')
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        return sock.recv(12) == b"HTTP/1.1 401"


def versions() -> str:
    from importlib.metadata import version

    names = ("uvicorn", "gunicorn", "fastapi", "starlette", "flask", "django", "standardwebhooks")
    return ", ".join(f"{name} {version(name)}" for name in names)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (about 15 s)")
    parser.add_argument("--http", default="auto", help="uvicorn HTTP implementation")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--only", choices=FRAMEWORKS, action="append", help="run only these frameworks"
    )
    parser.add_argument("--rounds", type=int, help="rounds (default 5, --quick 2)")
    parser.add_argument("--requests", type=int, help="requests per app and round (default 4000)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        framework, _, variant = args.serve.partition(":")
        serve(framework, variant, args.port, args.http)
        return 0

    rounds, per_round, warmup = (2, 300, 50) if args.quick else (5, 4000, 500)
    rounds = args.rounds or rounds
    per_round = args.requests or per_round
    frameworks = args.only or FRAMEWORKS
    httpload.ensure_secret()
    cpu: dict[tuple[str, str], float] = {}
    failures = 0
    unverified: list[str] = []
    with contextlib.ExitStack() as stack:
        servers = {
            (f, v): stack.enter_context(server(f, v, args.http))
            for f in frameworks
            for v in VARIANTS
        }
        for (framework, variant), (port, pid) in servers.items():
            # The bare app takes anything; the others must really verify.
            if refuses_forgery(port) != (variant != "bare"):
                unverified.append(f"{framework} {variant}")
            failures += batch(port, pid, warmup, f"warm{framework}{variant}", args.connections)[1]
        for r in range(rounds):
            # The order rotates every round, so no variant always runs first or last.
            for framework in frameworks:
                for variant in VARIANTS[r % 3 :] + VARIANTS[: r % 3]:
                    port, pid = servers[framework, variant]
                    tag = f"{framework}{variant}{r}"
                    used, failed = batch(port, pid, per_round, tag, args.connections)
                    failures += failed
                    key = (framework, variant)
                    cpu[key] = min(cpu.get(key, float("inf")), used)

    print(f"{versions()}, --http {args.http}")
    print(
        f"client: {args.connections} keep-alive connections, {rounds} rounds x {per_round} "
        "requests per app, best round; 1 KiB Standard Webhooks delivery, unique event ID"
    )
    print(f"load average before the table: {os.getloadavg()[0]:.2f}\n")
    print("server CPU us per request")
    print(
        f"{'framework (server)':<22}{'bare':>7}{'hand-written':>14}{'guarded':>9}"
        f"{'guarded/hand-written':>22}"
    )
    for framework in frameworks:
        bare, hand, guarded = (cpu[framework, v] for v in VARIANTS)
        ratio = guarded / hand if hand else float("inf")
        print(
            f"{ROW_NAMES[framework]:<22}{bare:>7.0f}{hand:>14.0f}{guarded:>9.0f}"
            f"{ratio:>16.2f}  {'PASS' if ratio < 1 else 'MISS'}"
        )
    print("\ntarget: guarded / hand-written < 1 (server CPU per request) for every framework")
    print(
        "(hand-written: standardwebhooks' Webhook(secret).verify(body, headers) plus a set of "
        "seen webhook-id values, in a FastAPI Depends or the view)"
    )
    if unverified:
        print(f"WARNING: a forged delivery was not answered as expected by {unverified}")
    if failures:
        print(f"WARNING: {failures} responses were not the app's 200 (refused or duplicate)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
