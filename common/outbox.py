"""The outbox: every message the service sends, persisted before it is sent.

Replies, mediator messages, notices to mediators' groups and webhook calls
all become outbox entries addressed to a ``Destination``. A delivery worker
leases due entries, sends them in order per destination through the channel
adapter, and records the outcome the adapter reports as a typed result. An
entry that was being sent when the process died is sent again (and counted
as a resend); nothing else is ever sent twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from .messages import Outbound

__all__ = [
    "Delivered",
    "DeliveryResult",
    "Destination",
    "FileToFetch",
    "OutboxEntry",
    "OutboxRecord",
    "OutboxState",
    "OutboxStore",
    "OutboxWrites",
    "RetryLater",
    "Unreachable",
]


@dataclass(frozen=True, order=True)
class Destination:
    """Where an entry goes: an adapter (``channel``) and an address it understands.

    For residents the address is their id on that channel; other adapters
    (a mediators' group, a webhook endpoint) define their own addresses.
    """

    channel: str
    address: str

    @property
    def topic(self) -> str:
        """The live-update topic of this destination (see ``common.notify``)."""
        return f"dest:{self.channel}:{self.address}"


class OutboxState(StrEnum):
    PENDING = "pending"  # waiting for its first attempt
    RETRYING = "retrying"  # an attempt failed; tried again at next_attempt_at
    DELIVERED = "delivered"  # the platform accepted it
    UNDELIVERABLE = "undeliverable"  # given up: the reason says why


@dataclass(frozen=True)
class OutboxEntry:
    """A leased entry, ready to send. ``interrupted``: a send of it began and never ended."""

    id: int
    destination: Destination
    body: dict[str, Any]
    attempts: int
    interrupted: bool = False

    @property
    def message(self) -> Outbound:
        return Outbound.from_json(self.body)


@dataclass(frozen=True)
class OutboxRecord:
    """An entry as an operator (or a test) sees it."""

    id: int
    destination: Destination
    body: dict[str, Any]
    state: OutboxState
    attempts: int
    resends: int  # times it was sent again after a send that never got recorded
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class FileToFetch:
    """A file a resident sent on a platform, waiting to be downloaded."""

    channel: str
    platform_ref: str
    kind: str
    attempts: int


@dataclass(frozen=True)
class Delivered:
    """The platform accepted the message."""


@dataclass(frozen=True)
class RetryLater:
    """Try again later: ``delay`` is the platform's retry-after, or None for our backoff."""

    reason: str
    delay: timedelta | None = None


@dataclass(frozen=True)
class Unreachable:
    """The recipient cannot be reached (blocked the bot, unknown chat): do not retry."""

    reason: str


DeliveryResult = Delivered | RetryLater | Unreachable


class OutboxWrites(Protocol):
    """Queueing a message inside the caller's transaction."""

    async def enqueue(
        self,
        destination: Destination,
        message: Outbound,
        now: datetime,
        *,
        inbound_id: int | None = None,
        delivered: bool = False,
    ) -> int:
        """Store a message for ``destination``; ``delivered`` when the caller hands it
        over itself (a reply in the HTTP response of the message it answers)."""
        ...


class OutboxStore(Protocol):
    """What the delivery worker needs from storage."""

    async def lease_outbox(
        self, owner: str, channels: Sequence[str], now: datetime, until: datetime, limit: int
    ) -> list[OutboxEntry]:
        """Take due entries for these channels, oldest first, at most the head run of
        each destination (an earlier entry not yet due or leased elsewhere blocks the
        ones after it, so order per destination holds)."""
        ...

    async def outbox_sending(self, entry_id: int, owner: str, now: datetime) -> bool:
        """Mark that a send begins; False when the lease was lost (do not send)."""
        ...

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
        """Record what happened to a send and release the lease."""
        ...

    async def outbox_release(self, entry_ids: Sequence[int], owner: str) -> None:
        """Give back leased entries that were not attempted."""
        ...

    async def outbox_lease_owners(self, now: datetime) -> list[str]:
        """The owners of leases still running at ``now``, each once."""
        ...

    async def outbox_free_leases(self, owners: Sequence[str]) -> int:
        """End every lease of these owners (processes known to be dead) now rather than
        when it runs out; the number of entries freed. An interrupted send stays marked,
        so it is counted as a resend."""
        ...

    async def outbox_records(self, destination: Destination | None = None) -> list[OutboxRecord]:
        """Every entry (of one destination), oldest first: for operators and tests."""
        ...
