"""Every public exception webhook_guard defines derives from WebhookGuardError, so a caller
can catch the library's own failures with one ``except`` and nothing else."""

from __future__ import annotations

import importlib
import pkgutil

import webhook_guard
from webhook_guard.errors import WebhookGuardError


def _exception_classes() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(webhook_guard.__path__, "webhook_guard."):
        if info.name.endswith("__main__"):  # running it is the CLI
            continue
        module = importlib.import_module(info.name)
        for obj in list(vars(module).values()):
            if (
                type(obj) is type
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
            ):
                found.append(obj)
    return found


def test_every_public_exception_derives_from_webhook_guard_error() -> None:
    classes = _exception_classes()
    names = {f"{c.__module__}.{c.__qualname__}" for c in classes}
    # The walk reaches the modules that define exceptions (a broken walk passes vacuously).
    assert {
        "webhook_guard.errors.ConfigError",
        "webhook_guard.ip_ranges.RangeUpdateError",
        "webhook_guard.forwarded.ProxyHeadersInvalid",
        "webhook_guard.testing.SignArgumentError",
    } <= names
    outside = sorted(
        f"{c.__module__}.{c.__qualname__}"
        for c in classes
        if not c.__name__.startswith("_") and not issubclass(c, WebhookGuardError)
    )
    assert outside == []
