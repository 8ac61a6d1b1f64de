"""The topics of cases in the centers' Telegram forum groups: SQL and in-memory.

One row per case and group. Opening a topic is claimed first: whoever
inserts the row (or takes over one whose topic was lost, or whose creator
went quiet) creates the topic and records its thread; anyone else waits. So
two messages of a new case sent at once, even by two processes, never open
two topics for it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, Protocol

from ._database import SqlDatabase
from ._rows import Row, iso, parse_iso

__all__ = ["CaseTopic", "ForumStore", "MemoryForumStore", "SqlForumStore", "TopicClaim"]

TopicState = Literal["creating", "open", "lost"]


@dataclass(frozen=True)
class CaseTopic:
    case_id: int
    chat_id: int
    thread_id: int | None  # None until the first topic exists
    state: TopicState
    owner: str | None  # who is creating it (state "creating")
    claimed_at: datetime
    card_message_id: int | None = None  # the message with the 认领 button

    @property
    def link(self) -> str:
        """A t.me link the group's members open the topic with ("" before it exists);
        a supergroup's chat id is -100 followed by the id the link uses."""
        if self.thread_id is None:
            return ""
        return f"https://t.me/c/{str(self.chat_id).removeprefix('-100')}/{self.thread_id}"


@dataclass(frozen=True)
class TopicClaim:
    """``create``: the caller opens the topic now (``previous`` is the row before, if
    any); otherwise ``topic`` is open, or None while someone else is opening it."""

    create: bool
    topic: CaseTopic | None = None
    previous: CaseTopic | None = None


class ForumStore(Protocol):
    async def claim_topic(
        self, case_id: int, chat_id: int, owner: str, now: datetime, stale_before: datetime
    ) -> TopicClaim: ...

    async def topic_created(
        self, case_id: int, chat_id: int, owner: str, thread_id: int
    ) -> CaseTopic | None:
        """Record the new thread; None when the claim was lost meanwhile."""
        ...

    async def release_topic(self, case_id: int, chat_id: int, owner: str) -> None:
        """Creating failed: the next sender may try (the row becomes "lost")."""
        ...

    async def topic_lost(self, case_id: int, chat_id: int, thread_id: int) -> bool:
        """The thread is gone (deleted by hand): True for the first to notice."""
        ...

    async def set_card_message(
        self, case_id: int, chat_id: int, thread_id: int, message_id: int
    ) -> None: ...

    async def topic_by_thread(self, chat_id: int, thread_id: int) -> CaseTopic | None: ...

    async def topics_of_case(self, case_id: int) -> list[CaseTopic]: ...


# -- SQL ------------------------------------------------------------------------


def _topic(row: Row) -> CaseTopic:
    state: TopicState = row["state"]
    return CaseTopic(
        case_id=int(row["case_id"]),
        chat_id=int(row["chat_id"]),
        thread_id=None if row["thread_id"] is None else int(row["thread_id"]),
        state=state,
        owner=row["owner"],
        claimed_at=parse_iso(row["claimed_at"]),
        card_message_id=None if row["card_message_id"] is None else int(row["card_message_id"]),
    )


