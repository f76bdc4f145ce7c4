"""The same FlexDeploy stand-in, protected in-process instead of behind the proxy.

For an application you can change: GuardMiddleware checks the configured webhook routes
before the app sees them and passes every other path through untouched (here the base
application stays reachable, so expose this process only where that is wanted).

Run:  python examples/flexdeploy_like/app_middleware.py --port 8000
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app import app as flexdeploy

from webhook_guard.adapters.asgi import GuardMiddleware

CONFIG = Path(__file__).with_name("webhook-guard.yaml")

app = GuardMiddleware(flexdeploy, config=CONFIG)


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    # proxy_headers=False: the guard resolves the client address under its own
    # network.trusted_proxies rules.
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=False)
