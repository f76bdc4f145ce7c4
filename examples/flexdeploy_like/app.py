"""A stand-in for a FlexDeploy server: a base application plus git webhook endpoints.

Like many tools that receive webhooks, it checks nothing itself: whoever can reach
``/flexdeploy/webhooks/v1/...`` can start a build, and whoever can reach ``/flexdeploy/``
sees the whole application. Put webhook_guard in front of it (``webhook-guard serve``, see
README.md) or around it (``app_middleware.py``).

Run:  python examples/flexdeploy_like/app.py --port 8000
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

#: Git push events the webhook endpoints received, newest last.
EVENTS: list[dict[str, Any]] = []


async def home(request: Request) -> Response:
    return HTMLResponse("<h1>FlexDeploy</h1><p>Sign in to manage releases and pipelines.</p>")


async def admin(request: Request) -> Response:
    # What must never be reachable from the internet.
    return JSONResponse({"users": ["admin", "release-manager"], "vault": "3 credentials"})


async def events(request: Request) -> Response:
    return JSONResponse(EVENTS)


def _summary(provider: str, request: Request, payload: dict[str, Any]) -> dict[str, Any]:
    headers = request.headers
    if provider == "github":
        repo = payload["repository"]["full_name"]
        ref = payload["ref"]
        event, delivery = headers.get("x-github-event"), headers.get("x-github-delivery")
    elif provider == "gitlab":
        repo = payload["project"]["path_with_namespace"]
        ref = payload["ref"]
        event, delivery = headers.get("x-gitlab-event"), headers.get("idempotency-key")
    else:
        repo = payload["repository"]["full_name"]
        ref = "refs/heads/" + payload["push"]["changes"][0]["new"]["name"]
        event, delivery = headers.get("x-event-key"), headers.get("x-request-uuid")
    # In-process (app_middleware.py) the verdict is on request.state; behind the proxy
    # it arrives as X-Webhook-Guard-* headers, which the proxy never lets a client set.
    verdict = getattr(request.state, "webhook", None)
    return {
        "provider": provider,
        "event": event,
        "delivery": delivery,
        "repository": repo,
        "ref": ref,
        "client": verdict.client_ip if verdict else headers.get("x-forwarded-for"),
        "verified_route": verdict.route if verdict else headers.get("x-webhook-guard-route"),
    }


async def git_push(request: Request) -> Response:
    provider = request.path_params["provider"]
    if provider not in ("github", "gitlab", "bitbucket"):
        return JSONResponse({"error": f"no git provider {provider}"}, status_code=404)
    payload = json.loads(await request.body())
    EVENTS.append(_summary(provider, request, payload))
    return JSONResponse({"accepted": True, "build": f"build-{len(EVENTS)}"}, status_code=202)


async def jenkins(request: Request) -> Response:
    # A webhook endpoint the guard does not expose (not in webhook-guard.yaml).
    return JSONResponse({"accepted": True, "job": "deploy-prod"}, status_code=202)


app = Starlette(
    routes=[
        Route("/flexdeploy", home),
        Route("/flexdeploy/admin", admin),
        Route("/flexdeploy/api/events", events),
        Route("/flexdeploy/webhooks/v1/git/{provider}", git_push, methods=["POST"]),
        Route("/flexdeploy/webhooks/v1/jenkins", jenkins, methods=["POST"]),
    ]
)


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port)
