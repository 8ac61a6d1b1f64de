"""Background duties (outbox delivery, later the deadline scheduler).

A job is registered by name and must run in exactly one place at a time.
With SQLite there is one process, so ``LocalJobs`` simply runs each job as a
task; a multi-instance runner (e.g. a PostgreSQL advisory lock per job name)
plugs into the same port. Only ``minshi serve`` starts jobs; ``minshi chat``
never does.

A job calls ``heartbeat(within)`` once per pass of its loop, saying when the
next pass is due at the latest, so the health check can tell a job that is
stuck or keeps failing from one that is working.

A job that stops on ``StorageUnavailable`` (full disk, read-only database,
database server away) is an outage, not a bug: one warning when it begins,
restarts after growing pauses (up to ``outage_max_delay``) without a
traceback each time, and one warning when a pass of the job completes again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .unavailable import StorageUnavailable

__all__ = ["JobHealth", "JobRunner", "LocalJobs", "ReportsHealth", "heartbeat"]

log = logging.getLogger(__name__)

JobBody = Callable[[asyncio.Event], Awaitable[None]]  # runs until the event is set


@dataclass(frozen=True)
class JobHealth:
    """How one job is doing: ``problem`` is None when it is fine."""

    name: str
    problem: str | None  # "failing: …", "stalled: …" or "stopped"
    seconds_since_beat: float | None  # None before its first heartbeat
    standby: bool = False  # runs on another instance; this one takes over if it dies


class JobRunner(Protocol):
    def add(self, name: str, body: JobBody) -> None: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@runtime_checkable
class ReportsHealth(Protocol):
    def health(self) -> list[JobHealth]: ...


class _Pulse:
    """The heartbeat and the last failure of one running job."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.monotonic()
        self.within: float | None = None  # the job's promise: next heartbeat by then
        self.last_beat: float | None = None
        self.failure: str | None = None  # set when the job raised, cleared by a heartbeat
        self.outage: float | None = None  # since when the storage refuses this job
        self.outage_restarts = 0
        self.beats = 0  # since the job's body last (re)started

    def beat(self, within: float | None) -> None:
        self.last_beat = time.monotonic()
        self.within = within
        self.beats += 1
        if self.outage is not None:
            if self.beats < 2:
                return  # a pass begins; only its end shows the storage takes writes again
            log.warning(
                "job %s: the database works again after %.0f s; running normally",
                self.name,
                self.last_beat - self.outage,
            )
            self.outage, self.outage_restarts = None, 0
        self.failure = None

    def storage_refused(self, exc: StorageUnavailable) -> float:
        """Note the outage (a warning at its start only); the pause before the restart."""
        self.failure = f"storage unavailable ({exc.problem.value}): {exc.detail}"[:300]
        if self.outage is None:
            self.outage = time.monotonic()
            log.warning(
                "job %s paused: the database cannot take writes (%s: %s); trying again"
                " with growing pauses",
                self.name,
                exc.problem.value,
                exc.detail,
            )
        self.outage_restarts += 1
        return float(2 ** min(self.outage_restarts - 1, 20))


_PULSE: ContextVar[_Pulse | None] = ContextVar("job_pulse", default=None)


def heartbeat(within: float | None = None) -> None:
    """Say that the current job is at a new pass of its loop and, with ``within``, that
    the next comes within that many seconds, else it counts as stalled (no-op outside
    a job)."""
    pulse = _PULSE.get()
    if pulse is not None:
        pulse.beat(within)


class LocalJobs:
    """Every job as a task of this process; a job that crashes is restarted."""

    def __init__(self, restart_delay: float = 1.0, outage_max_delay: float = 30.0) -> None:
        self._bodies: dict[str, JobBody] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._pulses: dict[str, _Pulse] = {}
        self._stop = asyncio.Event()
        self._restart_delay = restart_delay
        self._outage_max_delay = outage_max_delay

    def add(self, name: str, body: JobBody) -> None:
        assert name not in self._bodies, f"job {name!r} registered twice"
        assert not self._tasks, "add jobs before start()"
        self._bodies[name] = body

    async def start(self) -> None:
        self._stop.clear()
        self._pulses = {name: _Pulse(name) for name in self._bodies}
        self._tasks = [
            asyncio.create_task(self._keep_running(name, body), name=f"job:{name}")
            for name, body in self._bodies.items()
        ]

    def health(self) -> list[JobHealth]:
        """Each started job: failing (raised and not back to a heartbeat since),
        stalled (its next heartbeat is overdue) or stopped."""
        now = time.monotonic()
        found = []
        for task in self._tasks:
            name = task.get_name().removeprefix("job:")
            pulse = self._pulses[name]
            since = None if pulse.last_beat is None else now - pulse.last_beat
            problem = None
            if task.done() and not self._stop.is_set():
                problem = "stopped"
            elif pulse.failure is not None:
                problem = f"failing: {pulse.failure}"
            elif since is not None and pulse.within is not None and since > pulse.within:
                problem = f"stalled: no progress for {since:.0f} s"
            found.append(JobHealth(name, problem, since))
        return found

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, 5)
            except TimeoutError:
                log.warning("job %s did not stop in time; cancelled", task.get_name())
        self._tasks = []

    async def _keep_running(self, name: str, body: JobBody) -> None:
        pulse = self._pulses[name]
        _PULSE.set(pulse)  # this task's own context: heartbeat() finds its job
        while not self._stop.is_set():
            pause = self._restart_delay
            pulse.beats = 0
            try:
                await body(self._stop)
            except StorageUnavailable as exc:
                growth = pulse.storage_refused(exc)
                pause = min(self._restart_delay * growth, self._outage_max_delay)
            except Exception as exc:
                pulse.failure = f"{type(exc).__name__}: {exc}"[:300]
                log.exception("job %s failed; restarting", name)
            else:
                continue
            try:
                await asyncio.wait_for(self._stop.wait(), pause)
            except TimeoutError:
                continue
