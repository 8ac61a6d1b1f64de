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
from faq._centroids import Centroids, question_part
from faq._loader import FaqData
from faq._model import Candidate, Decision, FaqEntry, MatchResult, Referral
from faq._rules import phrasing_key
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
_ASKING_WEIGHT = 1.3  # a word of a clause that asks, relative to one that tells the story
_CENTROID_SHARE = 0.3  # ...then blended with the n-gram centroid similarity / the best one


@dataclass(frozen=True)
class Thresholds:
    """When to answer and when to suggest: probabilities of the two calibrated models.

    Chosen on the tuning sets of benchmarks/data so that confident wrong
    answers stay under 1%: an answer is given when the best entry is almost
    surely right; entries are suggested (one tap for the resident) when the
    question is likely about the FAQ's matters at all; otherwise the resident
    hears where such matters are handled, or an honest "I can't answer".
    """

    confidence: float = 0.95  # the answer model's probability needed to answer...
    plain_score: float = 0.65  # ...or, for a plainly asked question, this score,
    plain_margin: float = 0.12  # this lead over the runner-up,
    plain_coverage: float = 0.65  # this share of the question explained,
    plain_fit: float = 0.35  # a phrasing that fits this well,
    plain_conflict: float = 0.02  # at most this share in specific words of other entries,
    plain_unexplained: float = 0.60  # and at most this weight of words the entry lacks
    scope: float = 0.35  # the scope model's probability needed to suggest entries
    scope_referred: float = 0.6  # ...when its words point at a matter handled elsewhere
    related: float = 0.55  # a suggestion ranks at least this share of the best one
    terse_coverage: float = 0.7  # a terse question (狗咬) mostly explained by the best entry...
    terse_evidence: float = 0.5  # ...with at least half a rare word's weight is suggested


class _Phrasing(NamedTuple):
    text: str
    key: str  # canonical words joined, for rapidfuzz
    tokens: tuple[str, ...]
    mass: float  # summed idf of its words


class _FitArrays(NamedTuple):
    """An entry's phrasings as arrays, so a fit weighs all of them in one pass."""

    mass: np.ndarray  # summed idf of each phrasing's words (1 where it has none)
    short: np.ndarray  # how far each phrasing is trusted: less when short and generic
    empty: np.ndarray  # the phrasings with no known word

    @classmethod
    def of(cls, phrasings: Sequence[_Phrasing], max_idf: float) -> _FitArrays:
        mass = np.asarray([p.mass for p in phrasings], dtype=np.float64)
        short = [min(1.0, p.mass / (_SHORT_PHRASING * max_idf)) for p in phrasings]
        return cls(np.where(mass > 0, mass, 1.0), np.asarray(short, dtype=np.float64), mass <= 0)


@dataclass(frozen=True)
class _Scored:
    index: int
    score: float
    coverage: float  # share of the query's weight this entry explains
    fit: float  # how well the best phrasing fits
    evidence: float  # weight of the words shared with the query
    conflict: float  # share of the query's weight in specific words only other entries have
    matched: str
    rank: float  # what candidates are ordered by: score blended with BM25 and similarity
    unexplained: float  # weight of query words the entry lacks, in rare words
    similarity: float = 0.0  # cosine of the n-gram centroids (the learned second opinion)
    most_similar: bool = False  # no recalled document is more similar


def _own_phrasings(entries: Sequence[FaqEntry]) -> dict[str, int]:
    """Each phrasing as the matcher sees it, and the entry it belongs to.

    A resident who types an entry's own question (or one of its variants) gets
    that entry's answer, however close another entry comes: the scores weigh
    words, and an entry whose question shares most of them with its neighbours
    (借钱不还 / 欠钱多年) was offered only as a suggestion. (The loader refuses
    a phrasing two entries share.)
    """
    owner: dict[str, int] = {}
    for index, entry in enumerate(entries):
        for text in entry.phrasings:
            owner.setdefault(phrasing_key(text), index)
    owner.pop("", None)
    return owner


