"""The storage layer on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.storage import MIGRATIONS, Database, Store, migrate, schema_version
from dialogs import Inbound, Outbound
from handoff import CaseStatus, IllegalTransition, NewCase

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    db = Database(tmp_path / "s.db")
    await db.open()
    await migrate(db)
    yield Store(db)  # type: ignore[misc]
    await db.close()


async def test_migrations_apply_once_and_record_the_version(tmp_path: Path) -> None:
    async with Database(tmp_path / "m.db") as db:
        assert await migrate(db) == MIGRATIONS[-1][0]
        assert await migrate(db) == MIGRATIONS[-1][0]  # a second start changes nothing
        assert await schema_version(db) == MIGRATIONS[-1][0]


async def test_duplicate_platform_ids_are_dropped_but_missing_ids_are_not(store: Store) -> None:
    msg = Inbound(channel="telegram", user_id="7", kind="text", text="hi", platform_msg_id="u1")
    async with store.transaction() as w:
        assert await w.record_inbound(msg, NOW) is not None
        assert await w.record_inbound(msg, NOW) is None
        no_id = Inbound(channel="telegram", user_id="7", kind="text", text="hi")
        assert await w.record_inbound(no_id, NOW) is not None
        assert await w.record_inbound(no_id, NOW) is not None


async def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as w:
            await w.add_outbound("web", "u", Outbound("x"), None, NOW)
            raise RuntimeError("boom")
    assert await store.outbound_after("web", "u", 0) == []


def _new_case(**overrides: object) -> NewCase:
    fields: dict[str, object] = {
        "channel": "web",
        "user_id": "u",
        "category": "neighbor",
        "description": "邻居堵路",
        "region_code": "620702103203",
        "location_text": "张掖市甘州区沙井镇寺儿沟村",
        "location_method": "picker",
        "center_id": "620702103",
        "center_name": "沙井镇综治中心",
        "level": "township",
        "due_at": NOW + timedelta(hours=48),
    }
    fields.update(overrides)
    return NewCase(**fields)  # type: ignore[arg-type]


async def test_case_numbers_are_unique_and_transitions_audited(store: Store) -> None:
    async with store.transaction() as w:
        first = await w.create_case(_new_case(), NOW)
        second = await w.create_case(_new_case(), NOW)
    assert first.number != second.number
    assert first.number.startswith("MS261122-")
    assert first.status is CaseStatus.ASSIGNED
    events = await store.case_events(first.id)
    assert [(e["kind"], e["to_status"]) for e in events] == [
        ("received", "received"),
        ("assigned", "assigned"),
    ]
    with pytest.raises(IllegalTransition, match="cannot go from assigned to rated"):
        async with store.transaction() as w:
            await w.set_status(
                first.id,
                first.number,
                CaseStatus.ASSIGNED,
                CaseStatus.RATED,
                actor="test",
                kind="rated",
                detail={},
                now=NOW,
            )


async def test_faq_misses_are_grouped_and_counted(store: Store) -> None:
    async with store.transaction() as w:
        for _ in range(3):
            await w.log_faq_miss("web", "u", "羊拉稀咋办", "no_match", None, 0.1, NOW)
        await w.log_faq_miss("web", "u", "彩礼能退吗", "not_helpful", "betrothal-gift", None, NOW)
    misses = await store.faq_misses()
    assert (misses[0].query, misses[0].count) == ("羊拉稀咋办", 3)
    assert misses[1].best_id == "betrothal-gift"
