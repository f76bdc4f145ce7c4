"""An upstream with no guard of its own, behind ``webhook-guard serve``: a request under
/hooks/<name>/ that reaches it is recorded as handler <name> having run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import ran


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    parts = environ.get("PATH_INFO", "").split("/")
    body = ran(parts[2]) if len(parts) > 2 and parts[1] == "hooks" else b"public"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
