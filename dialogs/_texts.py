"""The bot's words, kept in a YAML file instead of code.

Keys are dotted paths into ``texts.yaml`` (``report.submitted``). An admin's
own texts file (``MINSHI_TEXTS_FILE``) is checked against the shipped one when
it is loaded: every text there, of the same kind, with no placeholder the
shipped text does not have; every problem is reported as ``file:line``, so a
typo stops the start-up with a clear message instead of failing a resident's
conversation later.
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path
from typing import Any

from common.yamlsource import Problem, YamlSourceError, line_of, load_yaml

__all__ = ["DEFAULT_TEXTS_PATH", "Texts"]

DEFAULT_TEXTS_PATH = Path(__file__).with_name("texts.yaml")


class Texts:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or DEFAULT_TEXTS_PATH
        self._data: dict[str, Any] = load_yaml(self.path)
        self._found: dict[str, Any] = {}  # key -> its node, once looked up
        if self.path != DEFAULT_TEXTS_PATH:
            problems = _problems(str(self.path), self._data, _shipped(), "")
            if problems:
                raise YamlSourceError(problems)

    def _lookup(self, key: str) -> Any:
        found = self._found.get(key)  # a turn asks for a few texts, the same ones again
        if found is None:
            found = self._found[key] = self._walk(key)
        return found

    def _walk(self, key: str) -> Any:
        node: Any = self._data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                msg = f"{self.path}: no text '{key}'"
                raise KeyError(msg)
            node = node[part]
        return node

    def __call__(self, key: str, **values: object) -> str:
        text = self._lookup(key)
        if not isinstance(text, str):
            msg = f"{self.path}: '{key}' is not a text"
            raise KeyError(msg)
        return text.format(**values) if values else text

    def words(self, key: str) -> tuple[str, ...]:
        """A list of words from the file, such as the emergency words."""
        value = self._lookup(key)
        return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


@cache
def _shipped() -> Any:
    return load_yaml(DEFAULT_TEXTS_PATH)


def _fields(text: str) -> set[str]:
    """The placeholders of a text (``{center}``); ValueError for a lone brace."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _problems(file: str, given: Any, shipped: Any, key: str) -> list[Problem]:
    """How ``given`` differs from the shipped texts in what the bot relies on; a problem
    with a single text has line 0 here and gets the line of its key from the caller."""
    where = line_of(given)
    if isinstance(shipped, dict):
        if not isinstance(given, dict):
            return [Problem(file, where, f"'{key or 'the file'}' must be a mapping of texts")]
        problems: list[Problem] = []
        for name, value in shipped.items():
            dotted = f"{key}.{name}" if key else name
            if name not in given:
                problems.append(Problem(file, where, f"missing text '{dotted}'"))
            else:
                found = _problems(file, given[name], value, dotted)
                problems += [
                    p if p.line else Problem(file, line_of(given, name), p.message) for p in found
                ]
        return problems
    if isinstance(shipped, list):
        if not isinstance(given, list) or not all(isinstance(v, str) for v in given):
            return [Problem(file, 0, f"'{key}' must be a list of words")]
        return []
    if not isinstance(given, str):
        return [Problem(file, 0, f"'{key}' must be a text")]
    try:
        extra = _fields(given) - _fields(shipped)
    except ValueError:
        return [Problem(file, 0, f"'{key}': a '{{' or '}}' without its pair")]
    if extra:
        known = ", ".join(f"{{{f}}}" for f in sorted(_fields(shipped))) or "none"
        unknown = ", ".join(f"{{{f}}}" for f in sorted(extra))
        return [Problem(file, 0, f"'{key}' uses {unknown}; this text has: {known}")]
    return []
