"""The inspector: a read-only, server-rendered page of the delivery log.

``webhook-guard inspect --audit PATH`` (or ``serve --inspect-port N``) serves one page:
recent deliveries with their verdict and detail, filterable by route, outcome, reason and
time window (the filters are the URL's query, a plain GET form: no JavaScript), the counts
per route and reason, and a small inline SVG chart of deliveries over time.

Safety: every value a request chose (path, event ID, detail, a stored body) is hostile and
HTML-escaped; the page carries a Content-Security-Policy that allows no script at all. It
binds to loopback by default; bound elsewhere it requires a token (HTTP Basic password or
``Authorization: Bearer``), compared in constant time. Without a token it answers only
requests whose ``Host`` is a loopback name, so a web page the operator visits cannot read
it through DNS rebinding. Nothing here writes to the log.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import html
import ipaddress
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from . import report
from . import sqlite as store
from .record import OUTCOMES

__all__ = ["InspectorServer", "is_loopback", "render_page", "start_inspector"]

WINDOWS = ("15m", "1h", "6h", "24h", "7d", "30d")
BUCKETS = 24
MAX_ROWS = 500
BODY_SHOWN = 16 * 1024
COLOURS = {
    "accepted": "#2e7d32",
    "rejected": "#c62828",
    "duplicate": "#757575",
    "reported": "#ef6c00",
    "handshake": "#1565c0",
}
SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em;margin:0 0 .6em}
form{display:flex;gap:.8em;flex-wrap:wrap;align-items:end;margin-bottom:1em}
label{display:flex;flex-direction:column;font-size:.85em;color:#555}
table{border-collapse:collapse;margin-bottom:1.2em}
td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f4f4f4}
td.num{text-align:right}
code{font-size:.95em;overflow-wrap:anywhere}
td.t{white-space:nowrap}
.o-accepted{color:#2e7d32}.o-rejected{color:#c62828}.o-duplicate{color:#757575}
.o-reported{color:#ef6c00}.o-handshake{color:#1565c0}
.muted{color:#777}
pre{white-space:pre-wrap;word-break:break-all;max-width:80em;background:#f7f7f7;padding:.5em}
"""


def _e(value: object) -> str:
    """HTML-escaped text of ``value`` (quotes too), ``-`` for None; control characters
    shown escaped."""
    return html.escape(report.printable(value), quote=True)


def render_page(
    conn: sqlite3.Connection | None, query: Mapping[str, str], now: float | None = None
) -> str:
    """The inspector page for the filters in ``query`` (``route``, ``reason``,
    ``outcome``, ``since``, ``limit``); ``conn`` None: no log recorded yet."""
    now = time.time() if now is None else now
    since_text = query.get("since") or "24h"
    if since_text not in WINDOWS:
        since_text = "24h"
    since = report.parse_since(since_text, now)
    outcome = query.get("outcome") or None
    if outcome not in OUTCOMES:
        outcome = None
    filters = report.Filters(
        route=query.get("route") or None,
        reason=query.get("reason") or None,
        outcome=outcome,
        since=since,
    )
    try:
        limit = max(1, min(MAX_ROWS, int(query.get("limit") or 100)))
    except ValueError:
        limit = 100
    routes: list[str] = []
    reasons: list[str] = []
    rows: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    chart = ""
    if conn is not None:
        routes = store.distinct(conn, "route", since)
        reasons = store.distinct(conn, "reason", since)
        rows = list(reversed(report.recent(conn, filters, limit)))
        groups = report.summarise(conn, filters)
        width = (now - since) / BUCKETS
        counts = store.buckets(
            conn, since=since, width=width, route=filters.route, reason=filters.reason
        )
        chart = _chart(counts, outcome, since, width)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>webhook-guard deliveries</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Deliveries</h1>",
        _form(filters, since_text, routes, reasons, limit),
    ]
    if conn is None:
        parts.append("<p>No deliveries recorded yet.</p>")
    else:
        parts.append(f'<section id="chart"><h2 hidden>Over time</h2>{chart}</section>')
        parts.append(_summary(groups, since_text))
        parts.append(_deliveries(rows, limit))
    parts.append("</body></html>")
    return "\n".join(parts)


