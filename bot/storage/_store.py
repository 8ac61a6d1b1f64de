"""Every query the service runs, in one place.

Reads are methods of ``Store``; writes happen inside
``async with store.transaction() as w:`` on the ``Writes`` object, so a
dialog turn (new state, replies, a new case) commits all at once or not at
all.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dialogs._model import Inbound, Outbound
from handoff._cases import Case, CaseStatus, NewCase, case_number, check_transition

from ._database import Database, Row, Transaction

__all__ = ["CaseMessage", "FaqMiss", "Store", "StoredMessage", "Writes"]


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class StoredMessage:
    """A message of the transcript, in either direction."""

    id: int
    direction: str  # "in" (from the resident) or "out" (to the resident)
    body: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class CaseMessage:
    id: int
    case_id: int
    author: str  # resident | mediator | system
    body: str
    attachments: list[dict[str, str]]
    at: datetime


@dataclass(frozen=True)
class FaqMiss:
    query: str
    reason: str
    best_id: str | None
    best_score: float | None
    count: int


def _case(row: Row) -> Case:
    return Case(
        id=row["id"],
        number=row["number"],
        channel=row["channel"],
        user_id=row["user_id"],
        category=row["category"],
        description=row["description"],
        region_code=row["region_code"],
        location_text=row["location_text"],
        location_method=row["location_method"],
        lat=row["lat"],
        lon=row["lon"],
        phone=row["phone"],
        center_id=row["center_id"],
        center_name=row["center_name"],
        level=row["level"],
        status=CaseStatus(row["status"]),
        urgent=bool(row["urgent"]),
        transcript_from=row["transcript_from"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        due_at=datetime.fromisoformat(row["due_at"]),
        resolved_at=_dt(row["resolved_at"]),
        outcome=row["outcome"],
    )


class _Reads:
    """Lookups usable outside a transaction and inside one (a dialog turn)."""

    async def _one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        raise NotImplementedError

    async def _all(self, sql: str, params: tuple[Any, ...]) -> list[Row]:
        raise NotImplementedError

    async def conversation(self, channel: str, user_id: str) -> tuple[str, dict[str, Any]] | None:
        """The dialog state and data of one resident, None before first contact."""
        row = await self._one(
            "SELECT state, data FROM conversations WHERE channel = ? AND user_id = ?",
            (channel, user_id),
        )
        return (row["state"], json.loads(row["data"])) if row else None

    async def cases_for_resident(self, channel: str, user_id: str) -> list[Case]:
        rows = await self._all(
            "SELECT * FROM cases WHERE channel = ? AND user_id = ? ORDER BY id DESC",
            (channel, user_id),
        )
        return [_case(r) for r in rows]

    async def case_by_number(self, number: str) -> Case | None:
        row = await self._one("SELECT * FROM cases WHERE number = ?", (number,))
        return _case(row) if row else None


class Writes(_Reads):
    """The statements that change data, all inside one transaction."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def _one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        return await self._tx.fetchone(sql, params)

    async def _all(self, sql: str, params: tuple[Any, ...]) -> list[Row]:
        return await self._tx.fetchall(sql, params)

    async def record_inbound(self, msg: Inbound, now: datetime) -> int | None:
        """Store a resident's message; None when its platform id was seen before."""
        row = await self._tx.fetchone(
            "INSERT INTO inbound (channel, user_id, platform_msg_id, kind, body, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (channel, platform_msg_id) DO NOTHING RETURNING id",
            (
                msg.channel,
                msg.user_id,
                msg.platform_msg_id,
                msg.kind,
                json.dumps(msg.to_json(), ensure_ascii=False),
                _ts(now),
            ),
        )
        return int(row["id"]) if row else None

    async def mark_processed(self, inbound_id: int, now: datetime) -> None:
        await self._tx.execute(
            "UPDATE inbound SET processed_at = ? WHERE id = ?", (_ts(now), inbound_id)
        )

    async def save_conversation(
        self, channel: str, user_id: str, state: str, data: dict[str, Any], now: datetime
    ) -> None:
        await self._tx.execute(
            "INSERT INTO conversations (channel, user_id, state, data, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (channel, user_id) DO UPDATE"
            " SET state = excluded.state, data = excluded.data, updated_at = excluded.updated_at",
            (channel, user_id, state, json.dumps(data, ensure_ascii=False), _ts(now), _ts(now)),
        )

    async def add_outbound(
        self, channel: str, user_id: str, msg: Outbound, inbound_id: int | None, now: datetime
    ) -> int:
        row = await self._tx.fetchone(
            "INSERT INTO outbound (channel, user_id, inbound_id, body, created_at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (channel, user_id, inbound_id, json.dumps(msg.to_json(), ensure_ascii=False), _ts(now)),
        )
        assert row is not None
        return int(row["id"])

    async def create_case(self, new: NewCase, now: datetime) -> Case:
        """Insert a case routed to its center: received, then assigned, both audited."""
        row = await self._tx.fetchone(
            "INSERT INTO cases (channel, user_id, category, description, region_code,"
            " location_text, location_method, lat, lon, phone, center_id, center_name, level,"
            " status, urgent, transcript_from, created_at, updated_at, due_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                new.channel,
                new.user_id,
                new.category,
                new.description,
                new.region_code,
                new.location_text,
                new.location_method,
                new.lat,
                new.lon,
                new.phone,
                new.center_id,
                new.center_name,
                new.level,
                CaseStatus.RECEIVED.value,
                int(new.urgent),
                new.transcript_from,
                _ts(now),
                _ts(now),
                _ts(new.due_at),
            ),
        )
        assert row is not None
        case_id = int(row["id"])
        number = case_number(case_id, now)
        await self._tx.execute("UPDATE cases SET number = ? WHERE id = ?", (number, case_id))
        await self.add_event(case_id, "received", None, CaseStatus.RECEIVED, "resident", {}, now)
        await self.set_status(
            case_id,
            number,
            CaseStatus.RECEIVED,
            CaseStatus.ASSIGNED,
            actor="system",
            kind="assigned",
            detail={"center_id": new.center_id, "level": new.level},
            now=now,
        )
        await self.add_case_message(
            case_id, "resident", new.description, list(new.attachments), None, now
        )
        created = await self._tx.fetchone("SELECT * FROM cases WHERE id = ?", (case_id,))
        assert created is not None
        return _case(created)

    async def set_status(
        self,
        case_id: int,
        number: str,
        current: CaseStatus,
        wanted: CaseStatus,
        *,
        actor: str,
        kind: str,
        detail: dict[str, Any],
        now: datetime,
    ) -> None:
        check_transition(number, current, wanted)
        await self._tx.execute(
            "UPDATE cases SET status = ?, updated_at = ? WHERE id = ?",
            (wanted.value, _ts(now), case_id),
        )
        await self.add_event(case_id, kind, current, wanted, actor, detail, now)

    async def add_event(
        self,
        case_id: int,
        kind: str,
        from_status: CaseStatus | None,
        to_status: CaseStatus | None,
        actor: str,
        detail: dict[str, Any],
        now: datetime,
    ) -> None:
        await self._tx.execute(
            "INSERT INTO case_events"
            " (case_id, kind, from_status, to_status, actor, detail, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                kind,
                from_status.value if from_status else None,
                to_status.value if to_status else None,
                actor,
                json.dumps(detail, ensure_ascii=False),
                _ts(now),
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
    ) -> int:
        row = await self._tx.fetchone(
            "INSERT INTO case_messages (case_id, author, body, attachments, inbound_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (
                case_id,
                author,
                body,
                json.dumps(attachments, ensure_ascii=False),
                inbound_id,
                _ts(now),
            ),
        )
        await self._tx.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (_ts(now), case_id))
        assert row is not None
        return int(row["id"])

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
            (channel, user_id, query, reason, best_id, best_score, _ts(now)),
        )


