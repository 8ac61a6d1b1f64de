"""The reads of the mediator console: queues, overdue lists, counts, delivery states.

Read-only queries over the tables the case service and the outbox write;
the console decides which centers a user may ask about.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from common.outbox import OutboxRecord
from handoff import Case, CaseEvent, CaseStatus

from ._database import SqlDatabase
from ._rows import Row, decoder, iso, parse_iso
from ._sql_store import outbox_record as _record

__all__ = ["ConsoleReads"]

_case = decoder(Case)
_OPEN = tuple(s.value for s in CaseStatus if s.is_open)
_MOVES = ("escalated", "transferred")


_CASE_FIELDS = ("id", "number", "channel", "user_id", "category", "region_code", "created_at")
_FAQ_FIELDS = (
    "id",
    "channel",
    "user_id",
    "query",
    "decision",
    "entry_id",
    "region_code",
    "asked_at",
)


def _fields(row: Row, names: Sequence[str]) -> dict[str, Any]:
    return {name: row[name] for name in names}


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


class ConsoleReads:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    async def open_cases(self, center_ids: Sequence[str]) -> list[Case]:
        """Open cases now at these centers, earliest deadline first."""
        if not center_ids:
            return []
        rows = await self.db.fetchall(
            f"SELECT * FROM cases WHERE center_id IN ({_marks(center_ids)})"
            f" AND status IN ({_marks(_OPEN)}) ORDER BY due_at, id",
            (*center_ids, *_OPEN),
        )
        return [_case(r) for r in rows]

    async def overdue_cases(self, center_ids: Sequence[str], now: datetime) -> list[Case]:
        """Open cases of these centers whose deadline has passed, most overdue first."""
        if not center_ids:
            return []
        rows = await self.db.fetchall(
            f"SELECT * FROM cases WHERE center_id IN ({_marks(center_ids)})"
            f" AND status IN ({_marks(_OPEN)}) AND due_at <= ? ORDER BY due_at, id",
            (*center_ids, *_OPEN, iso(now)),
        )
        return [_case(r) for r in rows]

    async def closed_cases(self, center_id: str, limit: int) -> list[Case]:
        """The center's cases that are no longer open, latest change first."""
        rows = await self.db.fetchall(
            f"SELECT * FROM cases WHERE center_id = ? AND status NOT IN ({_marks(_OPEN)})"
            " ORDER BY updated_at DESC, id DESC LIMIT ?",
            (center_id, *_OPEN, limit),
        )
        return [_case(r) for r in rows]

    async def status_counts(self, center_ids: Sequence[str] | None) -> dict[str, dict[str, int]]:
        """Cases by center and status, for these centers (None: every center)."""
        if center_ids is None:
            rows = await self.db.fetchall(
                "SELECT center_id, status, COUNT(*) AS n FROM cases GROUP BY center_id, status"
            )
        elif not center_ids:
            return {}
        else:
            rows = await self.db.fetchall(
                "SELECT center_id, status, COUNT(*) AS n FROM cases"
                f" WHERE center_id IN ({_marks(center_ids)}) GROUP BY center_id, status",
                tuple(center_ids),
            )
        found: dict[str, dict[str, int]] = {}
        for r in rows:
            found.setdefault(str(r["center_id"]), {})[str(r["status"])] = int(r["n"])
        return found

    async def latest_moves(self, case_ids: Sequence[int]) -> dict[int, CaseEvent]:
        """For each case, its latest escalation or transfer (if it had one)."""
        if not case_ids:
            return {}
        rows = await self.db.fetchall(
            "SELECT case_id, kind, from_status, to_status, actor, detail, created_at"
            f" FROM case_events WHERE case_id IN ({_marks(case_ids)})"
            f" AND kind IN ({_marks(_MOVES)}) ORDER BY id",
            (*case_ids, *_MOVES),
        )
        found: dict[int, CaseEvent] = {}
        for r in rows:
            found[int(r["case_id"])] = CaseEvent(
                kind=r["kind"],
                from_status=CaseStatus(r["from_status"]) if r["from_status"] else None,
                to_status=CaseStatus(r["to_status"]) if r["to_status"] else None,
                actor=r["actor"],
                detail=json.loads(r["detail"]),
                at=parse_iso(r["created_at"]),
            )
        return found

    # -- statistics: the raw records the figures are counted from -----------------

    async def cases_received(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Cases received in [since, until), with every audit event recorded before
        ``until`` (oldest first, ``detail`` decoded): the figures count from these."""
        rows = await self.db.fetchall(
            f"SELECT {', '.join(_CASE_FIELDS)} FROM cases"
            " WHERE created_at >= ? AND created_at < ? ORDER BY id",
            (iso(since), iso(until)),
        )
        found = {int(r["id"]): {**_fields(r, _CASE_FIELDS), "events": []} for r in rows}
        if not found:
            return []
        events = await self.db.fetchall(
            "SELECT e.case_id, e.kind, e.actor, e.detail, e.created_at FROM case_events e"
            " JOIN cases c ON c.id = e.case_id"
            " WHERE c.created_at >= ? AND c.created_at < ? AND e.created_at < ?"
            " ORDER BY e.id",
            (iso(since), iso(until), iso(until)),
        )
        for e in events:
            found[int(e["case_id"])]["events"].append(
                {
                    "kind": e["kind"],
                    "actor": e["actor"],
                    "detail": json.loads(e["detail"]),
                    "at": parse_iso(e["created_at"]),
                }
            )
        for case in found.values():
            case["created_at"] = parse_iso(case["created_at"])
        return list(found.values())

    async def faq_questions(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """FAQ decisions shown in [since, until) with their taps (oldest first)."""
        rows = await self.db.fetchall(
            "SELECT * FROM faq_questions WHERE asked_at >= ? AND asked_at < ? ORDER BY id",
            (iso(since), iso(until)),
        )
        found = {int(r["id"]): {**_fields(r, _FAQ_FIELDS), "feedback": []} for r in rows}
        if not found:
            return []
        taps = await self.db.fetchall(
            "SELECT f.question_id, f.kind, f.entry_id, f.at FROM faq_feedback f"
            " JOIN faq_questions q ON q.id = f.question_id"
            " WHERE q.asked_at >= ? AND q.asked_at < ? ORDER BY f.id",
            (iso(since), iso(until)),
        )
        for t in taps:
            found[int(t["question_id"])]["feedback"].append(
                {"kind": t["kind"], "entry_id": t["entry_id"], "at": parse_iso(t["at"])}
            )
        for q in found.values():
            q["asked_at"] = parse_iso(q["asked_at"])
        return list(found.values())

    async def reports_by(
        self, residents: Sequence[tuple[str, str]], since: datetime, until: datetime
    ) -> dict[tuple[str, str], list[datetime]]:
        """When these residents filed cases in [since, until)."""
        if not residents:
            return {}
        rows = await self.db.fetchall(
            "SELECT channel, user_id, created_at FROM cases"
            " WHERE created_at >= ? AND created_at < ? ORDER BY id",
            (iso(since), iso(until)),
        )
        wanted = set(residents)
        found: dict[tuple[str, str], list[datetime]] = {}
        for r in rows:
            key = (str(r["channel"]), str(r["user_id"]))
            if key in wanted:
                found.setdefault(key, []).append(parse_iso(r["created_at"]))
        return found

    async def outbox_entries(self, entry_ids: Sequence[int]) -> dict[int, OutboxRecord]:
        """The delivery state of these outbox entries (a mediator's messages)."""
        if not entry_ids:
            return {}
        rows = await self.db.fetchall(
            f"SELECT * FROM outbound WHERE id IN ({_marks(entry_ids)})", tuple(entry_ids)
        )
        return {int(r["id"]): _record(r) for r in rows}

    async def faq_miss_rows(self, limit: int = 2000) -> list[dict[str, Any]]:
        """The latest questions the FAQ could not serve, one row each, newest first.

        The console groups them with the FAQ's own normaliser; SQL can only
        group identical texts.
        """
        rows = await self.db.fetchall(
            "SELECT id, query, reason, best_id, best_score, created_at FROM faq_misses"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [
            {
                "query": str(r["query"]),
                "reason": str(r["reason"]),
                "best_id": r["best_id"],
                "best_score": r["best_score"],
                "at": parse_iso(r["created_at"]),
            }
            for r in rows
        ]

    # -- the outbox of one channel (webhook deliveries) ------------------------------

    @staticmethod
    def _channel_filter(
        channel: str, address_prefixes: Sequence[str] | None
    ) -> tuple[str, tuple[Any, ...]]:
        """``channel = ?``, narrowed to addresses starting with one of the prefixes."""
        if address_prefixes is None:
            return "channel = ?", (channel,)
        if not address_prefixes:
            return "1 = 0", ()
        likes = " OR ".join("address LIKE ? ESCAPE '!'" for _ in address_prefixes)
        patterns = tuple(
            p.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
            for p in address_prefixes
        )
        return f"channel = ? AND ({likes})", (channel, *patterns)

    async def recent_outbox(
        self,
        channel: str,
        *,
        address_prefixes: Sequence[str] | None = None,
        state: str | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """The latest entries of a channel (None: every address), newest first."""
        where, params = self._channel_filter(channel, address_prefixes)
        if state is not None:
            where, params = f"{where} AND state = ?", (*params, state)
        rows = await self.db.fetchall(
            "SELECT id, address, body, state, attempts, resends, last_error, created_at,"
            f" next_attempt_at, delivered_at FROM outbound WHERE {where}"
            " ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        return [
            {
                "id": int(r["id"]),
                "address": str(r["address"]),
                "body": json.loads(r["body"]),
                "state": str(r["state"]),
                "attempts": int(r["attempts"]),
                "resends": int(r["resends"]),
                "last_error": r["last_error"],
                "created_at": parse_iso(r["created_at"]),
                "next_attempt_at": parse_iso(r["next_attempt_at"])
                if r["next_attempt_at"]
                else None,
                "delivered_at": parse_iso(r["delivered_at"]) if r["delivered_at"] else None,
            }
            for r in rows
        ]

    async def outbox_state_counts(
        self, channel: str, *, address_prefixes: Sequence[str] | None = None
    ) -> dict[str, int]:
        """How many entries of a channel are in each state."""
        where, params = self._channel_filter(channel, address_prefixes)
        rows = await self.db.fetchall(
            f"SELECT state, COUNT(*) AS n FROM outbound WHERE {where} GROUP BY state", params
        )
        return {str(r["state"]): int(r["n"]) for r in rows}
