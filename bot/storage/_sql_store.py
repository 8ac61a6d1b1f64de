"""Every query the service runs, written once for every SQL dialect.

Reads are methods of ``SqlStore``; writes happen inside
``async with store.transaction() as w:`` on ``SqlWrites``, so a dialog turn
(new state, replies, a new case) commits all at once or not at all. After a
commit, the topics of whatever was queued are published, so event streams
and the delivery worker wake up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from types import TracebackType
from typing import Any

from common import jsontext
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

from ._database import SqlDatabase, SqlTransaction, serialize, serialize_now
from ._rows import Row, columns, decoder, encode, iso, parse_iso

__all__ = ["SqlStore", "SqlWrites"]

_CASE_COLUMNS = columns(Case)
_INSERT_CASE = (
    f"INSERT INTO cases ({', '.join(c for c in _CASE_COLUMNS if c != 'id')})"
    f" VALUES ({', '.join('?' for c in _CASE_COLUMNS if c != 'id')}) RETURNING id"
)
_case = decoder(Case)
_OPEN = tuple(s.value for s in CaseStatus if s.is_open)
_CLOSED = (CaseStatus.RESOLVED.value, CaseStatus.RATED.value)
_ARCHIVABLE = (*_CLOSED, CaseStatus.WITHDRAWN.value)
_WAITING = (OutboxState.PENDING.value, OutboxState.RETRYING.value)
Topics = Callable[[set[str]], None]


def _json(value: Any) -> str:
    return jsontext.dumps(value)


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


class _Reads:
    """Lookups usable outside a transaction and inside one (a dialog turn)."""

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        raise NotImplementedError

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def conversation(self, channel: str, user_id: str) -> tuple[str, dict[str, Any]] | None:
        row = await self._one(
            "SELECT state, data FROM conversations WHERE channel = ? AND user_id = ?",
            (channel, user_id),
        )
        return (row["state"], jsontext.loads(row["data"])) if row else None

    async def cases_for_resident(self, channel: str, user_id: str) -> list[Case]:
        rows = await self._all(
            "SELECT * FROM cases WHERE channel = ? AND user_id = ? ORDER BY id DESC",
            (channel, user_id),
        )
        return [_case(r) for r in rows]

    async def case_by_number(self, number: str) -> Case | None:
        row = await self._one("SELECT * FROM cases WHERE number = ?", (number,))
        return _case(row) if row else None

    async def case_by_id(self, case_id: int) -> Case | None:
        row = await self._one("SELECT * FROM cases WHERE id = ?", (case_id,))
        return _case(row) if row else None

    async def case_messages(self, case_id: int) -> list[CaseMessage]:
        rows = await self._all(
            "SELECT * FROM case_messages WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [
            CaseMessage(
                id=int(r["id"]),
                case_id=int(r["case_id"]),
                author=r["author"],
                body=r["body"],
                attachments=jsontext.loads(r["attachments"]),
                at=parse_iso(r["created_at"]),
                kind=r["kind"],
                author_name=r["author_name"],
                outbox_id=r["outbox_id"],
            )
            for r in rows
        ]


class SqlWrites(_Reads):
    """The statements that change data, all inside one transaction."""

    def __init__(self, tx: SqlTransaction) -> None:
        self._tx = tx
        self.topics: set[str] = set()

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await self._tx.fetchone(sql, params)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self._tx.fetchall(sql, params)

    async def record_inbound(self, msg: Inbound, now: datetime) -> int | None:
        stored = await self._insert_inbound(msg, now, take=False)
        return stored[0] if stored else None

    async def record_inbound_and_take(self, msg: Inbound, now: datetime) -> tuple[int, bool] | None:
        return await self._insert_inbound(msg, now, take=True)

    async def _insert_inbound(
        self, msg: Inbound, now: datetime, *, take: bool
    ) -> tuple[int, bool] | None:
        # A resident's messages get their ids in the order they commit, so a turn that
        # sees one of them sees every earlier one too (ids come before the commit).
        await serialize(self._tx, "inbound", msg.channel, msg.user_id)
        stamp = iso(now)
        # Taken (stored processed) in the same statement when asked and none of the
        # resident's messages waits: no UPDATE, no entry in the waiting index.
        row = await self._one(
            "INSERT INTO inbound"
            " (channel, user_id, platform_msg_id, kind, body, received_at, processed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, CASE WHEN ? AND NOT EXISTS (SELECT 1 FROM inbound"
            " WHERE channel = ? AND user_id = ? AND processed_at IS NULL) THEN ? END)"
            " ON CONFLICT (channel, user_id, platform_msg_id) DO NOTHING"
            " RETURNING id, processed_at IS NOT NULL AS taken",
            (
                msg.channel,
                msg.user_id,
                msg.platform_msg_id,
                msg.kind,
                _json(msg.to_json()),
                stamp,
                take,
                msg.channel,
                msg.user_id,
                stamp,
            ),
        )
        return (int(row["id"]), bool(row["taken"])) if row else None

    async def put_back_inbound(self, inbound_id: int) -> None:
        await self._tx.execute("UPDATE inbound SET processed_at = NULL WHERE id = ?", (inbound_id,))

    async def take_inbound(self, inbound_id: int, now: datetime) -> bool:
        if self._tx.dialect.xact_lock:  # one turn at a time per resident across instances
            sender = await self._one(
                "SELECT channel, user_id FROM inbound WHERE id = ?", (inbound_id,)
            )
            if sender is not None:
                await serialize(self._tx, "resident", sender["channel"], sender["user_id"])
        row = await self._one(
            "UPDATE inbound SET processed_at = ? WHERE id = ? AND processed_at IS NULL"
            " RETURNING id",
            (iso(now), inbound_id),
        )
        return row is not None

    async def turn_is_free(self, channel: str, user_id: str) -> bool:
        return await serialize_now(self._tx, "resident", channel, user_id)

    async def take_next_inbound(
        self, channel: str, user_id: str, up_to: int, now: datetime
    ) -> tuple[int, Inbound | None] | None:
        await serialize(self._tx, "resident", channel, user_id)  # the resident's turn
        row = await self._one(
            "UPDATE inbound SET processed_at = ? WHERE id = ("
            " SELECT id FROM inbound WHERE channel = ? AND user_id = ? AND processed_at IS NULL"
            " AND id <= ? ORDER BY id LIMIT 1)"
            " RETURNING id, channel, user_id, platform_msg_id, body",
            (iso(now), channel, user_id, up_to),
        )
        if row is None:
            return None
        # Usually ``up_to`` itself, which the caller has: not decoded again.
        return (up_to, None) if row["id"] == up_to else _inbound(row)

    async def save_conversation(
        self, channel: str, user_id: str, state: str, data: dict[str, Any], now: datetime
    ) -> None:
        await self._tx.execute(
            "INSERT INTO conversations (channel, user_id, state, data, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (channel, user_id) DO UPDATE"
            " SET state = excluded.state, data = excluded.data, updated_at = excluded.updated_at",
            (channel, user_id, state, _json(data), iso(now), iso(now)),
        )

    async def enqueue(
        self,
        destination: Destination,
        message: Outbound,
        now: datetime,
        *,
        inbound_id: int | None = None,
        delivered: bool = False,
    ) -> int:
        state = OutboxState.DELIVERED if delivered else OutboxState.PENDING
        row = await self._one(
            "INSERT INTO outbound (channel, address, inbound_id, body, created_at, state,"
            " delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                destination.channel,
                destination.address,
                inbound_id,
                _json(message.to_json()),
                iso(now),
                state.value,
                iso(now) if delivered else None,
            ),
        )
        assert row is not None
        self.topics.add(destination.topic)
        if not delivered:
            self.topics.add(OUTBOX_TOPIC)
        return int(row["id"])

    async def insert_case(self, case: Case) -> Case:
        values = [encode(getattr(case, c)) for c in _CASE_COLUMNS if c != "id"]
        row = await self._one(_INSERT_CASE, values)
        assert row is not None
        case_id = int(row["id"])
        await self._tx.execute(
            "UPDATE cases SET number = ? WHERE id = ?",
            (case_number(case_id, case.created_at), case_id),
        )
        stored = await self.case_by_id(case_id)
        assert stored is not None
        self._touched(stored.id, stored.center_id)
        return stored

    async def update_case(
        self, case_id: int, expected: CaseStatus, changes: Mapping[str, Any]
    ) -> Case | None:
        unknown = set(changes) - set(_CASE_COLUMNS)
        assert not unknown, f"not case fields: {sorted(unknown)}"
        assignments = ", ".join(f"{name} = ?" for name in changes)
        left = None
        if "center_id" in changes:  # the center it leaves sees it go
            before = await self._one("SELECT center_id FROM cases WHERE id = ?", (case_id,))
            left = str(before["center_id"]) if before else None
        row = await self._one(
            f"UPDATE cases SET {assignments} WHERE id = ? AND status = ? RETURNING *",
            [*(encode(v) for v in changes.values()), case_id, expected.value],
        )
        if row is None:
            return None
        updated: Case = _case(row)
        self._touched(updated.id, updated.center_id)
        if left is not None:
            self.topics.add(center_topic(left))
        return updated

    async def add_case_event(self, case_id: int, event: CaseEvent) -> None:
        await self._tx.execute(
            "INSERT INTO case_events"
            " (case_id, kind, from_status, to_status, actor, detail, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                event.kind,
                encode(event.from_status),
                encode(event.to_status),
                event.actor,
                _json(event.detail),
                iso(event.at),
            ),
        )

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
        row = await self._one(
            "INSERT INTO case_messages (case_id, author, body, attachments, inbound_id,"
            " created_at, kind, author_name, outbox_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (
                case_id,
                author,
                body,
                _json(attachments),
                inbound_id,
                iso(now),
                kind,
                author_name,
                outbox_id,
            ),
        )
        case = await self._one(
            "UPDATE cases SET updated_at = ? WHERE id = ? RETURNING center_id",
            (iso(now), case_id),
        )
        assert row is not None and case is not None
        self._touched(case_id, case["center_id"])
        return int(row["id"])

    def _touched(self, case_id: int, center_id: str) -> None:
        self.topics.update((case_topic(case_id), center_topic(center_id)))

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
        await self._tx.execute(
            "INSERT INTO faq_misses (channel, user_id, query, reason, best_id, best_score,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (channel, user_id, query, reason, best_id, best_score, iso(now)),
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
        row = await self._one(
            "INSERT INTO faq_questions (channel, user_id, query, decision, entry_id,"
            " region_code, asked_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (channel, user_id, query, decision, entry_id, region_code, iso(now)),
        )
        assert row is not None
        return int(row["id"])

    async def log_faq_feedback(
        self, question_id: int, kind: str, entry_id: str | None, now: datetime
    ) -> None:
        await self._tx.execute(
            "INSERT INTO faq_feedback (question_id, kind, entry_id, at) VALUES (?, ?, ?, ?)",
            (question_id, kind, entry_id, iso(now)),
        )


class _WritesBlock:
    """``SqlStore.transaction()``: the database's block, as ``SqlWrites``; once it is
    committed, the topics it touched are announced. A class, not a generator-based
    context manager: every message enters one."""

    __slots__ = ("_block", "_on_commit", "_writes")

    def __init__(
        self, block: AbstractAsyncContextManager[SqlTransaction], on_commit: Topics | None
    ) -> None:
        self._block = block
        self._on_commit = on_commit
        self._writes: SqlWrites | None = None

    async def __aenter__(self) -> SqlWrites:
        self._writes = SqlWrites(await self._block.__aenter__())
        return self._writes

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        swallowed = await self._block.__aexit__(kind, exc, tb)  # raises if not committed
        writes, announce = self._writes, self._on_commit
        if exc is None and writes is not None and writes.topics and announce is not None:
            announce(writes.topics)
        return swallowed


class SqlStore(_Reads):
    """Reads, the door to ``SqlWrites``, and the outbox operations of the worker."""

    def __init__(self, db: SqlDatabase, *, on_commit: Topics | None = None) -> None:
        self.db = db
        self._on_commit = on_commit

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await self.db.fetchone(sql, params)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self.db.fetchall(sql, params)

    def transaction(self) -> _WritesBlock:
        return _WritesBlock(self.db.transaction(), self._on_commit)

    # -- dialogs ------------------------------------------------------------

    async def replies_to(self, channel: str, user_id: str, platform_msg_id: str) -> list[Sent]:
        rows = await self._all(
            "SELECT o.id, o.body FROM outbound o JOIN inbound i ON i.id = o.inbound_id"
            " WHERE i.channel = ? AND i.user_id = ? AND i.platform_msg_id = ? ORDER BY o.id",
            (channel, user_id, platform_msg_id),
        )
        return [Sent(int(r["id"]), Outbound.from_json(jsontext.loads(r["body"]))) for r in rows]

    async def unprocessed_inbound(
        self, channel: str | None = None, user_id: str | None = None
    ) -> list[tuple[int, Inbound]]:
        if channel is None or user_id is None:
            rows = await self._all(
                # ``+id``: sorted after reading the waiting ones, not all in id order.
                "SELECT id, channel, user_id, platform_msg_id, body FROM inbound"
                " WHERE processed_at IS NULL ORDER BY +id"
            )
        else:
            rows = await self._all(
                "SELECT id, channel, user_id, platform_msg_id, body FROM inbound"
                " WHERE processed_at IS NULL AND channel = ? AND user_id = ? ORDER BY id",
                (channel, user_id),
            )
        return [_inbound(r) for r in rows]

    async def stalled_inbound(
        self, before: datetime, held_before: datetime
    ) -> list[tuple[int, Inbound]]:
        rows = await self._all(
            "SELECT i.id, i.channel, i.user_id, i.platform_msg_id, i.body FROM inbound i"
            " WHERE i.processed_at IS NULL AND i.received_at < ?"
            " AND (i.received_at < ? OR NOT EXISTS"
            "  (SELECT 1 FROM outbound o WHERE o.inbound_id = i.id))"
            " ORDER BY +i.id",  # as in unprocessed_inbound
            (iso(before), iso(held_before)),
        )
        return [_inbound(r) for r in rows]

    async def outbound_after(self, channel: str, user_id: str, after: int) -> list[StoredMessage]:
        rows = await self._all(
            "SELECT id, body, created_at FROM outbound"
            " WHERE channel = ? AND address = ? AND id > ? ORDER BY id",
            (channel, user_id, after),
        )
        return [_out(r) for r in rows]

    async def transcript(
        self, channel: str, user_id: str, since_inbound: int = 0
    ) -> list[StoredMessage]:
        ins = await self._all(
            "SELECT id, body, received_at FROM inbound"
            " WHERE channel = ? AND user_id = ? AND id >= ? ORDER BY id",
            (channel, user_id, since_inbound),
        )
        outs = await self._all(
            "SELECT o.id, o.body, o.created_at, o.inbound_id, i.received_at AS anchor"
            " FROM outbound o"
            " LEFT JOIN inbound i ON i.id = o.inbound_id"
            " WHERE o.channel = ? AND o.address = ? AND (o.inbound_id IS NULL OR o.inbound_id >= ?)"
            " ORDER BY o.id",
            (channel, user_id, since_inbound),
        )
        keyed: list[tuple[tuple[str, float, int], StoredMessage]] = [
            ((r["received_at"], r["id"], 0), _in(r)) for r in ins
        ]
        for r in outs:
            if r["anchor"]:  # a reply: right after the message it answers
                keyed.append(((r["anchor"], r["inbound_id"], r["id"]), _out(r)))
            else:  # pushed later (a mediator's reply): by time, after any reply of that moment
                keyed.append(((r["created_at"], math.inf, r["id"]), _out(r)))
        return [message for _, message in sorted(keyed, key=lambda pair: pair[0])]

    async def faq_misses(self, limit: int = 100) -> list[FaqMiss]:
        rows = await self._all(
            "SELECT query, reason, MAX(best_id) AS best_id, MAX(best_score) AS best_score,"
            " COUNT(*) AS n FROM faq_misses GROUP BY query, reason"
            " ORDER BY n DESC, MAX(id) DESC LIMIT ?",
            (limit,),
        )
        return [
            FaqMiss(r["query"], r["reason"], r["best_id"], r["best_score"], int(r["n"]))
            for r in rows
        ]

    # -- channels -----------------------------------------------------------

    async def record_upload(
        self, channel: str, user_id: str, ref: str, kind: str, size: int, now: datetime
    ) -> None:
        """Remember that this resident uploaded ``ref`` (content-addressed: once is enough)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO uploads (channel, user_id, ref, kind, size, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel, user_id, ref) DO NOTHING",
                (channel, user_id, ref, kind, size, iso(now)),
            )

    async def uploaded_by(self, channel: str, user_id: str, ref: str) -> bool:
        row = await self._one(
            "SELECT 1 AS found FROM uploads WHERE channel = ? AND user_id = ? AND ref = ?",
            (channel, user_id, ref),
        )
        return row is not None

    async def service_secret(self, name: str, new_value: str, now: datetime) -> str:
        """The secret called ``name``; ``new_value`` becomes it the first time it is asked."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO service_secrets (name, value, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (name, new_value, iso(now)),
            )
            row = await tx.fetchone("SELECT value FROM service_secrets WHERE name = ?", (name,))
        assert row is not None
        return str(row["value"])

    async def shared_token(self, name: str) -> tuple[str, datetime] | None:
        """A platform access token every instance uses, and when it expires."""
        row = await self._one(
            "SELECT value, expires_at FROM service_secrets WHERE name = ?", (name,)
        )
        if row is None or not row["value"] or row["expires_at"] is None:
            return None
        return str(row["value"]), parse_iso(row["expires_at"])

    async def claim_token_refresh(
        self, name: str, now: datetime, until: datetime, *, seen: str | None
    ) -> bool:
        """Compare-and-set: True for the one instance that fetches the next token."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO service_secrets (name, value, created_at) VALUES (?, '', ?)"
                " ON CONFLICT (name) DO NOTHING",
                (name, iso(now)),
            )
            row = await tx.fetchone(
                "UPDATE service_secrets SET refreshing_until = ?"
                " WHERE name = ? AND value = ?"
                " AND (refreshing_until IS NULL OR refreshing_until < ?)"
                " RETURNING name",
                (iso(until), name, seen or "", iso(now)),
            )
        return row is not None

    async def store_token(self, name: str, value: str, expires_at: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE service_secrets SET value = ?, expires_at = ?, refreshing_until = NULL"
                " WHERE name = ?",
                (value, iso(expires_at), name),
            )

    async def release_token_refresh(self, name: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE service_secrets SET refreshing_until = NULL WHERE name = ?", (name,)
            )

    async def set_reachable(
        self, destination: Destination, reachable: bool, now: datetime, reason: str = ""
    ) -> None:
        """A resident blocked or unblocked the bot, unsubscribed or came back."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO destinations (channel, address, reachable, reason, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, address) DO UPDATE"
                " SET reachable = excluded.reachable, reason = excluded.reason,"
                " updated_at = excluded.updated_at",
                (destination.channel, destination.address, int(reachable), reason, iso(now)),
            )

    async def is_reachable(self, destination: Destination) -> bool:
        row = await self._one(
            "SELECT reachable FROM destinations WHERE channel = ? AND address = ?",
            (destination.channel, destination.address),
        )
        return row is None or bool(row["reachable"])

    async def outbox_wake(self, destination: Destination, now: datetime) -> int:
        """Entries of this destination waiting for a later retry become due now."""
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "UPDATE outbound SET next_attempt_at = ?"
                " WHERE channel = ? AND address = ? AND state = ? AND next_attempt_at > ?"
                " RETURNING id",
                (
                    iso(now),
                    destination.channel,
                    destination.address,
                    OutboxState.RETRYING.value,
                    iso(now),
                ),
            )
        if rows and self._on_commit is not None:
            self._on_commit({OUTBOX_TOPIC})
        return len(rows)

    async def first_sight(self, channel: str, key: str, now: datetime) -> bool:
        """True the first time a platform update ``key`` is seen, False for a re-send."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO seen_updates (channel, key, seen_at) VALUES (?, ?, ?)"
                " ON CONFLICT (channel, key) DO NOTHING RETURNING key",
                (channel, key, iso(now)),
            )
        return row is not None

    async def first_alert(self, account_id: int, case_id: int, kind: str, now: datetime) -> bool:
        """True the first time a mediator is alerted of this case for this reason."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO mediator_alerts (account_id, case_id, kind, sent_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (account_id, case_id, kind) DO NOTHING"
                " RETURNING kind",
                (account_id, case_id, kind, iso(now)),
            )
        return row is not None

    async def queue_file(self, channel: str, platform_ref: str, kind: str, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO platform_files (channel, platform_ref, kind, state, created_at,"
                " updated_at) VALUES (?, ?, ?, 'waiting', ?, ?)"
                " ON CONFLICT (channel, platform_ref) DO NOTHING",
                (channel, platform_ref, kind, iso(now), iso(now)),
            )

    async def files_to_fetch(self, channel: str, limit: int) -> list[FileToFetch]:
        rows = await self._all(
            "SELECT channel, platform_ref, kind, attempts FROM platform_files"
            " WHERE channel = ? AND state = 'waiting' ORDER BY created_at LIMIT ?",
            (channel, limit),
        )
        return [
            FileToFetch(r["channel"], r["platform_ref"], r["kind"], int(r["attempts"]))
            for r in rows
        ]

    async def file_fetched(
        self, channel: str, platform_ref: str, local_ref: str, size: int, now: datetime
    ) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE platform_files SET state = 'fetched', local_ref = ?, size = ?,"
                " attempts = attempts + 1, error = NULL, updated_at = ?"
                " WHERE channel = ? AND platform_ref = ?",
                (local_ref, size, iso(now), channel, platform_ref),
            )

    async def file_failed(
        self, channel: str, platform_ref: str, error: str, now: datetime, give_up: bool
    ) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE platform_files SET state = ?, error = ?, attempts = attempts + 1,"
                " updated_at = ? WHERE channel = ? AND platform_ref = ?",
                ("failed" if give_up else "waiting", error, iso(now), channel, platform_ref),
            )

    async def local_file(self, channel: str, platform_ref: str) -> str | None:
        row = await self._one(
            "SELECT local_ref FROM platform_files WHERE channel = ? AND platform_ref = ?"
            " AND state = 'fetched'",
            (channel, platform_ref),
        )
        return str(row["local_ref"]) if row else None

    # -- cases --------------------------------------------------------------

    async def case_events(self, case_id: int) -> list[CaseEvent]:
        rows = await self._all(
            "SELECT kind, from_status, to_status, actor, detail, created_at FROM case_events"
            " WHERE case_id = ? ORDER BY id",
            (case_id,),
        )
        return [
            CaseEvent(
                kind=r["kind"],
                from_status=CaseStatus(r["from_status"]) if r["from_status"] else None,
                to_status=CaseStatus(r["to_status"]) if r["to_status"] else None,
                actor=r["actor"],
                detail=jsontext.loads(r["detail"]),
                at=parse_iso(r["created_at"]),
            )
            for r in rows
        ]

    async def cases_due(self, now: datetime, limit: int) -> list[Case]:
        rows = await self._all(
            f"SELECT * FROM cases WHERE status IN ({_marks(_OPEN)}) AND due_at <= ?"
            " AND overdue_flagged_at IS NULL ORDER BY due_at, id LIMIT ?",
            (*_OPEN, iso(now), limit),
        )
        return [_case(r) for r in rows]

    async def cases_followup_due(self, now: datetime, limit: int) -> list[Case]:
        rows = await self._all(
            f"SELECT * FROM cases WHERE status IN ({_marks(_CLOSED)})"
            " AND followup_due_at <= ? AND followed_up_at IS NULL"
            " ORDER BY followup_due_at, id LIMIT ?",
            (*_CLOSED, iso(now), limit),
        )
        return [_case(r) for r in rows]

    async def cases_archive_due(self, now: datetime, limit: int) -> list[Case]:
        rows = await self._all(
            f"SELECT * FROM cases WHERE status IN ({_marks(_ARCHIVABLE)})"
            " AND archive_due_at <= ? ORDER BY archive_due_at, id LIMIT ?",
            (*_ARCHIVABLE, iso(now), limit),
        )
        return [_case(r) for r in rows]

    # -- outbox -------------------------------------------------------------

    async def lease_outbox(
        self, owner: str, channels: Sequence[str], now: datetime, until: datetime, limit: int
    ) -> list[OutboxEntry]:
        if not channels:
            return []
        t = iso(now)
        async with self.db.transaction() as tx:
            # One lease at a time across instances: each sees the leases taken before,
            # so a destination's entries never go out from two instances at once.
            await serialize(tx, "outbox", "lease")
            rows = await tx.fetchall(
                "SELECT o.id, o.channel, o.address, o.body, o.attempts, o.sending_at"
                f" FROM outbound o WHERE o.state IN ({_marks(_WAITING)})"
                f" AND o.channel IN ({_marks(channels)})"
                " AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?)"
                " AND (o.lease_until IS NULL OR o.lease_until < ?)"
                " AND NOT EXISTS (SELECT 1 FROM outbound p"
                "  WHERE p.channel = o.channel AND p.address = o.address AND p.id < o.id"
                f"  AND p.state IN ({_marks(_WAITING)})"
                "  AND (p.next_attempt_at > ? OR p.lease_until >= ?))"
                f" ORDER BY o.id LIMIT ?{tx.dialect.for_update}",
                (*_WAITING, *channels, t, t, *_WAITING, t, t, limit),
            )
            ids = [int(r["id"]) for r in rows]
            if ids:
                await tx.execute(
                    "UPDATE outbound SET lease_owner = ?, lease_until = ?"
                    f" WHERE id IN ({_marks(ids)})",
                    (owner, iso(until), *ids),
                )
        return [
            OutboxEntry(
                id=int(r["id"]),
                destination=Destination(r["channel"], r["address"]),
                body=jsontext.loads(r["body"]),
                attempts=int(r["attempts"]),
                interrupted=r["sending_at"] is not None,
            )
            for r in rows
        ]

    async def outbox_sending(self, entry_id: int, owner: str, now: datetime) -> bool:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE outbound SET sending_at = ?, attempts = attempts + 1,"
                " resends = resends + CASE WHEN sending_at IS NULL THEN 0 ELSE 1 END"
                f" WHERE id = ? AND lease_owner = ? AND state IN ({_marks(_WAITING)})"
                " RETURNING id",
                (iso(now), entry_id, owner, *_WAITING),
            )
        return row is not None

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
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE outbound SET state = ?, delivered_at = ?, next_attempt_at = ?,"
                " last_error = ?, sending_at = NULL, lease_owner = NULL, lease_until = NULL"
                " WHERE id = ? AND lease_owner = ?",
                (
                    state.value,
                    iso(now) if state is OutboxState.DELIVERED else None,
                    iso(next_attempt_at) if next_attempt_at else None,
                    error,
                    entry_id,
                    owner,
                ),
            )

    async def outbox_release(self, entry_ids: Sequence[int], owner: str) -> None:
        if not entry_ids:
            return
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE outbound SET lease_owner = NULL, lease_until = NULL"
                f" WHERE id IN ({_marks(entry_ids)}) AND lease_owner = ?",
                (*entry_ids, owner),
            )

    async def outbox_lease_owners(self, now: datetime) -> list[str]:
        rows = await self._all(
            "SELECT DISTINCT lease_owner FROM outbound"
            f" WHERE state IN ({_marks(_WAITING)}) AND lease_until >= ? ORDER BY lease_owner",
            (*_WAITING, iso(now)),
        )
        return [str(r["lease_owner"]) for r in rows]

    async def outbox_free_leases(self, owners: Sequence[str]) -> int:
        if not owners:
            return 0
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "UPDATE outbound SET lease_owner = NULL, lease_until = NULL"
                f" WHERE lease_owner IN ({_marks(owners)}) AND state IN ({_marks(_WAITING)})"
                " RETURNING id",
                (*owners, *_WAITING),
            )
        return len(rows)

    async def outbox_records(self, destination: Destination | None = None) -> list[OutboxRecord]:
        """Every entry (of one destination), oldest first: for operators and tests."""
        if destination is None:
            rows = await self._all("SELECT * FROM outbound ORDER BY id")
        else:
            rows = await self._all(
                "SELECT * FROM outbound WHERE channel = ? AND address = ? ORDER BY id",
                (destination.channel, destination.address),
            )
        return [outbox_record(r) for r in rows]


def _inbound(row: Row) -> tuple[int, Inbound]:
    body = jsontext.loads(row["body"])
    return int(row["id"]), Inbound.from_json(
        row["channel"], row["user_id"], body, row["platform_msg_id"]
    )


def _in(row: Row) -> StoredMessage:
    return StoredMessage(
        int(row["id"]), "in", jsontext.loads(row["body"]), parse_iso(row["received_at"])
    )


def _out(row: Row) -> StoredMessage:
    return StoredMessage(
        int(row["id"]), "out", jsontext.loads(row["body"]), parse_iso(row["created_at"])
    )


def outbox_record(row: Row) -> OutboxRecord:
    return OutboxRecord(
        id=int(row["id"]),
        destination=Destination(row["channel"], row["address"]),
        body=jsontext.loads(row["body"]),
        state=OutboxState(row["state"]),
        attempts=int(row["attempts"]),
        resends=int(row["resends"]),
        last_error=row["last_error"],
        next_attempt_at=parse_iso(row["next_attempt_at"]) if row["next_attempt_at"] else None,
        delivered_at=parse_iso(row["delivered_at"]) if row["delivered_at"] else None,
    )
