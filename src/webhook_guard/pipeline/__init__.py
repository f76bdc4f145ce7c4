"""The verification pipeline behind :class:`~webhook_guard.Guard`.

- :mod:`.plan`: each route compiled once into its :class:`RoutePlan`;
- :mod:`.access`, :mod:`.token`, :mod:`.signature`, :mod:`.eventid`: the checks, one
  implementation each, specialised per route by data;
- :mod:`.core`: :class:`Pipeline`, the one path every request takes;
- :mod:`.replay`: the replay step and settling its reservations;
- :mod:`.outcome`: verdicts and their log lines;
- :mod:`.lifecycle`: :class:`Delivery`, the request lifecycle adapters drive.

docs/architecture.md explains the design.
"""

from .core import Pipeline
from .lifecycle import NOT_SET_UP, Delivery, misrouted
from .outcome import log_verdict
from .plan import RoutePlan
from .replay import asettle, settle

__all__ = [
    "NOT_SET_UP",
    "Delivery",
    "Pipeline",
    "RoutePlan",
    "asettle",
    "log_verdict",
    "misrouted",
    "settle",
]
