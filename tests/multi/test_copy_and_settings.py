"""Moving a SQLite deployment to PostgreSQL (``minshi copy-db``), ``minshi migrate``,
and the one database setting with its aliases."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage import SqlAccounts, SqlStore, open_database
from common.messages import Inbound, Outbound
from common.outbox import Destination
from handoff import CaseStatus
from tests.storage.test_contract import _case

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


async def minshi(*args: str) -> int:
    """The command, as from a shell (it runs its own event loop)."""
    return await asyncio.to_thread(main, list(args))


async def _fill(url: str) -> str:
    """A small deployment: a conversation, a case with its trail, an account; the case number."""
    assert await minshi("migrate", "--database", url) == 0
    async with open_database(url) as db:
        store = SqlStore(db)
        async with store.transaction() as w:
            inbound = await w.record_inbound(
                Inbound("web", "alice", "text", text="路被堵了", platform_msg_id="c1"), NOW
            )
            await w.take_inbound(inbound or 0, NOW)
            await w.save_conversation("web", "alice", "menu", {"home": "620702103203"}, NOW)
            await w.enqueue(Destination("web", "alice"), Outbound("收到"), NOW, inbound_id=inbound)
            case = await w.insert_case(_case(lat=38.9012345678, transcript_from=inbound))
            await w.add_case_message(case.id, "resident", "路被堵了", [], inbound, NOW)
        await SqlAccounts(db).add_account("li", "李明", "620702103203", "mediator", "h", NOW)
    return case.number


async def test_copy_db_moves_every_row_and_ids_continue(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"sqlite:///{tmp_path / 'old.db'}"
    number = await _fill(source)
    capsys.readouterr()

    assert await minshi("copy-db", "--from", source, "--to", postgres_url) == 0
    out = capsys.readouterr().out
    assert "every count matches" in out
    assert "cases" in out and "DIFFERENT" not in out

    async with open_database(postgres_url) as db:
        store = SqlStore(db)
        case = await store.case_by_number(number)
        assert case is not None and case.lat == 38.9012345678 and case.urgent
        assert await store.conversation("web", "alice") == ("menu", {"home": "620702103203"})
        assert [s.message.text for s in await store.replies_to("web", "alice", "c1")] == ["收到"]
        assert (await SqlAccounts(db).account("li")) is not None
        async with store.transaction() as w:  # new rows get ids after the copied ones
            later = await w.insert_case(_case(user_id="bob"))
            claimed = await w.update_case(
                later.id, CaseStatus.ASSIGNED, {"status": CaseStatus.CLAIMED}
            )
        assert later.id > case.id and claimed is not None

    # Copying again would mix two deployments: refused, nothing changed.
    assert await minshi("copy-db", "--from", source, "--to", postgres_url) == 1
    assert "already holds rows" in capsys.readouterr().err


def test_two_database_settings_that_disagree_stop_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("MINSHI_DATABASE_URL", "postgresql://minshi@127.0.0.1/minshi")
    assert main(["serve", "--db", "data/other.db"]) == 1
    err = capsys.readouterr().err
    assert "MINSHI_DATABASE_URL and MINSHI_DB (or --db data/other.db) name different" in err
    assert "Traceback" not in err

    monkeypatch.setenv("MINSHI_DATABASE_URL", "mysql://somewhere/minshi")
    assert main(["migrate"]) == 1
    assert "expected sqlite:///path or postgresql://" in capsys.readouterr().err


def test_the_sqlite_aliases_name_one_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MINSHI_DATABASE_URL", "sqlite:///data/same.db")
    monkeypatch.setenv("MINSHI_DB", "data/same.db")
    assert main(["migrate"]) == 0
    assert "sqlite:///data/same.db: schema version" in capsys.readouterr().out
    assert (tmp_path / "data" / "same.db").exists()


def test_an_unreachable_database_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nobody listens there once closed
    assert main(["migrate", "--database", f"postgresql://minshi:pw@127.0.0.1:{port}/x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("minshi: cannot use the database:") and "Traceback" not in err
