"""The storage ports in memory: the same behaviour as the SQL store, no database.

For dialog tests that run thousands of turns in milliseconds, and as the
second entry of the storage contract suite. A transaction holds one lock
and works on a copy of the tables that replaces them only when the block
ends without an exception, so a failed turn leaves nothing behind, as in SQL.
"""

from __future__ import annotations

import asyncio
import copy
import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from common.delivery import OUTBOX_TOPIC
from common.messages import Inbound, Outbound
from common.outbox import Destination, FileToFetch, OutboxEntry, OutboxRecord, OutboxState
from dialogs import FaqMiss, Sent, StoredMessage
from handoff import (
    Case,
    CaseEvent,
    CaseMessage,
    CaseStatus,
    case_number,
    case_topic,
    center_topic,
)

__all__ = ["MemoryStore"]

_WAITING = (OutboxState.PENDING, OutboxState.RETRYING)
_CLOSED = (CaseStatus.RESOLVED, CaseStatus.RATED)
_ARCHIVABLE = (*_CLOSED, CaseStatus.WITHDRAWN)


@dataclass
class _InRow:
    id: int
    msg: Inbound
    received_at: datetime
    processed_at: datetime | None = None


@dataclass
class _OutRow:
    id: int
    destination: Destination
    inbound_id: int | None
    body: dict[str, Any]
    created_at: datetime
    state: OutboxState
    delivered_at: datetime | None
    attempts: int = 0
    resends: int = 0
    next_attempt_at: datetime | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    sending_at: datetime | None = None
    last_error: str | None = None


@dataclass
class _MissRow:
    id: int
    query: str
    reason: str
    best_id: str | None
    best_score: float | None
    resident: tuple[str, str] | None = None  # (channel, user_id), for retention
    created_at: datetime | None = None


@dataclass
class _FaqQuestionRow:
    id: int
    channel: str
    user_id: str
    query: str
    decision: str
    entry_id: str | None
    region_code: str | None
    asked_at: datetime
    feedback: list[tuple[str, str | None, datetime]] = field(default_factory=list)


@dataclass
class _Tables:
    conversations: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    inbound: dict[int, _InRow] = field(default_factory=dict)
    inbound_keys: dict[tuple[str, str, str], int] = field(default_factory=dict)
    outbound: dict[int, _OutRow] = field(default_factory=dict)
    cases: dict[int, Case] = field(default_factory=dict)
    case_messages: list[CaseMessage] = field(default_factory=list)
    case_events: list[tuple[int, CaseEvent]] = field(default_factory=list)
    faq_misses: list[_MissRow] = field(default_factory=list)
    faq_questions: dict[int, _FaqQuestionRow] = field(default_factory=dict)
    uploads: set[tuple[str, str, str]] = field(default_factory=set)
    unreachable: set[Destination] = field(default_factory=set)
    seen: set[tuple[str, str]] = field(default_factory=set)
    files: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    # name → (token, expires at), and the end of a refresh claimed by an instance
    tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    token_claims: dict[str, datetime] = field(default_factory=dict)
    purged: dict[int, datetime] = field(default_factory=dict)  # case id → retention ran
    next_id: dict[str, int] = field(default_factory=dict)

    def new_id(self, table: str) -> int:
        self.next_id[table] = self.next_id.get(table, 0) + 1
        return self.next_id[table]


class _Reads:
    _t: _Tables

    async def conversation(self, channel: str, user_id: str) -> tuple[str, dict[str, Any]] | None:
        found = self._t.conversations.get((channel, user_id))
        return (found[0], copy.deepcopy(found[1])) if found else None

    async def cases_for_resident(self, channel: str, user_id: str) -> list[Case]:
        return [
            c
            for c in sorted(self._t.cases.values(), key=lambda c: -c.id)
            if (c.channel, c.user_id) == (channel, user_id)
        ]

    async def case_by_number(self, number: str) -> Case | None:
        return next((c for c in self._t.cases.values() if c.number == number), None)

    async def case_by_id(self, case_id: int) -> Case | None:
        return self._t.cases.get(case_id)

    async def case_messages(self, case_id: int) -> list[CaseMessage]:
        return [m for m in self._t.case_messages if m.case_id == case_id]


