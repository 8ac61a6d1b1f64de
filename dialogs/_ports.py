"""What the dialog engine needs from storage (SQL and in-memory adapters implement it).

A dialog turn — the resident's new state, the replies, maybe a new case —
commits in one transaction, so ``TurnWrites`` includes the case writes and
the outbox.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from common.messages import Inbound, Outbound
from handoff import CaseWrites

__all__ = ["DialogStore", "FaqMiss", "Sent", "StoredMessage", "TurnWrites"]


@dataclass(frozen=True)
class Sent:
    """A reply as stored: its outbox id orders the conversation."""

    id: int
    message: Outbound


@dataclass(frozen=True)
class StoredMessage:
    """A message of the transcript, in either direction."""

    id: int
    direction: str  # "in" (from the resident) or "out" (to the resident)
    body: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class FaqMiss:
    query: str
    reason: str
    best_id: str | None
    best_score: float | None
    count: int


class TurnWrites(CaseWrites, Protocol):
    async def record_inbound(self, msg: Inbound, now: datetime) -> int | None:
        """Store a resident's message; None when this resident sent its id before."""
        ...

    async def record_inbound_and_take(self, msg: Inbound, now: datetime) -> tuple[int, bool] | None:
        """Store a resident's message and, when none of theirs waits unprocessed, take it
        (mark it processed) at once: its id and whether it was taken; None when this
        resident sent its id before. The caller then runs its turn in this transaction,
        or gives it back (``put_back_inbound``)."""
        ...

    async def put_back_inbound(self, inbound_id: int) -> None:
        """Mark a message taken by ``record_inbound_and_take`` unprocessed again."""
        ...

    async def take_inbound(self, inbound_id: int, now: datetime) -> bool:
        """Mark a message processed; False when it already was (processed elsewhere)."""
        ...

    async def turn_is_free(self, channel: str, user_id: str) -> bool:
        """Hold the resident's turn for this transaction if no other transaction holds it
        (one on another instance); False, without waiting, if one does."""
        ...

    async def take_next_inbound(
        self, channel: str, user_id: str, up_to: int, now: datetime
    ) -> tuple[int, Inbound | None] | None:
        """Take the resident's turn: mark their oldest unprocessed message (id at most
        ``up_to``) processed and return its id and the message, but no message when it
        is ``up_to`` itself (the caller has that one); None when none is left. One transaction
        at a time holds a resident's turn, in every process sharing the database, so
        a resident's messages are processed in the order they were stored."""
        ...

    async def conversation(self, channel: str, user_id: str) -> tuple[str, dict[str, Any]] | None:
        """The dialog state and data of one resident, None before first contact."""
        ...

    async def save_conversation(
        self, channel: str, user_id: str, state: str, data: dict[str, Any], now: datetime
    ) -> None: ...

    async def log_faq_miss(
        self,
        channel: str,
        user_id: str,
        query: str,
        reason: str,
        best_id: str | None,
        best_score: float | None,
        now: datetime,
    ) -> None: ...

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
        """Record a FAQ decision shown to a resident (answer | suggest | none), for
        the self-service rate; the id ties later taps to it."""
        ...

    async def log_faq_feedback(
        self, question_id: int, kind: str, entry_id: str | None, now: datetime
    ) -> None:
        """A tap on a recorded question: picked (a suggestion), useful, not_useful."""
        ...


class DialogStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[TurnWrites]: ...

    async def conversation(
        self, channel: str, user_id: str
    ) -> tuple[str, dict[str, Any]] | None: ...

    async def replies_to(self, channel: str, user_id: str, platform_msg_id: str) -> list[Sent]:
        """The replies stored for a message this resident sent before (a retry)."""
        ...

    async def unprocessed_inbound(
        self, channel: str | None = None, user_id: str | None = None
    ) -> list[tuple[int, Inbound]]:
        """Messages stored but not processed (a crash, or held back while a resident
        sent too fast), oldest first; of one resident when given."""
        ...

    async def stalled_inbound(
        self, before: datetime, held_before: datetime
    ) -> list[tuple[int, Inbound]]:
        """Messages whose turn never came (their process died between storing and
        processing them), oldest first: unprocessed, received before ``before`` and not
        answered yet — or answered with a request to slow down (held back while the
        resident sent too fast) and received before ``held_before``."""
        ...

    async def transcript(
        self, channel: str, user_id: str, since_inbound: int = 0
    ) -> list[StoredMessage]:
        """Both directions, oldest first; a reply sorts right after its message."""
        ...

    async def outbound_after(
        self, channel: str, user_id: str, after: int
    ) -> list[StoredMessage]: ...

    async def faq_misses(self, limit: int = 100) -> list[FaqMiss]:
        """Unanswered questions grouped by text, most frequent first."""
        ...
