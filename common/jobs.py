"""Background duties (outbox delivery, later the deadline scheduler).

A job is registered by name and must run in exactly one place at a time.
With SQLite there is one process, so ``LocalJobs`` simply runs each job as a
task; a multi-instance runner (e.g. a PostgreSQL advisory lock per job name)
plugs into the same port. Only ``minshi serve`` starts jobs; ``minshi chat``
never does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

__all__ = ["JobRunner", "LocalJobs"]

log = logging.getLogger(__name__)

JobBody = Callable[[asyncio.Event], Awaitable[None]]  # runs until the event is set


class JobRunner(Protocol):
    def add(self, name: str, body: JobBody) -> None: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class LocalJobs:
    """Every job as a task of this process; a job that crashes is restarted."""

    def __init__(self, restart_delay: float = 1.0) -> None:
        self._bodies: dict[str, JobBody] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._restart_delay = restart_delay

    def add(self, name: str, body: JobBody) -> None:
        assert name not in self._bodies, f"job {name!r} registered twice"
        assert not self._tasks, "add jobs before start()"
        self._bodies[name] = body

    async def start(self) -> None:
        self._stop.clear()
        self._tasks = [
            asyncio.create_task(self._keep_running(name, body), name=f"job:{name}")
            for name, body in self._bodies.items()
        ]

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, 5)
            except TimeoutError:
                log.warning("job %s did not stop in time; cancelled", task.get_name())
        self._tasks = []

    async def _keep_running(self, name: str, body: JobBody) -> None:
        while not self._stop.is_set():
            try:
                await body(self._stop)
            except Exception:
                log.exception("job %s failed; restarting", name)
                try:
                    await asyncio.wait_for(self._stop.wait(), self._restart_delay)
                except TimeoutError:
                    continue
