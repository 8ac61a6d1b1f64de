"""Content rules that ``minshi faq check`` enforces on top of what loading needs.

Loading refuses only what the bot cannot serve (a missing field, a citation
that names no article, one phrasing under two entries). These rules are about
how good an entry is for residents: an answer that starts with one or two
plain sentences, and enough phrasings in residents' own words for the matcher
to find it, some of them told as a story the way people actually write. An
entry that breaks them still loads, so an admin's quick edit never takes the
FAQ down; the checker lists them so they get fixed before a release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from common.yamlsource import Problem
from faq._model import FaqEntry
from faq._normalize import normalize

__all__ = [
    "LONG_VARIANT_CHARS",
    "MIN_LONG_VARIANTS",
    "MIN_VARIANTS",
    "SHORT_ANSWER_MAX_CHARS",
    "SHORT_ANSWER_MAX_SENTENCES",
    "EntryLines",
    "content_problems",
    "phrasing_key",
    "sentences",
]

MIN_VARIANTS = 10
MIN_LONG_VARIANTS = 3
LONG_VARIANT_CHARS = 30  # after normalisation, spaces not counted
SHORT_ANSWER_MAX_CHARS = 100  # every character of the trimmed text, punctuation included
SHORT_ANSWER_MAX_SENTENCES = 2

# A sentence ends at 。！？ (or their ASCII forms); ； and ， join clauses of one
# sentence, as they do when the short answer is read out or shown on a phone.
_SENTENCE_END = re.compile(r"[。！？!?]+")


@dataclass(frozen=True)
class EntryLines:
    """Where an entry's fields stand in its file, for problems to point at."""

    entry: int
    short_answer: int | None  # None: the field is absent
    variants: int
    phrasings: tuple[int, ...]  # the question's line, then each variant's


def phrasing_key(text: str) -> str:
    """What the matcher sees of a phrasing: two with one key are the same question."""
    return normalize(text).replace(" ", "")


def sentences(text: str) -> list[str]:
    """The sentences of ``text``; a last one without 。 still counts."""
    return [s for s in (part.strip() for part in _SENTENCE_END.split(text)) if s]


def content_problems(entry: FaqEntry, lines: EntryLines) -> list[Problem]:
    """Every content rule ``entry`` breaks, each at the line of the field concerned."""
    return _short_answer_problems(entry, lines) + _variant_problems(entry, lines)


def _short_answer_problems(entry: FaqEntry, lines: EntryLines) -> list[Problem]:
    label = f"entry {entry.id!r}"
    limits = (
        f"at most {SHORT_ANSWER_MAX_SENTENCES} sentences and {SHORT_ANSWER_MAX_CHARS} characters"
    )
    text = entry.short_answer
    if not text:
        what = "is empty" if lines.short_answer is not None else "is missing"
        line = lines.short_answer or lines.entry
        return [
            Problem(
                entry.file,
                line,
                f"{label}: short_answer {what}; residents see it before the answer ({limits})",
            )
        ]
    problems = []
    count = len(sentences(text))
    if count > SHORT_ANSWER_MAX_SENTENCES:
        problems.append(
            Problem(
                entry.file,
                lines.short_answer or lines.entry,
                f"{label}: short_answer has {count} sentences ({limits})",
            )
        )
    if len(text) > SHORT_ANSWER_MAX_CHARS:
        problems.append(
            Problem(
                entry.file,
                lines.short_answer or lines.entry,
                f"{label}: short_answer is {len(text)} characters long ({limits})",
            )
        )
    return problems


def _variant_problems(entry: FaqEntry, lines: EntryLines) -> list[Problem]:
    label = f"entry {entry.id!r}"
    problems = []
    # Distinct ones only: a repeated variant is reported by the loader already.
    keys = {phrasing_key(v) for v in entry.variants} - {phrasing_key(entry.question)}
    if len(keys) < MIN_VARIANTS:
        problems.append(
            Problem(
                entry.file,
                lines.variants,
                f"{label} has {len(keys)} distinct variants (at least {MIN_VARIANTS}: "
                "residents' own words, dialect, typos)",
            )
        )
    long = sum(1 for key in keys if len(key) >= LONG_VARIANT_CHARS)
    if long < MIN_LONG_VARIANTS:
        problems.append(
            Problem(
                entry.file,
                lines.variants,
                f"{label} has {long} long variants (at least {MIN_LONG_VARIANTS} told as a "
                f"story, each {LONG_VARIANT_CHARS}+ characters after normalisation)",
            )
        )
    return problems