class MemoryWrites(_Reads):
    def __init__(self, tables: _Tables) -> None:
        self._t = tables
        self.topics: set[str] = set()

    async def record_inbound(self, msg: Inbound, now: datetime) -> int | None:
        key = None
        if msg.platform_msg_id is not None:
            key = (msg.channel, msg.user_id, msg.platform_msg_id)
        if key is not None and key in self._t.inbound_keys:
            return None
        row_id = self._t.new_id("inbound")
        self._t.inbound[row_id] = _InRow(row_id, msg, now)
        if key is not None:
            self._t.inbound_keys[key] = row_id
        return row_id

    async def record_inbound_and_take(self, msg: Inbound, now: datetime) -> tuple[int, bool] | None:
        waiting = any(
            row.processed_at is None
            and (row.msg.channel, row.msg.user_id) == (msg.channel, msg.user_id)
            for row in self._t.inbound.values()
        )
        row_id = await self.record_inbound(msg, now)
        if row_id is None:
            return None
        if not waiting:
            self._t.inbound[row_id].processed_at = now
        return row_id, not waiting

    async def put_back_inbound(self, inbound_id: int) -> None:
        self._t.inbound[inbound_id].processed_at = None

    async def take_inbound(self, inbound_id: int, now: datetime) -> bool:
        row = self._t.inbound[inbound_id]
        if row.processed_at is not None:
            return False
        row.processed_at = now
        return True

    async def turn_is_free(self, channel: str, user_id: str) -> bool:
        return True  # the store's lock is held by this transaction alone

    async def take_next_inbound(
        self, channel: str, user_id: str, up_to: int, now: datetime
    ) -> tuple[int, Inbound | None] | None:
        # One transaction at a time holds the store's lock: the resident's turn too.
        for row in self._t.inbound.values():
            if row.id > up_to:
                break
            if row.processed_at is None and (row.msg.channel, row.msg.user_id) == (
                channel,
                user_id,
            ):
                row.processed_at = now
                return row.id, None if row.id == up_to else row.msg
        return None

    async def save_conversation(
        self, channel: str, user_id: str, state: str, data: dict[str, Any], now: datetime
    ) -> None:
        self._t.conversations[(channel, user_id)] = (state, copy.deepcopy(data))

    async def enqueue(
        self,
        destination: Destination,
        message: Outbound,
        now: datetime,
        *,
        inbound_id: int | None = None,
        delivered: bool = False,
    ) -> int:
        row_id = self._t.new_id("outbound")
        self._t.outbound[row_id] = _OutRow(
            row_id,
            destination,
            inbound_id,
            message.to_json(),
            now,
            OutboxState.DELIVERED if delivered else OutboxState.PENDING,
            now if delivered else None,
        )
        self.topics.add(destination.topic)
        if not delivered:
            self.topics.add(OUTBOX_TOPIC)
        return row_id

    async def insert_case(self, case: Case) -> Case:
        case_id = self._t.new_id("cases")
        stored = replace(case, id=case_id, number=case_number(case_id, case.created_at))
        self._t.cases[case_id] = stored
        self._touched(stored)
        return stored

    async def update_case(
        self, case_id: int, expected: CaseStatus, changes: Mapping[str, Any]
    ) -> Case | None:
        case = self._t.cases.get(case_id)
        if case is None or case.status != expected:
            return None
        updated = replace(case, **changes)
        self._t.cases[case_id] = updated
        self._touched(updated)
        self.topics.add(center_topic(case.center_id))  # the center it may have left
        return updated

    async def add_case_event(self, case_id: int, event: CaseEvent) -> None:
        self._t.case_events.append((case_id, event))

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
    ) -> int:
        row_id = self._t.new_id("case_messages")
        self._t.case_messages.append(
            CaseMessage(
                row_id,
                case_id,
                author,
                body,
                copy.deepcopy(attachments),
                now,
                kind=kind,
                author_name=author_name,
                outbox_id=outbox_id,
            )
        )
        case = replace(self._t.cases[case_id], updated_at=now)
        self._t.cases[case_id] = case
        self._touched(case)
        return row_id

    def _touched(self, case: Case) -> None:
        self.topics.update((case_topic(case.id), center_topic(case.center_id)))

    async def log_faq_miss(
        self,
        channel: str,
        user_id: str,
        query: str,
        reason: str,
        best_id: str | None,
        best_score: float | None,
        now: datetime,
    ) -> None:
        row_id = self._t.new_id("faq_misses")
        self._t.faq_misses.append(
            _MissRow(row_id, query, reason, best_id, best_score, (channel, user_id), now)
        )

    async def log_faq_question(
        self,
        channel: str,
        user_id: str,
        query: str,
        decision: str,
        entry_id: str | None,
        region_code: str | None,
        now: datetime,
    ) -> int:
        row_id = self._t.new_id("faq_questions")
        self._t.faq_questions[row_id] = _FaqQuestionRow(
            row_id, channel, user_id, query, decision, entry_id, region_code, now
        )
        return row_id

    async def log_faq_feedback(
        self, question_id: int, kind: str, entry_id: str | None, now: datetime
    ) -> None:
        self._t.faq_questions[question_id].feedback.append((kind, entry_id, now))


