"""The delivery log: every verdict of every webhook route, recorded off the request path.

``audit: {path: deliveries.db}`` in the config makes the guard record each delivery in a
SQLite file (:class:`DeliveryLog`); ``webhook-guard log`` and ``webhook-guard inspect`` read
it. :class:`JsonLinesAudit` writes the same records as JSON lines for a log pipeline.
"""

from __future__ import annotations

from .record import (
    FIELDS,
    OUTCOMES,
    DeliveryRecorder,
    JsonLinesAudit,
    delivery_row,
    json_line,
    outcome_of,
)
from .sqlite import DeliveryLog

__all__ = [
    "FIELDS",
    "OUTCOMES",
    "DeliveryLog",
    "DeliveryRecorder",
    "JsonLinesAudit",
    "delivery_row",
    "json_line",
    "outcome_of",
]
