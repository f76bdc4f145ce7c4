"""Loading a configuration: from a YAML file (errors then carry ``FILE:LINE:COL``) or
from a mapping."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from .model import Config
from .parse import Parser
from .values import kind


def load_config(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    now: float | None = None,
) -> Config:
    """Load and validate a configuration.

    Args:
        source: a path to a YAML file, or an already parsed mapping.
        env: environment for ``env:`` secrets (default ``os.environ``).
        now: Unix time used to report already expired secrets (default: now).

    Raises:
        ConfigError: listing every problem with its place in the file.
    """
    parser = Parser(env if env is not None else os.environ, time.time() if now is None else now)
    if isinstance(source, Mapping):
        return parser.parse(source)
    if not isinstance(source, (str, os.PathLike)):
        raise ConfigError(f"<config>: expected a mapping or a file path, got {kind(source)}")
    path = Path(source)
    data, node = _read_yaml(path)
    try:
        return parser.parse(data)
    except ConfigError as exc:
        raise ConfigError([_locate(e, path, node) for e in exc.errors]) from None


def _read_yaml(path: Path) -> tuple[Mapping[str, Any], yaml.Node]:
    """The file's mapping and its node tree, which keeps each value's line so that errors
    can point at it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{where}: {problem}") from None
    finally:
        loader.dispose()
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping with 'version: 1', got {kind(data)}")
    assert node is not None  # data is a mapping, so the document had a node
    return data, node


_PLACE = re.compile(r"^([A-Za-z_][\w-]*(?:\[\d+\]|\.[\w-]+)*): ")
_STEP = re.compile(r"\[(\d+)\]|\.?([\w-]+)")


def _locate(error: str, path: Path, root: yaml.Node) -> str:
    """``"routes[0].tolerance: ..."`` -> ``"FILE:LINE:COL: routes[0].tolerance: ..."``: the
    line of the deepest node of that place the file has (a missing key: its mapping)."""
    m = _PLACE.match(error)
    if m is None:
        return error
    node = root
    mark = root.start_mark
    for index, key in _STEP.findall(m.group(1)):
        child: yaml.Node | None = None
        if index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            child = node.value[int(index)]
            mark = child.start_mark
        elif key and isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == key:
                    child = v
                    mark = v.start_mark
                    break
        if child is None:
            break
        node = child
    return f"{path}:{mark.line + 1}:{mark.column + 1}: {error}"
