"""Fuzzy pinyin of characters, for homophone typos from pinyin input.

Residents type by pinyin and often pick the wrong character with the same
sound (离昏 for 离婚, 宅机地 for 宅基地), or with a sound their dialect does
not tell apart: front and back nasals (采关/采光) and flat and retroflex
initials (仲栽/仲裁) are the common mix-ups in the north-west. Tones are
dropped for the same reason. Each character maps to all of its readings.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib.metadata import version
from itertools import product

from faq._cache import cached

__all__ = ["fuzzy_pinyin", "pinyin_keys"]


def _fuzz(syllable: str) -> str:
    plain = unicodedata.normalize("NFD", syllable)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).replace("ü", "v")
    for retroflex, flat in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if plain.startswith(retroflex):
            plain = flat + plain[2:]
    if plain.endswith("ng") and plain[-3:-2] in ("a", "e", "i"):
        plain = plain[:-1]  # ang→an, eng→en, ing→in (ong stays: there is no "on")
    return plain


_FIRST, _LAST = 0x4E00, 0x9FFF  # CJK Unified Ideographs: what residents type


def _build_table() -> list[str]:
    from pypinyin.pinyin_dict import pinyin_dict  # slow import: only when building the cache

    table = []
    for code in range(_FIRST, _LAST + 1):
        readings = pinyin_dict.get(code, "")
        table.append(",".join(dict.fromkeys(_fuzz(r) for r in readings.split(",") if r)))
    return table


@lru_cache(maxsize=1)
def _table() -> list[str]:
    # One string per character, comma-separated: unpickles in milliseconds.
    # (importing pypinyin just to read its version would cost a third of a second)
    return cached(f"pinyin-{version('pypinyin')}-fuzzy-table.pickle", _build_table)  # type: ignore[no-any-return]


@lru_cache(maxsize=8192)
def fuzzy_pinyin(char: str) -> tuple[str, ...]:
    """All fuzzy readings of one character; () for anything that is not Chinese."""
    code = ord(char) if len(char) == 1 else 0
    if not _FIRST <= code <= _LAST:
        return ()
    readings = _table()[code - _FIRST]
    return tuple(readings.split(",")) if readings else ()


def pinyin_keys(text: str, limit: int = 8) -> list[tuple[str, ...]]:
    """Reading sequences of ``text`` (at most ``limit``); [] if a character has none.

    ``limit=1`` gives only the sequence of each character's main reading: what
    a resident most likely typed when picking that character.
    """
    readings = [fuzzy_pinyin(c) for c in text]
    if not all(readings):
        return []
    keys = []
    for key in product(*readings):
        keys.append(key)
        if len(keys) >= limit:
            break
    return keys
