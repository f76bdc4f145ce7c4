"""Reading the delivery log for people: time windows, filters, terminal tables, JSON.

Used by ``webhook-guard log`` and the inspector page. Everything a request chose (path,
event ID, detail) is untrusted text: :func:`printable` makes it safe for a terminal.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from . import sqlite as store
from .record import json_line

_DURATION = re.compile(r"([0-9]{1,9})([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_since(text: str, now: float | None = None) -> float:
    """Unix time of ``text``: a duration back from now (``90s``, ``15m``, ``2h``, ``7d``,
    ``1w``) or an ISO 8601 time (``2026-12-01``, ``2026-12-01T10:00:00Z``; UTC if no zone).

    Raises:
        ValueError: neither.
    """
    now = time.time() if now is None else now
    m = _DURATION.fullmatch(text.strip())
    if m:
        return now - int(m.group(1)) * _UNITS[m.group(2)]
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration (30s, 15m, 2h, 7d, 1w) nor an ISO 8601 time"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def printable(value: object, width: int = 0) -> str:
    """``value`` as one line of plain text: control and other non-printable characters
    (a terminal escape sequence in a hostile path, say) shown as ``\\xNN``/``\\uNNNN``;
    cut to ``width`` characters with ``…`` when ``width`` is given."""
    if value is None:
        return "-"
    text = str(value)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if width and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def iso(t: float) -> str:
    """A record's time as ISO 8601 UTC with milliseconds."""
    stamp = datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


@dataclass(frozen=True)
class Filters:
    """What to show: every filter given must match."""

    route: str | None = None
    reason: str | None = None
    outcome: str | None = None
    since: float | None = None
    event_id: str | None = None


def open_readonly(path: str) -> sqlite3.Connection:
    """The delivery log at ``path`` opened read-only.

    Raises:
        FileNotFoundError: no delivery log there (yet).
        sqlite3.Error: the file is not a delivery log.
    """
    import os

    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no delivery log here (yet); is audit.path right?")
    conn = store.connect(path, readonly=True)
    try:
        conn.execute("SELECT 1 FROM deliveries LIMIT 1").fetchall()
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def recent(conn: sqlite3.Connection, filters: Filters, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` deliveries matching ``filters``, oldest first."""
    rows = store.query(conn, limit=limit, **vars(filters))
    rows.reverse()
    return rows


def newer(conn: sqlite3.Connection, filters: Filters, after_id: int) -> list[dict[str, Any]]:
    """Deliveries matching ``filters`` recorded after ``after_id``, oldest first."""
    return store.query(conn, after_id=after_id, limit=1000, **vars(filters))


def summarise(conn: sqlite3.Connection, filters: Filters) -> list[dict[str, Any]]:
    """Per route, outcome, reason and secret_id: count, first and last time (ISO), most
    first."""
    rows = store.summary(conn, since=filters.since, route=filters.route, reason=filters.reason)
    if filters.outcome is not None:
        rows = [r for r in rows if r["outcome"] == filters.outcome]
    for row in rows:
        row["first"], row["last"] = iso(row["first"]), iso(row["last"])
    return rows


TABLE_COLUMNS: Sequence[tuple[str, str, int]] = (
    ("time", "time", 24),
    ("route", "route", 16),
    ("outcome", "outcome", 9),
    ("reason", "reason", 22),
    ("status", "status", 6),
    ("client_ip", "client", 15),
    ("event_id", "event_id", 36),
    ("secret_id", "secret", 12),
    ("latency_us", "us", 6),
    ("detail", "detail", 0),
)


def table(rows: Iterable[dict[str, Any]], header: bool = True) -> list[str]:
    """Deliveries as aligned terminal lines (hostile text made printable and cut)."""
    lines = []
    if header:
        lines.append(_line([title for _, title, _ in TABLE_COLUMNS]))
    for row in rows:
        cells = []
        for key, _, width in TABLE_COLUMNS:
            value: Any = row.get(key)
            if key == "event_id" and value is None and row.get("claimed_event_id"):
                value = f"{row['claimed_event_id']} (unverified)"
            cells.append(iso(value) if key == "time" else printable(value, width or 200))
        lines.append(_line(cells))
    return lines


def _line(cells: list[str]) -> str:
    parts = [
        cell.ljust(width) if width else cell
        for cell, (_, _, width) in zip(cells, TABLE_COLUMNS, strict=True)
    ]
    return " ".join(parts).rstrip()


def summary_table(rows: list[dict[str, Any]]) -> list[str]:
    """The summary as aligned terminal lines, with a total."""
    fmt = "{:<16} {:<10} {:<26} {:<14} {:>8}  {:<24} {}"
    lines = [fmt.format("route", "outcome", "reason", "secret", "count", "first", "last")]
    for r in rows:
        lines.append(
            fmt.format(
                printable(r["route"], 16),
                r["outcome"],
                printable(r["reason"], 26),
                printable(r["secret_id"], 14),
                r["count"],
                r["first"],
                r["last"],
            )
        )
    lines.append(f"{len(rows)} group(s), {sum(r['count'] for r in rows)} deliveries")
    return lines


def json_record(row: dict[str, Any]) -> str:
    """A delivery as one JSON line (time as Unix seconds and as ``time_iso``)."""
    return json_line({**row, "time_iso": iso(row["time"])})
