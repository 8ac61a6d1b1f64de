"""From a resident's text to the canonical words the matcher compares.

normalise → segment with jieba (legal words kept whole) → repair homophone
typos → replace colloquial words by canonical ones (synonyms file) → drop
function words → add the parts of compounds. The same analysis runs on FAQ
phrasings and on queries, so both sides meet in the same vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from faq._normalize import FUNCTION_WORDS, normalize
from faq._pinyin import pinyin_keys
from faq._segment import Segmenter
from faq._synonyms import OFF_TOPIC_MARK, Synonyms

__all__ = ["Analysis", "Analyzer"]

_HAN = re.compile(r"^[\u4e00-\u9fff]+$")
# Amounts, durations and years (三个月, 五万块, 好几年, 2016 年) tell the
# story, not the topic; hotlines (12315, 96110, 110) stay.
_QUANTITY = re.compile(
    r"^(好|上|这|前|后|头)?[零〇一二两三四五六七八九十百千万亿几半多来]+"
    r"[个多来余]?[月年天日号周次回趟块元万千百岁斤亩米间层栋辆头只]*[多来余]?$"
    r"|^[\d.]+[个多来余]?[月年天日号周次回趟块元万千百岁斤亩米间层栋辆头只]+[多来余]?$"
    r"|^\d{1,2}$|^(19|20)\d\d$"
)
_PREFIXES = "咋啥我俺他她你咱能可要该会想就都也还又"  # what jieba glues to the next word
_PART_FREQ = 50  # a part of a compound must be at least this common a word
_RARE = 10  # a word rarer than this in jieba's dictionary may be a typo's debris
_COMMON = 100  # ...and one commoner than this is never a typo itself
_CLAUSE_MEMO = 200_000  # clauses remembered per analyzer

_Clause = tuple[tuple[str, ...], frozenset[str], tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Analysis:
    """What the matcher sees of one text."""

    text: str  # normalised text
    tokens: tuple[str, ...]  # canonical content words, in order; "@…" marks an off-topic word
    parts: frozenset[str] = frozenset()  # tokens that only occur as parts of a compound
    repairs: tuple[tuple[str, str], ...] = ()  # (typed, understood) homophone repairs

    @property
    def off_topic(self) -> tuple[str, ...]:
        return tuple(t for t in self.tokens if t.startswith(OFF_TOPIC_MARK))


class Analyzer:
    """Analyses texts with one FAQ's synonyms, words and homophone vocabulary."""

    def __init__(self, synonyms: Synonyms, words: Iterable[str] = ()) -> None:
        self.synonyms = synonyms
        self.segmenter = Segmenter([*synonyms.words, *words])
        self._sounds: dict[tuple[str, ...], list[str]] = {}  # fuzzy pinyin → known words
        self._known: set[str] = set()
        self._clauses: dict[tuple[str, bool], _Clause] = {}

    def learn(self, vocabulary: Iterable[str]) -> None:
        """Words a homophone typo may be repaired to: the legal word list, the
        synonyms and the FAQ's keywords (not every word of every phrasing:
        common words would "repair" correct text)."""
        words = set(vocabulary)
        for word, tokens in self.synonyms.mapping.items():
            if not any(t.startswith(OFF_TOPIC_MARK) for t in tokens):
                words.add(word)
                words.update(tokens)  # the canonical words themselves
        self._known = {w for w in words if 2 <= len(w) <= 4 and _HAN.match(w)}
        self._sounds = {}
        for word in sorted(self._known):
            for key in pinyin_keys(word, limit=1):
                self._sounds.setdefault(key, []).append(word)
        self._clauses.clear()  # what a clause means depends on the words learnt

    def _tokens(self, word: str, parts: set[str]) -> tuple[str, ...]:
        """Canonical content tokens of one segmented word."""
        if word in self.synonyms.mapping:
            tokens = self.synonyms.mapping[word]
            if all(t.startswith(OFF_TOPIC_MARK) for t in tokens):
                # An off-topic word is marked, and kept: 下雨 is weather, but
                # rain running into a neighbour's yard is still drainage.
                return (word, *tokens)
            return tokens
        if word in FUNCTION_WORDS or _QUANTITY.match(word):
            return ()
        if len(word) > 1 and word[0] in _PREFIXES and not self.segmenter.is_word(word):
            # jieba fused a pronoun, modal or question word to the next word
            # (我妈, 能告, 咋判): the rest is what carries the meaning.
            return self._tokens(word[1:], parts)
        if len(word) >= 3 and _HAN.match(word):
            # Compounds also match their parts (继承顺序 ~ 继承, 顺序), as
            # jieba's search mode does; FAQ and query are treated alike.
            for n in (2, 3):
                for j in range(len(word) - n + 1):
                    part = word[j : j + n]
                    if part != word and self.segmenter.is_word(part, _PART_FREQ):
                        parts.update(t for t in self._tokens(part, parts) if t != word)
        return (word,)

    def _suspicion(self, word: str) -> int:
        """1 for a stray character or a word rarer than a word should be, -1
        for a function word (text with one in it reads fine), else 0."""
        if word in FUNCTION_WORDS or (
            len(word) > 1 and word[0] in _PREFIXES and not self.segmenter.is_word(word)
        ):
            return -1  # also 要涨, 能管: a modal fused to a verb, not a typo
        return int(len(word) == 1 or not self.segmenter.is_word(word, _RARE))

    def _sounds_like(self, surface: str) -> str | None:
        """A known word that sounds like ``surface`` and differs in one character or so."""
        for key in pinyin_keys(surface, limit=1):
            for word in self._sounds.get(key, ()):
                differ = sum(a != b for a, b in zip(word, surface, strict=True))
                # Residents mistype one character of a word, rarely more.
                if 1 <= differ <= max(1, len(word) // 2):
                    return word
        return None

    def _repair(self, words: list[str]) -> tuple[str, list[tuple[str, str]]]:
        """The text with homophone typos replaced by the words they sound like."""
        text = "".join(words)
        # Per character: 1 inside a stray character or a too-rare word (what a
        # typo leaves behind), -1 inside a function word or a space (text with
        # one reads fine), else 0. A repair must cover a 1 and no -1.
        flags = [f for w in words for f in [-1 if w.isspace() else self._suspicion(w)] * len(w)]
        # Where words start and end: a repair may cut into a suspicious word
        # (jieba glues a stray character to its neighbour) but not into a
        # sound one (晚上|放 is not 上访).
        starts, ends = set(), set()
        at = 0
        for w in words:
            starts.add(at)
            at += len(w)
            ends.add(at)
        out: list[str] = []
        repairs: list[tuple[str, str]] = []
        p = 0
        while p < len(text):
            for n in (4, 3, 2) if flags[p] >= 0 else ():
                window, marks = text[p : p + n], flags[p : p + n]
                if len(window) < n or -1 in marks or 1 not in marks or window in self._known:
                    continue
                if (p not in starts and marks[0] == 0) or (p + n not in ends and marks[-1] == 0):
                    continue
                if self.segmenter.is_word(window, _COMMON):
                    continue  # 支付 in 支付令 is no typo for 止付
                word = self._sounds_like(window) if _HAN.match(window) else None
                if word is not None:
                    out.append(word)
                    repairs.append((window, word))
                    p += n
                    break
            else:
                out.append(text[p])
                p += 1
        return "".join(out), repairs

    def analyze(self, text: str, repair: bool = True) -> Analysis:
        """The canonical content words of ``text``; ``repair=False`` keeps typos."""
        norm = normalize(text)
        tokens: list[str] = []
        parts: set[str] = set()
        repairs: list[tuple[str, str]] = []
        # Clauses are analysed on their own: jieba cuts at spaces anyway and no
        # repair spans one, so a clause seen before (a repeated phrase, a
        # resident asking again) costs a dictionary lookup.
        for clause in norm.split(" "):
            key = (clause, repair)
            found = self._clauses.get(key)
            if found is None:
                found = self._analyze_clause(clause, repair)
                if len(self._clauses) >= _CLAUSE_MEMO:
                    self._clauses.clear()
                self._clauses[key] = found
            tokens += found[0]
            parts |= found[1]
            repairs += found[2]
        parts -= set(tokens)
        return Analysis(
            norm, tuple(tokens) + tuple(sorted(parts)), frozenset(parts), tuple(repairs)
        )

    def _analyze_clause(self, clause: str, repair: bool) -> _Clause:
        words = self.segmenter.cut(clause, keep_spaces=True)
        repairs: list[tuple[str, str]] = []
        if repair and self._sounds:
            repaired, repairs = self._repair(words)
            if repairs:
                words = self.segmenter.cut(repaired, keep_spaces=True)
        parts: set[str] = set()
        tokens = [t for w in words if not w.isspace() for t in self._tokens(w, parts)]
        return tuple(tokens), frozenset(parts), tuple(repairs)
