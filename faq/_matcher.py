"""The matcher: a resident's question → answer, suggest three, or no match.

Built once from a loaded FAQ; querying does no I/O and only reads what the
build made, so a serving matcher can be swapped for a new one at any time.

Scoring, in three steps:

1. **Recall.** An inverted index from canonical words (and, more weakly,
   their characters) to entries adds up, for each entry, the weight of the
   query's words it knows, and a BM25 score over its pooled phrasings. A
   word weighs by its rarity among entries (宅基地 tells entries apart, 赔偿
   hardly), damped when it is common in ordinary Chinese (清楚, 材料). Only
   the best few entries by either sum go on, so 100,000 entries cost little
   more than 100.
2. **Ranking.** Each of those is scored by how much of the query its words
   explain (coverage) and how well its best phrasing fits: how much of that
   phrasing the query contains, and a rapidfuzz similarity between the two.
   Candidates are ordered by that score blended with BM25; an entry that
   could not make the top even with a perfect fit is never fitted.
3. **Decision.** "answer" needs a high score, a clear lead over the next
   entry, most of the query explained, a phrasing that fits, no specific
   word that belongs to other entries, and no word of a topic the FAQ does
   not cover (the synonyms file's ``@`` topics). Otherwise the best three are
   suggested when they share enough specific words with the query, and
   "none" is said when they share only generic words or nothing.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from rapidfuzz import fuzz

from faq._analyzer import Analysis, Analyzer
from faq._cache import cached
from faq._model import Candidate, Decision, FaqEntry, MatchResult
from faq._synonyms import OFF_TOPIC_MARK, Synonyms

__all__ = ["Matcher", "Thresholds"]

_HAN = re.compile(r"[\u4e00-\u9fff]")
_CHAR = "#"  # prefix of character features, so 光 the character is not 光 the word

# Weights of the score; chosen on benchmarks/data (dev set plus our own
# in-scope and out-of-scope sets), see benchmarks/faq_bench.py.
_CHAR_WEIGHT = 0.5  # a shared character, relative to a shared word
_PART_WEIGHT = 0.5  # a part of a compound (手印 in 按手印), relative to a word
_COMMON_DAMPING = 0.4  # weight left to a word that is everyday Chinese
_COVERAGE_SHARE = 0.6  # score = share * coverage + (1 - share) * fit
_FUZZ_SHARE = 0.3  # fit = (1 - share) * phrasing recall + share * rapidfuzz ratio
_SHORT_PHRASING = 2.5  # phrasings lighter than this many rare words are trusted less
_STRENGTH_FLOOR = 0.5  # strength of a word found in one phrasing of many
_KEYWORD_TF = 2  # a keyword counts as this many uses of the word for BM25
_BM25_SHARE = 0.4  # candidates are ordered by (1 - share) * score + share * BM25 / best BM25


@dataclass(frozen=True)
class Thresholds:
    """When to answer and when to suggest; scores are 0..1, evidence in rare words.

    Calibrated on benchmarks/data so that no query there, in scope or out,
    gets a confident wrong answer; "answer" is kept for questions that say
    little beyond what an entry's phrasings say. Everything else that is
    plausibly related gets suggestions, which cost a resident one tap.
    """

    answer: float = 0.65  # minimum score to answer
    margin: float = 0.12  # lead over the runner-up needed to answer
    coverage: float = 0.65  # share of the query the entry must explain to answer
    fit: float = 0.35  # how well the best phrasing must fit to answer
    conflict: float = 0.02  # most share of the query in specific words of other entries
    unexplained: float = 0.60  # most weight of query words the entry lacks, in rare words
    suggest: float = 0.20  # minimum score to suggest
    suggest_fit: float = 0.25  # minimum phrasing fit to suggest...
    evidence: float = 1.0  # ...unless this many rare words' weight is shared (long stories)
    terse_coverage: float = 0.7  # ...or a terse query (狗咬) is mostly explained
    terse_evidence: float = 0.5  # ...by at least half a rare word's weight


class _Phrasing(NamedTuple):
    text: str
    key: str  # canonical words joined, for rapidfuzz
    tokens: tuple[str, ...]
    mass: float  # summed idf of its words


@dataclass(frozen=True)
class _Scored:
    index: int
    score: float
    coverage: float  # share of the query's weight this entry explains
    fit: float  # how well the best phrasing fits
    evidence: float  # weight of the words shared with the query
    conflict: float  # share of the query's weight in specific words only other entries have
    matched: str
    rank: float  # what candidates are ordered by: score blended with BM25
    unexplained: float  # weight of query words the entry lacks, in rare words


# The code an analysis depends on: a change to any of them invalidates cached analyses.
_ANALYSIS_MODULES = ("_analyzer.py", "_normalize.py", "_segment.py", "_pinyin.py", "_synonyms.py")


class Matcher:
    """Matches questions against one loaded FAQ."""

    recall = 24  # entries recalled per sum (word weights, BM25) for ranking

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        synonyms: Synonyms | None = None,
        words: Sequence[str] = (),
        thresholds: Thresholds | None = None,
        *,
        cache_analyses: bool = False,
    ) -> None:
        self.entries = tuple(entries)
        self.thresholds = thresholds or Thresholds()
        synonyms = synonyms or Synonyms()
        keywords = {k for e in self.entries for k in e.keywords}
        self._vocabulary = sorted({*words, *keywords})
        self.analyzer = Analyzer(synonyms, self._vocabulary)
        self.analyzer.learn(self._vocabulary)
        self._cache_analyses = cache_analyses
        self._build()

    # -- building -------------------------------------------------------

    def _cached_analyses(self) -> dict[str, tuple[str, ...]]:
        """Tokens of every phrasing and keyword, from the cache when nothing changed.

        Segmenting the shipped FAQ takes about half a second, most of start-up;
        the result depends only on the texts, the analyzer's settings and its
        code, so it is kept under a hash of exactly those.
        """
        texts = sorted(
            {p for e in self.entries for p in e.phrasings}
            | {k for e in self.entries for k in e.keywords}
        )
        digest = hashlib.sha256()
        for module in _ANALYSIS_MODULES:
            digest.update((Path(__file__).parent / module).read_bytes())
        digest.update(repr(sorted(self.analyzer.synonyms.mapping.items())).encode())
        digest.update(repr(self._vocabulary).encode())
        digest.update("\n".join(texts).encode())
        return dict(  # a copy: the memo may grow while building
            cached(
                f"analyses-{digest.hexdigest()[:24]}.pickle",
                lambda: {t: self.analyzer.analyze(t).tokens for t in texts},
                replaces="analyses-",
            )
        )

    def _build(self) -> None:
        memo = self._cached_analyses() if self._cache_analyses else {}

        def analyze(text: str) -> tuple[str, ...]:
            if text not in memo:
                memo[text] = self.analyzer.analyze(text).tokens
            return memo[text]

        n = len(self.entries)
        entry_phrasings: list[list[tuple[str, tuple[str, ...]]]] = []
        strengths: list[dict[str, float]] = []
        frequencies: list[dict[str, int]] = []
        df: dict[str, int] = {}
        for entry in self.entries:
            phrasings = [(p, analyze(p)) for p in entry.phrasings]
            counts: dict[str, int] = {}
            tf: dict[str, int] = {}
            for _, tokens in phrasings:
                for t in set(tokens):
                    counts[t] = counts.get(t, 0) + 1
                for t in tokens:
                    tf[t] = tf.get(t, 0) + 1
            # A word in most phrasings is what the entry is about; one in a
            # single phrasing may be that phrasing's story. Keywords are
            # the admin saying what the entry is about.
            strength = {
                t: _STRENGTH_FLOOR + (1 - _STRENGTH_FLOOR) * math.sqrt(c / len(phrasings))
                for t, c in counts.items()
            }
            for keyword in entry.keywords:
                for t in analyze(keyword):
                    strength[t] = 1.0
                    tf[t] = tf.get(t, 0) + _KEYWORD_TF
            for t in [t for t in strength if t.startswith(OFF_TOPIC_MARK)]:
                del strength[t]  # an off-topic word never speaks for an entry
            for t in list(strength):
                for ch in set(t):
                    if _HAN.match(ch):
                        key = _CHAR + ch
                        strength[key] = max(strength.get(key, 0.0), strength[t])
            for t in strength:
                df[t] = df.get(t, 0) + 1
            entry_phrasings.append(phrasings)
            strengths.append(strength)
            frequencies.append({t: c for t, c in tf.items() if not t.startswith(OFF_TOPIC_MARK)})

        self._idf = {t: math.log((n + 1) / (d + 0.5)) for t, d in df.items()}
        self._max_idf = math.log((n + 1) / 1.5) if n else 1.0
        self._specific = math.log((n + 1) / 3.5)  # the idf of a word in three entries
        self._phrasings: list[tuple[_Phrasing, ...]] = []
        for phrasings in entry_phrasings:
            built = []
            for text, tokens in phrasings:
                unique = tuple(dict.fromkeys(t for t in tokens if not t.startswith(OFF_TOPIC_MARK)))
                mass = sum(self._idf.get(t, 0.0) for t in unique)
                built.append(_Phrasing(text, "".join(unique), unique, mass))
            self._phrasings.append(tuple(built))

        # BM25 over the entry's phrasings pooled (k1 = 1.2, b = 0.75): how
        # often an entry uses a word, not just whether it does.
        lengths = [sum(tf.values()) for tf in frequencies]
        average = (sum(lengths) / n if n else 0.0) or 1.0
        postings: dict[str, tuple[list[int], list[float], list[float]]] = {}
        for i, strength in enumerate(strengths):
            tf, norm = frequencies[i], 1.2 * (0.25 + 0.75 * lengths[i] / average)
            for t, s in strength.items():
                ids, values, bm25 = postings.setdefault(t, ([], [], []))
                ids.append(i)
                values.append(s)
                count = tf.get(t, 0)
                bm25.append(
                    math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) * count * 2.2 / (count + norm)
                )
        self._postings = {
            t: (
                np.asarray(ids, dtype=np.int32),
                np.asarray(values, dtype=np.float32),
                np.asarray(bm25, dtype=np.float32),
            )
            for t, (ids, values, bm25) in postings.items()
        }
        self._words = [{t: v for t, v in s.items() if not t.startswith(_CHAR)} for s in strengths]

    # -- querying -------------------------------------------------------

    def weight(self, token: str) -> float:
        """How much a query word says about which entry is meant."""
        if token.startswith(OFF_TOPIC_MARK):
            return 1.5 * self._max_idf
        rarity = self.analyzer.segmenter.rarity(token)
        idf = self._idf.get(token)
        if idf is not None:
            return idf * (_COMMON_DAMPING + (1 - _COMMON_DAMPING) * rarity)
        # A word no entry knows still says the question is about something,
        # so it counts against every entry's coverage.
        return self._max_idf * (0.15 + 0.45 * rarity) * (0.5 if len(token) == 1 else 1.0)

    def analyze(self, text: str) -> Analysis:
        return self.analyzer.analyze(text)

    def match(self, text: str) -> MatchResult:
        """Decide what to do with ``text``; pure CPU, no I/O."""
        analysis, scored = self._score(text, 3)
        if not scored:
            return MatchResult(text, Decision.NONE, ())
        return MatchResult(text, self._decide(analysis, scored), self._candidates(scored[:3]))

    def rank(self, text: str, limit: int = 10) -> tuple[Candidate, ...]:
        """The best ``limit`` entries for ``text``, whatever the decision."""
        return self._candidates(self._score(text, limit)[1][:limit])

    def _candidates(self, scored: list[_Scored]) -> tuple[Candidate, ...]:
        # The score shown is the one candidates are ordered by.
        return tuple(
            Candidate(self.entries[s.index], round(min(1.0, s.rank), 4), s.matched) for s in scored
        )

    def _score(self, text: str, wanted: int) -> tuple[Analysis, list[_Scored]]:
        """The best ``wanted`` entries (at least two, for the margin), scored in full."""
        analysis = self.analyzer.analyze(text)
        tokens = list(dict.fromkeys(analysis.tokens))
        if not tokens or not self.entries:
            return analysis, []
        weights = {
            t: self.weight(t) * (_PART_WEIGHT if t in analysis.parts else 1.0) for t in tokens
        }
        query_mass = sum(weights.values())
        explained = np.zeros(len(self.entries), dtype=np.float32)  # by words
        bm25 = np.zeros(len(self.entries), dtype=np.float32)
        chars: dict[str, float] = {}
        for t in tokens:
            posting = self._postings.get(t)
            if posting is not None:
                explained[posting[0]] += weights[t] * posting[1]
                bm25[posting[0]] += posting[2] * (_PART_WEIGHT if t in analysis.parts else 1.0)
            elif not t.startswith(OFF_TOPIC_MARK):
                # A word no entry has may still share characters with one
                # (堵死 ~ 堵路); those count, but less than a word.
                for ch in t:
                    key = _CHAR + ch
                    if key in self._idf:
                        chars[key] = self._idf[key] * _CHAR_WEIGHT
        for key, value in chars.items():
            ids, strengths, _ = self._postings[key]
            explained[ids] += value * strengths
        hits = int(np.count_nonzero(explained))
        if hits == 0:
            return analysis, []
        if hits > self.recall:
            top = set(np.argpartition(-explained, self.recall - 1)[: self.recall].tolist())
            top |= set(np.argpartition(-bm25, self.recall - 1)[: self.recall].tolist())
        else:
            top = set(np.flatnonzero(explained).tolist())
        best_bm25 = float(bm25.max()) or 1.0
        # Coverage and BM25 are known for every recalled entry; only the
        # phrasing fit costs real work. An entry whose fit could be perfect
        # and still not reach the ones already scored is never fitted.
        bounds = []
        for i in top:
            coverage = min(1.0, float(explained[i]) / query_mass)
            relative = float(bm25[i]) / best_bm25
            bound = (1 - _BM25_SHARE) * (
                _COVERAGE_SHARE * coverage + 1 - _COVERAGE_SHARE
            ) + _BM25_SHARE * relative
            bounds.append((bound, i, coverage, relative))
        bounds.sort(key=lambda b: (-b[0], b[1]))
        wanted = max(wanted, 2)
        scored: list[_Scored] = []
        query = set(weights)
        query_key = "".join(t for t in weights if not t.startswith(OFF_TOPIC_MARK))
        for bound, i, coverage, relative in bounds:
            if len(scored) >= wanted and scored[wanted - 1].rank >= bound:
                break
            fitted = self._fit(
                i, query, query_key, weights, query_mass, analysis, coverage, relative
            )
            bisect.insort(scored, fitted, key=lambda s: (-s.rank, s.index))
        return analysis, scored

    def _fit(
        self,
        i: int,
        query: set[str],
        query_key: str,
        weights: dict[str, float],
        query_mass: float,
        analysis: Analysis,
        coverage: float,
        bm25: float,
    ) -> _Scored:
        fit, matched = 0.0, self._phrasings[i][0].text
        for p in self._phrasings[i]:
            if not p.mass:
                continue
            recall = sum(self._idf[t] for t in p.tokens if t in query) / p.mass
            # A short, generic phrasing is easy to contain; trust it less.
            recall *= min(1.0, p.mass / (_SHORT_PHRASING * self._max_idf))
            value = (1 - _FUZZ_SHARE) * recall + _FUZZ_SHARE * fuzz.ratio(query_key, p.key) / 100.0
            if value > fit:
                fit, matched = value, p.text
        shared = query & self._words[i].keys()
        conflict = sum(
            weights[t]
            for t in query - shared - analysis.parts
            if self._idf.get(t, 0.0) >= self._specific
        )
        score = _COVERAGE_SHARE * coverage + (1 - _COVERAGE_SHARE) * fit
        evidence = sum(weights[t] for t in shared)
        rank = (1 - _BM25_SHARE) * score + _BM25_SHARE * bm25
        # Shared characters help find an entry, but only shared words say
        # which part of the question it answers.
        unexplained = max(0.0, query_mass - evidence) / self._max_idf
        return _Scored(
            i, score, coverage, fit, evidence, conflict / query_mass, matched, rank, unexplained
        )

    def _decide(self, analysis: Analysis, scored: list[_Scored]) -> Decision:
        th = self.thresholds
        best = scored[0]
        runner_up = scored[1].score if len(scored) > 1 else 0.0
        if (
            best.score >= th.answer
            and best.score - runner_up >= th.margin
            and best.coverage >= th.coverage
            and best.fit >= th.fit
            and best.conflict <= th.conflict
            and best.unexplained <= th.unexplained
            and not analysis.off_topic
        ):
            return Decision.ANSWER
        # A question mostly about a topic the FAQ leaves out (身份证补办, 判刑)
        # gets no suggestions either, however well a word of it matches.
        off_topic = len(analysis.off_topic) * self.weight(OFF_TOPIC_MARK)
        if any(
            s.evidence > off_topic
            and s.score >= th.suggest
            and (
                s.fit >= th.suggest_fit
                or s.evidence >= th.evidence * self._max_idf
                or (
                    s.coverage >= th.terse_coverage
                    and s.evidence >= th.terse_evidence * self._max_idf
                )
            )
            for s in scored[:3]
        ):
            return Decision.SUGGEST
        return Decision.NONE