class Store(_Reads):
    """Reads, and the door to ``Writes``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        return await self.db.fetchone(sql, params)

    async def _all(self, sql: str, params: tuple[Any, ...]) -> list[Row]:
        return await self.db.fetchall(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Writes]:
        async with self.db.transaction() as tx:
            yield Writes(tx)

    async def outbound_for_inbound(self, inbound_id: int) -> list[StoredMessage]:
        rows = await self.db.fetchall(
            "SELECT id, body, created_at FROM outbound WHERE inbound_id = ? ORDER BY id",
            (inbound_id,),
        )
        return [_out(r) for r in rows]

    async def inbound_id(self, channel: str, platform_msg_id: str) -> int | None:
        row = await self.db.fetchone(
            "SELECT id FROM inbound WHERE channel = ? AND platform_msg_id = ?",
            (channel, platform_msg_id),
        )
        return int(row["id"]) if row else None

    async def unprocessed_inbound(self) -> list[tuple[int, Inbound]]:
        rows = await self.db.fetchall(
            "SELECT id, channel, user_id, platform_msg_id, body FROM inbound"
            " WHERE processed_at IS NULL ORDER BY id"
        )
        return [
            (
                int(r["id"]),
                Inbound.from_json(
                    r["channel"], r["user_id"], json.loads(r["body"]), r["platform_msg_id"]
                ),
            )
            for r in rows
        ]

    async def outbound_after(self, channel: str, user_id: str, after: int) -> list[StoredMessage]:
        rows = await self.db.fetchall(
            "SELECT id, body, created_at FROM outbound"
            " WHERE channel = ? AND user_id = ? AND id > ? ORDER BY id",
            (channel, user_id, after),
        )
        return [_out(r) for r in rows]

    async def transcript(
        self, channel: str, user_id: str, since_inbound: int = 0
    ) -> list[StoredMessage]:
        """Both directions, oldest first; a reply sorts right after its message."""
        ins = await self.db.fetchall(
            "SELECT id, body, received_at FROM inbound"
            " WHERE channel = ? AND user_id = ? AND id >= ? ORDER BY id",
            (channel, user_id, since_inbound),
        )
        outs = await self.db.fetchall(
            "SELECT o.id, o.body, o.created_at, o.inbound_id, i.received_at AS anchor"
            " FROM outbound o"
            " LEFT JOIN inbound i ON i.id = o.inbound_id"
            " WHERE o.channel = ? AND o.user_id = ? AND (o.inbound_id IS NULL OR o.inbound_id >= ?)"
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

    async def case_messages(self, case_id: int) -> list[CaseMessage]:
        rows = await self.db.fetchall(
            "SELECT * FROM case_messages WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [
            CaseMessage(
                id=r["id"],
                case_id=r["case_id"],
                author=r["author"],
                body=r["body"],
                attachments=json.loads(r["attachments"]),
                at=datetime.fromisoformat(r["created_at"]),
            )
            for r in rows
        ]

    async def case_events(self, case_id: int) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT kind, from_status, to_status, actor, detail, created_at FROM case_events"
            " WHERE case_id = ? ORDER BY id",
            (case_id,),
        )
        return [dict(r) | {"detail": json.loads(r["detail"])} for r in rows]

    async def faq_misses(self, limit: int = 100) -> list[FaqMiss]:
        """Unanswered questions grouped by text, most frequent first."""
        rows = await self.db.fetchall(
            "SELECT query, reason, MAX(best_id) AS best_id, MAX(best_score) AS best_score,"
            " COUNT(*) AS n FROM faq_misses GROUP BY query, reason"
            " ORDER BY n DESC, MAX(id) DESC LIMIT ?",
            (limit,),
        )
        return [
            FaqMiss(r["query"], r["reason"], r["best_id"], r["best_score"], int(r["n"]))
            for r in rows
        ]


def _in(row: Row) -> StoredMessage:
    return StoredMessage(
        int(row["id"]), "in", json.loads(row["body"]), datetime.fromisoformat(row["received_at"])
    )


def _out(row: Row) -> StoredMessage:
    return StoredMessage(
        int(row["id"]), "out", json.loads(row["body"]), datetime.fromisoformat(row["created_at"])
    )
