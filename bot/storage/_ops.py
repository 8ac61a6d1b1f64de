"""What operations need from storage: gauges for /metrics, the health write, retention.

``SqlOps`` and ``MemoryOps`` behave the same (the storage contract suite
runs both). Retention removes phone and ID numbers from an archived case,
its messages, its audit trail and what the resident sent and was sent up
to the archiving; the case, its number, status, dates and audit events stay,
so every statistic is unchanged.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from common.messages import Inbound
from common.outbox import OutboxState
from common.privacy import remove_sensitive, remove_sensitive_in
from handoff import Case, CaseEvent, CaseStatus
from handoff._webhooks import WEBHOOK_CHANNEL

from ._database import SqlDatabase, SqlTransaction
from ._memory_store import MemoryStore, _Tables
from ._rows import decoder, iso, parse_iso

__all__ = ["MemoryOps", "OpsStore", "OutboxBacklog", "PurgeCounts", "SqlOps"]

_case = decoder(Case)
_WAITING = (OutboxState.PENDING.value, OutboxState.RETRYING.value)
_ARCHIVED = CaseStatus.ARCHIVED.value
# SQLite's configured size limit: fewer free pages than this counts as full.
_MIN_FREE_PAGES = 16


@dataclass(frozen=True)
class OutboxBacklog:
    """Outbox entries of one channel waiting to be sent, and those given up."""

    channel: str
    waiting: int
    oldest_waiting: datetime | None
    undeliverable: int


@dataclass(frozen=True)
class PurgeCounts:
    """What the retention rule removed (or would remove, in a dry run)."""

    cases: int = 0
    phones: int = 0  # phone fields of cases cleared
    texts: int = 0  # messages, audit lines and questions rewritten

    def __add__(self, other: PurgeCounts) -> PurgeCounts:
        return PurgeCounts(
            self.cases + other.cases, self.phones + other.phones, self.texts + other.texts
        )


class OpsStore(Protocol):
    async def outbox_backlog(self) -> list[OutboxBacklog]:
        """Per channel with any waiting or undeliverable entry, by channel name."""
        ...

    async def case_counts(self) -> dict[str, int]:
        """Cases per status (statuses without cases left out)."""
        ...

    async def write_check(self, now: datetime) -> None:
        """A real write; raises when the storage cannot take one (read-only, full)."""
        ...

    async def cases_to_purge(self, archived_before: datetime, limit: int) -> list[Case]:
        """Archived cases filed before ``archived_before`` not purged yet, oldest first."""
        ...

    async def purge_case(self, case_id: int, now: datetime, *, apply: bool) -> PurgeCounts:
        """Remove the case's phone and ID numbers (count only unless ``apply``);
        nothing when it is not an archived, unpurged case."""
        ...


def _scrub_json(text: str) -> str:
    """A stored JSON body with the numbers in its strings removed."""
    return json.dumps(remove_sensitive_in(json.loads(text)), ensure_ascii=False)


class SqlOps:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    async def outbox_backlog(self) -> list[OutboxBacklog]:
        rows = await self.db.fetchall(
            "SELECT channel, state, COUNT(*) AS n, MIN(created_at) AS oldest FROM outbound"
            " WHERE state IN (?, ?, ?) GROUP BY channel, state",
            (*_WAITING, OutboxState.UNDELIVERABLE.value),
        )
        found: dict[str, OutboxBacklog] = {}
        for r in rows:
            channel = str(r["channel"])
            now = found.get(channel, OutboxBacklog(channel, 0, None, 0))
            if r["state"] == OutboxState.UNDELIVERABLE.value:
                now = replace(now, undeliverable=int(r["n"]))
            else:
                oldest = parse_iso(r["oldest"])
                if now.oldest_waiting is not None:
                    oldest = min(oldest, now.oldest_waiting)
                now = replace(now, waiting=now.waiting + int(r["n"]), oldest_waiting=oldest)
            found[channel] = now
        return [found[c] for c in sorted(found)]

    async def case_counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT status, COUNT(*) AS n FROM cases GROUP BY status")
        return {str(r["status"]): int(r["n"]) for r in rows}

    async def write_check(self, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO health_checks (name, checked_at) VALUES ('write', ?)"
                " ON CONFLICT (name) DO UPDATE SET checked_at = excluded.checked_at",
                (iso(now),),
            )
            if tx.dialect.name == "sqlite":
                await _sqlite_room(tx)

    async def cases_to_purge(self, archived_before: datetime, limit: int) -> list[Case]:
        rows = await self.db.fetchall(
            "SELECT * FROM cases c WHERE c.status = ? AND c.updated_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM purged_cases p WHERE p.case_id = c.id)"
            " ORDER BY c.updated_at, c.id LIMIT ?",
            (_ARCHIVED, iso(archived_before), limit),
        )
        return [_case(r) for r in rows]

    async def purge_case(self, case_id: int, now: datetime, *, apply: bool) -> PurgeCounts:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT c.*, p.case_id AS purged FROM cases c"
                " LEFT JOIN purged_cases p ON p.case_id = c.id WHERE c.id = ?",
                (case_id,),
            )
            if row is None or row["status"] != _ARCHIVED or row["purged"] is not None:
                return PurgeCounts()
            case: Case = _case(row)
            until = iso(case.updated_at)
            resident = (case.channel, case.user_id)
            rewrite = _Rewriter(tx, apply)
            await rewrite("case_messages", "body", "case_id = ?", (case.id,), remove_sensitive)
            await rewrite("case_events", "detail", "case_id = ?", (case.id,), _scrub_json)
            mine = "channel = ? AND user_id = ?"
            await rewrite("inbound", "body", f"{mine} AND received_at <= ?", (*resident, until))
            to_them = "channel = ? AND address = ? AND created_at <= ?"
            await rewrite("outbound", "body", to_them, (*resident, until))
            await rewrite(
                "outbound",
                "body",
                "channel = ? AND created_at <= ? AND body LIKE ?",
                (WEBHOOK_CHANNEL, until, f"%{case.number}%"),
            )
            for table, column in (("faq_questions", "asked_at"), ("faq_misses", "created_at")):
                where = f"{mine} AND {column} <= ?"
                await rewrite(table, "query", where, (*resident, until), remove_sensitive)
            description = remove_sensitive(case.description)
            location = remove_sensitive(case.location_text)
            texts = rewrite.changed + (description != case.description)
            texts += location != case.location_text
            if apply:
                await tx.execute(
                    "UPDATE cases SET phone = NULL, description = ?, location_text = ?"
                    " WHERE id = ?",
                    (description, location, case.id),
                )
                await tx.execute(
                    "INSERT INTO purged_cases (case_id, purged_at) VALUES (?, ?)",
                    (case.id, iso(now)),
                )
            return PurgeCounts(1, int(case.phone is not None), texts)


class _Rewriter:
    """Rewrites one column of the rows matching a condition, counting changed rows."""

    def __init__(self, tx: SqlTransaction, apply: bool) -> None:
        self.tx, self.apply, self.changed = tx, apply, 0

    async def __call__(
        self,
        table: str,
        column: str,
        where: str,
        params: Sequence[Any],
        scrub: Callable[[str], str] = _scrub_json,
    ) -> None:
        rows = await self.tx.fetchall(f"SELECT id, {column} FROM {table} WHERE {where}", params)
        for r in rows:
            before = str(r[column])
            after = scrub(before)
            if after == before:
                continue
            self.changed += 1
            if self.apply:
                await self.tx.execute(
                    f"UPDATE {table} SET {column} = ? WHERE id = ?", (after, int(r["id"]))
                )


async def _sqlite_room(tx: SqlTransaction) -> None:
    """A database at its configured size limit (``PRAGMA max_page_count``) is full
    even while a small write still fits in a free page."""
    room = 0
    for pragma, sign in (("max_page_count", 1), ("page_count", -1), ("freelist_count", 1)):
        row = await tx.fetchone(f"PRAGMA {pragma}")
        if row is None:
            return
        room += sign * int(row[pragma])
    if room < _MIN_FREE_PAGES:
        msg = f"database or disk is full: {room} free pages left of its size limit"
        raise OSError(msg)


class MemoryOps:
    """The same on ``MemoryStore`` (its tables, inside its transactions)."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def _tables(self) -> _Tables:
        return self.store._t  # the in-memory adapter's own tables

    async def outbox_backlog(self) -> list[OutboxBacklog]:
        found: dict[str, OutboxBacklog] = {}
        for row in self._tables().outbound.values():
            channel = row.destination.channel
            now = found.get(channel, OutboxBacklog(channel, 0, None, 0))
            if row.state is OutboxState.UNDELIVERABLE:
                now = replace(now, undeliverable=now.undeliverable + 1)
            elif row.state.value in _WAITING:
                oldest = min(filter(None, (now.oldest_waiting, row.created_at)))
                now = replace(now, waiting=now.waiting + 1, oldest_waiting=oldest)
            else:
                continue
            found[channel] = now
        return [found[c] for c in sorted(found)]

    async def case_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for case in self._tables().cases.values():
            counts[case.status.value] = counts.get(case.status.value, 0) + 1
        return counts

    async def write_check(self, now: datetime) -> None:
        async with self.store.transaction():
            pass

    async def cases_to_purge(self, archived_before: datetime, limit: int) -> list[Case]:
        tables = self._tables()
        due = [
            c
            for c in tables.cases.values()
            if c.status is CaseStatus.ARCHIVED
            and c.updated_at <= archived_before
            and c.id not in tables.purged
        ]
        return sorted(due, key=lambda c: (c.updated_at, c.id))[:limit]

    async def purge_case(self, case_id: int, now: datetime, *, apply: bool) -> PurgeCounts:
        async with self.store.transaction() as w:
            t = w._t  # the transaction's copy of the tables
            work = t if apply else copy.deepcopy(t)
            case = work.cases.get(case_id)
            if case is None or case.status is not CaseStatus.ARCHIVED or case_id in work.purged:
                return PurgeCounts()
            return _purge_in_memory(work, case, now)


