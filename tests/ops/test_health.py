"""/healthz: a real database write and every background job; /readyz for load balancers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import create_app
from bot.config import Settings
from bot.runtime import open_runtime
from common.jobs import LocalJobs, heartbeat
from handoff import CaseService
from tests.support import Clock, Service, run_service

JOBS = {"delivery", "dialog-backlog", "event-loop-lag", "deadlines", "mediator-alerts"}


async def health(service: Service) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=service.base_url, trust_env=False) as client:
        r = await client.get("/healthz")
    return r.status_code, r.json()


async def until_health(service: Service, status: int) -> dict[str, Any]:
    async def poll() -> dict[str, Any]:
        while True:
            code, body = await health(service)
            if code == status:
                return body
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), 15)


async def test_a_working_service_is_healthy_and_ready(service: Service) -> None:
    code, body = await health(service)
    assert code == 200, body
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["jobs"] == {name: "ok" for name in JOBS}
    async with httpx.AsyncClient(base_url=service.base_url, trust_env=False) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_a_job_that_keeps_failing_is_named(
    settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: CaseService) -> None:
        raise RuntimeError("the centers file lost a level")

    monkeypatch.setattr(CaseService, "run_deadlines", broken)
    async with run_service(settings, clock) as svc:
        body = await until_health(svc, 503)
        assert body["status"] == "unhealthy" and body["database"] == "ok"
        assert body["jobs"]["deadlines"] == "failing: RuntimeError: the centers file lost a level"
        assert body["jobs"]["delivery"] == "ok"


async def test_a_database_that_cannot_take_writes_fails_the_check(service: Service) -> None:
    db = service.runtime.db
    await db.fetchone("PRAGMA query_only = ON")  # every write fails, as on a read-only file
    try:
        body = await until_health(service, 503)
        assert body["database"].startswith("cannot write:")
        assert "readonly" in body["database"]
    finally:
        await db.fetchone("PRAGMA query_only = OFF")
    assert (await until_health(service, 200))["database"] == "ok"


async def test_a_full_database_fails_the_check_until_there_is_room(service: Service) -> None:
    db = service.runtime.db
    pages = await db.fetchone("PRAGMA page_count")
    assert pages is not None
    await db.fetchone(f"PRAGMA max_page_count = {int(pages['page_count'])}")
    try:
        body = await until_health(service, 503)
        assert "full" in body["database"]
    finally:
        await db.fetchone("PRAGMA max_page_count = 1073741823")
    await until_health(service, 200)


async def test_a_disk_with_too_little_space_fails_the_check(tmp_path: Path, clock: Clock) -> None:
    settings = Settings(  # type: ignore[call-arg]
        db=tmp_path / "h.db",
        attachments_dir=tmp_path / "a",
        health_min_free_mb=10**9,
        _env_file=None,
    )
    async with run_service(settings, clock, background=False) as svc:
        code, body = await health(svc)
    assert code == 503 and body["database"].startswith("disk nearly full:")
    assert body["jobs"] == {}  # no background jobs in this service


async def test_ready_only_between_start_up_and_shutdown(settings: Settings, clock: Clock) -> None:
    async with open_runtime(settings, clock=clock) as rt:
        app = create_app(settings, rt, background=False, adapters=[])
        async with app.router.lifespan_context(app) as state:
            assert state is not None
            readiness = state["readiness"]
            assert readiness.ready
        assert not readiness.ready


async def test_jobs_report_failures_until_they_recover_and_stalls() -> None:
    calls = 0
    stuck = asyncio.Event()

    async def flaky(stop: asyncio.Event) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("network down")
        while not stop.is_set():
            heartbeat(within=3600)
            await asyncio.sleep(0.01)

    async def hangs(stop: asyncio.Event) -> None:
        heartbeat(within=0.05)
        stuck.set()
        await stop.wait()  # never beats again

    jobs = LocalJobs(restart_delay=0.2)
    jobs.add("flaky", flaky)
    jobs.add("hangs", hangs)
    await jobs.start()
    try:

        async def states() -> dict[str, str | None]:
            return {job.name: job.problem for job in jobs.health()}

        async def wait_for(name: str, check: Any) -> None:
            while not check((await states())[name]):
                await asyncio.sleep(0.01)

        await asyncio.wait_for(
            wait_for("flaky", lambda p: p == "failing: OSError: network down"), 5
        )
        await asyncio.wait_for(wait_for("flaky", lambda p: p is None), 5)
        await asyncio.wait_for(stuck.wait(), 5)
        await asyncio.wait_for(wait_for("hangs", lambda p: p and p.startswith("stalled")), 5)
    finally:
        await jobs.stop()
