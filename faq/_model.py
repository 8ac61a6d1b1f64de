"""The FAQ's data: entries, citations, and what a match returns.

Everything here is frozen: a loaded FAQ is shared between the event loop and
the reload thread, so nothing may change it after it is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from common.yamlsource import Problem

__all__ = [
    "Candidate",
    "Citation",
    "Decision",
    "FaqEntry",
    "FaqLoadError",
    "MatchResult",
    "Referral",
]


class Decision(StrEnum):
    """What the bot does with a resident's question."""

    ANSWER = "answer"  # one entry fits clearly: send its answer
    SUGGEST = "suggest"  # something related is plausible: offer up to three questions
    NONE = "none"  # nothing fits: say so and offer to report the matter


@dataclass(frozen=True)
class Citation:
    """One article of a law text, e.g. 《中华人民共和国民法典》第二百九十一条."""

    law: str  # the law's full title, as the first heading of its file
    article: str  # "第二百九十一条", possibly followed by a paragraph, "第二款"

    def __str__(self) -> str:
        # A title quoting another law nests its brackets as 〈〉 inside 《》.
        law = self.law.replace("《", "〈").replace("》", "〉")
        return f"《{law}》{self.article}"


@dataclass(frozen=True)
class FaqEntry:
    """One question the FAQ answers, with the phrasings residents use for it."""

    id: str
    category: str
    question: str
    variants: tuple[str, ...]
    answer: str
    basis: tuple[Citation, ...]
    keywords: tuple[str, ...]
    handoff: bool
    file: str
    line: int
    short_answer: str = ""  # one or two sentences shown first; the answer is the details

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The question followed by its variants."""
        return (self.question, *self.variants)


@dataclass(frozen=True)
class Candidate:
    """An entry considered for a query; ``matched`` is the phrasing that fit best."""

    entry: FaqEntry
    score: float  # 0..1
    matched: str


@dataclass(frozen=True)
class Referral:
    """Where a kind of matter the FAQ leaves out is handled, in the resident's words."""

    kind: str  # slug, e.g. "criminal"
    name: str  # 刑事案件
    topics: tuple[str, ...]  # the synonyms file's @ topics that mark this kind
    say: str  # what the resident reads, before the offer of a mediator
    examples: tuple[str, ...] = ()  # questions of this kind, learned like an entry's variants


@dataclass(frozen=True)
class MatchResult:
    """The matcher's decision with its ranked candidates, best first.

    For SUGGEST there are at most three candidates; for NONE the candidates are
    the best guesses, kept so the learning log can show what came close.
    """

    query: str
    decision: Decision
    candidates: tuple[Candidate, ...]
    referral: Referral | None = None  # where to go when the question is outside the FAQ

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


class FaqLoadError(Exception):
    """The FAQ files cannot be served; ``problems`` lists every one as file:line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the FAQ files:\n{lines}")

    def __repr__(self) -> str:
        return f"FaqLoadError({len(self.problems)} problems)"
