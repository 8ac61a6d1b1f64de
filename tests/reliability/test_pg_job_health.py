"""Single-instance jobs on PostgreSQL report to ``/healthz`` as local jobs do: on the
instance running a job its own state, on the others "standby", and on an instance
cut off from the database "failing" — said once in the log, and once when it is over."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from bot.ops.health import STANDBY, job_states
from bot.pg_jobs import PgJobs
from bot.storage import migrate
from bot.storage._postgres import PostgresDatabase
from common.jobs import heartbeat
from tests.postgres import Cluster

from .test_postgres_unavailable import Relay


async def working(stop: asyncio.Event) -> None:
    while not stop.is_set():
        heartbeat(within=60)
        await asyncio.sleep(0.02)


async def broken(stop: asyncio.Event) -> None:
    raise RuntimeError("a bug in the alerts")


def runner(db: PostgresDatabase) -> PgJobs:
    jobs = PgJobs(
        db, retry_seconds=0.05, check_seconds=0.05, restart_delay=0.05, retry_max_seconds=0.2
    )
    jobs.add("deadlines", working)
    jobs.add("mediator-alerts", broken)
    return jobs


async def until(check: object) -> None:
    async with asyncio.timeout(20):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.02)


@pytest.fixture
async def two_instances(postgres_url: str) -> AsyncIterator[list[PgJobs]]:
    dbs = [PostgresDatabase(postgres_url, pool_size=2) for _ in range(2)]
    for db in dbs:
        await db.open()
    await migrate(dbs[0])
    runners = [runner(db) for db in dbs]
    for jobs in runners:
        await jobs.start()
    yield runners
    for jobs in runners:
        await jobs.stop()
    for db in dbs:
        await db.close()


async def test_the_instance_running_a_job_reports_it_the_others_stand_by(
    two_instances: list[PgJobs],
) -> None:
    def reported(name: str) -> list[str]:
        return sorted(job_states([jobs])[name] for jobs in two_instances)

    failing = "failing: RuntimeError: a bug in the alerts"
    await until(lambda: reported("deadlines") == sorted(["ok", STANDBY]))
    await until(lambda: reported("mediator-alerts") == sorted([failing, STANDBY]))


async def test_an_instance_cut_off_reports_its_jobs_failing_and_logs_it_twice(
    postgres: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    url = urlsplit(await postgres.fresh_database())
    assert url.port is not None
    relay = Relay(url.port)
    await relay.start()
    db = PostgresDatabase(url._replace(netloc=f"minshi@127.0.0.1:{relay.port}").geturl())
    async with db:
        await migrate(db)
        jobs = runner(db)
        await jobs.start()
        try:
            await until(lambda: "deadlines" in jobs.held)
            assert job_states([jobs])["deadlines"] == "ok"
            await relay.cut()
            await until(
                lambda: job_states([jobs])["deadlines"].startswith("failing: database out of reach")
            )
            standing = job_states([jobs])["mediator-alerts"]
            assert standing.startswith("failing: "), standing
            await asyncio.sleep(1)  # it keeps trying meanwhile
            await relay.start()
            await until(lambda: job_states([jobs])["deadlines"] == "ok")
        finally:
            await jobs.stop()
            await relay.cut()
    said = [r.getMessage() for r in caplog.records if r.name == "bot.pg_jobs"]
    about = [m for m in said if m.startswith("job deadlines:")]
    assert len(about) == 2, said
    assert "lost its lock" in about[0] and "can be reached again" in about[1]
