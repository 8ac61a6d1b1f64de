"""The retention rule: phone and ID numbers leave archived cases after a while.

``MINSHI_RETENTION_DAYS`` after a case was archived, its phone field is
cleared and every phone and ID number in its description, messages, audit
trail, and in what the resident sent and was sent up to the archiving, is
replaced by 〔已删除〕. Cases, numbers, statuses, dates and audit events stay,
so the statistics do not change. ``minshi purge`` applies it by hand; with
the setting, ``minshi serve`` applies it once a day.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from common.jobs import heartbeat

from ..runtime import Runtime
from ..storage._ops import OpsStore, PurgeCounts, SqlOps

__all__ = ["apply_retention", "retention_job"]

log = logging.getLogger(__name__)

_BATCH = 200
_DAY_SECONDS = 24 * 3600.0
_PASS_LIMIT = 3600.0  # a purge pass longer than this is stuck


async def apply_retention(
    ops: OpsStore, now: datetime, days: float, *, apply: bool = True
) -> PurgeCounts:
    """Purge (or, without ``apply``, count) every archived case filed ``days`` ago or more."""
    before = now - timedelta(days=days)
    total = PurgeCounts()
    seen: set[int] = set()
    while True:
        # A dry run changes nothing, so the same cases come back: skip those seen.
        batch = [
            c for c in await ops.cases_to_purge(before, len(seen) + _BATCH) if c.id not in seen
        ]
        if not batch:
            return total
        for case in batch:
            seen.add(case.id)
            total += await ops.purge_case(case.id, now, apply=apply)


async def retention_job(rt: Runtime, stop: asyncio.Event) -> None:
    """At start, then once a day."""
    days = rt.settings.retention_days
    assert days is not None
    while not stop.is_set():
        heartbeat(within=_DAY_SECONDS + _PASS_LIMIT)
        done = await apply_retention(SqlOps(rt.db), rt.clock(), days)
        if done.cases:
            log.info(
                "retention: %d archived cases purged (%d phone fields, %d texts)",
                done.cases,
                done.phones,
                done.texts,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _DAY_SECONDS)