def _form(
    filters: report.Filters, since: str, routes: list[str], reasons: list[str], limit: int
) -> str:
    def select(name: str, values: list[str], chosen: str | None, anything: str) -> str:
        options = [f'<option value="">{anything}</option>']
        options += [
            f'<option value="{_e(v)}"{" selected" if v == chosen else ""}>{_e(v)}</option>'
            for v in values
        ]
        return (
            f'<label>{name}<select name="{name}" id="f-{name}">{"".join(options)}</select></label>'
        )

    return (
        '<form method="get" action="">'
        + select("route", routes, filters.route, "every route")
        + select("outcome", list(OUTCOMES), filters.outcome, "every outcome")
        + select("reason", ["accepted", *reasons], filters.reason, "every reason")
        + select("since", list(WINDOWS), since, "24h").replace('<option value="">24h</option>', "")
        + f'<input type="hidden" name="limit" value="{limit}">'
        + '<button type="submit" id="apply">Show</button>'
        + '<a href="?">clear</a></form>'
    )


def _chart(counts: list[dict[str, Any]], outcome: str | None, since: float, width: float) -> str:
    """Stacked bars per time bucket and outcome, as inline SVG (no script)."""
    per: dict[int, dict[str, int]] = {}
    for c in counts:
        if outcome is not None and c["outcome"] != outcome:
            continue
        bucket = min(int(c["bucket"]), BUCKETS - 1)
        per.setdefault(bucket, {})
        per[bucket][c["outcome"]] = per[bucket].get(c["outcome"], 0) + int(c["count"])
    peak = max((sum(v.values()) for v in per.values()), default=0)
    w, h, bar = 720, 120, 720 // BUCKETS
    shapes = []
    for bucket in range(BUCKETS):
        y = h
        start = report.iso(since + bucket * width)
        for name in OUTCOMES:
            n = per.get(bucket, {}).get(name, 0)
            if not n:
                continue
            height = max(1, round(n / peak * (h - 10)))
            y -= height
            shapes.append(
                f'<rect class="bar" data-outcome="{name}" data-count="{n}" x="{bucket * bar + 1}" '
                f'y="{y}" width="{bar - 2}" height="{height}" fill="{COLOURS[name]}">'
                f"<title>{_e(start)}: {n} {name}</title></rect>"
            )
    legend = " ".join(f'<tspan fill="{COLOURS[name]}">■ {name}</tspan>' for name in OUTCOMES)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h + 20}" '
        f'role="img" aria-label="deliveries over time, peak {peak} per bucket">'
        f'<line x1="0" y1="{h}" x2="{w}" y2="{h}" stroke="#999"/>{"".join(shapes)}'
        f'<text x="0" y="{h + 15}" font-size="11">{legend} · peak {peak} per '
        f"{_e(_duration(width))}</text></svg>"
    )


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}".replace(".0 ", " ")
    return f"{seconds:.0f} s"


def _summary(groups: list[dict[str, Any]], since: str) -> str:
    rows = []
    for g in groups:
        link = "?" + urlencode(
            {
                k: v
                for k, v in (
                    ("route", g["route"]),
                    ("reason", g["reason"] or "accepted"),
                    ("since", since),
                )
                if v
            }
        )
        rows.append(
            f'<tr class="group"><td>{_e(g["route"])}</td>'
            f'<td class="o-{_e(g["outcome"])}">{_e(g["outcome"])}</td>'
            f'<td><a href="{html.escape(link)}">{_e(g["reason"])}</a></td>'
            f"<td>{_e(g['secret_id'])}</td>"
            f'<td class="num">{int(g["count"])}</td><td>{_e(g["last"])}</td></tr>'
        )
    total = sum(int(g["count"]) for g in groups)
    return (
        f'<h2>Counts <span class="muted">(last {_e(since)}, {total} deliveries)</span></h2>'
        '<table id="counts"><tr><th>route</th><th>outcome</th><th>reason</th><th>secret</th>'
        "<th>count</th>"
        f"<th>last</th></tr>{''.join(rows)}</table>"
    )


