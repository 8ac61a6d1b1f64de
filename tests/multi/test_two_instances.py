"""Two real ``minshi serve`` processes on one PostgreSQL database, as behind a load
balancer: residents and mediators on both, claims racing across them, live
updates crossing from one to the other, and one instance killed with -9."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.chat import submit_case
from tests.resident.conftest import Resident

from .instances import (
    GUARD,
    Instance,
    People,
    holder_pid,
    kill,
    prepare_database,
    run_instances,
)


@pytest.fixture
async def instances(postgres_url: str, tmp_path: Path) -> AsyncIterator[list[Instance]]:
    async with run_instances(await prepare_database(postgres_url), tmp_path) as started:
        yield started


async def _stream_until(resident: Resident, base_url: str, text: str, ready: asyncio.Event) -> None:
    """The resident's event stream on ``base_url``, until a message with ``text``."""
    async with (
        httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=GUARD) as client,
        client.stream("GET", "/api/chat/events", params={"token": resident.token}) as r,
    ):
        assert r.status_code == 200
        async for line in r.aiter_lines():
            ready.set()
            if line.startswith("data:") and text in json.loads(line[5:])["text"]:
                return


async def test_two_instances_share_residents_claims_live_updates_and_duties(
    instances: list[Instance], postgres_url: str
) -> None:
    a, b = instances
    people = People()
    db = await asyncpg.connect(postgres_url)
    try:
        # Residents report through either instance.
        on_a, on_b = await people.resident(a), await people.resident(b)
        first = await submit_case(on_a, "邻居把我家门前的路挖断了，车开不出去")
        second = await submit_case(on_b, "隔壁养的狗天天半夜叫")
        assert first != second

        # Mediators on both instances claim both cases at the same moment: one each wins.
        li, wang = await people.mediator(a, "li"), await people.mediator(b, "wang")
        for number in (first, second):
            results = await asyncio.gather(
                li.act(number, "claim", seen="assigned"), wang.act(number, "claim", seen="assigned")
            )
            assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
            claims = await db.fetch(
                "SELECT e.actor FROM case_events e JOIN cases c ON c.id = e.case_id"
                " WHERE c.number = $1 AND e.kind = 'claimed'",
                number,
            )
            assert len(claims) == 1

        # A reply given on one instance reaches the resident's event stream on the other.
        holder = await db.fetchval("SELECT assignee FROM cases WHERE number = $1", first)
        replier, stream_on = (li, b) if holder == "li" else (wang, a)
        ready = asyncio.Event()
        stream = asyncio.create_task(_stream_until(on_a, stream_on.base_url, "明天上午", ready))
        async with asyncio.timeout(GUARD):
            await ready.wait()
        r = await replier.act(first, "reply", text="明天上午我到现场看看")
        assert r.status_code == 200, r.text
        async with asyncio.timeout(GUARD):
            await stream

        # The instance running the deadline scheduler dies without a word.
        pid = await holder_pid(db, "deadlines")
        dead, alive = (a, b) if a.process.pid == pid else (b, a)
        assert dead.process.pid == pid
        kill(dead)

        # The other takes the scheduler over: a case now overdue escalates, once.
        past = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="microseconds")
        await db.execute("UPDATE cases SET due_at = $1 WHERE number = $2", past, second)
        # The dead instance's session keeps its lock until PostgreSQL notices it is gone.
        async with asyncio.timeout(GUARD):
            while (holder_now := await holder_pid(db, "deadlines")) == dead.process.pid:
                await asyncio.sleep(0.1)
        assert holder_now == alive.process.pid
        async with asyncio.timeout(GUARD):
            while not await db.fetchval(
                "SELECT COUNT(*) FROM case_events e JOIN cases c ON c.id = e.case_id"
                " WHERE c.number = $1 AND e.kind = 'escalated'",
                second,
            ):
                await asyncio.sleep(0.2)
        escalations = await db.fetchval(
            "SELECT COUNT(*) FROM case_events e JOIN cases c ON c.id = e.case_id"
            " WHERE c.number = $1 AND e.kind = 'escalated'",
            second,
        )
        assert escalations == 1

        # Residents of the dead instance carry on through the other; nothing was lost.
        moved = await people.resident(alive, on_a.token)
        await moved.start()
        history = await moved.client.get("/api/chat/messages", headers=moved.headers)
        texts = [m["text"] for m in history.json()["messages"]]
        assert "邻居把我家门前的路挖断了，车开不出去" in texts
        assert any("明天上午我到现场看看" in t for t in texts)
        assert any(first in t for t in texts)
        pending = await db.fetchval(
            "SELECT COUNT(*) FROM outbound WHERE state NOT IN ('delivered')"
        )
        assert pending == 0
        resends = await db.fetchval("SELECT COALESCE(SUM(resends), 0) FROM outbound")
        assert resends == 0
    finally:
        await db.close()
        await people.aclose()
