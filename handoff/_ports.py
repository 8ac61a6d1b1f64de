"""What the case service needs from storage (SQL and in-memory adapters implement it).

The store only persists: it never decides whether a change is allowed.
``update_case`` is a compare-and-set, so two mediators acting on the same
case at once cannot both succeed, whatever the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from common.outbox import OutboxWrites

from ._cases import Case, CaseEvent, CaseMessage, CaseStatus

__all__ = ["CaseFeed", "CaseReads", "CaseStore", "CaseWrites", "case_topic", "center_topic"]


def case_topic(case_id: int) -> str:
    """Live-update topic published after any change to the case (common.notify)."""
    return f"case:{case_id}"


def center_topic(center_id: str) -> str:
    """Live-update topic published after any change to a case of the center."""
    return f"center:{center_id}"


class CaseReads(Protocol):
    async def case_by_number(self, number: str) -> Case | None: ...
    async def case_by_id(self, case_id: int) -> Case | None: ...
    async def cases_for_resident(self, channel: str, user_id: str) -> list[Case]: ...
    async def case_messages(self, case_id: int) -> list[CaseMessage]: ...


class CaseWrites(CaseReads, OutboxWrites, Protocol):
    async def insert_case(self, case: Case) -> Case:
        """Store a new case; its ``id`` and ``number`` are assigned here."""
        ...

    async def update_case(
        self, case_id: int, expected: CaseStatus, changes: Mapping[str, Any]
    ) -> Case | None:
        """Apply ``changes`` only if the case is still in status ``expected``;
        the updated case, or None when it was not."""
        ...

    async def add_case_event(self, case_id: int, event: CaseEvent) -> None: ...

    async def add_case_message(
        self,
        case_id: int,
        author: str,
        body: str,
        attachments: list[dict[str, str]],
        inbound_id: int | None,
        now: datetime,
        *,
        kind: str = "message",
        author_name: str | None = None,
        outbox_id: int | None = None,
    ) -> int: ...


class CaseStore(CaseReads, Protocol):
    def transaction(self) -> AbstractAsyncContextManager[CaseWrites]: ...
    async def case_events(self, case_id: int) -> list[CaseEvent]: ...
    async def cases_due(self, now: datetime, limit: int) -> list[Case]:
        """Open cases whose deadline has passed and that are not flagged overdue
        (at the top of the ladder) yet, earliest deadline first."""
        ...

    async def cases_followup_due(self, now: datetime, limit: int) -> list[Case]:
        """Resolved or rated cases whose 回访 is due and not sent yet, earliest first."""
        ...

    async def cases_archive_due(self, now: datetime, limit: int) -> list[Case]:
        """Resolved, rated or withdrawn cases due to be archived, earliest first."""
        ...


class CaseFeed(Protocol):
    """Something that follows cases as they change (a center's group of mediators on a
    messaging platform). It is called inside the change's transaction, so whatever it
    queues goes out exactly when the change is committed, never without it."""

    async def case_event(
        self, w: CaseWrites, case: Case, event: CaseEvent, previous: Case | None
    ) -> None:
        """An audit event; ``previous`` is the case before the change, when it changed."""
        ...

    async def case_message(
        self, w: CaseWrites, case: Case, message: CaseMessage, origin: str | None
    ) -> None:
        """A message on the case (the resident's, a mediator's reply, a note, a 督办);
        ``origin`` names where it was written when that was not the console (a feed
        does not echo a message back to where it came from)."""
        ...
