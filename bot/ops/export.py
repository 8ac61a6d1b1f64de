"""One case as JSON, unmasked: transcript, case messages and audit trail.

For the mediator or admin working the case (a court, an appeal, a
handover). Phone numbers are NOT masked; treat the file like the case.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from common.outbox import Destination, OutboxRecord
from dialogs import StoredMessage
from handoff import Case, CaseEvent, CaseMessage

__all__ = ["export_case"]


class CaseArchive(Protocol):
    """The reads an export needs (the SQL and in-memory stores have them)."""

    async def case_by_number(self, number: str) -> Case | None: ...
    async def case_messages(self, case_id: int) -> list[CaseMessage]: ...
    async def case_events(self, case_id: int) -> list[CaseEvent]: ...
    async def transcript(
        self, channel: str, user_id: str, since_inbound: int = 0
    ) -> list[StoredMessage]: ...
    async def outbox_records(
        self, destination: Destination | None = None
    ) -> list[OutboxRecord]: ...


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


async def export_case(store: CaseArchive, number: str, now: datetime) -> dict[str, Any] | None:
    """The case with everything said and done about it; None when there is no such case."""
    case = await store.case_by_number(number)
    if case is None:
        return None
    messages = await store.case_messages(case.id)
    carried = {m.outbox_id for m in messages if m.outbox_id is not None}
    outbox: dict[int, OutboxRecord] = {}
    if carried:  # mediators' messages went to the resident
        records = await store.outbox_records(Destination(case.channel, case.user_id))
        outbox = {r.id: r for r in records if r.id in carried}
    transcript: list[StoredMessage] = []
    if case.transcript_from is not None:
        transcript = await store.transcript(case.channel, case.user_id, case.transcript_from)
    return {
        "exported_at": now.isoformat(),
        "unmasked": True,
        "case": _plain(dataclasses.asdict(case)),
        "transcript": [
            {
                "id": m.id,
                "from": "resident" if m.direction == "in" else "service",
                "at": m.at.isoformat(),
                **_plain(m.body),
            }
            for m in transcript
        ],
        "messages": [
            {
                **_plain(dataclasses.asdict(m)),
                "delivery": _delivery(outbox.get(m.outbox_id)) if m.outbox_id else None,
            }
            for m in messages
        ],
        "trail": [_plain(dataclasses.asdict(e)) for e in await store.case_events(case.id)],
    }


def _delivery(record: OutboxRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "state": record.state.value,
        "attempts": record.attempts,
        "resends": record.resends,
        "last_error": record.last_error,
        "delivered_at": _plain(record.delivered_at),
    }
