"""The ``webhook_guard`` logger and its default output.

A refusal the operator cannot see is a rotated secret mistaken for an attack (or the
reverse), so with no logging configured at all the library's lines still reach the server's
output: :class:`DefaultHandler` writes them to standard error, as Python's own
``logging.lastResort`` would, but with the level, the time and the logger name, and only
while nothing else would handle them. The moment the application gives ``webhook_guard``
(or any logger it propagates to, such as the root logger) a handler, that handler takes
over and this one stays silent, so no line is printed twice. Levels are the logger's as
usual: ``logging.getLogger("webhook_guard").setLevel(logging.INFO)`` also shows accepted
deliveries; ``logging.lastResort = None`` or ``propagate = False`` with a ``NullHandler``
silences it.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["DefaultHandler", "logger"]

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class DefaultHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Standard error, only for records no other handler in the logging tree receives."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(FORMAT))

    @property
    def stream(self) -> object:
        # Looked up per record, like logging.lastResort: test runners and servers replace
        # sys.stderr after import.
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass

    def handle(self, record: logging.LogRecord) -> bool:
        if logging.lastResort is None or _handled_elsewhere(record.name, self):
            return False
        return bool(super().handle(record))


def _handled_elsewhere(name: str, me: logging.Handler) -> bool:
    """True when a handler other than ``me`` sits on the way from logger ``name`` up."""
    current: logging.Logger | None = logging.getLogger(name)
    while current is not None:
        if any(h is not me for h in current.handlers):
            return True
        if not current.propagate:
            return False
        current = current.parent
    return False


logger = logging.getLogger("webhook_guard")
if not any(isinstance(h, DefaultHandler) for h in logger.handlers):
    logger.addHandler(DefaultHandler())
