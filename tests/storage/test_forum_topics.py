"""Both forum stores (SQL and in memory) claim topic creation alike; both account stores
keep one-time link codes alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.storage import (
    AccountStore,
    Database,
    ForumStore,
    MemoryAccounts,
    MemoryForumStore,
    SqlAccounts,
    SqlForumStore,
    SqlStore,
    migrate,
)
from handoff import Case, CaseStatus

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
STALE = NOW - timedelta(seconds=60)
GROUP = -1001000000203
OTHER = -1001000000103


def _case() -> Case:
    return Case(
        id=0,
        number="",
        channel="web",
        user_id="alice",
        category="neighbor",
        description="邻居把路堵了",
        region_code="620702103203",
        location_text="张掖市甘州区沙井镇寺儿沟村",
        location_method="picker",
        lat=None,
        lon=None,
        phone=None,
        center_id="620702103203",
        center_name="寺儿沟村综治中心",
        level="village",
        status=CaseStatus.ASSIGNED,
        urgent=False,
        transcript_from=None,
        created_at=NOW,
        updated_at=NOW,
        due_at=NOW + timedelta(hours=24),
        resolved_at=None,
        outcome=None,
        assignee=None,
    )


@pytest.fixture(params=["memory", "sqlite"])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[ForumStore, AccountStore]]:
    if request.param == "memory":
        yield MemoryForumStore(), MemoryAccounts()
        return
    async with Database(tmp_path / "forum.db") as db:
        await migrate(db)
        async with SqlStore(db).transaction() as w:  # case_topics refers to cases
            for _ in range(2):
                await w.insert_case(_case())
        yield SqlForumStore(db), SqlAccounts(db)


async def test_only_one_of_two_senders_opens_a_topic(
    stores: tuple[ForumStore, AccountStore],
) -> None:
    topics, _ = stores
    first, second = await asyncio.gather(
        topics.claim_topic(1, GROUP, "a", NOW, STALE), topics.claim_topic(1, GROUP, "b", NOW, STALE)
    )
    assert sorted([first.create, second.create]) == [False, True]
    winner = "a" if first.create else "b"
    loser = "b" if first.create else "a"
    waiting = await topics.claim_topic(1, GROUP, loser, NOW, STALE)
    assert not waiting.create and waiting.topic is None  # being opened: wait
    assert await topics.topic_created(1, GROUP, loser, 77) is None  # not the claimant
    opened = await topics.topic_created(1, GROUP, winner, 77)
    assert opened is not None and opened.thread_id == 77 and opened.state == "open"
    found = await topics.claim_topic(1, GROUP, loser, NOW, STALE)
    assert not found.create and found.topic is not None and found.topic.thread_id == 77
    assert (await topics.topic_by_thread(GROUP, 77)) == found.topic
    assert found.topic.link == "https://t.me/c/1000000203/77"
    # The same case in another group is a topic of its own.
    assert (await topics.claim_topic(1, OTHER, loser, NOW, STALE)).create


async def test_a_lost_topic_is_opened_again_once(stores: tuple[ForumStore, AccountStore]) -> None:
    topics, _ = stores
    assert (await topics.claim_topic(2, GROUP, "a", NOW, STALE)).create
    await topics.topic_created(2, GROUP, "a", 80)
    await topics.set_card_message(2, GROUP, 80, 5)
    assert (await topics.topics_of_case(2))[0].card_message_id == 5
    noticed = await asyncio.gather(topics.topic_lost(2, GROUP, 80), topics.topic_lost(2, GROUP, 80))
    assert sorted(noticed) == [False, True]
    again = await topics.claim_topic(2, GROUP, "b", NOW, STALE)
    assert again.create and again.previous is not None and again.previous.thread_id == 80
    assert not (await topics.claim_topic(2, GROUP, "a", NOW, STALE)).create
    reopened = await topics.topic_created(2, GROUP, "b", 81)
    assert reopened is not None and reopened.card_message_id is None
    assert [t.thread_id for t in await topics.topics_of_case(2)] == [81]


async def test_a_creator_that_went_quiet_or_failed_is_taken_over(
    stores: tuple[ForumStore, AccountStore],
) -> None:
    topics, _ = stores
    assert (await topics.claim_topic(1, GROUP, "a", NOW, STALE)).create
    later = NOW + timedelta(seconds=30)
    assert not (
        await topics.claim_topic(1, GROUP, "b", later, later - timedelta(seconds=60))
    ).create
    much_later = NOW + timedelta(seconds=90)
    taken = await topics.claim_topic(1, GROUP, "b", much_later, much_later - timedelta(seconds=60))
    assert taken.create
    assert await topics.topic_created(1, GROUP, "a", 90) is None  # too late: b opens it
    await topics.release_topic(1, GROUP, "b")  # b failed to open it
    assert (await topics.claim_topic(1, GROUP, "c", much_later, STALE)).create


async def test_link_codes_work_once_before_they_expire(
    stores: tuple[ForumStore, AccountStore],
) -> None:
    _, accounts = stores
    li = await accounts.add_account("li", "李明", "620702103203", "mediator", "h", NOW)
    wang = await accounts.add_account("wang", "王芳", "620702103203", "mediator", "h", NOW)
    await accounts.add_link_code(li.id, "old", NOW, NOW + timedelta(minutes=10))
    await accounts.add_link_code(li.id, "new", NOW, NOW + timedelta(minutes=10))
    assert await accounts.redeem_link_code("old", "555", NOW) is None  # replaced
    linked = await accounts.redeem_link_code("new", "555", NOW)
    assert linked is not None and linked.username == "li" and linked.telegram_id == "555"
    assert await accounts.redeem_link_code("new", "666", NOW) is None  # used
    assert await accounts.account_by_telegram("555") == await accounts.account("li")

    await accounts.add_link_code(wang.id, "late", NOW, NOW + timedelta(minutes=10))
    assert await accounts.redeem_link_code("late", "555", NOW + timedelta(minutes=10)) is None

    # The same Telegram user linked to another account leaves the first one.
    moved = await accounts.link_telegram(wang.id, "555", NOW)
    assert moved is not None and moved.telegram_id == "555"
    found = await accounts.account("li")
    assert found is not None and found.telegram_id is None
    await accounts.update_account("wang", NOW, active=False)
    assert await accounts.link_telegram(wang.id, "777", NOW) is None  # disabled
