"""A message stored just before the disk filled up, whose turn could not be saved:
it is neither lost nor answered with a generic error, and it is finished once the
storage works again — when the resident sends it again, or by the background pass."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.storage import MemoryStore
from bot.storage._memory_store import MemoryWrites
from common.unavailable import StorageProblem, StorageUnavailable
from faq import FaqService
from handoff import CenterDirectory
from tests.dialogs.conftest import EngineResident, Harness


class FillingDisk(MemoryStore):
    """The in-memory store on a disk that fills up after ``writes_left`` more transactions."""

    def __init__(self) -> None:
        super().__init__()
        self.writes_left: int | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryWrites]:
        if self.writes_left is not None:
            if self.writes_left <= 0:
                raise StorageUnavailable(StorageProblem.FULL, "database or disk is full")
            self.writes_left -= 1
        async with super().transaction() as writes:
            yield writes


@pytest.fixture
def disk(faq_service: FaqService, centers: CenterDirectory) -> tuple[Harness, FillingDisk]:
    harness = Harness(faq_service, centers)
    store = FillingDisk()
    harness.store = harness.engine.store = harness.cases.store = store
    return harness, store


async def _cut_short(harness: Harness, store: FillingDisk) -> EngineResident:
    resident = await harness.resident()
    await resident.start()
    store.writes_left = 1  # the message is stored; its turn is not
    with pytest.raises(StorageUnavailable):
        await resident.post({"id": "m-1", "text": "我的事项"})
    (waiting,) = await store.unprocessed_inbound()
    assert waiting[1].text == "我的事项"
    return resident


async def test_sent_again_it_is_answered_once(disk: tuple[Harness, FillingDisk]) -> None:
    harness, store = disk
    resident = await _cut_short(harness, store)
    with pytest.raises(StorageUnavailable):  # still full: still refused, still kept
        await resident.post({"id": "m-1", "text": "我的事项"})
    store.writes_left = None  # space is back
    replies = await resident.post({"id": "m-1", "text": "我的事项"})
    assert [r["text"] for r in replies] == ["您还没有反映过事情。"]
    assert await store.unprocessed_inbound() == []
    assert await resident.post({"id": "m-1", "text": "我的事项"}) == replies  # and only once


async def test_not_sent_again_the_background_pass_finishes_it(
    disk: tuple[Harness, FillingDisk],
) -> None:
    harness, store = disk
    await _cut_short(harness, store)
    store.writes_left = None
    assert await harness.engine.catch_up() == 1
    assert await store.unprocessed_inbound() == []
    assert await harness.engine.catch_up() == 0
    (_, user_id) = next(iter(await _destinations(store)))
    later = await store.outbound_after("web", user_id, 0)
    assert later[-1].body["text"] == "您还没有反映过事情。"


async def _destinations(store: FillingDisk) -> set[tuple[str, str]]:
    return {(r.destination.channel, r.destination.address) for r in await store.outbox_records()}
