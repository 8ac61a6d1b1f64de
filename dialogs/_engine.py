"""The dialog engine: one resident message in, the replies out, state saved.

For each message: store it (dropping an id this resident sent before), then
in one transaction take it, load the conversation, run the step, save the
new state and the replies. A crash between the two leaves the message
stored and unprocessed; ``catch_up()`` finishes such messages (at start-up,
and for residents who were held back for sending too fast), and their
replies wait in the outbox until the channel's adapter delivers them.
Replies to a live request are handed back to the adapter and stored as
delivered in the same transaction.

Danger is looked at before anything else, at every step.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime

from common.messages import Inbound, Outbound
from common.outbox import Destination
from common.privacy import mask_sensitive

from ._flood import FloodGate
from ._flow import Services, Turn
from ._ports import DialogStore, Sent, TurnWrites
from ._states import MENU, REPORT_STEPS
from .danger import detect as detect_danger
from .flows import STEPS, cases, danger, menu, rating, resume
from .flows._common import menu_choices

__all__ = ["Engine"]

log = logging.getLogger(__name__)

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_MAX_TEXT = 2000
_COMMANDS = ("menu", "cancel", "back", "human", "card", "cases", "report")


def _plain(text: str) -> str:
    """Lower-case, full-width folded, without spaces or punctuation (for commands)."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text)).lower()


