"""The ``webhook-guard`` command line: a thin shell over the library.

One module per group of commands (``offline``: check, sign, verify, secret, schema;
``serve``; ``demo``; ``ip_ranges``; ``audit``: log, inspect); each only parses arguments,
calls the library and prints. Exit codes: 0 success / accepted, 1 rejected, 2 usage or
configuration error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import ConfigError
from ..secrets import new_secret
from . import audit, demo, ip_ranges, offline, serve
from ._common import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, quiet_stdout

__all__ = ["EXIT_OK", "EXIT_REJECTED", "EXIT_USAGE", "build_parser", "main", "new_secret"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="webhook-guard",
        description="Verify incoming webhooks: signatures, timestamps, replays, source IPs.",
        epilog="New here? Run 'webhook-guard demo'. 'webhook-guard COMMAND --help' explains "
        "each command. Exit codes: 0 ok/accepted, 1 rejected, 2 usage or config error.",
    )
    parser.add_argument("--version", action="version", version=f"webhook-guard {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    offline.add_check(sub)
    offline.add_sign(sub)
    offline.add_verify(sub)
    serve.add_serve(sub)
    offline.add_schema(sub)
    demo.add_demo(sub)
    offline.add_secret(sub)
    ip_ranges.add_ip_ranges(sub)
    audit.add_log(sub)
    audit.add_inspect(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``webhook-guard`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int | None = None
    try:
        code = args.func(args)
        sys.stdout.flush()  # here, so a closed pipe is caught below and not at exit
    except BrokenPipeError:  # the reader stopped early (| head): end quietly
        quiet_stdout()
        return EXIT_OK if code is None else code
    except SystemExit as exc:
        if exc.code in (None, EXIT_OK, EXIT_REJECTED, EXIT_USAGE):
            raise
        # uvicorn exits 3 when it cannot start (its log said why): keep the documented codes.
        print(f"error: the server could not start (exit status {exc.code})", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        for line in exc.errors:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK if code is None else code
