"""Cases and their lifecycle.

A case is one matter a resident reported. Its status only moves along the
edges of ``TRANSITIONS``; every move is made by the case service
(``handoff._service``) and written to the append-only audit trail in the
same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "OUTCOMES",
    "OUTCOME_LABELS",
    "RATINGS",
    "TRANSITIONS",
    "WALK_IN",
    "Case",
    "CaseDraft",
    "CaseEvent",
    "CaseMessage",
    "CaseStatus",
    "IllegalTransition",
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
    WITHDRAWN = "withdrawn"  # the resident took it back, with a reason

    @property
    def is_open(self) -> bool:
        return self in _OPEN


_OPEN = {CaseStatus.RECEIVED, CaseStatus.ASSIGNED, CaseStatus.CLAIMED, CaseStatus.IN_PROGRESS}

TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.RECEIVED: frozenset({CaseStatus.ASSIGNED, CaseStatus.WITHDRAWN}),
    # Escalation and transfer keep a case ASSIGNED (to another center).
    CaseStatus.ASSIGNED: frozenset(
        {CaseStatus.ASSIGNED, CaseStatus.CLAIMED, CaseStatus.RESOLVED, CaseStatus.WITHDRAWN}
    ),
    CaseStatus.CLAIMED: frozenset(
        {CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, CaseStatus.WITHDRAWN}
    ),
    CaseStatus.IN_PROGRESS: frozenset(
        {CaseStatus.ASSIGNED, CaseStatus.RESOLVED, CaseStatus.WITHDRAWN}
    ),
    CaseStatus.RESOLVED: frozenset({CaseStatus.RATED, CaseStatus.ASSIGNED, CaseStatus.ARCHIVED}),
    CaseStatus.RATED: frozenset({CaseStatus.ARCHIVED, CaseStatus.ASSIGNED}),
    CaseStatus.ARCHIVED: frozenset(),
    CaseStatus.WITHDRAWN: frozenset({CaseStatus.ARCHIVED}),
}


# How a case was closed by its center (the resident's withdrawal is "withdrawn").
OUTCOMES = ("mediated", "to_court_or_arbitration", "referred", "not_accepted")
OUTCOME_LABELS: dict[str, str] = {
    "mediated": "调解成功",
    "to_court_or_arbitration": "引导诉讼或仲裁",
    "referred": "转办部门",
    "not_accepted": "不予受理",
}
# The resident's rating of a resolved case, best first.
RATINGS = ("satisfied", "fairly_satisfied", "dissatisfied")
# The channel of a case a mediator registered for a resident who came in person
# or called (兜底受理): there is nowhere to send messages to.
WALK_IN = "walk-in"


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
class CaseDraft:
    """What the report dialog collected; the case service routes it and sets the deadline."""

    channel: str
    user_id: str
    category: str
    description: str
    region_code: str
    location_text: str
    location_method: str  # picker | search | gps | link
    lat: float | None = None
    lon: float | None = None
    phone: str | None = None
    urgent: bool = False
    transcript_from: int | None = None
    attachments: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Case:
    """One case. This class is the schema: the storage layer maps its fields to columns
    one to one, so a new field needs only a migration besides this line."""

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
    assignee: str | None  # the mediator holding the case (claimed or in progress)
    first_reply_at: datetime | None = None  # a mediator's first message to the resident
    rating: str | None = None  # satisfied | fairly_satisfied | dissatisfied
    rating_comment: str | None = None
    rated_at: datetime | None = None
    followup_due_at: datetime | None = None  # when the 回访 message goes out
    followed_up_at: datetime | None = None
    archive_due_at: datetime | None = None  # resolved cases are filed after a while
    overdue_flagged_at: datetime | None = None  # overdue at the top of the ladder


@dataclass(frozen=True)
class CaseEvent:
    """One line of the append-only audit trail."""

    kind: str  # received | assigned | claimed | escalated | transferred | resolved | …
    from_status: CaseStatus | None
    to_status: CaseStatus | None
    actor: str  # resident | system | mediator:<id>
    detail: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class CaseMessage:
    """Something the resident or a mediator said about a case."""

    id: int
    case_id: int
    author: str  # resident | mediator:<id> | system
    body: str
    attachments: list[dict[str, str]]
    at: datetime
    kind: str = "message"  # message (to or from the resident) | note | supervision (督办)
    author_name: str | None = None
    outbox_id: int | None = None  # the outbox entry that carries it to the resident
