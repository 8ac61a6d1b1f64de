"""Schema migrations on a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.storage import MIGRATIONS, Database, SqlStore, migrate, schema_version
from bot.storage._dialect import SQLITE


async def test_migrations_apply_once_and_record_the_version(tmp_path: Path) -> None:
    async with Database(tmp_path / "m.db") as db:
        assert await migrate(db) == MIGRATIONS[-1][0]
        assert await migrate(db) == MIGRATIONS[-1][0]  # a second start changes nothing
        assert await schema_version(db) == MIGRATIONS[-1][0]


async def test_a_database_of_the_first_release_is_upgraded_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
        " description TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    for statement in MIGRATIONS[0][2]:
        conn.execute(SQLITE.ddl(statement))
    conn.execute("INSERT INTO schema_migrations VALUES (1, 'v1', CURRENT_TIMESTAMP)")
    conn.execute(
        "INSERT INTO inbound (channel, user_id, platform_msg_id, kind, body, received_at,"
        " processed_at) VALUES ('web', 'u', 'c1', 'text', '{\"kind\": \"text\"}', 't', 't')"
    )
    conn.execute(
        "INSERT INTO outbound (channel, user_id, inbound_id, body, created_at)"
        " VALUES ('web', 'u', 1, '{\"text\": \"hi\", \"choices\": []}', '2026-11-22T08:00:00')"
    )
    conn.commit()
    conn.close()
    async with Database(path) as db:
        await migrate(db)
        store = SqlStore(db)
        replies = await store.replies_to("web", "u", "c1")
        assert [s.message.text for s in replies] == ["hi"]
        (record,) = await store.outbox_records()
        assert record.state.value == "delivered"  # sent in its HTTP response back then
