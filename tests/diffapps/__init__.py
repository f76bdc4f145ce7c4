"""Apps for tests/test_path_differential.py, each run by a real server in its own process.

Every app has two guarded handlers (``/hooks/orders`` exactly, ``/hooks/builds/...`` under
a prefix route) that append their name to the file named by ``WG_RAN_LOG`` when they run,
and one unguarded handler under ``/public/``.
"""

from __future__ import annotations

import base64
import os
from typing import Any

SECRET = "whsec_" + base64.b64encode(b"d" * 32).decode()

CONFIG: dict[str, Any] = {
    "version": 1,
    "routes": [
        {"name": "orders", "path": "/hooks/orders", "provider": "standard", "secrets": [SECRET]},
        {"name": "builds", "path": "/hooks/builds/*", "provider": "standard", "secrets": [SECRET]},
    ],
}


def ran(handler: str) -> bytes:
    """Record that a guarded handler ran; the marker it answers with."""
    with open(os.environ["WG_RAN_LOG"], "a") as log:
        log.write(handler + "\n")
    return b"handler ran: " + handler.encode()
