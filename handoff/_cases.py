"""Cases and their lifecycle.

A case is one matter a resident reported. Its status only moves along the
edges of ``TRANSITIONS``; every move is written to the append-only audit
trail (``case_events``) by the storage layer in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "TRANSITIONS",
    "Case",
    "CaseStatus",
    "IllegalTransition",
    "NewCase",
    "case_number",
    "check_transition",
]


class CaseStatus(StrEnum):
    RECEIVED = "received"  # accepted from the resident, not yet routed
    ASSIGNED = "assigned"  # in a center's queue, nobody has claimed it
    CLAIMED = "claimed"  # a mediator took it and has not replied yet
    IN_PROGRESS = "in_progress"  # a mediator is talking with the resident
    RESOLVED = "resolved"  # closed with an outcome, waiting for the rating
    RATED = "rated"  # the resident rated the handling
    ARCHIVED = "archived"  # filed; no further changes

    @property
    def is_open(self) -> bool:
        return self in _OPEN


_OPEN = {CaseStatus.RECEIVED, CaseStatus.ASSIGNED, CaseStatus.CLAIMED, CaseStatus.IN_PROGRESS}

TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.RECEIVED: frozenset({CaseStatus.ASSIGNED}),
    # Escalation and transfer keep a case ASSIGNED (to another center).
    CaseStatus.ASSIGNED: frozenset({CaseStatus.ASSIGNED, CaseStatus.CLAIMED, CaseStatus.RESOLVED}),
    CaseStatus.CLAIMED: frozenset(
        {CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED}
    ),
    CaseStatus.IN_PROGRESS: frozenset({CaseStatus.ASSIGNED, CaseStatus.RESOLVED}),
    CaseStatus.RESOLVED: frozenset({CaseStatus.RATED, CaseStatus.ASSIGNED, CaseStatus.ARCHIVED}),
    CaseStatus.RATED: frozenset({CaseStatus.ARCHIVED, CaseStatus.ASSIGNED}),
    CaseStatus.ARCHIVED: frozenset(),
}


class IllegalTransition(Exception):
    def __init__(self, number: str, current: CaseStatus, wanted: CaseStatus) -> None:
        self.number, self.current, self.wanted = number, current, wanted
        super().__init__(f"case {number} cannot go from {current.value} to {wanted.value}")


def check_transition(number: str, current: CaseStatus, wanted: CaseStatus) -> None:
    if wanted not in TRANSITIONS[current]:
        raise IllegalTransition(number, current, wanted)


def case_number(case_id: int, created: datetime) -> str:
    """Short, unique and readable over the phone: MS261122-0007."""
    return f"MS{created:%y%m%d}-{case_id:04d}"


@dataclass(frozen=True)
class NewCase:
    """What the report dialog collected, ready to be stored."""

    channel: str
    user_id: str
    category: str
    description: str
    region_code: str
    location_text: str
    location_method: str  # picker | search | gps | link
    center_id: str
    center_name: str
    level: str
    due_at: datetime
    lat: float | None = None
    lon: float | None = None
    phone: str | None = None
    urgent: bool = False
    transcript_from: int | None = None
    attachments: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Case:
    id: int
    number: str
    channel: str
    user_id: str
    category: str
    description: str
    region_code: str
    location_text: str
    location_method: str
    lat: float | None
    lon: float | None
    phone: str | None
    center_id: str
    center_name: str
    level: str
    status: CaseStatus
    urgent: bool
    transcript_from: int | None
    created_at: datetime
    updated_at: datetime
    due_at: datetime
    resolved_at: datetime | None
    outcome: str | None