# The answer model: logistic weights over ``Matcher.answer_signals`` ("" is the
# bias), fitted by benchmarks/calibrate_answers.py on the tuning sets.
_ANSWER_MODEL: dict[str, float] = {
    "": -14.2327,
    "rank": 9.9039,
    "lead": 5.6712,
    "coverage": 3.0137,
    "unexplained": -0.0454,
    "evidence": 0.2839,
    "similarity": 3.9627,
    "similarity_lead": -4.6295,
    "most_similar": 1.2280,
    "fit": -1.6644,
    "off_topic": -0.5212,
    "words": 1.6074,
    "conflict": 1.4950,
}

_SCOPE_MODEL: dict[str, float] = {
    "": -18.7090,
    "rank": 13.0713,
    "coverage": 3.0970,
    "evidence": 0.2853,
    "similarity": 6.2332,
    "fit": -2.7030,
    "words": 2.9939,
    "off_topic": -0.5367,
    "referral_similarity": -9.2977,
    "referral_lead": 3.2597,
}


def _logistic(model: dict[str, float], signals: dict[str, float]) -> float:
    z = model[""] + sum(w * signals[k] for k, w in model.items() if k)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


# The code an analysis depends on: a change to any of them invalidates cached analyses.
_ANALYSIS_MODULES = ("_analyzer.py", "_normalize.py", "_segment.py", "_pinyin.py", "_synonyms.py")


