"""A second opinion learned from the phrasings: character n-gram centroids.

The word-based matcher is precise on questions phrased like the FAQ's, but a
resident's story brings names, places, feelings and typos that its words do
not know. A nearest-centroid model (Rocchio) over character 1–3-grams,
TF-IDF weighted with sublinear counts, reads the same phrasings differently:
every entry is the normalised mean of its phrasings' vectors, and a question
is close to an entry when it shares its characteristic character runs,
wherever they sit in the story. It is linear, deterministic, trains in a
fraction of a second, and costs one sparse dot product per candidate, so it
re-ranks the matcher's candidates at any FAQ size.

Only numpy: a general-purpose library would cost more start-up time than the
whole model takes to build.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from faq._normalize import normalize

__all__ = ["Centroids", "question_part"]

_NGRAMS = (1, 2, 3)
# A clause that asks: a question mark, or a word people ask with.
_ASKS = re.compile(
    r"[?？]|吗|呢|怎么|怎样|咋|啥|什么|如何|能不能|能否|可不可以|可以|是不是|是否|有没有|"
    r"要不要|该不该|会不会|算不算|合不合法|多少|几年|几个|多久|谁|哪|咋办|行不行|中不中|管不管"
)
_CLAUSES = re.compile(r"[。！!？?；;，,\n]+")
QUESTION_WEIGHT = 2.0  # how much more an asking clause counts than a story clause


def question_part(text: str) -> str:
    """The clauses of ``text`` that ask something (all of it when none does)."""
    asking = [c for c in _CLAUSES.split(text) if c.strip() and _ASKS.search(c)]
    return "，".join(asking) if asking else text


def _grams(text: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for chunk in normalize(text).split():
        for n in _NGRAMS:
            for i in range(len(chunk) - n + 1):
                gram = chunk[i : i + n]
                counts[gram] = counts.get(gram, 0.0) + 1.0
    return counts


class Centroids:
    """Entry centroids of TF-IDF character n-gram vectors; cosine similarity to a question."""

    def __init__(self, phrasings: Sequence[Sequence[str]]) -> None:
        # Two passes over the texts instead of keeping every phrasing's n-grams:
        # at 100,000 entries those dictionaries alone would take gigabytes.
        df: dict[str, int] = {}
        documents = 0
        for entry in phrasings:
            for text in entry:
                documents += 1
                for g in _grams(text):
                    df[g] = df.get(g, 0) + 1
        ordered = sorted(df)
        self.vocabulary = {g: i for i, g in enumerate(ordered)}
        self.idf = np.asarray(
            [math.log((1 + documents) / (1 + df[g])) + 1.0 for g in ordered], dtype=np.float32
        )
        del df, ordered
        indptr, indices, data = [0], [], []
        for entry in phrasings:
            total: dict[int, float] = {}
            for text in entry:
                ids, weights = self._vector(_grams(text))
                for i, w in zip(ids.tolist(), weights.tolist(), strict=True):
                    total[i] = total.get(i, 0.0) + w
            ids = np.asarray(sorted(total), dtype=np.int32)
            weights = np.asarray([total[i] for i in ids.tolist()], dtype=np.float32)
            norm = float(np.linalg.norm(weights)) or 1.0
            indices.append(ids)
            data.append(weights / norm)
            indptr.append(indptr[-1] + len(ids))
        self._indptr = np.asarray(indptr, dtype=np.int64)
        self._indices = np.concatenate(indices) if indices else np.zeros(0, np.int32)
        self._data = np.concatenate(data) if data else np.zeros(0, np.float32)

    def _vector(self, counts: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Sorted feature ids and L2-normalised sublinear TF-IDF weights."""
        known = sorted((self.vocabulary[g], c) for g, c in counts.items() if g in self.vocabulary)
        if not known:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        ids = np.asarray([i for i, _ in known], dtype=np.int32)
        tf = np.asarray([1.0 + math.log(c) for _, c in known], dtype=np.float32)
        weights = tf * self.idf[ids]
        return ids, weights / (float(np.linalg.norm(weights)) or 1.0)

    def query(self, text: str, asking: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The question's vector, its asking clauses (``question_part``, unless the
        caller has them already) counting ``QUESTION_WEIGHT`` times."""
        counts = _grams(text)
        asking = question_part(text) if asking is None else asking
        if asking != text:
            for g, c in _grams(asking).items():
                counts[g] = counts.get(g, 0.0) + (QUESTION_WEIGHT - 1.0) * c
        return self._vector(counts)

    def similarities(
        self, vector: tuple[np.ndarray, np.ndarray], entries: Sequence[int]
    ) -> np.ndarray:
        """Cosine similarity of a query vector to each of ``entries`` (indices)."""
        ids, weights = vector
        rows = np.asarray(entries, dtype=np.int64)
        out = np.zeros(len(rows), dtype=np.float32)
        if not len(ids) or not len(rows):
            return out
        starts, ends = self._indptr[rows], self._indptr[rows + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if not total:
            return out
        # Every stored feature of the chosen entries, one flat run; only those the
        # question shares are multiplied and added, in the same order as all of
        # them would be (adding a zero changes no sum), which is a tenth of the work.
        first = np.cumsum(lengths) - lengths
        flat = np.repeat(starts - first, lengths) + np.arange(total)
        dense = np.zeros(len(self.idf), dtype=np.float32)
        dense[ids] = weights
        in_query = dense[self._indices[flat]]
        shared = np.flatnonzero(in_query)
        owner = np.searchsorted(first, shared, side="right") - 1  # skips entries without any
        np.add.at(out, owner, self._data[flat[shared]] * in_query[shared])
        return out
