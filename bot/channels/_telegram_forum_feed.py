"""What a center's Telegram forum group hears of its cases, queued with each change.

The case service tells this feed of every event and case message inside
the change's transaction (``handoff.CaseFeed``); the feed queues posts for
the topic of the case in the group of its center. A topic is an outbox
destination of its own, ``telegram-topic:<group chat id>/<case number>``, so
its posts go out in order and the topic itself is opened on the first send
(``_telegram_forum``). Posts carry facts, not finished text: the adapter
renders them when it sends (names, the transcript as it is by then).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from common.messages import Outbound
from common.outbox import Destination
from handoff import Case, CaseEvent, CaseMessage, CaseWrites, CenterDirectory

__all__ = [
    "TOPIC_CHANNEL",
    "ForumFeed",
    "TopicPost",
    "mark_of",
    "origin_of",
    "parse_topic_address",
    "topic_destination",
]

TOPIC_CHANNEL = "telegram-topic"
# Events shown in the topic as a line of their own (the card shows the rest).
_EVENT_LINES = ("claimed", "resolved", "rated", "withdrawn", "overdue_flagged", "reopened")
_MOVES = ("escalated", "transferred", "reopened")
# The mark before a topic's name once the case left the group's hands.
_MARKS = {"resolved": "✅", "withdrawn": "↩️", "moved": "↪️", "reopened": ""}


@dataclass(frozen=True)
class TopicPost(Outbound):
    """An outbox body for a case topic: ``post`` says what to show (see module doc)."""

    post: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "topic": self.post}


def topic_destination(group: int, number: str) -> Destination:
    return Destination(TOPIC_CHANNEL, f"{group}/{number}")


def parse_topic_address(address: str) -> tuple[int, str] | None:
    """(group chat id, case number) of a topic destination's address."""
    group, _, number = address.partition("/")
    try:
        return int(group), number
    except ValueError:
        return None


def origin_of(destination: Destination) -> str:
    """How a message written in this topic names its origin (``CaseFeed``)."""
    return f"{destination.channel}:{destination.address}"


class ForumFeed:
    """The ``CaseFeed`` of the centers' Telegram groups."""

    def __init__(self, directory: CenterDirectory) -> None:
        self.directory = directory

    def group_of(self, center_id: str) -> int | None:
        center = self.directory.center(center_id)
        return center.telegram_group if center is not None else None

    async def _post(
        self, w: CaseWrites, case: Case, center_id: str, post: dict[str, Any], at: datetime
    ) -> None:
        group = self.group_of(center_id)
        if group is not None:
            await w.enqueue(topic_destination(group, case.number), TopicPost("", post=post), at)

    async def case_event(
        self, w: CaseWrites, case: Case, event: CaseEvent, previous: Case | None
    ) -> None:
        if event.kind == "created":
            await self._post(w, case, case.center_id, {"kind": "card"}, event.at)
            return
        moved = previous is not None and previous.center_id != case.center_id
        if event.kind in _MOVES and moved and previous is not None:
            away = {
                "kind": "event",
                "event": "moved",
                "move": event.kind,
                "to": case.center_name,
                "reason": str(event.detail.get("reason", "")),
                "actor": event.actor,
            }
            rename = {"kind": "rename", "mark": "moved"}
            await self._post(w, case, previous.center_id, away, event.at)
            await self._post(w, case, previous.center_id, rename, event.at)
            card = {"kind": "card", "move": event.kind, "from": previous.center_id}
            await self._post(w, case, case.center_id, card, event.at)
            return
        if event.kind in _EVENT_LINES:
            line = {"kind": "event", "event": event.kind, "actor": event.actor, **event.detail}
            await self._post(w, case, case.center_id, line, event.at)
        if event.kind in _MARKS:
            rename = {"kind": "rename", "mark": event.kind}
            await self._post(w, case, case.center_id, rename, event.at)

    async def case_message(
        self, w: CaseWrites, case: Case, message: CaseMessage, origin: str | None
    ) -> None:
        group = self.group_of(case.center_id)
        if group is None or message.author == "system":
            return
        if origin is not None and origin == origin_of(topic_destination(group, case.number)):
            return  # the group saw it being written
        if message.author == "resident":
            who = "resident"
        elif message.kind in ("note", "supervision"):
            who = message.kind
        else:
            who = "mediator"
        post = {
            "kind": "message",
            "who": who,
            "name": message.author_name or "",
            "text": message.body,
            "attachments": message.attachments,
        }
        await self._post(w, case, case.center_id, post, message.at)


def mark_of(name: str) -> str:
    """The mark a rename post puts before the topic's name."""
    return _MARKS.get(name, "")
