"""kill -9 of ``minshi serve`` at random moments under load, restarted on the same file.

Residents report matters and keep writing to their open cases on the web chat;
a mediator claims and answers on the console API; case events go out as signed
webhooks to a receiver in this process. The service is killed with SIGKILL at
random moments (seeded: ``KILL9_SEED=<n>`` replays a run's choices) and started
again. One case's deadline is moved into the past while the service is down.
Afterwards, from the database and the API: everything acknowledged is there
exactly once, conversations went on where they were, deadlines are as they were
(the moved one fired once, at start-up), and an outgoing message was sent again
only when the service died between sending and recording it — right after the
restart, not when the dead process's lease ran out.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bot.storage import Database, SqlAccounts, migrate
from tests.chat import ZHANGYE_VILLAGE, describe, pick_place, start_report
from tests.console.conftest import PASSWORD, VILLAGE, password_hash
from tests.crowd import CASE_NUMBER, CrowdMediator, CrowdResident, ServiceProcess
from tests.support import rows
from tests.webhooks.receiver import Receiver, run_receiver
from tests.webhooks.test_webhooks import SECRETS, centers_with_webhooks

SEED = int(os.environ.get("KILL9_SEED", "1722"))
KILLS = 5
RESIDENTS = 4
# 东沟村 has no center of its own: its cases go to 沙井镇, which no test mediator works.
QUIET_VILLAGE = ("甘州区", "沙井镇", "东沟村")


async def _prepare(db: Path) -> None:
    async with Database(db) as opened:
        await migrate(opened)
        await SqlAccounts(opened).add_account(
            "m1", "调解员甲", VILLAGE, "mediator", password_hash(), datetime.now(UTC)
        )


def _due(db: Path, number: str) -> str:
    (row,) = rows(db, "SELECT due_at FROM cases WHERE number = ?", (number,))
    return str(row["due_at"])


class Run:
    """What the crowd did and what the service acknowledged, shared by the tasks."""

    def __init__(self, service: ServiceProcess, receiver: Receiver) -> None:
        self.service = service
        self.receiver = receiver
        self.rng = random.Random(SEED)
        self.killing = True
        self.dues: dict[str, str] = {}  # case → due_at read right after it was acknowledged
        self.additions: dict[str, list[str]] = {}  # resident → acknowledged case additions
        self.moved: str | None = None  # the case whose deadline passed while down

    async def resident(self, resident: CrowdResident, place: tuple[str, str, str]) -> None:
        pace = random.Random(f"{SEED}-{resident.name}")
        await resident.open()
        await start_report(resident)
        await describe(resident, f"{resident.name}：邻居把排水沟堵了", "已经好几天了，水漫到院子里")
        await pick_place(resident, *place)
        await resident.tap("跳过")
        await resident.tap("确认提交")
        assert "已提交" in resident.text
        found = CASE_NUMBER.search(resident.text)
        assert found is not None, resident.text
        resident.case_number = found.group()
        self.dues[resident.case_number] = _due(self.service.db, resident.case_number)
        await resident.say("找调解员")
        assert resident.case_number in resident.text and "直接在这里说" in resident.text
        written = self.additions.setdefault(resident.name, [])
        while self.killing or len(written) < 3:
            text = f"{resident.name} 补充第{len(written) + 1}条：对方还是不让路"
            await resident.say(text)
            assert f"已补充到事项 {resident.case_number}" in resident.text, resident.text
            written.append(text)
            await asyncio.sleep(pace.uniform(0.02, 0.2))

    async def mediator(self, mediator: CrowdMediator, residents: list[CrowdResident]) -> None:
        await mediator.login()
        wanted: set[str] = set()
        while self.killing or not (wanted and self._worked(mediator, wanted)):
            for item in await mediator.queue():
                number = item["number"]
                if number not in mediator.claimed and not item.get("mine"):
                    await mediator.claim(number)
                if len(mediator.replies.get(number, [])) < 2:
                    await mediator.reply(number)
            filed = {r.case_number for r in residents[1:] if r.case_number}
            wanted = filed if len(filed) == len(residents) - 1 else set()
            await asyncio.sleep(0.1)

    @staticmethod
    def _worked(mediator: CrowdMediator, wanted: set[str]) -> bool:
        return all(len(mediator.replies.get(n, [])) >= 2 for n in wanted)

    async def killer(self, first: CrowdResident) -> None:
        kills = 0
        while kills < KILLS or self.moved is None:
            await asyncio.sleep(self.rng.uniform(0.3, 1.6))
            self.service.kill()
            kills += 1
            if self.moved is None and first.case_number is not None:
                self._move_deadline(first.case_number)
            await self.service.start()
        self.killing = False

    def _move_deadline(self, number: str) -> None:
        """While the service is down, the case's deadline passes."""
        passed = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="microseconds")
        with sqlite3.connect(self.service.db) as conn:
            conn.execute("UPDATE cases SET due_at = ? WHERE number = ?", (passed, number))
        self.moved = number


async def _settled(db: Path) -> None:
    """Until every outgoing message was delivered (the receiver is always up)."""
    for _ in range(400):
        waiting = rows(db, "SELECT COUNT(*) AS n FROM outbound WHERE state != 'delivered'")
        if waiting[0]["n"] == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(rows(db, "SELECT * FROM outbound WHERE state != 'delivered'"))


