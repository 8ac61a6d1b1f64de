"""Evaluating the matcher on labelled questions (``minshi faq eval``).

Input: JSON lines ``{"query": "...", "expected": "<entry id>" | null}``;
null means no entry should answer. Figures are what a resident would see:
the ranked list is the answer, the suggestions, or nothing for "none".

- top1 / top3 / mrr: over in-scope queries, is the expected entry shown
  first / among the first three / at which rank (reciprocal, 0 if absent).
- oos_rejection: share of out-of-scope queries not answered (suggest or none).
- wrong_answer_rate: share of all queries answered with confidence but
  wrongly (the wrong entry, or any answer to an out-of-scope query).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from common.yamlsource import Problem
from faq._matcher import Matcher
from faq._model import Decision, MatchResult

__all__ = ["EvalCase", "EvalFileError", "EvalReport", "Metrics", "evaluate", "read_cases"]

OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class EvalCase:
    query: str
    expected: str | None
    line: int = 0
    kind: str | None = None  # for an out-of-scope query: the referral it should get


class EvalFileError(ValueError):
    """An evaluation file that cannot be read; ``problems`` name file:line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def read_cases(path: Path) -> list[EvalCase]:
    """Parse a JSONL evaluation file; raise EvalFileError naming each bad line."""
    cases, problems = [], []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError([Problem(str(path), 0, f"cannot read file: {exc}")]) from exc
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(path), number, f"not JSON: {exc.msg}"))
            continue
        if not isinstance(row, dict):
            problems.append(
                Problem(
                    str(path), number, f"expected an object with query and expected, got {row!r}"
                )
            )
            continue
        query, expected = row.get("query"), row.get("expected")
        if not isinstance(query, str) or not query.strip():
            problems.append(
                Problem(str(path), number, f"'query' must be non-empty text, got {query!r}")
            )
        elif "expected" not in row:
            problems.append(
                Problem(str(path), number, "'expected' is missing (use null for out of scope)")
            )
        elif expected is not None and (not isinstance(expected, str) or not expected):
            problems.append(
                Problem(
                    str(path), number, f"'expected' must be an entry id or null, got {expected!r}"
                )
            )
        elif (kind := row.get("kind")) is not None and (
            expected is not None or not isinstance(kind, str) or not kind
        ):
            problems.append(
                Problem(
                    str(path), number, "'kind' is a referral kind, only for out-of-scope queries"
                )
            )
        else:
            cases.append(EvalCase(query, expected, number, kind))
    if problems:
        raise EvalFileError(problems)
    return cases


@dataclass
class Metrics:
    """Figures for one group of queries; None where the group has no such query."""

    n: int = 0
    in_scope: int = 0
    out_of_scope: int = 0
    top1: float | None = None
    top3: float | None = None
    mrr: float | None = None
    oos_rejection: float | None = None
    wrong_answer_rate: float | None = None
    answer_rate: float | None = None  # share of all queries answered
    answer_precision: float | None = None  # share of answers that were right
    none_rate_in_scope: float | None = None  # in-scope queries told "no match"
    none_rate_out_of_scope: float | None = None  # out-of-scope queries told "no match"
    answer_rate_in_scope: float | None = None  # in-scope queries answered directly
    oos_suggested: float | None = None  # out-of-scope queries offered any suggestion
    referral_accuracy: float | None = None  # labelled out-of-scope queries sent the right way


@dataclass
class _Tally:
    n: int = 0
    in_scope: int = 0
    out_of_scope: int = 0
    hit1: int = 0
    hit3: int = 0
    reciprocal: float = 0.0
    rejected: int = 0
    answered: int = 0
    wrong: int = 0
    none_in: int = 0
    none_out: int = 0
    answered_in: int = 0
    suggested_out: int = 0
    kinds: int = 0  # out-of-scope queries labelled with a referral kind
    referred_right: int = 0
    referrals: dict[str, dict[str, int]] = field(default_factory=dict)  # label → chosen → n

    def add(self, case: EvalCase, result: MatchResult) -> None:
        shown = [] if result.decision is Decision.NONE else [c.entry.id for c in result.candidates]
        answered = result.decision is Decision.ANSWER
        self.n += 1
        self.answered += answered
        if case.expected is None:
            self.out_of_scope += 1
            self.rejected += not answered
            self.wrong += answered
            self.none_out += result.decision is Decision.NONE
            self.suggested_out += result.decision is Decision.SUGGEST
            if case.kind is not None:
                chosen = result.referral.kind if result.referral else "-"
                self.kinds += 1
                self.referred_right += chosen == case.kind
                row = self.referrals.setdefault(case.kind, {})
                row[chosen] = row.get(chosen, 0) + 1
            return
        self.in_scope += 1
        self.answered_in += answered
        self.none_in += result.decision is Decision.NONE
        self.hit1 += shown[:1] == [case.expected]
        self.hit3 += case.expected in shown[:3]
        if case.expected in shown:
            self.reciprocal += 1 / (shown.index(case.expected) + 1)
        self.wrong += answered and shown[0] != case.expected

    def metrics(self) -> Metrics:
        def share(part: float, whole: int) -> float | None:
            return round(part / whole, 4) if whole else None

        return Metrics(
            n=self.n,
            in_scope=self.in_scope,
            out_of_scope=self.out_of_scope,
            top1=share(self.hit1, self.in_scope),
            top3=share(self.hit3, self.in_scope),
            mrr=share(self.reciprocal, self.in_scope),
            oos_rejection=share(self.rejected, self.out_of_scope),
            wrong_answer_rate=share(self.wrong, self.n),
            answer_rate=share(self.answered, self.n),
            answer_precision=share(self.answered - self.wrong, self.answered),
            none_rate_in_scope=share(self.none_in, self.in_scope),
            none_rate_out_of_scope=share(self.none_out, self.out_of_scope),
            answer_rate_in_scope=share(self.answered_in, self.in_scope),
            oos_suggested=share(self.suggested_out, self.out_of_scope),
            referral_accuracy=share(self.referred_right, self.kinds),
        )


@dataclass
class EvalReport:
    overall: Metrics
    by_category: dict[str, Metrics] = field(
        default_factory=dict
    )  # in-scope by category, then out_of_scope
    unknown_ids: list[EvalCase] = field(default_factory=list)  # expected ids the FAQ does not have
    # out-of-scope queries by labelled kind: the referral chosen ("-": none) → count
    referrals: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = asdict(self.overall)
        data["by_category"] = {k: asdict(v) for k, v in self.by_category.items()}
        data["referrals"] = self.referrals
        return data


def evaluate(
    matcher: Matcher, cases: Iterable[EvalCase], category_order: Sequence[str] = ()
) -> EvalReport:
    """Run every case through ``matcher`` and tally the figures."""
    category = {e.id: e.category for e in matcher.entries}
    overall = _Tally()
    groups: dict[str, _Tally] = {c: _Tally() for c in category_order}
    unknown = []
    for case in cases:
        if case.expected is not None and case.expected not in category:
            unknown.append(case)
            continue
        result = matcher.match(case.query)
        overall.add(case, result)
        group = category[case.expected] if case.expected is not None else OUT_OF_SCOPE
        groups.setdefault(group, _Tally()).add(case, result)
    by_category = {k: t.metrics() for k, t in groups.items() if t.n and k != OUT_OF_SCOPE}
    if OUT_OF_SCOPE in groups:
        by_category[OUT_OF_SCOPE] = groups[OUT_OF_SCOPE].metrics()
    return EvalReport(overall.metrics(), by_category, unknown, overall.referrals)
