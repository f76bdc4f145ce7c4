"""Reading one value: the located checks every part of the parser shares.

Each raises :class:`Invalid` with the place (``routes[2].secrets[0]``) and the problem;
:class:`Collector` gathers them so one run reports every problem.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ..errors import ConfigError, WebhookGuardError
from .declare import NO_DEFAULT, Key, Section
from .route_keys import HEADER_PATTERN

_HEADER = re.compile(HEADER_PATTERN)
T = TypeVar("T")


class Invalid(ConfigError):
    """One problem at one place (a :class:`ConfigError`, so it may escape as one)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")


class Reported(WebhookGuardError):
    """The errors of a part were already recorded in ``Collector.errors``; skip the part."""


class Collector:
    """Runs the checks of a configuration, recording every problem instead of stopping."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def guard(self, fn: Callable[..., T], *args: Any) -> T | None:
        """``fn(*args)``, or None with its problem recorded."""
        try:
            return fn(*args)
        except ConfigError as exc:
            self.errors.extend(exc.errors)
        except Reported:  # already in self.errors
            pass
        return None

    def settle(self, before: int) -> None:
        """End a part whose pieces were checked one by one (so that one run reports every
        problem, not one per round): skip the part if any piece failed."""
        if len(self.errors) > before:
            raise Reported


def kind(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


def mapping(value: object, where: str, section: Section) -> Mapping[str, Any]:
    """``value`` as a mapping with only ``section``'s keys."""
    if not isinstance(value, Mapping):
        raise Invalid(where, f"expected a mapping, got {kind(value)}")
    unknown = unknown_keys(value, where, section.names)
    if unknown:
        raise Invalid(*unknown[0])
    return value


def unknown_keys(
    value: Mapping[str, Any], where: str, allowed: Sequence[str]
) -> list[tuple[str, str]]:
    """(place, message) of each key of ``value`` that is not ``allowed``."""
    out = []
    for key in value:
        if key not in allowed:
            near = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f" (allowed: {', '.join(allowed)})"
            out.append((f"{where}.{key}" if where else str(key), f"unknown key{hint}"))
    return out


def did_you_mean(value: str, known: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for a near match, else the list of known values."""
    near = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
    listed = f"(known: {', '.join(known)})"
    return f"; did you mean {near[0]!r}? {listed}" if near else f" {listed}"


def integer(value: object, where: str, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(where, f"expected an integer, got {kind(value)}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise Invalid(where, f"must be {bound}, got {value}")
    return value


def boolean(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(where, f"expected true or false, got {value!r}")
    return value


def choice(value: object, where: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise Invalid(where, f"must be one of {', '.join(choices)}; got {value!r}")
    return str(value)


def string(value: object, where: str) -> str:
    """A non-empty string."""
    text = plain_string(value, where)
    if not text:
        raise Invalid(where, "must not be empty")
    return text


def plain_string(value: object, where: str) -> str:
    """Any string, the empty one included."""
    if not isinstance(value, str):
        raise Invalid(where, f"expected a string, got {kind(value)}")
    return value


def header(value: object, where: str) -> str:
    """A header name, lower-cased."""
    name = string(value, where)
    if not _HEADER.match(name):
        raise Invalid(where, f"{name!r} is not a valid header name")
    return name.lower()


def headers(value: object, where: str) -> tuple[str, ...]:
    """One header name or a non-empty list of them."""
    if isinstance(value, list):
        if not value:
            raise Invalid(where, "expected at least one header name")
        return tuple(header(v, f"{where}[{i}]") for i, v in enumerate(value))
    return (header(value, where),)


def listing(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise Invalid(where, f"expected a list, got {kind(value)}")
    return value


def pointer(value: object, where: str) -> tuple[str, ...]:
    """A JSON pointer (RFC 6901) as its unescaped reference tokens."""
    text = string(value, where)
    if not text.startswith("/"):
        raise Invalid(where, f"{text!r} is not a JSON pointer (RFC 6901), e.g. /id")
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in text[1:].split("/"))


_READERS: dict[str, Callable[[object, str], Any]] = {
    "bool": boolean,
    "str": string,
    "text": plain_string,
    "header": header,
    "headers": headers,
}


def read(key: Key, value: object, where: str) -> Any:
    """``value`` of a plain ``key`` (see :class:`Key`'s kinds), checked."""
    if key.kind == "int":
        assert key.minimum is not None
        return integer(value, where, minimum=key.minimum, maximum=key.maximum)
    if key.kind == "choice":
        return choice(value, where, key.choices)
    return _READERS[key.kind](value, where)


def get(section: Section, block: Mapping[str, Any], name: str, where: str) -> Any:
    """Key ``name`` of ``block`` (its declared default when absent), checked; None when it
    is absent and has no default."""
    key = section[name]
    if name in block:
        return read(key, block[name], f"{where}.{name}")
    return None if key.default is NO_DEFAULT else section.default(name)