def _deliveries(rows: list[dict[str, Any]], limit: int) -> str:
    if not rows:
        return '<h2>Deliveries</h2><p id="none">No delivery matches these filters.</p>'
    out = []
    for r in rows:
        body = ""
        if r.get("body") is not None:
            shown = bytes(r["body"][:BODY_SHOWN]).decode("utf-8", "replace")
            more = " (cut)" if len(r["body"]) > BODY_SHOWN else ""
            body = (
                f"<details><summary>body{more}</summary><pre>{_e_multiline(shown)}</pre></details>"
            )
        out.append(
            f'<tr class="delivery" data-id="{int(r["id"])}">'
            f'<td class="t">{_e(report.iso(r["time"]))}</td><td>{_e(r["route"])}</td>'
            f'<td class="o-{_e(r["outcome"])}">{_e(r["outcome"])}</td>'
            f"<td>{_e(r['reason'])}</td><td>{_e(r['status'])}</td>"
            f"<td>{_e(r['client_ip'])}</td><td>{_event_id(r)}</td>"
            f"<td>{_e(r['secret_id'])}</td>"
            f"<td><code>{_e(r['method'])} {_e(r['path'])}</code></td>"
            f'<td class="num">{_e(r["body_size"])}</td><td class="num">{_e(r["latency_us"])}</td>'
            f"<td>{_e(r['detail'])}{body}</td></tr>"
        )
    return (
        f'<h2>Deliveries <span class="muted">(newest first, at most {limit})</span></h2>'
        '<table id="deliveries"><tr><th>time (UTC)</th><th>route</th><th>outcome</th>'
        "<th>reason</th><th>status</th><th>client</th><th>event ID</th><th>secret</th>"
        "<th>request</th><th>bytes</th><th>µs</th><th>detail</th></tr>" + "".join(out) + "</table>"
    )


def _event_id(row: dict[str, Any]) -> str:
    if row["event_id"] is None and row.get("claimed_event_id"):
        claimed = _e(row["claimed_event_id"])
        return f'<code>{claimed}</code> <span class="muted">(unverified)</span>'
    return f"<code>{_e(row['event_id'])}</code>"


def _e_multiline(text: str) -> str:
    return "\n".join(_e(line) for line in text.split("\n"))


# -- serving -------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    server: InspectorServer
    server_version = "webhook-guard-inspect"
    sys_version = ""

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        refusal = self._refusal()
        if refusal is not None:
            status, text, extra = refusal
            self._send(status, text.encode(), "text/plain; charset=utf-8", send_body, extra)
            return
        url = urlsplit(self.path)
        if url.path not in ("/", ""):
            self._send(404, b"not found\n", "text/plain; charset=utf-8", send_body)
            return
        query = dict(parse_qsl(url.query))
        page = self.server.page(query)
        self._send(200, page.encode(), "text/html; charset=utf-8", send_body)

    def _refusal(self) -> tuple[int, str, tuple[tuple[str, str], ...]] | None:
        token = self.server.token
        if token is None:
            # Loopback only: refuse a Host a rebinding page would send.
            host = self.headers.get("Host", "")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if not is_loopback(name):
                return 421, "this inspector answers loopback host names only\n", ()
            return None
        presented = _presented_token(self.headers.get("Authorization", ""))
        if presented is None or not hmac.compare_digest(
            presented.encode("utf-8", "surrogateescape"), token.encode()
        ):
            challenge = (("WWW-Authenticate", 'Basic realm="webhook-guard inspect"'),)
            return 401, "a token is required (as the Basic auth password)\n", challenge
        return None

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        send_body: bool,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (*SECURITY_HEADERS, *extra):
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # The query holds only filters, but keep this server quiet like a page should be.
        pass


def _presented_token(header: str) -> str | None:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        return decoded.partition(":")[2] or None
    return None


class InspectorServer(ThreadingHTTPServer):
    """The inspector's HTTP server over the delivery log at ``path``."""

    daemon_threads = True

    def __init__(self, path: str, host: str, port: int, token: str | None) -> None:
        if token is None and not is_loopback(host):
            raise ValueError(
                f"the inspector binds to {host} (not loopback): give it a token "
                "(--token-file, or WEBHOOK_GUARD_INSPECT_TOKEN)"
            )
        self.audit_path = path
        self.token = token
        if ":" in host.strip("[]"):
            self.address_family = socket.AF_INET6
        super().__init__((host.strip("[]"), port), _Handler)

    def page(self, query: Mapping[str, str]) -> str:
        if not os.path.isfile(self.audit_path):
            return render_page(None, query)
        try:
            conn = report.open_readonly(self.audit_path)
        except (FileNotFoundError, sqlite3.Error):
            return render_page(None, query)
        with contextlib.closing(conn):
            return render_page(conn, query)


def start_inspector(
    path: str, host: str = "127.0.0.1", port: int = 8081, token: str | None = None
) -> InspectorServer:
    """Serve the inspector in a daemon thread; returns the server (``shutdown()`` stops it).

    Raises:
        ValueError: ``host`` is not loopback and there is no token.
        OSError: the port cannot be bound.
    """
    server = InspectorServer(path, host, port, token)
    threading.Thread(target=server.serve_forever, daemon=True, name="webhook_guard-inspect").start()
    return server
