"""The parts that let several instances share one PostgreSQL database, each instance
played here by its own connection pool: migrations, claims, the outbox, live
updates, single-instance jobs and the Telegram poller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.pg_jobs import PgJobs, RefusedHere, hold_exclusive
from bot.pg_notifier import PgNotifier
from bot.storage import SqlStore, migrate, open_database
from bot.storage._postgres import PostgresDatabase
from common.clock import ManualClock
from common.messages import Outbound
from common.outbox import Destination, OutboxState
from handoff import (
    CaseConflict,
    CaseService,
    CaseStatus,
    CenterDirectory,
    DeadlinePolicy,
    Level,
    load_centers,
)
from tests.handoff.conftest import draft

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
HOURS = {Level.VILLAGE: 24, Level.TOWNSHIP: 48, Level.COUNTY: 72, Level.CITY: 96}
GUARD = 30.0  # seconds before a wait counts as "never happened"


@pytest.fixture(scope="module")
def directory() -> CenterDirectory:
    return load_centers()


@pytest.fixture
async def instances(postgres_url: str) -> AsyncIterator[list[PostgresDatabase]]:
    """Three instances' connection pools on one fresh database."""
    dbs = [PostgresDatabase(postgres_url, pool_size=4) for _ in range(3)]
    for db in dbs:
        await db.open()
    await migrate(dbs[0])
    yield dbs
    for db in dbs:
        await db.close()


async def _until(condition: object, what: str) -> None:
    async with asyncio.timeout(GUARD):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.05)


async def test_instances_starting_together_migrate_once(postgres_url: str) -> None:
    dbs = [open_database(postgres_url, pool_size=2) for _ in range(4)]
    for db in dbs:
        await db.open()
    try:
        versions = await asyncio.gather(*(migrate(db) for db in dbs))
        assert len(set(versions)) == 1
        applied = await dbs[0].fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in applied] == sorted({r["version"] for r in applied})
        assert applied[-1]["version"] == versions[0]
    finally:
        for db in dbs:
            await db.close()


async def test_claims_from_every_instance_at_once_one_wins(
    instances: list[PostgresDatabase], directory: CenterDirectory
) -> None:
    clock = ManualClock()
    services = [
        CaseService(SqlStore(db), directory, DeadlinePolicy(HOURS), clock) for db in instances
    ]
    async with services[0].store.transaction() as w:
        case, _ = await services[0].open(w, draft(), clock())
    results = await asyncio.gather(
        *(services[n % 3].claim(case.number, f"m{n}", CaseStatus.ASSIGNED) for n in range(24)),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    conflicts = [r for r in results if isinstance(r, CaseConflict)]
    assert len(winners) == 1 and len(conflicts) == 23, results
    claims = [e for e in await services[2].store.case_events(case.id) if e.kind == "claimed"]
    assert [e.actor for e in claims] == [f"mediator:{winners[0].assignee}"]


async def test_each_outbox_entry_is_leased_by_one_instance_in_order(
    instances: list[PostgresDatabase],
) -> None:
    stores = [SqlStore(db) for db in instances]
    residents = [Destination("web", f"r{n}") for n in range(12)]
    async with stores[0].transaction() as w:
        for turn in range(5):
            for resident in residents:
                await w.enqueue(resident, Outbound(f"{resident.address}-{turn}"), NOW)
    sent: dict[Destination, list[str]] = {r: [] for r in residents}
    leased_by: dict[int, str] = {}

    async def worker(store: SqlStore, owner: str) -> None:
        while True:
            entries = await store.lease_outbox(owner, ["web"], NOW, NOW + timedelta(minutes=1), 7)
            if not entries:
                return
            for entry in entries:
                assert entry.id not in leased_by, f"{entry.id} leased twice"
                leased_by[entry.id] = owner
                assert await store.outbox_sending(entry.id, owner, NOW)
                sent[entry.destination].append(str(entry.body["text"]))
                await asyncio.sleep(0)
                await store.outbox_outcome(entry.id, owner, OutboxState.DELIVERED, NOW)

    await asyncio.gather(*(worker(s, f"w{n}") for n, s in enumerate(stores) for _ in range(2)))
    for resident in residents:
        assert sent[resident] == [f"{resident.address}-{t}" for t in range(5)]
    assert len(leased_by) == 60
    assert len(set(leased_by.values())) > 1  # the work was shared


async def test_a_topic_published_on_one_instance_wakes_a_waiter_on_another(
    instances: list[PostgresDatabase],
) -> None:
    one, other = PgNotifier(instances[0]), PgNotifier(instances[1])
    async with one, other:
        await _until(lambda: one.connected.is_set() and other.connected.is_set(), "listening")
        with other.subscribe("resident:web:alice") as far, one.subscribe("elsewhere") as quiet:
            one.publish("resident:web:alice")
            assert await far.wait(GUARD)
            assert not await quiet.wait(0.2)


async def test_a_single_instance_job_runs_once_and_moves_when_its_holder_dies(
    instances: list[PostgresDatabase],
) -> None:
    running: list[str] = []

    def job(name: str):  # type: ignore[no-untyped-def]
        async def body(stop: asyncio.Event) -> None:
            running.append(name)
            try:
                await stop.wait()
            finally:
                running.remove(name)

        return body

    runners = [PgJobs(db, retry_seconds=0.2, check_seconds=0.2) for db in instances]
    for n, runner in enumerate(runners):
        runner.add("deadlines", job(f"i{n}"))
        await runner.start()
    try:
        await _until(lambda: len(running) == 1, "one holder")
        await asyncio.sleep(0.6)  # the others have tried meanwhile
        assert len(running) == 1
        (holder,) = running
        dead = runners[int(holder[1:])]
        await dead.stop()  # its connection closes: PostgreSQL frees the lock
        await _until(lambda: len(running) == 1 and running[0] != holder, "a new holder")
    finally:
        for runner in runners:
            await runner.stop()


async def test_a_second_telegram_poller_is_refused(instances: list[PostgresDatabase]) -> None:
    async with hold_exclusive(instances[0], "telegram-polling", "polled elsewhere"):
        with pytest.raises(RefusedHere, match="polled elsewhere"):
            async with hold_exclusive(instances[1], "telegram-polling", "polled elsewhere"):
                pass
    async with hold_exclusive(instances[1], "telegram-polling", "polled elsewhere"):
        pass  # free again once the first instance stopped polling