class Engine:
    def __init__(self, store: DialogStore, services: Services) -> None:
        self.store = store
        self.services = services
        self.flood = FloodGate(services.clock, services.flood_messages, services.flood_seconds)
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._commands = {
            name: {_plain(w) for w in services.texts.words(f"commands.{name}")}
            for name in _COMMANDS
        }

    @asynccontextmanager
    async def _conversation_lock(self, key: tuple[str, str]) -> AsyncIterator[None]:
        """One message at a time per resident, in arrival order."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    async def handle(self, msg: Inbound, *, inline: bool = True) -> list[Sent]:
        """Process one message; a repeated id returns the first replies.

        ``inline``: the adapter hands the replies over itself (in its HTTP
        response); otherwise they wait in the outbox for the delivery worker.
        A message over the flood limit is kept and answered with a request to
        slow down; it is processed, in order, once the resident slows down.
        """
        if len(msg.text) > _MAX_TEXT:
            msg = replace(msg, text=msg.text[:_MAX_TEXT])
        key = (msg.channel, msg.user_id)
        async with self._conversation_lock(key):
            now = self.services.clock()
            async with self.store.transaction() as w:
                inbound_id = await w.record_inbound(msg, now)
            if inbound_id is None:
                log.info("duplicate %s message %s dropped", msg.channel, msg.platform_msg_id)
                return await self.store.replies_to(
                    msg.channel, msg.user_id, msg.platform_msg_id or ""
                )
            reply = _Replier(Destination(*key), inbound_id, now, inline)
            if self.flood.arrive(key):
                async with self.store.transaction() as w:
                    return await reply(w, [Outbound(self.services.texts("flood"))])
            if key in self.flood.held:  # messages held back before: their turn comes first
                for earlier_id, earlier in await self.store.unprocessed_inbound(*key):
                    if earlier_id < inbound_id:
                        await self._process(earlier_id, earlier, inline=False)
                self.flood.held.discard(key)
            return await self._process(inbound_id, msg, inline=inline)

    async def catch_up(self, *, everyone: bool = False) -> int:
        """Process stored messages that were not processed: all of them after a crash
        (``everyone``), else those of residents who have slowed down. Their replies
        go out through the outbox. Returns how many were processed."""
        if not everyone and not self.flood.held:
            return 0  # nobody was held back: nothing to look for
        done = 0
        finished: set[tuple[str, str]] = set()
        for inbound_id, msg in await self.store.unprocessed_inbound():
            key = (msg.channel, msg.user_id)
            if not everyone and not self.flood.calm(key):
                continue
            async with self._conversation_lock(key):
                done += bool(await self._process(inbound_id, msg, inline=False))
            finished.add(key)
        self.flood.held -= finished
        if done:
            log.info("processed %d held-back or unfinished messages", done)
        return done

    async def recover(self) -> int:
        """At start-up: finish every message stored but not processed before a stop."""
        return await self.catch_up(everyone=True)

    async def _process(self, inbound_id: int, msg: Inbound, *, inline: bool) -> list[Sent]:
        """One turn; nothing when the message was processed already (elsewhere)."""
        now = self.services.clock()
        reply = _Replier(Destination(msg.channel, msg.user_id), inbound_id, now, inline)
        try:
            async with self.store.transaction() as w:
                if not await w.take_inbound(inbound_id, now):
                    return []
                loaded = await w.conversation(msg.channel, msg.user_id)
                state, data = loaded if loaded else (MENU, {})
                turn = Turn(msg, inbound_id, state, data, w, self.services, now)
                await self._run(turn, first_contact=loaded is None)
                self._remember_choices(turn)
                resume.touch(turn.data, now)
                await w.save_conversation(msg.channel, msg.user_id, turn.state, turn.data, now)
                return await reply(w, turn.replies)
        except Exception:
            log.exception(
                "failed to process %s message %s from %s: %s",
                msg.channel,
                inbound_id,
                msg.user_id,
                mask_sensitive(msg.text[:200]),
            )
            # The message stays stored; the resident learns something went wrong.
            async with self.store.transaction() as w:
                await w.take_inbound(inbound_id, now)
                return await reply(w, [Outbound(self.services.texts("error"))])

    def _remember_choices(self, turn: Turn) -> None:
        """Typed numbers and labels refer to the choices of the latest reply only."""
        if not turn.replies:
            return
        last = turn.replies[-1]
        if last.choices:
            turn.data["_choices"] = [[c.label, c.payload] for c in last.choices]
        else:
            turn.data.pop("_choices", None)

    async def _goto(self, turn: Turn, state: str | None) -> None:
        if state is None:
            return
        turn.state = state
        await STEPS[state].prompt(turn)

    async def _greet(self, turn: Turn, *, first_contact: bool) -> None:
        """Hello, with the center of the resident's place; the privacy notice the first time."""
        home = turn.data.get("home")
        center_part = ""
        centers = self.services.centers
        if home and centers.region(home):
            center = centers.route(home, "other").center
            center_part = turn.t("greeting_center", center=center.name)
        text = turn.t("greeting", center_part=center_part)
        if not first_contact:
            turn.say(text)
            return
        turn.say(
            f"{text}\n{turn.t('privacy.short')}",
            details=turn.t("privacy.details"),
            details_label=turn.t("privacy.label"),
        )

    def _as_choice(self, turn: Turn) -> None:
        """A typed label or number of an offered choice counts as picking it."""
        offered = turn.data.get("_choices") or []
        if turn.msg.kind != "text" or not offered:
            return
        typed = _plain(turn.msg.text)
        for index, (label, payload) in enumerate(offered, start=1):
            if typed in (_plain(label), str(index)):
                turn.msg = replace(turn.msg, kind="choice", payload=payload, text=label)
                return

    async def _start(self, turn: Turn, *, first_contact: bool) -> None:
        """The chat was opened, maybe from a QR code or link with a place."""
        code = turn.msg.payload
        if code and self.services.centers.region(code):
            turn.data["home"] = code
        had_report = resume.pause(turn)
        await self._greet(turn, first_contact=first_contact)
        if had_report:
            resume.offer(turn, "resume.question_open")
            return
        await self._goto(turn, MENU)

    async def _run(self, turn: Turn, *, first_contact: bool) -> None:
        msg = turn.msg
        plain = _plain(msg.text) if msg.kind == "text" else ""
        found = detect_danger(msg.text) if msg.kind == "text" else None
        if found is not None and danger.warn(turn, found):
            return
        if msg.kind == "start":
            await self._start(turn, first_contact=first_contact)
            return
        if first_contact:
            await self._greet(turn, first_contact=True)
            if len(plain) < 6 or any(plain in words for words in self._commands.values()):
                await self._goto(turn, MENU)
                return
        stale = resume.is_stale(turn.state, turn.data, turn.now, self.services.expiry_hours)
        if stale and resume.pause(turn):
            resume.offer(turn, "resume.question_back")
            if len(plain) < 6:  # 你好 and the like: just the question
                return

        self._as_choice(turn)
        payload = turn.payload
        if payload in danger.PAYLOADS:
            await self._goto(turn, danger.after_warning(turn))
            return
        if payload in resume.PAYLOADS:
            await self._goto(turn, resume.answer(turn))
            return
        if rating.handles(payload):  # buttons of the outcome and follow-up messages
            await self._goto(turn, await rating.answer(turn))
            return
        if payload.startswith(cases.REPLY_PREFIX):  # 回复调解员 under a mediator's message
            await self._goto(turn, await cases.reply_to(turn))
            return
        command = next((name for name, words in self._commands.items() if plain in words), None)
        if payload.startswith("cmd:"):
            command = payload.removeprefix("cmd:")
        if payload.startswith("menu:"):
            command = payload.removeprefix("menu:")
            if command not in menu.ITEMS:
                command = None  # a stale or forged button: the step gives its hint

        if command == "menu":
            resume.reset(turn)
            await self._goto(turn, MENU)
        elif command == "cancel":
            if turn.state == MENU:
                turn.say(turn.t("nothing_to_cancel"), menu_choices(turn))
            else:
                resume.reset(turn)
                turn.say(turn.t("cancelled"))
                await self._goto(turn, MENU)
        elif command == "back":
            target = STEPS[turn.state].back_target(turn)
            if target is None:
                turn.say(turn.t("cannot_go_back"), menu_choices(turn))
            else:
                await self._goto(turn, target)
        elif command in ("human", "report") and turn.state in REPORT_STEPS:
            turn.say(turn.t("human.in_report"))
            await self._goto(turn, turn.state)
        elif command in menu.ITEMS:
            if command != "ask":
                resume.reset(turn)
            turn.state = MENU
            await self._goto(turn, await menu.open_menu_item(turn, f"menu:{command}"))
        else:
            await self._goto(turn, await STEPS[turn.state].handle(turn))


@dataclass(frozen=True)
class _Replier:
    """Stores a turn's replies in the outbox, as delivered when the adapter hands them over."""

    destination: Destination
    inbound_id: int
    now: datetime
    inline: bool

    async def __call__(self, w: TurnWrites, replies: list[Outbound]) -> list[Sent]:
        sent = []
        for message in replies:
            entry = await w.enqueue(
                self.destination,
                message,
                self.now,
                inbound_id=self.inbound_id,
                delivered=self.inline,
            )
            sent.append(Sent(entry, message))
        return sent
