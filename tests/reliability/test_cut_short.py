"""The disk fills up in the middle of a turn: nothing a resident typed is lost nor
answered with a generic error.

A message and its turn are stored in one transaction, so a turn that cannot be
saved takes the message back with it: the resident is told to send it again and
nothing half-done remains. A message stored on its own (held back for sending too
fast) whose turn then cannot be saved stays stored, and is finished once the
storage works again — when the resident sends it again, or by the background pass.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot.storage import MemoryStore
from bot.storage._memory_store import MemoryWrites
from common.unavailable import StorageProblem, StorageUnavailable
from faq import FaqService
from handoff import CenterDirectory
from tests.dialogs.conftest import EngineResident, Harness

_FULL = StorageUnavailable(StorageProblem.FULL, "database or disk is full")


class FillingDisk(MemoryStore):
    """The in-memory store on a disk that is full whenever a turn saves its step."""

    def __init__(self) -> None:
        super().__init__()
        self.full = False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryWrites]:
        async with super().transaction() as writes:
            if self.full:

                async def no_space(*args: Any) -> None:
                    raise _FULL

                writes.save_conversation = no_space  # type: ignore[method-assign]
            yield writes


def _harness(faq: FaqService, centers: CenterDirectory, **options: Any) -> Harness:
    harness = Harness(faq, centers, **options)
    store = FillingDisk()
    harness.store = harness.engine.store = harness.cases.store = store
    return harness


def _disk(harness: Harness) -> FillingDisk:
    assert isinstance(harness.store, FillingDisk)
    return harness.store


async def test_a_turn_that_cannot_be_saved_takes_its_message_back(
    faq_service: FaqService, centers: CenterDirectory
) -> None:
    harness = _harness(faq_service, centers)
    resident = await harness.resident()
    await resident.start()
    _disk(harness).full = True
    for _ in range(2):  # still full: still refused, nothing half-stored
        with pytest.raises(StorageUnavailable):
            await resident.post({"id": "m-1", "text": "我的事项"})
        assert await harness.store.unprocessed_inbound() == []
        assert await harness.store.replies_to("web", resident.user_id, "m-1") == []
    _disk(harness).full = False  # space is back: the page sends it again
    replies = await resident.post({"id": "m-1", "text": "我的事项"})
    assert [r["text"] for r in replies] == ["您还没有反映过事情。"]
    assert await resident.post({"id": "m-1", "text": "我的事项"}) == replies  # and only once


async def _held_then_cut_short(harness: Harness) -> EngineResident:
    """A resident over the flood limit: the message is kept, its turn waits, and
    when the turn comes the disk is full."""
    resident = await harness.resident()
    await resident.start()
    slow_down = await resident.post({"id": "m-1", "text": "我的事项"})
    assert "太快" in slow_down[0]["text"]
    (waiting,) = await harness.store.unprocessed_inbound()
    assert waiting[1].text == "我的事项"
    harness.clock.advance(seconds=61)  # calm again
    _disk(harness).full = True
    with pytest.raises(StorageUnavailable):
        await harness.engine.catch_up()
    (waiting,) = await harness.store.unprocessed_inbound()  # still kept
    assert waiting[1].text == "我的事项"
    return resident


async def test_sent_again_it_is_answered_once(
    faq_service: FaqService, centers: CenterDirectory
) -> None:
    harness = _harness(faq_service, centers, flood_messages=1)
    resident = await _held_then_cut_short(harness)
    with pytest.raises(StorageUnavailable):  # still full: still refused, still kept
        await resident.post({"id": "m-1", "text": "我的事项"})
    _disk(harness).full = False
    await resident.post({"id": "m-1", "text": "我的事项"})
    assert await harness.store.unprocessed_inbound() == []
    later = await harness.store.outbound_after("web", resident.user_id, 0)
    assert [m.body["text"] for m in later].count("您还没有反映过事情。") == 1


async def test_not_sent_again_the_background_pass_finishes_it(
    faq_service: FaqService, centers: CenterDirectory
) -> None:
    harness = _harness(faq_service, centers, flood_messages=1)
    resident = await _held_then_cut_short(harness)
    _disk(harness).full = False
    assert await harness.engine.catch_up() == 1
    assert await harness.store.unprocessed_inbound() == []
    assert await harness.engine.catch_up() == 0
    later = await harness.store.outbound_after("web", resident.user_id, 0)
    assert later[-1].body["text"] == "您还没有反映过事情。"
