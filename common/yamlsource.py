"""YAML files that admins edit, loaded with the line of every key and item.

Admins edit the FAQ and the centers file by hand, so every problem we report
must point at a file and a line (``file:line: message``). PyYAML knows the
line of each node while composing; this loader keeps it on the containers it
builds, so checkers can ask "which line holds key ``phone`` of this center?".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Problem", "YamlList", "YamlMap", "YamlSourceError", "line_of", "load_yaml"]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in an admin-edited file."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class YamlSourceError(Exception):
    """A file could not be used at all; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class YamlMap(dict[str, Any]):
    """A mapping that remembers its own line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]


class YamlList(list[Any]):
    """A sequence that remembers its own line and the line of each item."""

    line: int = 0
    item_lines: list[int]


# libyaml's parser (when PyYAML was built with it) is several times faster and
# reports the same marks; our constructors and resolvers work with either.
class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


# Admin files are a few hundred kilobytes; anything near this is a mistake or an attack.
MAX_FILE_BYTES = 5 * 1024 * 1024


def _refuse_alias(loader: _LineLoader, node: yaml.Node, mark: yaml.Mark) -> None:
    """A node met a second time was reached through an alias (``*name``). Aliases let a
    few lines stand for billions of items (the "billion laughs"), and nothing in our
    files needs them: every value is written out where it is used."""
    if node in loader.constructed_objects or node in loader.recursive_objects:
        raise yaml.MarkedYAMLError(
            problem="anchors and aliases (&name, *name) are not allowed; write the value out",
            problem_mark=mark,
        )


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> YamlMap:
    result = YamlMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        _refuse_alias(loader, key_node, key_node.start_mark)
        _refuse_alias(loader, value_node, key_node.start_mark)
        key = loader.construct_object(key_node, deep=True)
        key = str(key) if not isinstance(key, str) else key
        if key in result:
            raise yaml.MarkedYAMLError(
                problem=f"duplicate key '{key}'", problem_mark=key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> YamlList:
    items = []
    for child in node.value:
        _refuse_alias(loader, child, node.start_mark)
        items.append(loader.construct_object(child, deep=True))
    result = YamlList(items)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
# Division codes such as 621202 must stay strings even when unquoted; YAML 1.1
# would also turn 'no'/'yes' into booleans and 08:00 into sexagesimal ints.
for _first, _resolvers in list(_LineLoader.yaml_implicit_resolvers.items()):
    _LineLoader.yaml_implicit_resolvers[_first] = [
        (tag, regexp)
        for tag, regexp in _resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool")
    ]


def load_yaml(path: Path | str) -> Any:
    """Parse ``path``; raise YamlSourceError naming the line of a syntax error.

    Scalars stay strings (no int/float/bool guessing), so callers convert
    values themselves and can report a bad one with its line.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            too_big = f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"
            raise YamlSourceError([Problem(str(path), 0, too_big)])
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlSourceError([Problem(str(path), 0, f"cannot read file: {exc}")]) from exc
    try:
        return yaml.load(text, Loader=_LineLoader)
    except RecursionError as exc:
        nested = "YAML nested too deeply (lists or mappings inside each other)"
        raise YamlSourceError([Problem(str(path), 0, nested)]) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = exc.problem or "invalid YAML"
        if exc.context:
            what = f"{exc.context}, {what}"
        raise YamlSourceError([Problem(str(path), line, f"YAML syntax: {what}")]) from exc
    except yaml.YAMLError as exc:
        raise YamlSourceError([Problem(str(path), 0, f"YAML syntax: {exc}")]) from exc


def line_of(container: Any, key: str | int | None = None) -> int:
    """Line of ``container`` or of one of its keys/items; 0 when unknown."""
    if key is None:
        return getattr(container, "line", 0)
    if isinstance(container, YamlMap) and isinstance(key, str):
        return container.key_lines.get(key, container.line)
    if isinstance(container, YamlList) and isinstance(key, int):
        if 0 <= key < len(container.item_lines):
            return container.item_lines[key]
        return container.line
    return getattr(container, "line", 0)
