"""Choices as a numbered list, for channels without buttons (terminal, WeChat).

The dialog engine already takes a typed number or the exact label of the
latest choices as picking it; a channel may add its own leniency on top
(WeChat accepts a close misspelling of a label, see ``close_choice``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from rapidfuzz import fuzz

from common.messages import Choice

__all__ = ["choice_lines", "close_choice", "exact_choice", "picked_number", "reply_hint"]

# Resident-facing words of the numbered rendering (not dialog texts, so not in texts.yaml).
_HINT_FEW = "（回复 {numbers} 选择）"
_HINT_MANY = "（回复 1～{last} 中的数字选择）"
_FEW = 5  # up to this many choices the hint names every number

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_CHINESE_NUMBERS = {c: n for n, c in enumerate("一二三四五六七八九十", start=1)}
_ORDINAL = re.compile(r"(?:第|选)?(\d{1,2}|[一二三四五六七八九十])(?:个|项|条|号)?")
# A typo of a label counts only this close (rapidfuzz ratio, 0-100) and this far ahead
# of the next label: 反应问题申请调解 → 反映问题/申请调解, 找调节员 → 找调解员.
_CLOSE = 66.0
_MARGIN = 10.0


def choice_lines(choices: Sequence[Choice], indent: str = "") -> list[str]:
    """``1. 法律咨询``, ``2. 反映问题/申请调解`` … one line each."""
    return [f"{indent}{number}. {c.label}" for number, c in enumerate(choices, start=1)]


def reply_hint(count: int) -> str:
    """How to answer: ``（回复 1 / 2 / 3 选择）``; empty without choices."""
    if count <= 0:
        return ""
    if count <= _FEW:
        return _HINT_FEW.format(numbers=" / ".join(str(n) for n in range(1, count + 1)))
    return _HINT_MANY.format(last=count)


def _plain(text: str) -> str:
    """Full-width folded, lower-case, without spaces or punctuation."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text)).lower()


def picked_number(text: str, count: int) -> int | None:
    """The 1-based choice a typed ``2``, ``２``, ``2.``, ``第二个`` or ``选3`` names."""
    match = _ORDINAL.fullmatch(_plain(text))
    if match is None:
        return None
    token = match.group(1)
    number = _CHINESE_NUMBERS.get(token) or int(token)
    return number if 1 <= number <= count else None


def exact_choice(text: str, choices: Sequence[Choice]) -> Choice | None:
    """The choice a typed number or exact label names (what the dialog engine takes itself)."""
    typed = _plain(text)
    for number, choice in enumerate(choices, start=1):
        if typed in (str(number), _plain(choice.label)):
            return choice
    return None


def _about_as_long(typed: str, label: str) -> bool:
    return abs(len(typed) - len(label)) <= max(1, len(label) // 4)


def close_choice(text: str, choices: Sequence[Choice]) -> Choice | None:
    """The choice a typed text names: its number, its label, or a close misspelling of it.

    Only a clear winner counts: a short text (under three characters) must be
    a number or the exact label, and a fuzzy match must beat every other
    label by a margin, so a free-text answer is not taken for a button.
    """
    if not choices:
        return None
    number = picked_number(text, len(choices))
    if number is not None:
        return choices[number - 1]
    typed = _plain(text)
    if not typed:
        return None
    labels = [_plain(c.label) for c in choices]
    for choice, label in zip(choices, labels, strict=True):
        if typed == label:
            return choice
    if len(typed) < 3 or typed.isdigit():
        return None
    scores = sorted(
        (
            # A typo changes a character or two, it does not add words: 法律咨询电话 is
            # a question, not the button 法律咨询.
            (fuzz.ratio(typed, label) if _about_as_long(typed, label) else 0.0, index)
            for index, label in enumerate(labels)
        ),
        reverse=True,
    )
    best, index = scores[0]
    runner_up = scores[1][0] if len(scores) > 1 else 0.0
    if best >= _CLOSE and best - runner_up >= _MARGIN:
        return choices[index]
    return None