def _purge_in_memory(t: _Tables, case: Case, now: datetime) -> PurgeCounts:
    until = case.updated_at
    resident = (case.channel, case.user_id)
    texts = 0
    for index, message in enumerate(t.case_messages):
        if message.case_id == case.id and remove_sensitive(message.body) != message.body:
            t.case_messages[index] = replace(message, body=remove_sensitive(message.body))
            texts += 1
    for index, (event_case, event) in enumerate(t.case_events):
        detail = remove_sensitive_in(event.detail)
        if event_case == case.id and detail != event.detail:
            t.case_events[index] = (event_case, _with_detail(event, detail))
            texts += 1
    for row in t.inbound.values():
        if (row.msg.channel, row.msg.user_id) == resident and row.received_at <= until:
            msg = row.msg
            scrubbed = remove_sensitive_in(msg.to_json())
            if scrubbed != msg.to_json():
                row.msg = Inbound.from_json(*resident, scrubbed, msg.platform_msg_id)
                texts += 1
    for out in t.outbound.values():
        to_resident = (out.destination.channel, out.destination.address) == resident
        webhook = out.destination.channel == WEBHOOK_CHANNEL and case.number in json.dumps(
            out.body, ensure_ascii=False
        )
        if (to_resident or webhook) and out.created_at <= until:
            body = remove_sensitive_in(out.body)
            if body != out.body:
                out.body = body
                texts += 1
    for question in t.faq_questions.values():
        mine = (question.channel, question.user_id) == resident
        if (
            mine
            and question.asked_at <= until
            and remove_sensitive(question.query) != (question.query)
        ):
            question.query = remove_sensitive(question.query)
            texts += 1
    for miss in t.faq_misses:
        when = miss.created_at
        mine = miss.resident == resident and when is not None and when <= until
        if mine and remove_sensitive(miss.query) != miss.query:
            miss.query = remove_sensitive(miss.query)
            texts += 1
    description = remove_sensitive(case.description)
    location = remove_sensitive(case.location_text)
    texts += (description != case.description) + (location != case.location_text)
    t.cases[case.id] = replace(case, phone=None, description=description, location_text=location)
    t.purged[case.id] = now
    return PurgeCounts(1, int(case.phone is not None), texts)


def _with_detail(event: CaseEvent, detail: dict[str, Any]) -> CaseEvent:
    return replace(event, detail=detail)
