"""The case service: the one place that changes a case.

Creation (with the first message and audit events), every status change as
a compare-and-set, claims, replies and notes, reassignment to another center
(escalation up the 四级七天 ladder, or a transfer) with the new level and
deadline, closing with an outcome, the resident's rating, reopening, and
the scheduler's steps (``handoff._scheduler``). The store only persists.
Messages to the resident are queued in the outbox in the same transaction,
addressed to the resident's channel, which this module knows only by name;
a walk-in case (``WALK_IN``) has no channel, so nothing is queued for it.

Actors in the audit trail are ``resident``, ``system`` or ``mediator:<id>``;
methods taking ``actor``/``author`` expect that form, methods taking
``mediator`` the bare account id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from common.clock import Clock
from common.messages import Outbound
from common.metrics import ESCALATIONS, NO_METRICS, Metrics
from common.outbox import Destination

from ._cases import (
    OUTCOMES,
    RATINGS,
    WALK_IN,
    Case,
    CaseDraft,
    CaseEvent,
    CaseMessage,
    CaseStatus,
    check_transition,
)
from ._deadlines import DeadlinePolicy, NoHigherCenter
from ._directory import CenterDirectory
from ._model import Center
from ._notices import Notices, ResidentNotices
from ._ports import CaseFeed, CaseStore, CaseWrites
from ._scheduler import DeadlineReport, run_deadlines
from ._webhooks import webhook_calls

__all__ = ["CaseConflict", "CaseNotFound", "CaseService", "resident_destination"]

OVERDUE_REASON = "超过办理期限"
_HANDLING = (CaseStatus.CLAIMED, CaseStatus.IN_PROGRESS)
_CLOSED = (CaseStatus.RESOLVED, CaseStatus.RATED)


class CaseNotFound(LookupError):
    def __init__(self, number: str) -> None:
        self.number = number
        super().__init__(f"no case {number}")


class CaseConflict(Exception):
    """The case is no longer as the caller saw it: someone else acted first
    (or, with ``why``, the caller may not act on it as it is now)."""

    def __init__(self, case: Case, expected: CaseStatus, why: str | None = None) -> None:
        self.case = case
        self.current = case.status
        self.holder = case.assignee
        who = f", held by {case.assignee}" if case.assignee else ""
        super().__init__(
            f"case {case.number} is {case.status.value}{who}, "
            + (why or f"not {expected.value} any more")
        )


def resident_destination(case: Case) -> Destination:
    return Destination(case.channel, case.user_id)


NoticeFor = Callable[[Case], Outbound]  # built from the case as changed


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
        notices: Notices | None = None,
        followup_days: float = 7,
        archive_days: float = 30,
        case_link: Callable[[str], str] | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.directory = directory
        self.policy = policy
        self.clock = clock
        self.notices = ResidentNotices(notices)
        self.followup_after = timedelta(days=followup_days)
        self.archive_after = timedelta(days=archive_days)
        # The console page of a case, for webhook receivers (the service knows no URL).
        self.case_link = case_link or (lambda _number: "")
        # Followers of every change, told inside its transaction (a channel adds its
        # own when it starts: the Telegram groups of the centers).
        self.feeds: list[CaseFeed] = []

    # -- creation -------------------------------------------------------------

    async def open(
        self,
        w: CaseWrites,
        draft: CaseDraft,
        now: datetime,
        *,
        center: Center | None = None,
        received_by: str = "resident",
    ) -> tuple[Case, Center]:
        """Create a case inside the caller's transaction: routed (or given to
        ``center``), with its deadline, its first message and the audit events
        received → assigned."""
        if center is None:
            center = self.directory.route(draft.region_code, draft.category).center
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
        detail = {"channel": draft.channel} if draft.channel == WALK_IN else {}
        received = CaseEvent("received", None, CaseStatus.RECEIVED, received_by, detail, now)
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
        created = CaseEvent("created", None, CaseStatus.ASSIGNED, received_by, {}, now)
        await self._notify_webhooks(w, case, created)
        await self._notify_feeds(w, case, created)
        return case, center

    async def register_walk_in(
        self, draft: CaseDraft, mediator: str, name: str, *, center_id: str | None = None
    ) -> Case:
        """兜底受理: a mediator registers the matter of a resident who came in person
        or called, and holds it (claimed). It goes to ``center_id`` (the mediator's
        center) when given, else where the place and category route it. The case
        lives as any other, but nothing is queued to the resident: there is no
        channel to send to."""
        user_id = draft.user_id or draft.phone or f"walk-in-{uuid.uuid4().hex[:12]}"
        draft = replace(draft, channel=WALK_IN, user_id=user_id)
        center = self._center(center_id) if center_id is not None else None
        actor = f"mediator:{mediator}"
        async with self.store.transaction() as w:
            now = self.clock()
            case, _ = await self.open(w, draft, now, center=center, received_by=actor)
            claim = _Change(
                CaseStatus.CLAIMED,
                "claimed",
                actor,
                {"walk_in": True, "name": name},
                {"assignee": mediator},
            )
            return await self._apply(w, case.number, CaseStatus.ASSIGNED, claim, None, now)

    # -- mediators at work ----------------------------------------------------

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

    async def reply(
        self,
        number: str,
        mediator: str,
        name: str,
        text: str,
        attachments: Sequence[dict[str, str]] = (),
        *,
        origin: str | None = None,
    ) -> Case:
        """The assignee's message to the resident: stored on the case and queued to
        the resident in one transaction (the case message keeps its outbox id, so
        its delivery can be shown). The first reply moves CLAIMED → IN_PROGRESS.
        ``origin``: where it was written, when not in the console (see ``CaseFeed``)."""
        actor = f"mediator:{mediator}"
        async with self.store.transaction() as w:
            now = self.clock()
            case = await self._require(w, number)
            if case.status not in _HANDLING:
                raise CaseConflict(case, CaseStatus.IN_PROGRESS, "not being handled")
            if case.assignee != mediator:
                raise CaseConflict(case, case.status, f"not held by {mediator}")
            fields: dict[str, Any] = {"updated_at": now}
            first = case.status is CaseStatus.CLAIMED
            if first:
                fields.update(status=CaseStatus.IN_PROGRESS, first_reply_at=now)
            updated = await w.update_case(case.id, case.status, fields)  # compare-and-set
            if updated is None:
                raise CaseConflict(await self._require(w, number), case.status)
            if first:
                event = CaseEvent(
                    "replied", case.status, CaseStatus.IN_PROGRESS, actor, {"name": name}, now
                )
                await w.add_case_event(case.id, event)
            outbox_id = await self._tell(w, updated, self.notices.reply(updated, name, text), now)
            await self._add_message(
                w,
                updated,
                CaseMessage(
                    0,
                    case.id,
                    actor,
                    text,
                    [dict(a) for a in attachments],
                    now,
                    "message",
                    name,
                    outbox_id,
                ),
                origin=origin,
            )
            return await self._require(w, number)

    async def add_resident_message(
        self,
        w: CaseWrites,
        case: Case,
        text: str,
        attachments: Sequence[dict[str, str]],
        inbound_id: int | None,
        now: datetime,
    ) -> int:
        """What the resident adds to an open case, inside the dialog turn's transaction."""
        message = CaseMessage(0, case.id, "resident", text, [dict(a) for a in attachments], now)
        return await self._add_message(w, case, message, inbound_id=inbound_id)

    async def note(
        self, number: str, author: str, name: str, text: str, *, origin: str | None = None
    ) -> None:
        """An internal note on the case, for the center only; never sent to the resident."""
        await self._annotate(number, author, name, text, kind="note", event="note", origin=origin)

    async def supervise(self, number: str, author: str, name: str, text: str) -> None:
        """督办: a higher center's instruction on the case, shown to its handlers."""
        await self._annotate(number, author, name, text, kind="supervision", event="supervised")

    async def _annotate(
        self,
        number: str,
        author: str,
        name: str,
        text: str,
        *,
        kind: str,
        event: str,
        origin: str | None = None,
    ) -> None:
        async with self.store.transaction() as w:
            now = self.clock()
            case = await self._require(w, number)
            message = CaseMessage(0, case.id, author, text, [], now, kind, name)
            message_id = await self._add_message(w, case, message, origin=origin)
            detail = {"message_id": message_id, "name": name}
            audit = CaseEvent(event, None, None, author, detail, now)
            await w.add_case_event(case.id, audit)
            await self._notify_webhooks(w, case, audit)

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
            return await self._apply(w, number, seen, change, _fixed(notice))

    # -- moving between centers -----------------------------------------------

    async def reassign(
        self,
        number: str,
        seen: CaseStatus,
        to: Center,
        *,
        kind: str,
        actor: str,
        reason: str,
        notice: Outbound | NoticeFor | None = None,
        unless: Callable[[Case], bool] | None = None,
    ) -> Case:
        """Hand a case to another center (``kind`` escalated or transferred):
        back in that center's queue with its level's deadline, counted from now.
        ``unless``: a last look inside the transaction (the case as it is now);
        when it holds, ``CaseConflict`` and nothing changes."""
        now = self.clock()
        change = self._move_to(to, kind, actor, reason, now)
        notice_for = notice if callable(notice) else _fixed(notice)
        async with self.store.transaction() as w:
            moved = await self._apply(w, number, seen, change, notice_for, now, unless=unless)
        if kind == "escalated":
            self.metrics.count(ESCALATIONS, by="system" if actor == "system" else "mediator")
        return moved

    async def transfer(
        self, number: str, seen: CaseStatus, to_center_id: str, actor: str, reason: str
    ) -> Case:
        """Hand a case to another center or committee by hand (the wrong place, a
        specialised committee); the resident is told where it went."""
        to = self._center(to_center_id)
        return await self.reassign(
            number,
            seen,
            to,
            kind="transferred",
            actor=actor,
            reason=reason,
            notice=self.notices.transferred,
        )

    async def escalate(self, number: str, seen: CaseStatus, *, actor: str, reason: str) -> Case:
        """Move a case one step up the ladder (raises ``NoHigherCenter`` at the top);
        the resident is told in plain words."""
        case = await self._require(self.store, number)
        target = self.policy.next_center(self._center(case.center_id), self.directory)
        return await self.reassign(
            number,
            seen,
            target,
            kind="escalated",
            actor=actor,
            reason=reason,
            notice=self.notices.escalated,
        )

    def _move_to(self, to: Center, kind: str, actor: str, reason: str, now: datetime) -> _Change:
        level = self.policy.level_of(to, self.directory)
        return _Change(
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
                "overdue_flagged_at": None,
            },
        )

    # -- closing, rating, reopening -------------------------------------------

    async def resolve(
        self, number: str, seen: CaseStatus, actor: str, outcome: str, note: str
    ) -> Case:
        """Close a case with an outcome (``OUTCOMES``); ``note`` (the reason, for
        不予受理) is told to the resident with the outcome and the rating request.
        The follow-up and the archiving are scheduled from now."""
        if outcome not in OUTCOMES:
            msg = f"unknown outcome {outcome!r}; expected one of {OUTCOMES}"
            raise ValueError(msg)
        now = self.clock()
        change = _Change(
            CaseStatus.RESOLVED,
            "resolved",
            actor,
            {"outcome": outcome, "note": note},
            {
                "resolved_at": now,
                "outcome": outcome,
                "followup_due_at": now + self.followup_after,
                "followed_up_at": None,
                "archive_due_at": now + self.archive_after,
                "overdue_flagged_at": None,
            },
        )
        async with self.store.transaction() as w:
            return await self._apply(
                w, number, seen, change, lambda c: self.notices.resolved(c, note), now
            )

    async def rate(
        self, w: CaseWrites, number: str, rating: str, comment: str | None, now: datetime
    ) -> Case:
        """The resident's rating (``RATINGS``), inside the dialog turn's transaction."""
        if rating not in RATINGS:
            msg = f"unknown rating {rating!r}; expected one of {RATINGS}"
            raise ValueError(msg)
        comment = (comment or "").strip() or None
        change = _Change(
            CaseStatus.RATED,
            "rated",
            "resident",
            {"rating": rating, "comment": comment},
            {"rating": rating, "rating_comment": comment, "rated_at": now},
        )
        return await self._apply(w, number, CaseStatus.RESOLVED, change, None, now)

    async def comment_on_rating(
        self, w: CaseWrites, number: str, comment: str, now: datetime
    ) -> Case:
        """The resident's words after rating (the rating itself was kept at the tap)."""
        case = await self._require(w, number)
        updated = await w.update_case(
            case.id, CaseStatus.RATED, {"rating_comment": comment.strip(), "updated_at": now}
        )
        if updated is None:
            raise CaseConflict(case, CaseStatus.RATED)
        event = CaseEvent("rating_comment", CaseStatus.RATED, CaseStatus.RATED, "resident", {}, now)
        await w.add_case_event(case.id, event)
        return updated

    async def reopen(
        self,
        w: CaseWrites | None,
        number: str,
        seen: CaseStatus,
        actor: str,
        reason: str,
        *,
        escalate: bool = False,
    ) -> Case:
        """A resolved case is not settled after all: back in the queue of its center
        with a new deadline, or of the next center up (``escalate``; raises
        ``NoHigherCenter`` at the top). Inside the caller's transaction when ``w``
        is given (the resident's own dialog turn, which answers them itself);
        otherwise in its own, and the resident is told."""
        if w is None:
            async with self.store.transaction() as own:
                return await self._reopen(own, number, seen, actor, reason, escalate, tell=True)
        return await self._reopen(w, number, seen, actor, reason, escalate, tell=False)

    async def _reopen(
        self,
        w: CaseWrites,
        number: str,
        seen: CaseStatus,
        actor: str,
        reason: str,
        escalate: bool,
        *,
        tell: bool,
    ) -> Case:
        now = self.clock()
        case = await self._require(w, number)
        center = self._center(case.center_id)
        to = self.policy.next_center(center, self.directory) if escalate else center
        change = self._move_to(to, "reopened", actor, reason, now)
        change.detail["escalated"] = escalate
        change.fields.update(
            resolved_at=None,
            outcome=None,
            followup_due_at=None,
            followed_up_at=None,
            archive_due_at=None,
        )
        notice = self.notices.reopened if tell else None
        return await self._apply(w, number, seen, change, notice, now)

    async def followup_answered(
        self, w: CaseWrites, number: str, answer: str, now: datetime
    ) -> None:
        """The resident said the matter stays settled (回访: ``ok``); for the statistics."""
        case = await self._require(w, number)
        event = CaseEvent("followup_answered", None, None, "resident", {"answer": answer}, now)
        await w.add_case_event(case.id, event)

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
            {
                "assignee": None,
                "resolved_at": now,
                "outcome": "withdrawn",
                "archive_due_at": now + self.archive_after,
            },
        )
        return await self._apply(w, number, seen, change, None, now)

    # -- the scheduler's steps (see handoff._scheduler) -----------------------

    async def run_deadlines(self) -> DeadlineReport:
        """One pass of the scheduler: overdue cases escalate (or are flagged at the
        top), follow-ups due go out, closed cases due are archived. Idempotent:
        a second pass at the same moment changes nothing."""
        return await run_deadlines(self, self.clock())

    async def escalate_overdue(self, case: Case, now: datetime) -> Case | None:
        """An overdue case moves up the ladder, the resident told in plain words;
        at the top it is flagged once instead. None when it is no longer overdue."""

        def settled(current: Case) -> bool:
            return current.due_at > now or current.overdue_flagged_at is not None

        try:
            target = self.policy.next_center(self._center(case.center_id), self.directory)
        except (NoHigherCenter, LookupError):
            return await self._flag_overdue(case, now)
        try:
            return await self.reassign(
                case.number,
                case.status,
                target,
                kind="escalated",
                actor="system",
                reason=OVERDUE_REASON,
                notice=self.notices.overdue,
                unless=settled,
            )
        except CaseConflict:
            return None

    async def _flag_overdue(self, case: Case, now: datetime) -> Case | None:
        async with self.store.transaction() as w:
            current = await self._require(w, case.number)
            if not current.status.is_open or current.due_at > now:
                return None
            if current.overdue_flagged_at is not None:
                return None
            flagged = await w.update_case(current.id, current.status, {"overdue_flagged_at": now})
            if flagged is None:
                return None
            detail = {"center_id": current.center_id, "due_at": current.due_at.isoformat()}
            event = CaseEvent("overdue_flagged", None, None, "system", detail, now)
            await w.add_case_event(current.id, event)
            return flagged

    async def follow_up(self, case: Case, now: datetime) -> Case | None:
        """回访: ask the resident whether the matter stays settled, once per resolution."""
        async with self.store.transaction() as w:
            current = await self._require(w, case.number)
            due = current.followup_due_at
            if current.status not in _CLOSED or current.followed_up_at is not None:
                return None
            if due is None or due > now:
                return None
            updated = await w.update_case(current.id, current.status, {"followed_up_at": now})
            if updated is None:
                return None
            sent = await self._tell(w, updated, self.notices.followup(updated), now)
            event = CaseEvent("followed_up", None, None, "system", {"sent": sent is not None}, now)
            await w.add_case_event(current.id, event)
            return updated

    async def archive(self, case: Case, now: datetime) -> Case | None:
        """File a closed case whose time has come."""

        def not_due(current: Case) -> bool:
            return current.archive_due_at is None or current.archive_due_at > now

        change = _Change(CaseStatus.ARCHIVED, "archived", "system", {}, {})
        try:
            async with self.store.transaction() as w:
                return await self._apply(
                    w, case.number, case.status, change, None, now, unless=not_due
                )
        except CaseConflict:
            return None

    # -- internals ------------------------------------------------------------

    async def _apply(
        self,
        w: CaseWrites,
        number: str,
        seen: CaseStatus,
        change: _Change,
        notice: NoticeFor | None,
        now: datetime | None = None,
        *,
        unless: Callable[[Case], bool] | None = None,
    ) -> Case:
        case = await self._require(w, number)
        if case.status != seen or (unless is not None and unless(case)):
            raise CaseConflict(case, seen)
        check_transition(number, seen, change.wanted)
        now = now or self.clock()
        fields = {"status": change.wanted, "updated_at": now, **change.fields}
        updated = await w.update_case(case.id, seen, fields)
        if updated is None:  # moved between our read and our write
            latest = await self._require(w, number)
            raise CaseConflict(latest, seen)
        event = CaseEvent(change.kind, seen, change.wanted, change.actor, change.detail, now)
        await w.add_case_event(case.id, event)
        await self._notify_webhooks(w, updated, event, previous=case)
        await self._notify_feeds(w, updated, event, previous=case)
        if notice is not None:
            await self._tell(w, updated, notice(updated), now)
        return updated

    async def _notify_webhooks(
        self, w: CaseWrites, case: Case, event: CaseEvent, previous: Case | None = None
    ) -> None:
        """Queue the event to the outside systems of the case's center(s), in this
        transaction: it goes out exactly when the change is committed."""
        for destination, call in webhook_calls(
            self.directory, case, event, self.case_link, previous
        ):
            await w.enqueue(destination, call, event.at)

    async def _notify_feeds(
        self, w: CaseWrites, case: Case, event: CaseEvent, previous: Case | None = None
    ) -> None:
        for feed in self.feeds:
            await feed.case_event(w, case, event, previous)

    async def _add_message(
        self,
        w: CaseWrites,
        case: Case,
        message: CaseMessage,
        *,
        inbound_id: int | None = None,
        origin: str | None = None,
    ) -> int:
        """Store a message on the case and tell the feeds, in the caller's transaction."""
        message_id = await w.add_case_message(
            message.case_id,
            message.author,
            message.body,
            message.attachments,
            inbound_id,
            message.at,
            kind=message.kind,
            author_name=message.author_name,
            outbox_id=message.outbox_id,
        )
        for feed in self.feeds:
            await feed.case_message(w, case, replace(message, id=message_id), origin)
        return message_id

    @staticmethod
    async def _tell(w: CaseWrites, case: Case, message: Outbound, now: datetime) -> int | None:
        """Queue a message to the resident; the outbox id, or None for a walk-in case."""
        if case.channel == WALK_IN:
            return None
        return await w.enqueue(resident_destination(case), message, now)

    def _center(self, center_id: str) -> Center:
        center = self.directory.center(center_id)
        if center is None:
            msg = f"center {center_id} is not in the directory"
            raise LookupError(msg)
        return center

    @staticmethod
    async def _require(reads: CaseStore | CaseWrites, number: str) -> Case:
        case = await reads.case_by_number(number)
        if case is None:
            raise CaseNotFound(number)
        return case


def _fixed(notice: Outbound | None) -> NoticeFor | None:
    return None if notice is None else (lambda _case: notice)
