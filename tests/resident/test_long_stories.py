"""Residents tell a story and ask one thing in it: over the web chat, the entry
that answers that thing comes first — as the answer, or the first of the
questions offered. One story per category, from the tuning half of the long
evaluation set (benchmarks/data/long-tune.jsonl)."""

from __future__ import annotations

from pathlib import Path

import pytest

from faq import FaqService, read_cases

from .conftest import Resident

_FAQ = FaqService(None)
_FAQ.load()
_CATEGORY = {e.id: e.category for e in _FAQ.entries}
_SET = Path(__file__).parents[2] / "benchmarks" / "data" / "long-tune.jsonl"
STORIES: dict[str, tuple[str, str]] = {}
for case in read_cases(_SET):
    if case.expected is not None:
        STORIES.setdefault(_CATEGORY[case.expected], (case.query, case.expected))


@pytest.mark.parametrize("category", sorted(STORIES))
async def test_the_question_inside_a_story_is_found(resident: Resident, category: str) -> None:
    story, expected = STORIES[category]
    question = _FAQ.entry(expected).question  # type: ignore[union-attr]
    await resident.start()
    await resident.tap("法律咨询")
    await resident.say(story)
    first = resident.replies[0]
    offered = [c["label"] for r in resident.replies for c in r["choices"]]
    assert first["text"].startswith(f"【{question}】") or offered[:1] == [question], (
        first["text"][:80],
        offered,
    )
