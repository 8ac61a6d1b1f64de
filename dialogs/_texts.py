"""The bot's words, kept in a YAML file instead of code.

Keys are dotted paths into ``texts.yaml`` (``report.submitted``). A missing
key or placeholder is a programming error and fails loudly in tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common.yamlsource import load_yaml

__all__ = ["DEFAULT_TEXTS_PATH", "Texts"]

DEFAULT_TEXTS_PATH = Path(__file__).with_name("texts.yaml")


class Texts:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or DEFAULT_TEXTS_PATH
        self._data: dict[str, Any] = load_yaml(self.path)

    def _lookup(self, key: str) -> Any:
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
