"""The case service: the one place that changes a case.

Creation (with the first message and audit events), every status change as
a compare-and-set, claims, and reassignment to another center (escalation
up the 四级七天 ladder, or a transfer) with the new level and deadline. The
store only persists. Messages to the resident are queued in the outbox in
the same transaction, addressed to the resident's channel, which this
module knows only by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.clock import Clock
from common.messages import Outbound
from common.outbox import Destination

from ._cases import Case, CaseDraft, CaseEvent, CaseStatus, check_transition
from ._deadlines import DeadlinePolicy
from ._directory import CenterDirectory
from ._model import Center
from ._ports import CaseStore, CaseWrites

__all__ = ["CaseConflict", "CaseNotFound", "CaseService", "resident_destination"]


class CaseNotFound(LookupError):
    def __init__(self, number: str) -> None:
        self.number = number
        super().__init__(f"no case {number}")


class CaseConflict(Exception):
    """The case is no longer as the caller saw it: someone else acted first."""

    def __init__(self, case: Case, expected: CaseStatus) -> None:
        self.case = case
        self.current = case.status
        self.holder = case.assignee
        who = f", held by {case.assignee}" if case.assignee else ""
        super().__init__(
            f"case {case.number} is {case.status.value}{who}, not {expected.value} any more"
        )


def resident_destination(case: Case) -> Destination:
    return Destination(case.channel, case.user_id)


@dataclass(frozen=True)
class _Change:
    wanted: CaseStatus
    kind: str
    actor: str
    detail: dict[str, Any]
    fields: dict[str, Any]


class CaseService:
    def __init__(
        self,
        store: CaseStore,
        directory: CenterDirectory,
        policy: DeadlinePolicy,
        clock: Clock,
    ) -> None:
        self.store = store
        self.directory = directory
        self.policy = policy
        self.clock = clock

    async def open(self, w: CaseWrites, draft: CaseDraft, now: datetime) -> tuple[Case, Center]:
        """Create a case inside the caller's transaction: routed, with its deadline,
        its first message and the audit events received → assigned."""
        route = self.directory.route(draft.region_code, draft.category)
        center = route.center
        level = self.policy.level_of(center, self.directory)
        case = await w.insert_case(
            Case(
                id=0,
                number="",
                channel=draft.channel,
                user_id=draft.user_id,
                category=draft.category,
                description=draft.description,
                region_code=draft.region_code,
                location_text=draft.location_text,
                location_method=draft.location_method,
                lat=draft.lat,
                lon=draft.lon,
                phone=draft.phone,
                center_id=center.id,
                center_name=center.name,
                level=level.value,
                status=CaseStatus.ASSIGNED,
                urgent=draft.urgent,
                transcript_from=draft.transcript_from,
                created_at=now,
                updated_at=now,
                due_at=self.policy.due(center, self.directory, now),
                resolved_at=None,
                outcome=None,
                assignee=None,
            )
        )
        received = CaseEvent("received", None, CaseStatus.RECEIVED, "resident", {}, now)
        await w.add_case_event(case.id, received)
        assigned = CaseEvent(
            "assigned",
            CaseStatus.RECEIVED,
            CaseStatus.ASSIGNED,
            "system",
            {"center_id": center.id, "level": level.value},
            now,
        )
        await w.add_case_event(case.id, assigned)
        await w.add_case_message(
            case.id, "resident", draft.description, list(draft.attachments), None, now
        )
        return case, center

    async def claim(self, number: str, mediator: str, seen: CaseStatus) -> Case:
        """Take a case from its center's queue; exactly one of concurrent claims wins."""
        return await self.change(
            number,
            seen,
            CaseStatus.CLAIMED,
            kind="claimed",
            actor=f"mediator:{mediator}",
            fields={"assignee": mediator},
        )

    async def change(
        self,
        number: str,
        seen: CaseStatus,
        wanted: CaseStatus,
        *,
        kind: str,
        actor: str,
        detail: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
        notice: Outbound | None = None,
    ) -> Case:
        """Move a case from ``seen`` to ``wanted`` if nobody moved it first.

        Raises ``CaseConflict`` naming the current status and holder otherwise,
        ``IllegalTransition`` for a move the lifecycle does not allow.
        ``notice`` is queued to the resident in the same transaction.
        """
        change = _Change(wanted, kind, actor, dict(detail or {}), dict(fields or {}))
        async with self.store.transaction() as w:
            return await self._apply(w, number, seen, change, notice)

    async def withdraw(
        self, w: CaseWrites, number: str, seen: CaseStatus, reason: str, now: datetime
    ) -> Case:
        """The resident takes an open case back, inside the caller's transaction;
        the reason goes to the audit trail, where the center sees it."""
        change = _Change(
            CaseStatus.WITHDRAWN,
            "withdrawn",
            "resident",
            {"reason": reason},
            {"assignee": None, "resolved_at": now, "outcome": "withdrawn"},
        )
        return await self._apply(w, number, seen, change, None)

    async def reassign(
        self,
        number: str,
        seen: CaseStatus,
        to: Center,
        *,
        kind: str,
        actor: str,
        reason: str,
        notice: Outbound | None = None,
    ) -> Case:
        """Hand a case to another center (``kind`` escalated or transferred):
        back in that center's queue with its level's deadline, counted from now."""
        now = self.clock()
        level = self.policy.level_of(to, self.directory)
        change = _Change(
            CaseStatus.ASSIGNED,
            kind,
            actor,
            {"center_id": to.id, "level": level.value, "reason": reason},
            {
                "center_id": to.id,
                "center_name": to.name,
                "level": level.value,
                "due_at": self.policy.due(to, self.directory, now),
                "assignee": None,
            },
        )
        async with self.store.transaction() as w:
            return await self._apply(w, number, seen, change, notice)

    async def escalate(self, number: str, seen: CaseStatus, *, actor: str, reason: str) -> Case:
        """Move a case one step up the ladder (raises ``NoHigherCenter`` at the top)."""
        case = await self._require(self.store, number)
        current = self.directory.center(case.center_id)
        if current is None:
            msg = f"case {number}: center {case.center_id} is not in the directory"
            raise LookupError(msg)
        target = self.policy.next_center(current, self.directory)
        return await self.reassign(
            number, seen, target, kind="escalated", actor=actor, reason=reason
        )

    async def _apply(
        self,
        w: CaseWrites,
        number: str,
        seen: CaseStatus,
        change: _Change,
        notice: Outbound | None,
    ) -> Case:
        case = await self._require(w, number)
        if case.status != seen:
            raise CaseConflict(case, seen)
        check_transition(number, seen, change.wanted)
        now = self.clock()
        fields = {"status": change.wanted, "updated_at": now, **change.fields}
        updated = await w.update_case(case.id, seen, fields)
        if updated is None:  # moved between our read and our write
            latest = await self._require(w, number)
            raise CaseConflict(latest, seen)
        event = CaseEvent(change.kind, seen, change.wanted, change.actor, change.detail, now)
        await w.add_case_event(case.id, event)
        if notice is not None:
            await w.enqueue(resident_destination(updated), notice, now)
        return updated

    @staticmethod
    async def _require(reads: CaseStore | CaseWrites, number: str) -> Case:
        case = await reads.case_by_number(number)
        if case is None:
            raise CaseNotFound(number)
        return case
