"""Starlette and FastAPI under uvicorn, behind GuardMiddleware."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from webhook_guard import Verdict
from webhook_guard.adapters.asgi import GuardMiddleware, webhook_verdict

from . import CONFIG, ran, rewrite_asgi


async def orders(request: Request) -> Response:
    return PlainTextResponse(ran("orders"))


async def builds(request: Request) -> Response:
    return PlainTextResponse(ran("builds"))


async def public(request: Request) -> Response:
    return PlainTextResponse("public")


starlette = rewrite_asgi(
    GuardMiddleware(
        Starlette(
            routes=[
                Route("/hooks/orders", orders, methods=["POST"]),
                Route("/hooks/builds/{rest:path}", builds, methods=["POST"]),
                Route("/public/{rest:path}", public, methods=["GET", "POST"]),
            ]
        ),
        config=CONFIG,
    )
)

api = FastAPI()


@api.post("/hooks/orders")
async def api_orders(verdict: Annotated[Verdict, Depends(webhook_verdict)]) -> Response:
    return PlainTextResponse(ran("orders"))


@api.post("/hooks/builds/{rest:path}")
async def api_builds(rest: str, verdict: Annotated[Verdict, Depends(webhook_verdict)]) -> Response:
    return PlainTextResponse(ran("builds"))


@api.api_route("/public/{rest:path}", methods=["GET", "POST"])
async def api_public(rest: str) -> Response:
    return PlainTextResponse("public")


fastapi = rewrite_asgi(GuardMiddleware(api, config=CONFIG))
