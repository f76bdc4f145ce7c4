"""How a configuration key is declared: :class:`Key` and :class:`Section`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

Kind = Literal[
    "int", "bool", "str", "text", "choice", "header", "headers", "strings", "section", "custom"
]


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


#: A key without a default: required, or absent means "not configured" (None / empty).
NO_DEFAULT: Final = _NoDefault()


@dataclass(frozen=True)
class Key:
    """One configuration key.

    ``kind`` says how a plain value is read and how its schema is derived: ``int``,
    ``bool``, ``str`` (non-empty), ``text`` (any string), ``choice``, ``header``,
    ``headers`` (one name or a list), ``strings`` (a list of non-empty strings),
    ``section`` (a mapping declared by ``section``) or ``custom`` (its own reader in the
    parser; ``schema`` gives its JSON Schema).
    """

    name: str
    doc: str
    kind: Kind
    default: Any = NO_DEFAULT
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    section: Section | None = None
    schema: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """JSON Schema constraints the kind does not imply (patterns, alternatives)."""

    def __post_init__(self) -> None:
        # A declaration its kind cannot use fails at import, not on some user's config.
        if (
            (self.kind == "section") != (self.section is not None)
            or (self.kind == "choice") != bool(self.choices)
            or (self.kind == "int") != (self.minimum is not None)
        ):
            raise ValueError(f"key {self.name!r}: its constraints do not fit kind {self.kind!r}")

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass(frozen=True)
class Section:
    """A mapping of the configuration: its keys, in the order errors list them."""

    doc: str
    keys: tuple[Key, ...]
    schema: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """Constraints between keys, as JSON Schema (``oneOf``, ``anyOf``)."""

    def __getitem__(self, name: str) -> Key:
        for key in self.keys:
            if key.name == name:
                return key
        raise KeyError(name)

    def __iter__(self) -> Iterator[Key]:
        return iter(self.keys)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.keys)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.keys if key.required)

    def default(self, name: str) -> Any:
        """The declared default of ``name`` (a fresh copy of a list)."""
        value = self[name].default
        if value is NO_DEFAULT:
            raise KeyError(f"{name} has no default")
        return list(value) if isinstance(value, list) else value
