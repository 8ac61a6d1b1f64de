"""Single-instance jobs across several instances: a PostgreSQL advisory lock per job.

Every instance registers the same jobs (the deadline scheduler, mediator
alerts …); a job runs only on the instance holding its session-level advisory
lock, on a connection of its own. The others try again every few seconds, so
when the holder dies (its connection closes and PostgreSQL frees the lock;
a machine gone silent is noticed by TCP keepalive within about 11 s) another
takes over within 15 s. The holder checks its connection as often and stops
the job when the connection — and so the lock — is gone, so the job never
runs in two places for longer than one check. Each pass of a job is a series
of compare-and-set updates, which is what keeps a deadline from firing twice
even then.

While the database cannot be reached, each job says so once (and once when it
can again), tries again after growing pauses, and reports itself failing to
``/healthz``; a job held by another instance reports "standby".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg

from common.jobs import JobBody, JobHealth, LocalJobs

from .storage import lock_key
from .storage._postgres import PostgresDatabase

__all__ = ["PgJobs", "RefusedHere", "hold_exclusive", "job_lock_key"]

log = logging.getLogger(__name__)

_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


def job_lock_key(name: str) -> int:
    return lock_key("minshi", "job", name)


class PgJobs:
    """``common.jobs.JobRunner`` for jobs that must run on one instance at a time."""

    def __init__(
        self,
        db: PostgresDatabase,
        *,
        retry_seconds: float = 3.0,
        check_seconds: float = 3.0,
        restart_delay: float = 1.0,
        retry_max_seconds: float = 15.0,
    ) -> None:
        self.db = db
        self.retry_seconds = retry_seconds
        self.retry_max_seconds = retry_max_seconds
        self.check_seconds = check_seconds
        self.restart_delay = restart_delay
        self._bodies: dict[str, JobBody] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._held: dict[str, LocalJobs] = {}  # the jobs running here now
        self._standby: set[str] = set()  # held by another instance at the last try
        self._trouble: dict[str, str] = {}  # jobs that cannot reach the database: why

    @property
    def held(self) -> set[str]:
        return set(self._held)

    def health(self) -> list[JobHealth]:
        """Every job: as its runner reports it when it runs here, failing when this
        instance cannot reach the database for its lock, else standing by."""
        found: list[JobHealth] = []
        for task in self._tasks:
            name = task.get_name().removeprefix("job-lock:")
            runner = self._held.get(name)
            if runner is not None:
                found += runner.health()
            elif task.done() and not self._stop.is_set():
                found.append(JobHealth(name, "stopped", None))
            elif name in self._trouble:
                found.append(JobHealth(name, f"failing: {self._trouble[name]}", None))
            else:
                found.append(JobHealth(name, None, None, standby=name in self._standby))
        return found

    def add(self, name: str, body: JobBody) -> None:
        assert name not in self._bodies, f"job {name!r} registered twice"
        assert not self._tasks, "add jobs before start()"
        self._bodies[name] = body

    async def start(self) -> None:
        self._stop.clear()
        self._tasks = [
            asyncio.create_task(self._contend(name, body), name=f"job-lock:{name}")
            for name, body in self._bodies.items()
        ]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        self._tasks = []

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _contend(self, name: str, body: JobBody) -> None:
        """Until stopped: take the job's lock when it is free, run the job while held."""
        failures = 0
        while not self._stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await self.db.connect()
                if self._trouble.pop(name, None) is not None:
                    log.warning("job %s: the database can be reached again", name)
                failures = 0
                while not self._stop.is_set():
                    if await conn.fetchval("SELECT pg_try_advisory_lock($1)", job_lock_key(name)):
                        self._standby.discard(name)
                        await self._run_while_held(conn, name, body)
                        break  # the lock is gone or we stop: a new connection for the next try
                    self._standby.add(name)
                    await self._pause(self.retry_seconds)
            except _ERRORS as exc:
                failures += 1
                self._lost(name, exc)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)  # frees the lock for another instance
            growth = 2 ** min(max(failures - 1, 0), 10)
            await self._pause(min(self.retry_seconds * growth, self.retry_max_seconds))

    def _lost(self, name: str, exc: BaseException) -> None:
        """The database went out of reach: warn once, until it can be reached again."""
        self._standby.discard(name)
        if name not in self._trouble:
            log.warning(
                "job %s: cannot reach the database (%s); trying again with growing pauses",
                name,
                exc,
            )
        self._trouble[name] = f"database out of reach: {exc}"[:300]

    async def _run_while_held(self, conn: asyncpg.Connection, name: str, body: JobBody) -> None:
        log.info("job %s runs on this instance", name)
        runner = LocalJobs(restart_delay=self.restart_delay)
        runner.add(name, body)
        await runner.start()
        self._held[name] = runner
        try:
            while not self._stop.is_set():
                await self._pause(self.check_seconds)
                try:
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), self.check_seconds)
                except _ERRORS as exc:
                    log.warning("job %s: lost its lock (%s); stopping it here", name, exc)
                    self._trouble[name] = f"database out of reach: {exc}"[:300]
                    return
        finally:
            self._held.pop(name, None)
            await runner.stop()


class RefusedHere(RuntimeError):
    """Another instance does this already (e.g. Telegram long polling)."""


@contextlib.asynccontextmanager
async def hold_exclusive(db: PostgresDatabase, name: str, refusal: str) -> AsyncIterator[None]:
    """Hold ``name`` for this instance until the block ends; ``RefusedHere(refusal)`` at
    once when another instance holds it. The lock lives as long as its connection."""
    conn = await db.connect()
    try:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key("minshi", name)):
            raise RefusedHere(refusal)
        yield
    finally:
        with contextlib.suppress(Exception):
            await conn.close(timeout=2)
