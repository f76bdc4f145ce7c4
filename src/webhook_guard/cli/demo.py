"""``webhook-guard demo``: the self-contained walkthrough (the work is in webhook_guard.demo)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from ._common import EXIT_USAGE, needs_proxy_extra


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the self-contained walkthrough."""
    try:
        from ..demo import run_demo
        from ..proxy_server import cannot_listen
    except ImportError as exc:
        return needs_proxy_extra(exc)
    if args.port:
        problem = cannot_listen("127.0.0.1", args.port)
        if problem is not None:
            print(f"error: cannot listen on 127.0.0.1:{args.port}: {problem}", file=sys.stderr)
            return EXIT_USAGE
    # The walkthrough narrates each refusal with its reason; the log lines would repeat it.
    logging.getLogger("webhook_guard").setLevel(logging.ERROR)
    return run_demo(port=args.port)


def add_demo(sub: Any) -> None:
    """Register ``demo``."""
    p = sub.add_parser(
        "demo",
        help="watch the guard refuse tampered, replayed, stale and spoofed webhooks",
        description="Start a local app behind the verifying proxy (on free loopback ports) "
        "and send it genuine and hostile deliveries, printing what happened to each. "
        "Needs the proxy extra; nothing else to set up.",
    )
    p.add_argument(
        "--port",
        type=int,
        default=0,
        help="loopback port for the proxy (default: a free one)",
    )
    p.set_defaults(func=cmd_demo)
