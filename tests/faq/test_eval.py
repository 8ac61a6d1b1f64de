"""The evaluation figures on a hand-made FAQ and query file, worked out by hand."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from faq import EvalCase, EvalFileError, Matcher, evaluate, load_faq, read_cases

# query, label, and what the small FAQ does with it (see test_matcher.py):
CASES = [
    ("被别人家的狗咬了，谁来负责？", "dog-bite"),  # answer dog-bite: top-1 hit
    ("老板拖欠工资不给怎么办？", "wage-arrears"),  # answer wage-arrears: top-1 hit
    (
        "离婚后孩子归谁抚养？",
        "divorce-visitation",
    ),  # answers divorce-custody (wrong); visitation 2nd
    ("宅基地能卖给城里人吗", "homestead"),  # answer homestead: top-1 hit
    ("狗", "dog-bite"),  # suggest, dog-bite first: top-1 hit
    ("你好", None),  # none: rejected
    ("明天下雨吗", None),  # none: rejected
    ("遛狗不拴绳把我咬了", None),  # answer dog-bite to an out-of-scope label: wrong, not rejected
]
# In scope: 5 queries. top-1: 4/5. top-3: 5/5. MRR: (1 + 1 + 1/2 + 1 + 1) / 5 = 0.9.
# Out of scope: 3 queries, 2 not answered: rejection 2/3.
# Confident wrong answers: query 3 and query 8 of all 8: 0.25.
# Answers: 5 of 8 (0.625), 3 of them right (0.6).


def write_cases(path: Path, cases: list[tuple[str, str | None]]) -> Path:
    lines = [json.dumps({"query": q, "expected": e}, ensure_ascii=False) for q, e in cases]
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    return path


def test_figures_match_the_hand_count(small_matcher: Matcher, tmp_path: Path) -> None:
    cases = read_cases(write_cases(tmp_path / "q.jsonl", CASES))
    report = evaluate(small_matcher, cases, ["injury", "wages", "family", "land", "other"])
    m = report.overall
    assert (m.n, m.in_scope, m.out_of_scope) == (8, 5, 3)
    assert m.top1 == 0.8
    assert m.top3 == 1.0
    assert m.mrr == 0.9
    assert m.oos_rejection == 0.6667
    assert m.wrong_answer_rate == 0.25
    assert m.answer_rate == 0.625
    assert m.answer_precision == 0.6
    assert m.none_rate_in_scope == 0.0
    assert m.none_rate_out_of_scope == 0.6667


def test_per_category_figures(small_matcher: Matcher, tmp_path: Path) -> None:
    cases = read_cases(write_cases(tmp_path / "q.jsonl", CASES))
    report = evaluate(small_matcher, cases, ["injury", "wages", "family", "land", "other"])
    assert list(report.by_category) == ["injury", "wages", "family", "land", "out_of_scope"]
    family = report.by_category["family"]
    assert (family.n, family.top1, family.top3, family.mrr, family.wrong_answer_rate) == (
        1,
        0.0,
        1.0,
        0.5,
        1.0,
    )
    injury = report.by_category["injury"]
    assert (injury.n, injury.top1, injury.wrong_answer_rate) == (2, 1.0, 0.0)
    oos = report.by_category["out_of_scope"]
    assert (oos.n, oos.top1, oos.oos_rejection, oos.wrong_answer_rate) == (3, None, 0.6667, 0.3333)
    data = report.to_json()
    assert {"top1", "top3", "mrr", "oos_rejection", "wrong_answer_rate", "n"} <= data.keys()
    assert data["by_category"]["family"]["mrr"] == 0.5  # type: ignore[index]


def test_unknown_ids_are_set_aside(small_matcher: Matcher) -> None:
    report = evaluate(small_matcher, [EvalCase("狗", "no-such-entry", 3)])
    assert report.overall.n == 0
    assert [c.line for c in report.unknown_ids] == [3]


def test_bad_lines_are_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"query": "狗", "expected": "dog-bite"}\n'
        "not json\n"
        '{"query": "", "expected": null}\n'
        '{"query": "狗"}\n'
        '{"query": "狗", "expected": 5}\n',
        encoding="utf-8",
    )
    with pytest.raises(EvalFileError) as caught:
        read_cases(path)
    assert [p.line for p in caught.value.problems] == [2, 3, 4, 5]
    assert (
        str(caught.value.problems[2])
        == f"{path}:4: 'expected' is missing (use null for out of scope)"
    )


def test_out_of_scope_kinds_are_scored_by_the_referral_chosen(
    make_faq: Callable[..., Path], tmp_path: Path
) -> None:
    folder = make_faq()
    (folder / "referrals.yaml").write_text(
        "farming:\n  name: 农业生产\n  topics: ['@天气']\n  say: 天气请看天气预报。\n",
        encoding="utf-8",
    )
    matcher = Matcher.for_faq(load_faq(folder))
    path = tmp_path / "oos.jsonl"
    path.write_text(
        '{"query": "明天下雨吗", "expected": null, "kind": "farming"}\n'
        '{"query": "你好", "expected": null, "kind": "chat"}\n',
        encoding="utf-8",
    )
    report = evaluate(matcher, read_cases(path))
    assert report.overall.referral_accuracy == 0.5
    assert report.referrals == {"farming": {"farming": 1}, "chat": {"-": 1}}


def test_a_kind_on_an_in_scope_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"query": "狗", "expected": "dog-bite", "kind": "criminal"}\n', "utf-8")
    with pytest.raises(EvalFileError) as caught:
        read_cases(path)
    assert "only for out-of-scope" in str(caught.value.problems[0])