class MemoryStore(_Reads):
    def __init__(self, *, on_commit: Callable[[set[str]], None] | None = None) -> None:
        self._t = _Tables()
        self._lock = asyncio.Lock()
        self._on_commit = on_commit

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryWrites]:
        async with self._lock:
            work = copy.deepcopy(self._t)
            writes = MemoryWrites(work)
            yield writes
            self._t = work  # commit: readers see all of it or none of it
        if writes.topics and self._on_commit is not None:
            self._on_commit(writes.topics)

    # -- dialogs ------------------------------------------------------------

    async def replies_to(self, channel: str, user_id: str, platform_msg_id: str) -> list[Sent]:
        inbound_id = self._t.inbound_keys.get((channel, user_id, platform_msg_id))
        if inbound_id is None:
            return []
        return [
            Sent(o.id, Outbound.from_json(o.body))
            for o in self._t.outbound.values()
            if o.inbound_id == inbound_id
        ]

    async def unprocessed_inbound(
        self, channel: str | None = None, user_id: str | None = None
    ) -> list[tuple[int, Inbound]]:
        return [
            (r.id, r.msg)
            for r in self._t.inbound.values()
            if r.processed_at is None
            and (channel is None or r.msg.channel == channel)
            and (user_id is None or r.msg.user_id == user_id)
        ]

    async def stalled_inbound(
        self, before: datetime, held_before: datetime
    ) -> list[tuple[int, Inbound]]:
        answered = {o.inbound_id for o in self._t.outbound.values()}
        return [
            (r.id, r.msg)
            for r in self._t.inbound.values()
            if r.processed_at is None
            and r.received_at < before
            and (r.received_at < held_before or r.id not in answered)
        ]

    async def outbound_after(self, channel: str, user_id: str, after: int) -> list[StoredMessage]:
        dest = Destination(channel, user_id)
        return [
            _out(o) for o in self._t.outbound.values() if o.destination == dest and o.id > after
        ]

    async def transcript(
        self, channel: str, user_id: str, since_inbound: int = 0
    ) -> list[StoredMessage]:
        ins = [
            r
            for r in self._t.inbound.values()
            if (r.msg.channel, r.msg.user_id) == (channel, user_id) and r.id >= since_inbound
        ]
        keyed: list[tuple[tuple[datetime, float, int], StoredMessage]] = [
            ((r.received_at, r.id, 0), _in(r)) for r in ins
        ]
        dest = Destination(channel, user_id)
        for o in self._t.outbound.values():
            if o.destination != dest:
                continue
            anchor = self._t.inbound.get(o.inbound_id) if o.inbound_id is not None else None
            if anchor is not None:
                if anchor.id >= since_inbound:
                    keyed.append(((anchor.received_at, anchor.id, o.id), _out(o)))
            else:
                keyed.append(((o.created_at, math.inf, o.id), _out(o)))
        return [message for _, message in sorted(keyed, key=lambda pair: pair[0])]

    async def faq_misses(self, limit: int = 100) -> list[FaqMiss]:
        groups: dict[tuple[str, str], list[_MissRow]] = {}
        for row in self._t.faq_misses:
            groups.setdefault((row.query, row.reason), []).append(row)
        ranked = sorted(groups.values(), key=lambda rows: (-len(rows), -rows[-1].id))
        return [
            FaqMiss(
                rows[0].query,
                rows[0].reason,
                max((r.best_id for r in rows if r.best_id), default=None),
                max((r.best_score for r in rows if r.best_score is not None), default=None),
                len(rows),
            )
            for rows in ranked[:limit]
        ]

    # -- channels -----------------------------------------------------------

    async def record_upload(
        self, channel: str, user_id: str, ref: str, kind: str, size: int, now: datetime
    ) -> None:
        self._t.uploads.add((channel, user_id, ref))

    async def uploaded_by(self, channel: str, user_id: str, ref: str) -> bool:
        return (channel, user_id, ref) in self._t.uploads

    async def service_secret(self, name: str, new_value: str, now: datetime) -> str:
        return self._t.secrets.setdefault(name, new_value)

    async def shared_token(self, name: str) -> tuple[str, datetime] | None:
        return self._t.tokens.get(name)

    async def claim_token_refresh(
        self, name: str, now: datetime, until: datetime, *, seen: str | None
    ) -> bool:
        async with self._lock:  # not lost under a transaction's copy of the tables
            claimed = self._t.token_claims.get(name)
            if claimed is not None and claimed >= now:
                return False
            stored = self._t.tokens.get(name)
            if (stored[0] if stored else None) != seen:
                return False
            self._t.token_claims[name] = until
            return True

    async def store_token(self, name: str, value: str, expires_at: datetime) -> None:
        async with self._lock:
            self._t.tokens[name] = (value, expires_at)
            self._t.token_claims.pop(name, None)

    async def release_token_refresh(self, name: str) -> None:
        async with self._lock:
            self._t.token_claims.pop(name, None)

    async def set_reachable(
        self, destination: Destination, reachable: bool, now: datetime, reason: str = ""
    ) -> None:
        if reachable:
            self._t.unreachable.discard(destination)
        else:
            self._t.unreachable.add(destination)

    async def is_reachable(self, destination: Destination) -> bool:
        return destination not in self._t.unreachable

    async def outbox_wake(self, destination: Destination, now: datetime) -> int:
        async with self._lock:
            woken = [
                r
                for r in self._t.outbound.values()
                if r.destination == destination
                and r.state is OutboxState.RETRYING
                and r.next_attempt_at is not None
                and r.next_attempt_at > now
            ]
            for row in woken:
                row.next_attempt_at = now
        if woken and self._on_commit is not None:
            self._on_commit({OUTBOX_TOPIC})
        return len(woken)

    async def first_sight(self, channel: str, key: str, now: datetime) -> bool:
        seen = (channel, key) in self._t.seen
        self._t.seen.add((channel, key))
        return not seen

    async def first_alert(self, account_id: int, case_id: int, kind: str, now: datetime) -> bool:
        return await self.first_sight("alert", f"{account_id}:{case_id}:{kind}", now)

    async def queue_file(self, channel: str, platform_ref: str, kind: str, now: datetime) -> None:
        self._t.files.setdefault(
            (channel, platform_ref),
            {"kind": kind, "state": "waiting", "attempts": 0, "local_ref": None, "at": now},
        )

    async def files_to_fetch(self, channel: str, limit: int) -> list[FileToFetch]:
        waiting = [
            (ref, f)
            for (ch, ref), f in self._t.files.items()
            if ch == channel and f["state"] == "waiting"
        ]
        waiting.sort(key=lambda item: item[1]["at"])
        return [FileToFetch(channel, ref, f["kind"], f["attempts"]) for ref, f in waiting[:limit]]

    async def file_fetched(
        self, channel: str, platform_ref: str, local_ref: str, size: int, now: datetime
    ) -> None:
        record = self._t.files[(channel, platform_ref)]
        record.update(state="fetched", local_ref=local_ref, attempts=record["attempts"] + 1)

    async def file_failed(
        self, channel: str, platform_ref: str, error: str, now: datetime, give_up: bool
    ) -> None:
        record = self._t.files[(channel, platform_ref)]
        record.update(state="failed" if give_up else "waiting", attempts=record["attempts"] + 1)

    async def local_file(self, channel: str, platform_ref: str) -> str | None:
        record = self._t.files.get((channel, platform_ref))
        return record["local_ref"] if record and record["state"] == "fetched" else None

    # -- cases --------------------------------------------------------------

    async def case_events(self, case_id: int) -> list[CaseEvent]:
        return [e for cid, e in self._t.case_events if cid == case_id]

    async def cases_due(self, now: datetime, limit: int) -> list[Case]:
        due = [
            c
            for c in self._t.cases.values()
            if c.status.is_open and c.due_at <= now and c.overdue_flagged_at is None
        ]
        return sorted(due, key=lambda c: (c.due_at, c.id))[:limit]

    async def cases_followup_due(self, now: datetime, limit: int) -> list[Case]:
        due = [
            (c.followup_due_at, c.id, c)
            for c in self._t.cases.values()
            if c.status in _CLOSED
            and c.followup_due_at is not None
            and c.followup_due_at <= now
            and c.followed_up_at is None
        ]
        return [c for _, _, c in sorted(due, key=lambda t: t[:2])][:limit]

    async def cases_archive_due(self, now: datetime, limit: int) -> list[Case]:
        due = [
            (c.archive_due_at, c.id, c)
            for c in self._t.cases.values()
            if c.status in _ARCHIVABLE and c.archive_due_at is not None and c.archive_due_at <= now
        ]
        return [c for _, _, c in sorted(due, key=lambda t: t[:2])][:limit]

    # -- outbox -------------------------------------------------------------

    async def lease_outbox(
        self, owner: str, channels: Sequence[str], now: datetime, until: datetime, limit: int
    ) -> list[OutboxEntry]:
        async with self._lock:
            blocked: set[Destination] = set()
            taken: list[_OutRow] = []
            for row in sorted(self._t.outbound.values(), key=lambda r: r.id):
                if row.state not in _WAITING or row.destination.channel not in channels:
                    continue
                if row.destination in blocked:
                    continue
                not_due = row.next_attempt_at is not None and row.next_attempt_at > now
                leased = row.lease_until is not None and row.lease_until >= now
                if not_due or leased:
                    blocked.add(row.destination)
                    continue
                if len(taken) < limit:
                    taken.append(row)
            for row in taken:
                row.lease_owner, row.lease_until = owner, until
            return [
                OutboxEntry(
                    r.id, r.destination, copy.deepcopy(r.body), r.attempts, r.sending_at is not None
                )
                for r in taken
            ]

    async def outbox_sending(self, entry_id: int, owner: str, now: datetime) -> bool:
        async with self._lock:
            row = self._t.outbound[entry_id]
            if row.lease_owner != owner or row.state not in _WAITING:
                return False
            if row.sending_at is not None:
                row.resends += 1
            row.sending_at, row.attempts = now, row.attempts + 1
            return True

    async def outbox_outcome(
        self,
        entry_id: int,
        owner: str,
        state: OutboxState,
        now: datetime,
        *,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        async with self._lock:
            row = self._t.outbound[entry_id]
            if row.lease_owner != owner:
                return
            row.state = state
            row.delivered_at = now if state is OutboxState.DELIVERED else None
            row.next_attempt_at, row.last_error = next_attempt_at, error
            row.sending_at = row.lease_owner = row.lease_until = None

    async def outbox_release(self, entry_ids: Sequence[int], owner: str) -> None:
        async with self._lock:
            for entry_id in entry_ids:
                row = self._t.outbound[entry_id]
                if row.lease_owner == owner:
                    row.lease_owner = row.lease_until = None

    async def outbox_lease_owners(self, now: datetime) -> list[str]:
        return sorted(
            {
                r.lease_owner
                for r in self._t.outbound.values()
                if r.state in _WAITING
                and r.lease_owner is not None
                and r.lease_until is not None
                and r.lease_until >= now
            }
        )

    async def outbox_free_leases(self, owners: Sequence[str]) -> int:
        freed = 0
        async with self._lock:
            for row in self._t.outbound.values():
                if row.state in _WAITING and row.lease_owner in owners:
                    row.lease_owner = row.lease_until = None
                    freed += 1
        return freed

    async def outbox_records(self, destination: Destination | None = None) -> list[OutboxRecord]:
        return [
            OutboxRecord(
                r.id,
                r.destination,
                copy.deepcopy(r.body),
                r.state,
                r.attempts,
                r.resends,
                r.last_error,
                r.next_attempt_at,
                r.delivered_at,
            )
            for r in sorted(self._t.outbound.values(), key=lambda r: r.id)
            if destination is None or r.destination == destination
        ]


def _in(row: _InRow) -> StoredMessage:
    return StoredMessage(row.id, "in", row.msg.to_json(), row.received_at)


def _out(row: _OutRow) -> StoredMessage:
    return StoredMessage(row.id, "out", copy.deepcopy(row.body), row.created_at)