async def test_kill_9_under_load_loses_nothing_and_resends_only_cut_off_sends(
    tmp_path: Path,
) -> None:
    db = tmp_path / "minshi.db"
    await _prepare(db)
    async with run_receiver(SECRETS) as receiver:
        centers = centers_with_webhooks(tmp_path / "centers.yaml", receiver.base_url)
        # The default lease (60 s): what a killed process was sending goes out again as
        # soon as the next one starts, or _settled() would give up waiting.
        settings = {"MINSHI_CENTERS_FILE": str(centers)}
        service = ServiceProcess(tmp_path, db, settings)
        await service.start()
        receiver.answer_after = 0.4  # a slow receiver: kills often cut a call off
        run = Run(service, receiver)
        try:
            async with (
                httpx.AsyncClient(base_url=service.base_url, trust_env=False, timeout=20) as web,
                httpx.AsyncClient(base_url=service.base_url, trust_env=False, timeout=20) as desk,
            ):
                residents = [CrowdResident(web, f"居民{n}") for n in range(RESIDENTS)]
                mediator = CrowdMediator(desk, "m1", PASSWORD)
                places = [QUIET_VILLAGE] + [ZHANGYE_VILLAGE] * (RESIDENTS - 1)
                async with asyncio.timeout(120):
                    await asyncio.gather(
                        run.killer(residents[0]),
                        run.mediator(mediator, residents),
                        *(run.resident(r, p) for r, p in zip(residents, places, strict=True)),
                    )
                await _settled(db)
                await _check_api(run, residents, mediator)
        finally:
            service.stop()
        totals = _check_database(db, run, residents, mediator)
    print(
        f"\nkill -9 (seed {SEED}): {service.kills} kills, {service.starts} starts, "
        f"{totals['acknowledged']} acknowledged resident messages, "
        f"{totals['claims']} claims, {totals['replies']} replies, "
        f"{totals['webhooks']} webhook calls, resends: {totals['resends']} "
        f"(received twice: {totals['received_twice']}); "
        f"starts took {', '.join(f'{t:.1f}' for t in service.start_seconds)} s"
    )
    assert service.kills >= KILLS


async def _check_api(run: Run, residents: list[CrowdResident], mediator: CrowdMediator) -> None:
    """What people see: residents read every reply once; the mediator sees every addition."""
    for resident in residents:
        seen = Counter(m["text"] for m in await resident.history() if m["from"] == "bot")
        assert resident.case_number is not None
        for text in mediator.replies.get(resident.case_number, []):
            assert sum(n for t, n in seen.items() if text in t) == 1, text
    for number in mediator.claimed:
        transcript = [item.get("text") for item in (await mediator.case(number))["transcript"]]
        owner = next(r for r in residents if r.case_number == number)
        for text in run.additions.get(owner.name, []):
            assert transcript.count(text) == 1, text


def _check_database(
    db: Path, run: Run, residents: list[CrowdResident], mediator: CrowdMediator
) -> dict[str, int]:
    acknowledged = 0
    for resident in residents:
        for client_id in resident.acknowledged:
            stored = rows(
                db,
                "SELECT processed_at FROM inbound WHERE channel = 'web' AND platform_msg_id = ?",
                (client_id,),
            )
            assert len(stored) == 1 and stored[0]["processed_at"], (client_id, stored)
            acknowledged += 1
        for text in run.additions.get(resident.name, []):
            assert len(rows(db, "SELECT id FROM case_messages WHERE body = ?", (text,))) == 1
    assert rows(db, "SELECT id FROM inbound WHERE processed_at IS NULL") == []

    cases = {r["number"]: r for r in rows(db, "SELECT * FROM cases")}
    assert set(cases) == {r.case_number for r in residents}
    for number, due in run.dues.items():
        if number != run.moved:
            assert cases[number]["due_at"] == due, number  # deadlines survive restarts
    for number in mediator.claimed:
        assert cases[number]["assignee"] == "m1"
    replies = 0
    for texts in mediator.replies.values():
        for text in texts:
            assert len(rows(db, "SELECT id FROM case_messages WHERE body = ?", (text,))) == 1
            replies += 1

    # The deadline that passed while the service was down fired once, at the next start.
    assert run.moved is not None
    moved = cases[run.moved]
    assert moved["center_name"] == "甘州区综治中心"
    escalations = rows(
        db,
        "SELECT e.id FROM case_events e JOIN cases c ON c.id = e.case_id"
        " WHERE c.number = ? AND e.kind = 'escalated'",
        (run.moved,),
    )
    assert len(escalations) == 1
    told = rows(
        db,
        "SELECT id FROM outbound WHERE channel = 'web' AND address = ? AND body LIKE ?",
        (moved["user_id"], "%已自动转到上一级%"),
    )
    assert len(told) == 1

    # Sent again only after a send cut off by a kill, and counted.
    copies = Counter(r.delivery for r in run.receiver.received)
    entries = rows(db, "SELECT id, channel, state, resends FROM outbound")
    hooks = [e for e in entries if e["channel"] == "webhook"]
    for entry in hooks:
        assert 1 <= copies[str(entry["id"])] <= 1 + entry["resends"], entry
    escalated = [r for r in run.receiver.received if r.body["event"] == "escalated"]
    assert {r.body["case_number"] for r in escalated} == {run.moved}
    assert len({r.delivery for r in escalated}) == 1  # one endpoint: 沙井镇's
    return {
        "acknowledged": acknowledged,
        "claims": len(mediator.claimed),
        "replies": replies,
        "webhooks": len(hooks),
        "resends": sum(int(e["resends"]) for e in entries),
        "received_twice": sum(n - 1 for n in copies.values()),
    }
