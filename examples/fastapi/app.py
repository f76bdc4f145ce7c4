"""FastAPI behind webhook_guard: one line wraps the app, one dependency gives the verdict.

Run:  uvicorn --app-dir examples/fastapi app:app      (from the repository root)
The config next to this file has one Standard Webhooks route, /hooks/orders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

from webhook_guard import Verdict
from webhook_guard.adapters.asgi import GuardMiddleware, webhook_verdict

CONFIG = Path(__file__).with_name("webhook-guard.yaml")

api = FastAPI()
processed: list[dict[str, Any]] = []


@api.post("/hooks/orders")
async def orders(
    request: Request, verdict: Annotated[Verdict, Depends(webhook_verdict)]
) -> dict[str, Any]:
    # Only verified, first-time deliveries get here; parse the body only now.
    event = json.loads(await request.body())
    processed.append(event)
    return {"received": verdict.event_id, "secret": verdict.secret_id}


@api.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


# Pure ASGI middleware around the whole app (FastAPI's add_middleware works too:
# api.add_middleware(GuardMiddleware, config=CONFIG)).
app = GuardMiddleware(api, config=CONFIG)
