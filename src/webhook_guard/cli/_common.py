"""What every command shares: exit codes, loading a config, reading a body, messages."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import did_you_mean
from ..guard import Guard
from ..signatures.presets import PRESETS

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


def load_guard(path: str) -> Guard:
    return Guard.from_file(path)


def unknown_provider(name: str) -> str:
    return f"unknown provider {name!r}{did_you_mean(name, sorted(PRESETS))}"


def read_body(path: str) -> bytes:
    return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()


def needs_proxy_extra(exc: ImportError) -> int:
    print(
        f"error: {exc.name or 'a dependency'} is not installed; this command needs the "
        "proxy extra: pip install 'webhook-guard-middleware[proxy]'",
        file=sys.stderr,
    )
    return EXIT_USAGE


def positive(kind: Callable[[str], float]) -> Callable[[str], Any]:
    """An argparse type: ``kind`` of the text, refused unless > 0 (argparse exits 2)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not 0 < value < math.inf:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
        return value

    return parse


def quiet_stdout() -> None:
    """After a broken pipe, point stdout at devnull so that the interpreter's last flush
    does not fail again (Python's documentation, "Note on SIGPIPE")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
