"""The deadline scheduler: one idempotent pass over every time rule of a case.

四级七天: an open case past its deadline moves one center up (or, at the
top of the ladder, is flagged once for the overseers); a resolved case gets
its 回访 question after some days and is archived later. Every deadline is a
stored column, so a pass after a restart catches up on whatever came due
while the service was down, and each case is acted on exactly once: the
case service re-reads it inside its transaction before changing it.
``bot.app`` runs a pass every 30 seconds in ``minshi serve``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ._cases import Case

if TYPE_CHECKING:
    from ._service import CaseService

__all__ = ["DeadlineReport", "run_deadlines"]

log = logging.getLogger(__name__)

BATCH = 100


@dataclass(frozen=True)
class DeadlineReport:
    """What one pass did, by case number."""

    escalated: tuple[str, ...] = ()
    flagged: tuple[str, ...] = ()  # overdue at the top of the ladder
    followed_up: tuple[str, ...] = ()
    archived: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return len(self.escalated) + len(self.flagged) + len(self.followed_up) + len(self.archived)


Query = Callable[[datetime, int], Awaitable[list[Case]]]
Act = Callable[[Case, datetime], Awaitable[Case | None]]


async def _each(query: Query, act: Act, now: datetime) -> list[Case]:
    """Act on every case the query finds, batch by batch, each case once."""
    seen: set[int] = set()
    done: list[Case] = []
    while True:
        batch = [c for c in await query(now, BATCH) if c.id not in seen]
        if not batch:
            return done
        for case in batch:
            seen.add(case.id)
            try:
                changed = await act(case, now)
            except Exception:  # one broken case must not stop the others
                log.exception("scheduler: case %s failed", case.number)
                continue
            if changed is not None:
                done.append(changed)


async def run_deadlines(service: CaseService, now: datetime) -> DeadlineReport:
    store = service.store
    moved = await _each(store.cases_due, service.escalate_overdue, now)
    escalated = tuple(c.number for c in moved if c.overdue_flagged_at is None)
    flagged = tuple(c.number for c in moved if c.overdue_flagged_at is not None)
    followed = await _each(store.cases_followup_due, service.follow_up, now)
    archived = await _each(store.cases_archive_due, service.archive, now)
    report = DeadlineReport(
        escalated, flagged, tuple(c.number for c in followed), tuple(c.number for c in archived)
    )
    if report.total:
        log.info(
            "deadlines: %d escalated, %d flagged overdue, %d followed up, %d archived",
            len(report.escalated),
            len(report.flagged),
            len(report.followed_up),
            len(report.archived),
        )
    return report