class SqlForumStore:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    async def claim_topic(
        self, case_id: int, chat_id: int, owner: str, now: datetime, stale_before: datetime
    ) -> TopicClaim:
        async with self.db.transaction() as tx:
            inserted = await tx.fetchone(
                "INSERT INTO case_topics (case_id, chat_id, thread_id, state, owner,"
                " claimed_at, created_at) VALUES (?, ?, NULL, 'creating', ?, ?, ?)"
                " ON CONFLICT (case_id, chat_id) DO NOTHING RETURNING case_id",
                (case_id, str(chat_id), owner, iso(now), iso(now)),
            )
            if inserted is not None:
                return TopicClaim(True)
            row = await tx.fetchone(
                "SELECT * FROM case_topics WHERE case_id = ? AND chat_id = ?",
                (case_id, str(chat_id)),
            )
            assert row is not None
            current = _topic(row)
            if not _may_take(current, stale_before):
                return TopicClaim(False, current if current.state == "open" else None)
            taken = await tx.fetchone(
                "UPDATE case_topics SET state = 'creating', owner = ?, claimed_at = ?"
                " WHERE case_id = ? AND chat_id = ? AND state = ? AND claimed_at = ?"
                " RETURNING case_id",
                (owner, iso(now), case_id, str(chat_id), current.state, iso(current.claimed_at)),
            )
        return TopicClaim(True, previous=current) if taken else TopicClaim(False)

    async def topic_created(
        self, case_id: int, chat_id: int, owner: str, thread_id: int
    ) -> CaseTopic | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE case_topics SET state = 'open', thread_id = ?, owner = NULL,"
                " card_message_id = NULL WHERE case_id = ? AND chat_id = ?"
                " AND state = 'creating' AND owner = ? RETURNING *",
                (thread_id, case_id, str(chat_id), owner),
            )
        return _topic(row) if row else None

    async def release_topic(self, case_id: int, chat_id: int, owner: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE case_topics SET state = 'lost', owner = NULL WHERE case_id = ?"
                " AND chat_id = ? AND state = 'creating' AND owner = ?",
                (case_id, str(chat_id), owner),
            )

    async def topic_lost(self, case_id: int, chat_id: int, thread_id: int) -> bool:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE case_topics SET state = 'lost' WHERE case_id = ? AND chat_id = ?"
                " AND state = 'open' AND thread_id = ? RETURNING case_id",
                (case_id, str(chat_id), thread_id),
            )
        return row is not None

    async def set_card_message(
        self, case_id: int, chat_id: int, thread_id: int, message_id: int
    ) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE case_topics SET card_message_id = ? WHERE case_id = ? AND chat_id = ?"
                " AND thread_id = ?",
                (message_id, case_id, str(chat_id), thread_id),
            )

    async def topic_by_thread(self, chat_id: int, thread_id: int) -> CaseTopic | None:
        row = await self.db.fetchone(
            "SELECT * FROM case_topics WHERE chat_id = ? AND thread_id = ?",
            (str(chat_id), thread_id),
        )
        return _topic(row) if row else None

    async def topics_of_case(self, case_id: int) -> list[CaseTopic]:
        rows = await self.db.fetchall(
            "SELECT * FROM case_topics WHERE case_id = ? ORDER BY created_at, chat_id", (case_id,)
        )
        return [_topic(r) for r in rows]


def _may_take(current: CaseTopic, stale_before: datetime) -> bool:
    """A lost topic is re-created; a creation nobody finished in time is taken over."""
    return current.state == "lost" or (
        current.state == "creating" and current.claimed_at < stale_before
    )


# -- memory ---------------------------------------------------------------------


class MemoryForumStore:
    def __init__(self) -> None:
        self._rows: dict[tuple[int, int], CaseTopic] = {}
        self._created: dict[tuple[int, int], datetime] = {}
        self._lock = asyncio.Lock()

    async def claim_topic(
        self, case_id: int, chat_id: int, owner: str, now: datetime, stale_before: datetime
    ) -> TopicClaim:
        key = (case_id, chat_id)
        async with self._lock:
            current = self._rows.get(key)
            if current is None:
                self._rows[key] = CaseTopic(case_id, chat_id, None, "creating", owner, now)
                self._created[key] = now
                return TopicClaim(True)
            if not _may_take(current, stale_before):
                return TopicClaim(False, current if current.state == "open" else None)
            self._rows[key] = replace(current, state="creating", owner=owner, claimed_at=now)
            return TopicClaim(True, previous=current)

    async def topic_created(
        self, case_id: int, chat_id: int, owner: str, thread_id: int
    ) -> CaseTopic | None:
        key = (case_id, chat_id)
        async with self._lock:
            current = self._rows.get(key)
            if current is None or current.state != "creating" or current.owner != owner:
                return None
            opened = replace(
                current, state="open", thread_id=thread_id, owner=None, card_message_id=None
            )
            self._rows[key] = opened
            return opened

    async def release_topic(self, case_id: int, chat_id: int, owner: str) -> None:
        key = (case_id, chat_id)
        async with self._lock:
            current = self._rows.get(key)
            if current is not None and current.state == "creating" and current.owner == owner:
                self._rows[key] = replace(current, state="lost", owner=None)

    async def topic_lost(self, case_id: int, chat_id: int, thread_id: int) -> bool:
        key = (case_id, chat_id)
        async with self._lock:
            current = self._rows.get(key)
            if current is None or current.state != "open" or current.thread_id != thread_id:
                return False
            self._rows[key] = replace(current, state="lost")
            return True

    async def set_card_message(
        self, case_id: int, chat_id: int, thread_id: int, message_id: int
    ) -> None:
        key = (case_id, chat_id)
        async with self._lock:
            current = self._rows.get(key)
            if current is not None and current.thread_id == thread_id:
                self._rows[key] = replace(current, card_message_id=message_id)

    async def topic_by_thread(self, chat_id: int, thread_id: int) -> CaseTopic | None:
        return next(
            (t for t in self._rows.values() if t.chat_id == chat_id and t.thread_id == thread_id),
            None,
        )

    async def topics_of_case(self, case_id: int) -> list[CaseTopic]:
        found = [(self._created[k], k[1], t) for k, t in self._rows.items() if k[0] == case_id]
        return [t for _, _, t in sorted(found, key=lambda item: (item[0], str(item[1])))]
