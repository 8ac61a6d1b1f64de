"""minshi backup, export and purge against a real database, with the service running."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import Settings
from bot.ops.retention import apply_retention
from bot.storage._ops import SqlOps
from common.messages import Inbound
from common.privacy import REMOVED
from handoff import CaseStatus
from tests.support import Clock, Service, rows, run_service

from .conftest import ID_NUMBER, PHONE, STORY, file_case_with_phone, web_resident

# Long enough ago that the real clock of `minshi purge` is past any retention below.
LONG_AGO = datetime(2025, 1, 6, 2, 0, tzinfo=UTC)


async def minshi(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The command in a thread (it runs its own event loop), while the service serves."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(args))
    out, err = capsys.readouterr()
    return code, out, err


def counts(path: Path, *tables: str) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


async def test_backup_while_residents_write(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = service.runtime.settings.db
    stop = asyncio.Event()
    written = 0

    async def resident_writes() -> None:
        nonlocal written
        while not stop.is_set():
            msg = Inbound(
                "web", "busy", "text", text=f"第{written}条", platform_msg_id=str(written)
            )
            await service.runtime.engine.handle(msg)
            written += 1

    writer = asyncio.create_task(resident_writes())
    while written < 20:
        await asyncio.sleep(0.01)
    before = counts(db, "inbound", "outbound")
    target = tmp_path / "backup.db"
    code, out, err = await minshi(capsys, "backup", str(target), "--db", str(db))
    stop.set()
    await writer
    after = counts(db, "inbound", "outbound")
    assert code == 0, err
    assert "完整性检查：通过" in out and "数据库版本：" in out

    copy = counts(target, "inbound", "outbound")
    for table in ("inbound", "outbound"):
        assert before[table] <= copy[table] <= after[table]
        assert f"{table:<14} {copy[table]:>8} 行" in out  # the printed counts are the copy's
    with contextlib.closing(sqlite3.connect(target)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file
    assert not target.with_name("backup.db.partial").exists()

    folder = tmp_path / "nightly"
    folder.mkdir()
    code, _, err = await minshi(capsys, "backup", str(folder), "--db", str(db))
    assert code == 0, err
    (dated,) = folder.glob("minshi-*.db")
    assert counts(dated, "cases") == counts(db, "cases")


async def test_backup_errors_are_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = tmp_path / "missing" / "b.db"
    code, _, err = await minshi(capsys, "backup", str(nowhere), "--db", str(tmp_path / "x.db"))
    assert (
        code == 1
        and err == f"minshi backup: no database at {tmp_path / 'x.db'} (use --db or MINSHI_DB)\n"
    )

    db = tmp_path / "live.db"
    sqlite3.connect(db).close()
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    code, _, err = await minshi(capsys, "backup", str(a_file / "b.db"), "--db", str(db))
    assert code == 1 and err.startswith("minshi backup: cannot write") and "Traceback" not in err
    assert not list(tmp_path.glob("**/*.partial"))


async def test_export_gives_the_whole_case_unmasked(
    service: Service, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    async with web_resident(service) as resident:
        number = await file_case_with_phone(resident)
    rt = service.runtime
    await rt.cases.claim(number, "siergou", CaseStatus.ASSIGNED)
    await rt.cases.reply(number, "siergou", "王调解员", "您好，明天上午到您家看看")
    db = str(rt.settings.db)

    code, out, err = await minshi(capsys, "export", "--case", number.lower(), "--db", db)
    assert code == 0, err
    exported = json.loads(out)
    assert exported["unmasked"] is True
    case = exported["case"]
    assert (case["number"], case["phone"], case["status"]) == (number, PHONE, "in_progress")
    resident_said = [m.get("text") for m in exported["transcript"] if m["from"] == "resident"]
    assert STORY in resident_said and PHONE in resident_said
    assert any("已提交" in (m.get("text") or "") for m in exported["transcript"])
    (reply,) = [m for m in exported["messages"] if m["author"] == "mediator:siergou"]
    assert reply["body"] == "您好，明天上午到您家看看" and reply["delivery"]["state"]
    trail = [event["kind"] for event in exported["trail"]]
    assert trail[:2] == ["received", "assigned"] and "claimed" in trail

    out_file = tmp_path / "case.json"
    code, out, err = await minshi(
        capsys, "export", "--case", number, "--out", str(out_file), "--db", db
    )
    assert code == 0 and out == "" and "未打码" in err
    assert json.loads(out_file.read_text())["case"]["number"] == number

    code, out, err = await minshi(capsys, "export", "--case", "MS000000-0000", "--db", db)
    assert (code, out) == (1, "")
    assert err == "minshi export: no case numbered MS000000-0000\n"


async def _archived_case(svc: Service, clock: Clock) -> str:
    """A case with a phone, resolved, then archived by the deadline pass 30 days later."""
    async with web_resident(svc) as resident:
        number = await file_case_with_phone(resident)
    cases = svc.runtime.cases
    await cases.claim(number, "siergou", CaseStatus.ASSIGNED)
    await cases.resolve(number, CaseStatus.CLAIMED, "mediator:siergou", "mediated", "双方和好")
    clock.advance(days=31)
    await cases.run_deadlines()
    (case,) = rows(svc.runtime.settings.db, "SELECT status FROM cases WHERE number = ?", (number,))
    assert case["status"] == "archived"
    return number


def statistics(db: Path) -> dict[str, Any]:
    """What the statistics are computed from: case facts and the audit trail."""
    return {
        "cases": rows(
            db,
            "SELECT number, status, category, center_id, urgent, created_at, resolved_at,"
            " outcome FROM cases ORDER BY id",
        ),
        "trail": rows(
            db,
            "SELECT case_id, kind, from_status, to_status, actor, created_at"
            " FROM case_events ORDER BY id",
        ),
        "questions": rows(db, "SELECT COUNT(*) AS n FROM faq_questions"),
        "messages": counts(db, "inbound", "outbound", "case_messages"),
    }


def numbers_left(db: Path) -> list[str]:
    found = []
    for table, column in (
        ("cases", "phone"),
        ("cases", "description"),
        ("inbound", "body"),
        ("outbound", "body"),
        ("case_messages", "body"),
    ):
        for row in rows(db, f"SELECT {column} AS v FROM {table}"):
            if row["v"] and (PHONE in row["v"] or ID_NUMBER in row["v"]):
                found.append(f"{table}.{column}")
    return found


async def test_purge_removes_numbers_after_retention_and_keeps_statistics(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock(LONG_AGO)
    db = settings.db
    async with run_service(settings, clock) as svc:
        number = await _archived_case(svc, clock)
        assert numbers_left(db)
        kept = statistics(db)

        code, out, err = await minshi(capsys, "purge", "--dry-run", "--days", "30", "--db", str(db))
        assert code == 0, err
        assert "1 件" in out and "将删除手机号 1 个" in out and "试运行" in out
        assert numbers_left(db)  # a dry run changes nothing

        code, out, err = await minshi(capsys, "purge", "--days", "30", "--db", str(db))
        assert code == 0, err
        assert "1 件" in out and "已删除手机号 1 个" in out
        assert numbers_left(db) == []
        assert statistics(db) == kept
        (case,) = rows(db, "SELECT description FROM cases WHERE number = ?", (number,))
        assert REMOVED in case["description"]

        code, out, _ = await minshi(capsys, "purge", "--days", "30", "--db", str(db))
        assert code == 0 and "0 件" in out  # once is enough

    code, _, err = await minshi(capsys, "purge", "--db", str(db))
    assert code == 1 and "MINSHI_RETENTION_DAYS" in err


async def test_the_retention_job_purges_at_start_when_configured(tmp_path: Path) -> None:
    clock = Clock(LONG_AGO)
    plain = Settings(db=tmp_path / "r.db", attachments_dir=tmp_path / "a", _env_file=None)  # type: ignore[call-arg]
    async with run_service(plain, clock) as svc:
        await _archived_case(svc, clock)
        ops = SqlOps(svc.runtime.db)
        assert (await apply_retention(ops, clock(), 30, apply=False)).cases == 0  # not yet
    clock.advance(days=30)
    kept = statistics(plain.db)
    with_rule = plain.model_copy(update={"retention_days": 30.0})
    async with run_service(with_rule, clock) as svc:

        async def purged() -> None:
            while numbers_left(plain.db):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(purged(), 15)
        assert statistics(plain.db) == kept
        async with web_resident(svc) as resident:
            health = await resident.client.get("/healthz")
        assert health.json()["jobs"]["retention"] == "ok"
    assert timedelta(days=30) < clock() - LONG_AGO
