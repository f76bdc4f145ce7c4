"""webhook_guard: receiver-side webhook verification.

``import webhook_guard`` imports no web framework; adapters live in
``webhook_guard.adapters`` and are imported only when used.
"""

from .config import Config, load_config
from .errors import ConfigError, ReplayStoreError, WebhookGuardError
from .guard import Guard
from .replay import MemoryReplayStore, RedisReplayStore, ReplayState, ReplayStore
from .request import WebhookRequest
from .secrets import Secret
from .verdict import Reason, Verdict

__version__ = "0.1.0"

__all__ = [
    "Config",
    "ConfigError",
    "Guard",
    "MemoryReplayStore",
    "Reason",
    "RedisReplayStore",
    "ReplayState",
    "ReplayStore",
    "ReplayStoreError",
    "Secret",
    "Verdict",
    "WebhookGuardError",
    "WebhookRequest",
    "__version__",
    "load_config",
]
