"""Background jobs through a storage outage: one warning when it begins, one when it
ends, growing pauses in between — not a traceback every second."""

from __future__ import annotations

import asyncio
import logging
import time
from itertools import pairwise

import pytest

from bot.storage import Database, SqlStore
from common.jobs import LocalJobs, heartbeat
from common.messages import Outbound
from common.outbox import Destination, OutboxState
from common.unavailable import StorageProblem, StorageUnavailable
from tests.support import Service

from .test_storage_unavailable import read_only


def job_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "common.jobs"]


async def until(check: object, seconds: float = 20) -> None:
    async with asyncio.timeout(seconds):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_an_outage_pauses_a_job_longer_each_time_and_is_logged_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    down = True
    attempts: list[float] = []
    passes = 0

    async def delivery(stop: asyncio.Event) -> None:
        nonlocal passes
        while not stop.is_set():
            heartbeat(within=60)
            attempts.append(time.monotonic())
            if down:
                raise StorageUnavailable(StorageProblem.READ_ONLY, "attempt to write")
            passes += 1
            await asyncio.sleep(0.005)

    jobs = LocalJobs(restart_delay=0.01, outage_max_delay=0.04)
    jobs.add("delivery", delivery)
    await jobs.start()
    try:
        await until(lambda: len(attempts) >= 7)
        (health,) = jobs.health()
        assert health.problem == "failing: storage unavailable (read-only): attempt to write"
        pauses = [later - earlier for earlier, later in pairwise(attempts[:7])]
        wanted = [0.01, 0.02, 0.04, 0.04, 0.04, 0.04]  # doubling, then capped
        assert all(p >= w * 0.9 for p, w in zip(pauses, wanted, strict=True)), pauses
        down = False
        await until(lambda: passes >= 3)
        assert jobs.health()[0].problem is None
    finally:
        await jobs.stop()
    logged = job_logs(caplog)
    assert [r.levelno for r in logged] == [logging.WARNING, logging.WARNING]
    assert "paused: the database cannot take writes (read-only" in logged[0].getMessage()
    assert "works again" in logged[1].getMessage()
    assert all(r.exc_info is None for r in logged)  # no traceback


async def test_the_delivery_job_of_the_service_waits_out_a_read_only_database(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    rt = service.runtime
    resident = Destination("web", "alice")
    async with read_only(rt):
        # Another connection (another process, say) queued a message the service
        # now has to lease, which is a write.
        async with Database(rt.settings.db) as other, SqlStore(other).transaction() as w:
            await w.enqueue(resident, Outbound("调解员回复了您"), rt.clock())
        await until(lambda: any("paused" in r.getMessage() for r in job_logs(caplog)))
        await asyncio.sleep(1.5)  # it tries again meanwhile, without saying so
        (entry,) = await rt.store.outbox_records(resident)
        assert entry.state is OutboxState.PENDING
    await until(lambda: any("works again" in r.getMessage() for r in job_logs(caplog)))
    (entry,) = await rt.store.outbox_records(resident)
    assert entry.state is OutboxState.DELIVERED
    logged = job_logs(caplog)
    assert len(logged) == 2 and all(r.levelno == logging.WARNING for r in logged), logged
    assert "job delivery paused" in logged[0].getMessage()
    assert "job delivery: the database works again" in logged[1].getMessage()
    assert all(r.exc_info is None for r in logged)
