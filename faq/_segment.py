"""jieba word segmentation with our legal words, started from a cached dictionary.

jieba builds its prefix dictionary from a text file (seconds) or its own
marshal cache (over a second here); a pickle in our cache folder loads in a
third of that. Each Segmenter gets its own copy of the dictionary, so adding
the FAQ's words for a reload never changes how a serving matcher segments.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from functools import lru_cache

import jieba

from faq._cache import cached

__all__ = ["Segmenter"]

jieba.setLogLevel(logging.WARNING)


@lru_cache(maxsize=1)
def _base_dictionary() -> tuple[dict[str, int], int]:
    def build() -> tuple[dict[str, int], int]:
        tokenizer = jieba.Tokenizer()
        with tokenizer.get_dict_file() as f:
            freq, total = tokenizer.gen_pfdict(f)
        return freq, total

    return cached(f"jieba-{jieba.__version__}-dict.pickle", build)  # type: ignore[no-any-return]


class Segmenter:
    """Cuts text into words; ``words`` are added so they stay whole."""

    def __init__(self, words: Iterable[str] = ()) -> None:
        freq, total = _base_dictionary()
        tokenizer = jieba.Tokenizer()
        tokenizer.FREQ = dict(freq)
        tokenizer.total = total
        tokenizer.initialized = True
        for word in sorted(set(words)):
            if len(word) > 1:
                # suggest_freq gives the lowest frequency that keeps the word
                # whole on its own, so context can still split it sensibly.
                tokenizer.add_word(word, max(tokenizer.suggest_freq(word, False), 3))
        self._tokenizer = tokenizer

    def cut(self, text: str, keep_spaces: bool = False) -> list[str]:
        words = self._tokenizer.lcut(text)
        return words if keep_spaces else [w for w in words if w.strip()]

    def rarity(self, word: str) -> float:
        """0 for the commonest words of ordinary Chinese, 1 for words jieba never saw."""
        freq = self._tokenizer.FREQ.get(word, 0)
        surprise = math.log(self._tokenizer.total / (freq + 1))
        return min(1.0, max(0.0, (surprise - 7.0) / (math.log(self._tokenizer.total) - 7.0)))

    def is_word(self, text: str, min_freq: int = 1) -> bool:
        """True when ``text`` is a dictionary word at least ``min_freq`` common."""
        return bool(self._tokenizer.FREQ.get(text, 0) >= min_freq)
