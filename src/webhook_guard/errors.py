"""The exceptions webhook_guard raises. Hostile *requests* never raise: they get a Verdict."""

from __future__ import annotations

from collections.abc import Sequence


class WebhookGuardError(Exception):
    """Base class of every exception webhook_guard raises on purpose."""


class ConfigError(WebhookGuardError, ValueError):
    """The configuration is invalid.

    Each entry of ``errors`` names the exact place, for example
    ``routes[0].secrets[1]: environment variable OLD_SECRET is not set``.
    """

    def __init__(self, errors: Sequence[str] | str) -> None:
        self.errors: tuple[str, ...] = (errors,) if isinstance(errors, str) else tuple(errors)
        super().__init__("\n".join(self.errors))


class ReplayStoreError(WebhookGuardError):
    """The replay store could not be reached or answered nonsense.

    The guard turns this into ``replay_store_unavailable`` (or lets the request through
    under ``on_store_error: fail_open``); it only escapes from direct store use.
    """
