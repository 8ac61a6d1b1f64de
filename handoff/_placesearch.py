"""Find the place a resident typed, despite typos, pinyin slips and chatter.

Residents type on phones with pinyin input, so the usual mistake is a
homophone (沙景镇 for 沙井镇), a dropped suffix (东沟 for 东沟村) or a place
buried in a sentence (我在甘州区沙井镇那边). Each region is scored by its
best name variant against the best window of the text, character by
character with pinyin as a second signal; naming a parent too (甘州区…,
会宁…) breaks ties between places of the same name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from rapidfuzz import fuzz

from ._model import PlaceMatch, Region, level_rank

__all__ = ["PlaceIndex", "normalize_place_text", "short_name"]

# Longest first: a name loses one administrative suffix, never two.
_SUFFIXES = (
    "社区居民委员会",
    "村民委员会",
    "居民委员会",
    "街道办事处",
    "藏族自治州",
    "回族自治州",
    "自治州",
    "自治县",
    "藏族乡",
    "回族乡",
    "民族乡",
    "村委会",
    "居委会",
    "街道",
    "社区",
    "乡",
    "镇",
    "村",
    "区",
    "县",
    "市",
    "省",
)
_NOT_TEXT = re.compile(r"[^\w]|_", re.UNICODE)

MIN_SCORE = 75.0  # below this a name is not plausibly what the resident meant
_WITHIN_BEST = 15.0  # and nor is one far behind the best match
_SHORT_PENALTY = 3.0  # "沙井" is a little less certain than "沙井镇"
_PARENT_BONUS = 4.0  # "甘州区沙井镇" is surely the 沙井镇 of 甘州区 …
_PARENT_MAX = 8.0  # … and the reported score stays within 0–100
_NAME_WEIGHT = (100.0 - _PARENT_MAX) / 100.0
_PARENT_MIN = 90.0
_HOMOPHONE = 0.9  # same pinyin, other character: a pinyin input slip
_OTHER_SOUND = (
    0.6  # a wrong character earns this share of its pinyin similarity (jing/jin, sai/zhai)
)


def normalize_place_text(text: str) -> str:
    """Full width to half width, lower case, no spaces or punctuation."""
    return _NOT_TEXT.sub("", unicodedata.normalize("NFKC", text).lower())


def short_name(name: str) -> str | None:
    """``name`` without its administrative suffix (沙井镇 → 沙井), if that leaves 2+ chars."""
    if name.endswith("新区"):  # 兰州新区 is not "兰州"
        return None
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def _pinyin(text: str) -> tuple[str, ...]:
    """One toneless syllable per character (non-Han characters stand for themselves)."""
    # pypinyin takes a third of a second to import: pay it at the first search, not at start-up.
    from pypinyin import lazy_pinyin

    if text and all(_is_han(c) for c in text):
        syllables = lazy_pinyin(text)  # whole words get polyphones right
        if len(syllables) == len(text):
            return tuple(syllables)
    return tuple(lazy_pinyin(c)[0] if _is_han(c) else c for c in text)


@lru_cache(maxsize=4096)
def _sound_credit(a: str, b: str) -> float:
    similarity = fuzz.ratio(a, b) / 100.0
    return _OTHER_SOUND * similarity if similarity >= 0.5 else 0.0


@dataclass(frozen=True)
class _Name:
    text: str  # normalized
    shown: str  # as the admin wrote it
    pinyin: tuple[str, ...]
    penalty: float


@dataclass(frozen=True)
class _Hit:
    score: float
    start: int
    end: int


def _names(region: Region) -> tuple[_Name, ...]:
    found: dict[str, _Name] = {}
    for raw, penalty in [(region.name, 0.0)] + [(a, 0.0) for a in region.aliases]:
        for variant, extra in ((raw, 0.0), (short_name(raw), _SHORT_PENALTY)):
            if not variant:
                continue
            text = normalize_place_text(variant)
            if len(text) >= 2 and text not in found:
                found[text] = _Name(text, variant, _pinyin(text), penalty + extra)
    return tuple(found.values())


class _Query:
    def __init__(self, text: str) -> None:
        self.text = normalize_place_text(text)
        self.pinyin = _pinyin(self.text)
        self.chars = set(self.text)
        self.syllables = set(self.pinyin)

    def masked(self, start: int, end: int) -> _Query:
        """This query with ``[start, end)`` blanked: a parent is not found inside the child."""
        clone = _Query.__new__(_Query)
        clone.text = self.text[:start] + "|" * (end - start) + self.text[end:]
        clone.pinyin = self.pinyin[:start] + ("|",) * (end - start) + self.pinyin[end:]
        clone.chars = set(clone.text)
        clone.syllables = set(clone.pinyin)
        return clone


def _window_hit(name: _Name, query: _Query) -> _Hit | None:
    """Best same-length window: equal characters count 1, homophones 0.9, other characters by sound.

    At least half the characters must be identical, so that a sentence that
    merely sounds like a short place name (我妈劝 ~ 马泉) does not match.
    """
    n, m = len(name.text), len(query.text)
    best: _Hit | None = None
    for start in range(m - n + 1):
        total = 0.0
        same = 0
        for k in range(n):
            q_char, n_char = query.text[start + k], name.text[k]
            if q_char == n_char:
                total += 1
                same += 1
            elif query.pinyin[start + k] == name.pinyin[k]:
                total += _HOMOPHONE
            else:
                total += _sound_credit(query.pinyin[start + k], name.pinyin[k])
        if same * 2 < n:
            continue
        score = 100.0 * total / n
        if best is None or score > best.score:
            best = _Hit(score, start, start + n)
    return best


def _name_hit(name: _Name, query: _Query) -> _Hit | None:
    if not (name.pinyin and set(name.pinyin) & query.syllables):
        return None
    hit: _Hit | None
    if len(name.text) > len(query.text):
        # The resident typed less than the name: compare whole strings.
        hit = _Hit(fuzz.ratio(name.text, query.text), 0, len(query.text))
    else:
        aligned = fuzz.partial_ratio_alignment(name.text, query.text)
        hit = _Hit(aligned.score, aligned.dest_start, aligned.dest_end) if aligned else None
        window = _window_hit(name, query)
        if window and (hit is None or window.score > hit.score):
            hit = window
    if hit is None:
        return None
    return _Hit(hit.score - name.penalty, hit.start, hit.end)


class PlaceIndex:
    """Fuzzy place lookup over a fixed set of regions (built once, read-only)."""

    def __init__(self, regions: Iterable[Region], parents: dict[str, tuple[Region, ...]]) -> None:
        # ``parents[code]``: the region's ancestors below the province, nearest first.
        self._regions = tuple(regions)
        self._parents = parents

    @cached_property
    def _entries(self) -> list[tuple[int, Region, tuple[_Name, ...]]]:
        """Names with their pinyin, built at the first search (start-up stays fast)."""
        return [(order, region, _names(region)) for order, region in enumerate(self._regions)]

    @cached_property
    def _names(self) -> dict[str, tuple[_Name, ...]]:
        return {region.code: names for _, region, names in self._entries}

    def warm_up(self) -> None:
        """Build the index now (in a worker thread) so the first resident does not wait."""
        self.search("预热")

    def search(self, text: str, limit: int = 3) -> list[PlaceMatch]:
        query = _Query(text)
        if len(query.text) < 2:
            return []
        scored: list[tuple[float, float, int, int, PlaceMatch]] = []
        for order, region, names in self._entries:
            best_name, hit = self._best(names, query)
            if hit is None or hit.score < MIN_SCORE:
                continue
            rest = query.masked(hit.start, hit.end)
            bonus = sum(
                _PARENT_BONUS
                for parent in self._parents.get(region.code, ())
                if (found := self._best(self._names[parent.code], rest)[1])
                and found.score >= _PARENT_MIN
            )
            score = min(100.0, hit.score) * _NAME_WEIGHT + min(_PARENT_MAX, bonus)
            match = PlaceMatch(region=region, score=round(score, 1), matched=best_name)
            scored.append((score, hit.score, level_rank(region.level), -order, match))
        if not scored:
            return []
        # Best score first; on a tie the more local place (village, township) first.
        scored.sort(key=lambda item: item[:4], reverse=True)
        best_name_score = max(item[1] for item in scored)
        kept = [item for item in scored if item[1] >= best_name_score - _WITHIN_BEST]
        return [item[-1] for item in kept[: max(0, limit)]]

    @staticmethod
    def _best(names: Sequence[_Name], query: _Query) -> tuple[str, _Hit | None]:
        best: tuple[str, _Hit | None] = ("", None)
        for name in names:
            hit = _name_hit(name, query)
            if hit and (best[1] is None or hit.score > best[1].score):
                best = (name.shown, hit)
        return best