def _referral_entry(referral: Referral) -> FaqEntry:
    """A referral kind as a matchable document: its example questions are its phrasings."""
    return FaqEntry(
        id=f"{OFF_TOPIC_MARK}{referral.kind}",
        category="",
        question=referral.name,
        variants=referral.examples,
        answer=referral.say,
        basis=(),
        keywords=(),
        handoff=False,
        file="",
        line=0,
    )


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
        referrals: Sequence[Referral] = (),
        cache_analyses: bool = False,
    ) -> None:
        self.entries = tuple(entries)
        self._referral_of = {t: r for r in referrals for t in r.topics}
        # Referral kinds with example questions are matched like entries, so a
        # question that sounds like a criminal case is told where to go instead
        # of being offered entries that merely share a word with it.
        learned = [r for r in referrals if r.examples]
        self._docs = self.entries + tuple(_referral_entry(r) for r in learned)
        self._referral_at = {len(self.entries) + k: r for k, r in enumerate(learned)}
        self._phrasing_of = _own_phrasings(self.entries)
        self.thresholds = thresholds or Thresholds()
        synonyms = synonyms or Synonyms()
        keywords = {k for e in self.entries for k in e.keywords}
        self._vocabulary = sorted({*words, *keywords})
        self.analyzer = Analyzer(synonyms, self._vocabulary)
        self.analyzer.learn(self._vocabulary)
        self._cache_analyses = cache_analyses
        self._build()

    @classmethod
    def for_faq(cls, data: FaqData, *, cache_analyses: bool = False) -> Matcher:
        """The matcher of a loaded FAQ folder: its entries, synonyms, words and referrals."""
        return cls(
            data.entries,
            data.synonyms,
            data.legal_words,
            referrals=data.referrals,
            cache_analyses=cache_analyses,
        )

    # -- building -------------------------------------------------------

    def _cached_analyses(self) -> dict[str, tuple[str, ...]]:
        """Tokens of every phrasing and keyword, from the cache when nothing changed.

        Segmenting the shipped FAQ takes about half a second, most of start-up;
        the result depends only on the texts, the analyzer's settings and its
        code, so it is kept under a hash of exactly those.
        """
        texts = sorted(
            {p for e in self._docs for p in e.phrasings}
            | {k for e in self._docs for k in e.keywords}
        )
        digest = hashlib.sha256()
        for module in _ANALYSIS_MODULES:
            digest.update((Path(__file__).parent / module).read_bytes())
        digest.update(repr(sorted(self.analyzer.synonyms.mapping.items())).encode())
        digest.update(repr(self._vocabulary).encode())
        digest.update("\n".join(texts).encode())
        self._digest = digest.hexdigest()[:24]
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

        n = len(self._docs)
        entry_phrasings: list[list[tuple[str, tuple[str, ...]]]] = []
        strengths: list[dict[str, float]] = []
        frequencies: list[dict[str, int]] = []
        df: dict[str, int] = {}
        for entry in self._docs:
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
        # word → the phrasings that have it (bit k: phrasing k), per entry: a fit
        # adds up only the query's words instead of walking every phrasing's words.
        self._in_phrasings: list[dict[str, int]] = []
        self._fit_arrays: list[_FitArrays] = []
        for phrasings in entry_phrasings:
            built = []
            where: dict[str, int] = {}
            for k, (text, tokens) in enumerate(phrasings):
                unique = tuple(dict.fromkeys(t for t in tokens if not t.startswith(OFF_TOPIC_MARK)))
                mass = sum(self._idf.get(t, 0.0) for t in unique)
                built.append(_Phrasing(text, "".join(unique), unique, mass))
                for t in unique:
                    where[t] = where.get(t, 0) | (1 << k)
            self._phrasings.append(tuple(built))
            self._in_phrasings.append(where)
            self._fit_arrays.append(_FitArrays.of(built, self._max_idf))

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
        texts = [e.phrasings for e in self._docs]
        if self._cache_analyses:
            # Cached under a digest of the analyses', of the documents' phrasings in
            # their order (a row of the model is a document: a variant moved to another
            # entry changes the model, not the set of texts) and of the model's code.
            model = hashlib.sha256(repr(texts).encode())
            model.update((Path(__file__).parent / "_centroids.py").read_bytes())
            name = f"centroids-{self._digest}-{model.hexdigest()[:12]}.pickle"
            self._centroids = cached(name, lambda: Centroids(texts), replaces="centroids-")
        else:
            self._centroids = Centroids(texts)

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
        analysis, docs = self._score(text, 3)
        scored = [s for s in docs if s.index not in self._referral_at]
        learned = self._referral_at.get(docs[0].index) if docs else None
        referral = learned or self._referral(analysis)
        if not scored:
            return MatchResult(text, Decision.NONE, (), referral)
        own = self._phrasing_of.get(phrasing_key(text))
        if own is not None:
            return MatchResult(text, Decision.ANSWER, self._own_first(own, scored), None)
        decision = self._decide(analysis, scored, docs, referred=referral is not None)
        if decision is Decision.ANSWER:
            referral = None
        elif learned is not None:
            # It sounds most like a matter handled elsewhere: entries that only
            # share words with it would be a list of unrelated questions.
            decision = Decision.NONE
        shown = scored[:3]
        if decision is Decision.SUGGEST:
            # Only entries about the same matter as the best one: a far weaker
            # second or third suggestion merely shares a word with the question.
            floor = self.thresholds.related * scored[0].rank
            shown = [s for s in shown if s.rank >= floor]
        return MatchResult(text, decision, self._candidates(shown), referral)

    def _own_first(self, own: int, scored: list[_Scored]) -> tuple[Candidate, ...]:
        """The entry whose own phrasing was asked, then the next best."""
        found = next((s for s in scored if s.index == own), None)
        first = (
            self._candidates([found])[0]
            if found is not None
            else Candidate(self.entries[own], 1.0, self.entries[own].question)
        )
        return (first, *self._candidates([s for s in scored if s.index != own][:2]))

    def _referral(self, analysis: Analysis) -> Referral | None:
        """The kind of matter the question's off-topic words point at most, if any."""
        votes: dict[str, int] = {}
        for token in analysis.off_topic:
            if (referral := self._referral_of.get(token)) is not None:
                votes[referral.kind] = votes.get(referral.kind, 0) + 1
        if not votes:
            return None
        kind = max(votes, key=lambda k: (votes[k], k))
        return next(r for r in self._referral_of.values() if r.kind == kind)

    def rank(self, text: str, limit: int = 10) -> tuple[Candidate, ...]:
        """The best ``limit`` entries for ``text``, whatever the decision."""
        docs = self._score(text, limit)[1]
        return self._candidates([s for s in docs if s.index not in self._referral_at][:limit])

    def _asking_words(self, text: str, asking: str) -> frozenset[str]:
        """Words of the clauses that ask (a story's question), when the text also tells."""
        if asking == text or _ASKING_WEIGHT == 1.0:
            return frozenset()
        return frozenset(self.analyzer.analyze(asking).tokens)

    def _candidates(self, scored: list[_Scored]) -> tuple[Candidate, ...]:
        # The score shown is the one candidates are ordered by.
        return tuple(
            Candidate(self.entries[s.index], round(min(1.0, s.rank), 4), s.matched) for s in scored
        )

    def _score(self, text: str, wanted: int) -> tuple[Analysis, list[_Scored]]:
        """The best ``wanted`` entries (at least two, for the margin), scored in full."""
        analysis = self.analyzer.analyze(text)
        tokens = list(dict.fromkeys(analysis.tokens))
        if not tokens or not self._docs:
            return analysis, []
        asking_text = question_part(text)
        asking = self._asking_words(text, asking_text)
        weights = {
            t: self.weight(t)
            * (_PART_WEIGHT if t in analysis.parts else 1.0)
            * (_ASKING_WEIGHT if t in asking else 1.0)
            for t in tokens
        }
        query_mass = sum(weights.values())
        explained = np.zeros(len(self._docs), dtype=np.float32)  # by words
        bm25 = np.zeros(len(self._docs), dtype=np.float32)
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
        top |= self._referral_at.keys()  # always weighed: is this a matter handled elsewhere?
        best_bm25 = float(bm25.max()) or 1.0
        recalled = sorted(top)
        similar = self._centroids.similarities(self._centroids.query(text, asking_text), recalled)
        best_similar = float(similar.max()) or 1.0
        similarity = dict(zip(recalled, similar.tolist(), strict=True))
        # Coverage, BM25 and similarity are known for every recalled entry; only
        # the phrasing fit costs real work. An entry whose fit could be perfect
        # and still not reach the ones already scored is never fitted.
        bounds = []
        for i in recalled:
            coverage = min(1.0, float(explained[i]) / query_mass)
            relative = float(bm25[i]) / best_bm25
            bound = (1 - _CENTROID_SHARE) * (
                (1 - _BM25_SHARE) * (_COVERAGE_SHARE * coverage + 1 - _COVERAGE_SHARE)
                + _BM25_SHARE * relative
            ) + _CENTROID_SHARE * similarity[i] / best_similar
            bounds.append((bound, i, coverage, relative))
        bounds.sort(key=lambda b: (-b[0], b[1]))
        wanted = max(wanted, 2)
        scored: list[_Scored] = []
        query = set(weights)
        query_key = "".join(t for t in weights if not t.startswith(OFF_TOPIC_MARK))
        ranked: list[_Scored] = []  # the entries among them, for when to stop
        for bound, i, coverage, relative in bounds:
            if len(ranked) >= wanted and ranked[wanted - 1].rank >= bound:
                break
            fitted = self._fit(
                i,
                query,
                query_key,
                weights,
                query_mass,
                analysis,
                coverage,
                relative,
                similarity[i],
                best_similar,
            )
            bisect.insort(scored, fitted, key=lambda s: (-s.rank, s.index))
            if i not in self._referral_at:
                bisect.insort(ranked, fitted, key=lambda s: (-s.rank, s.index))
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
        similarity: float,
        best_similar: float,
    ) -> _Scored:
        phrasings, arrays = self._phrasings[i], self._fit_arrays[i]
        contained = [0.0] * len(phrasings)
        in_phrasings = self._in_phrasings[i]
        for t in query:
            mask = in_phrasings.get(t, 0)
            while mask:
                low = mask & -mask
                contained[low.bit_length() - 1] += self._idf[t]
                mask ^= low
        # How much of each phrasing the query contains; a short, generic phrasing
        # is easy to contain, so it is trusted less.
        recall = np.asarray(contained) / arrays.mass * arrays.short
        ratios = np.asarray([fuzz.ratio(query_key, p.key) for p in phrasings], dtype=np.float64)
        values = (1 - _FUZZ_SHARE) * recall + _FUZZ_SHARE * ratios / 100.0
        values[arrays.empty] = 0.0  # a phrasing of no known word fits nothing
        best = int(np.argmax(values))  # the first of the best, as ties go
        fit = float(values[best])
        matched = phrasings[best if fit > 0.0 else 0].text
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
            i,
            score,
            coverage,
            fit,
            evidence,
            conflict / query_mass,
            matched,
            (1 - _CENTROID_SHARE) * rank + _CENTROID_SHARE * similarity / best_similar,
            unexplained,
            similarity,
            similarity >= best_similar - 1e-6,
        )

    def answer_signals(
        self, analysis: Analysis, scored: list[_Scored], docs: list[_Scored]
    ) -> dict[str, float]:
        """What the answer model weighs, for the best entry (also read by the calibration)."""
        best = scored[0]
        others = [d for d in docs if d.index != best.index]
        return {
            "rank": best.rank,
            "lead": best.rank - (others[0].rank if others else 0.0),
            "coverage": best.coverage,
            "unexplained": best.unexplained,
            "evidence": best.evidence / self._max_idf,
            "similarity": best.similarity,
            "similarity_lead": best.similarity - max((d.similarity for d in others), default=0.0),
            "most_similar": float(best.most_similar),
            "fit": best.fit,
            "off_topic": float(len(analysis.off_topic)),
            "words": math.log1p(len(analysis.tokens)),
            "conflict": best.conflict,
        }

    def scope_signals(
        self, analysis: Analysis, scored: list[_Scored], docs: list[_Scored]
    ) -> dict[str, float]:
        """What the scope model weighs: is the question about the FAQ's matters at all?"""
        best = scored[0]
        referrals = [d for d in docs if d.index in self._referral_at]
        closest = max(referrals, key=lambda d: d.rank, default=None)
        return {
            "rank": best.rank,
            "coverage": best.coverage,
            "evidence": best.evidence / self._max_idf,
            "similarity": best.similarity,
            "fit": best.fit,
            "words": math.log1p(len(analysis.tokens)),
            "off_topic": float(len(analysis.off_topic)),
            "referral_similarity": closest.similarity if closest else 0.0,
            "referral_lead": best.rank - (closest.rank if closest else 0.0),
        }

    def answer_confidence(
        self, analysis: Analysis, scored: list[_Scored], docs: list[_Scored]
    ) -> float:
        """The answer model's probability that the best entry is what the resident asks."""
        return _logistic(_ANSWER_MODEL, self.answer_signals(analysis, scored, docs))

    def scope_confidence(
        self, analysis: Analysis, scored: list[_Scored], docs: list[_Scored]
    ) -> float:
        """The scope model's probability that an FAQ entry is what the question is about."""
        return _logistic(_SCOPE_MODEL, self.scope_signals(analysis, scored, docs))

    def _plainly_asked(
        self, analysis: Analysis, scored: list[_Scored], docs: list[_Scored]
    ) -> bool:
        """A question that says little beyond what one entry's phrasings say: most of it
        explained, a phrasing that fits, a clear lead, no word of another matter."""
        th = self.thresholds
        best = scored[0]
        runner_up = max((d.score for d in docs if d.index != best.index), default=0.0)
        return (
            best.score >= th.plain_score
            and best.score - runner_up >= th.plain_margin
            and best.coverage >= th.plain_coverage
            and best.fit >= th.plain_fit
            and best.conflict <= th.plain_conflict
            and best.unexplained <= th.plain_unexplained
            and not analysis.off_topic
        )

    def _decide(
        self,
        analysis: Analysis,
        scored: list[_Scored],
        docs: list[_Scored],
        *,
        referred: bool,
    ) -> Decision:
        """``scored``: the entries, best first; ``docs``: the same with the referral kinds."""
        th = self.thresholds
        if self._plainly_asked(analysis, scored, docs) or (
            self.answer_confidence(analysis, scored, docs) >= th.confidence
        ):
            return Decision.ANSWER
        best = scored[0]
        terse = (
            best.coverage >= th.terse_coverage
            and best.evidence >= th.terse_evidence * self._max_idf
        )
        # Words of a matter handled elsewhere (判刑, 补办) ask for more certainty.
        scope = th.scope_referred if referred else th.scope
        if self.scope_confidence(analysis, scored, docs) >= scope or (
            terse and not analysis.off_topic
        ):
            return Decision.SUGGEST
        return Decision.NONE
