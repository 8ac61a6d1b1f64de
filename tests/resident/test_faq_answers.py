"""Every category of the shipped FAQ, asked over the web chat: short answer first,
the full answer and its legal basis one tap away."""

from __future__ import annotations

import pytest

from faq import FaqService

from .conftest import Resident, Service

_FAQ = FaqService(None)
_FAQ.load()
# One entry per category: the first of its file, asked with its own question.
SAMPLE = {e.category: e for e in reversed(_FAQ.entries)}
assert len(SAMPLE) == len(_FAQ.categories()) - 1  # every category but 其他问题 has entries


@pytest.mark.parametrize("category", sorted(SAMPLE))
async def test_a_question_of_each_category_gets_the_short_answer_first(
    resident: Resident, service: Service, category: str
) -> None:
    entry = SAMPLE[category]
    await resident.start()
    await resident.tap("法律咨询")
    await resident.say(entry.question)
    decision = service.runtime.faq.match(entry.question).decision
    if decision == "suggest":  # a few questions sit close to another entry: offered first
        assert entry.question in resident.labels
        await resident.tap(entry.question)
    answer = resident.replies[0]
    assert answer["text"].startswith(f"【{entry.question}】\n{entry.short_answer}")
    assert len(answer["text"]) < len(entry.answer)  # the long answer waits behind a tap
    assert answer["details_label"] == "详细说明 · 法律依据"
    assert answer["details"].startswith(entry.answer.strip())
    basis = answer["details"].rsplit("法律依据：", 1)[1]
    assert basis == service.runtime.faq.cite(entry.basis)
    assert "《" in basis and "》第" in basis
