"""The dialog engine: one resident message in, the replies out, state saved.

For each message: store it (dropping an id this resident sent before), then
in one transaction take the resident's turn, load the conversation, run the
step, save the new state and the replies. A turn takes the resident's oldest
waiting message, so messages are processed in the order they were stored even
when they reach different instances at once. A crash between the two leaves
the message stored and unprocessed; ``catch_up()`` finishes such messages (at
start-up, for residents who were held back for sending too fast, and on any
instance a few seconds after another died), and their replies wait in the
outbox until the channel's adapter delivers them.
Replies to a live request are handed back to the adapter and stored as
delivered in the same transaction. A turn never waits for the FAQ's matching
process inside its transaction: it is rolled back, the question matched, and
the turn run again (``MatchFirst``).

Danger is looked at before anything else, at every step.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from common.messages import Inbound, Outbound
from common.metrics import DIALOG_SECONDS, MESSAGES_IN, MESSAGES_OUT
from common.outbox import Destination
from common.privacy import mask_sensitive
from common.unavailable import StorageUnavailable

from ._flood import FloodGate
from ._flow import MatchFirst, Services, Turn
from ._ports import DialogStore, Sent, TurnWrites
from ._states import MENU, REPORT_STEPS
from .danger import detect as detect_danger
from .flows import STEPS, cases, danger, menu, rating, resume
from .flows._common import menu_choices

if TYPE_CHECKING:
    from faq import MatchResult

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
        # Residents with a message stored but cut short by a storage outage: finished
        # when they send it again, or by ``catch_up`` once the storage works.
        self.cut_short: set[tuple[str, str]] = set()
        # A message stored this long ago and neither processed nor answered lost its
        # process (killed between storing and processing it): ``catch_up`` takes it over.
        self.stalled_after = timedelta(seconds=10)
        self._locks: dict[tuple[str, str], _Queue] = {}
        self._commands = {
            name: {_plain(w) for w in services.texts.words(f"commands.{name}")}
            for name in _COMMANDS
        }

    def _conversation_lock(self, key: tuple[str, str]) -> _ResidentLock:
        """One message at a time per resident, in arrival order."""
        return _ResidentLock(self._locks, key)

    async def handle(self, msg: Inbound, *, inline: bool = True) -> list[Sent]:
        """Process one message; a repeated id returns the first replies.

        ``inline``: the adapter hands the replies over itself (in its HTTP
        response); otherwise they wait in the outbox for the delivery worker.
        A message over the flood limit is kept and answered with a request to
        slow down; it is processed, in order, once the resident slows down.
        """
        if len(msg.text) > _MAX_TEXT:
            msg = replace(msg, text=msg.text[:_MAX_TEXT])
        started = time.perf_counter()
        try:
            sent = await self._handle(msg, inline=inline)
        finally:
            elapsed = time.perf_counter() - started
            self.services.metrics.observe(DIALOG_SECONDS, elapsed, channel=msg.channel)
        if inline and sent:
            self.services.metrics.count(MESSAGES_OUT, len(sent), channel=msg.channel)
        return sent

    async def _handle(self, msg: Inbound, *, inline: bool) -> list[Sent]:
        key = (msg.channel, msg.user_id)
        async with self._conversation_lock(key):
            now = self.services.clock()
            try:
                first = await self._arrive_matched(msg, now, inline=inline)
            except _TurnFailed:  # rolled back, message included: store it alone, then the
                # turn on its own, whose failure is logged and answered as any turn's
                async with self.store.transaction() as w:
                    stored_id = await w.record_inbound(msg, now)
                first = _Arrival(stored_id, done=False, duplicate=stored_id is None)
            if first.duplicate:
                log.info("duplicate %s message %s dropped", msg.channel, msg.platform_msg_id)
                if key in self.cut_short:  # sent again after an outage: finish it now
                    await self._finish_cut_short(key)
                return await self.store.replies_to(
                    msg.channel, msg.user_id, msg.platform_msg_id or ""
                )
            self.services.metrics.count(MESSAGES_IN, channel=msg.channel)
            if first.done:
                return first.sent
            assert first.inbound_id is not None
            if key in self.flood.held:  # messages held back before: their turn comes first
                for earlier_id, earlier in await self.store.unprocessed_inbound(*key):
                    if earlier_id < first.inbound_id:
                        await self._process(earlier_id, earlier, inline=False)
                self.flood.held.discard(key)
            return first.sent + await self._process(first.inbound_id, msg, inline=inline)

    async def _arrive_matched(self, msg: Inbound, now: datetime, *, inline: bool) -> _Arrival:
        """``_arrive`` in a transaction; when the turn needs the FAQ's match and the FAQ
        matches in another process, the match is made between two tries (``MatchFirst``)."""
        matched: dict[str, MatchResult] = {}
        while True:
            try:
                async with self.store.transaction() as w:
                    return await self._arrive(w, msg, now, inline=inline, matched=matched)
            except MatchFirst as wanted:  # rolled back, message included
                matched[wanted.text] = await self.services.faq.amatch(wanted.text)

    async def _arrive(
        self,
        w: TurnWrites,
        msg: Inbound,
        now: datetime,
        *,
        inline: bool,
        matched: dict[str, MatchResult],
    ) -> _Arrival:
        """Store the message and, in the same transaction, usually its whole turn: one
        commit a message. A resident held back for sending too fast, or whose earlier
        message waits (it reached another instance at the same moment), gets the turn in
        later transactions."""
        key = (msg.channel, msg.user_id)
        stored = await w.record_inbound_and_take(msg, now)  # taken: nothing of theirs waits
        if stored is None:
            return _Arrival(None, duplicate=True)
        inbound_id, taken = stored
        if not matched and self.flood.arrive(key):  # counted on the first try only
            if taken:
                await w.put_back_inbound(inbound_id)
            reply = _Replier(Destination(*key), inbound_id, now, inline)
            return _Arrival(inbound_id, await reply(w, [Outbound(self.services.texts("flood"))]))
        if key in self.flood.held or not await w.turn_is_free(*key):
            # Stored on its own: the turn waits (for slower messages, or for the
            # instance that holds it) in a transaction of its own.
            if taken:
                await w.put_back_inbound(inbound_id)
            return _Arrival(inbound_id, done=False)
        try:
            taken_id, sent = await self._turn(
                w, inbound_id, msg, now, inline=inline, matched=matched, taken=taken
            )
        except StorageUnavailable:
            raise  # nothing stored: the adapter asks the resident to send it again
        except MatchFirst:
            raise  # tried again once matched (``_arrive_matched``)
        except Exception as exc:
            raise _TurnFailed from exc
        return _Arrival(inbound_id, sent, done=taken_id == inbound_id)

    async def catch_up(self, *, everyone: bool = False) -> int:
        """Process stored messages that were not processed, in stored order per
        resident; their replies go out through the outbox. All of them after a crash
        (``everyone``), else those of residents who have slowed down or were cut short,
        and any whose turn never came: its process died between storing and processing
        it (older than ``stalled_after``; held back for sending too fast: older than
        the flood window). Returns how many were processed."""
        now = self.services.clock()
        if everyone:
            waiting = await self.store.unprocessed_inbound()
        else:
            flood_window = timedelta(seconds=self.services.flood_seconds)
            waiting = await self.store.stalled_inbound(now - self.stalled_after, now - flood_window)
        ready = self.cut_short | {key for key in self.flood.held if self.flood.calm(key)}
        if ready and not everyone:
            waiting += [
                (inbound_id, msg)
                for inbound_id, msg in await self.store.unprocessed_inbound()
                if (msg.channel, msg.user_id) in ready
            ]
        done = 0
        for inbound_id, msg in sorted(dict(waiting).items()):
            async with self._conversation_lock((msg.channel, msg.user_id)):
                done += bool(await self._process(inbound_id, msg, inline=False))
        self.flood.held -= ready
        self.cut_short -= ready
        if done:
            log.info("processed %d held-back or unfinished messages", done)
        return done

    async def recover(self) -> int:
        """At start-up: finish every message stored but not processed before a stop."""
        return await self.catch_up(everyone=True)

    async def _finish_cut_short(self, key: tuple[str, str]) -> None:
        for inbound_id, msg in await self.store.unprocessed_inbound(*key):
            await self._process(inbound_id, msg, inline=False)
        self.cut_short.discard(key)

    async def _process(self, inbound_id: int, msg: Inbound, *, inline: bool) -> list[Sent]:
        """The resident's turns up to this message, in stored order: an earlier message
        still waiting (it reached another instance at the same moment, or its instance
        died) goes first, and its replies come with this one's. Nothing when this
        message was processed already (elsewhere)."""
        sent: list[Sent] = []
        while True:
            taken_id, replies = await self._next_turn(inbound_id, msg, inline=inline)
            sent += replies
            if taken_id is None or taken_id == inbound_id:
                return sent

    async def _next_turn(
        self, up_to: int, msg: Inbound, *, inline: bool
    ) -> tuple[int | None, list[Sent]]:
        """One turn in a transaction of its own (see ``_turn``)."""
        now = self.services.clock()
        destination = Destination(msg.channel, msg.user_id)
        try:
            async with self.store.transaction() as w:
                return await self._turn(w, up_to, msg, now, inline=inline)
        except StorageUnavailable:
            # Not the resident's fault nor a bug: the message stays stored, unprocessed.
            self.cut_short.add((msg.channel, msg.user_id))
            raise
        except Exception:
            log.exception(
                "failed to process %s message %s from %s: %s",
                msg.channel,
                up_to,
                msg.user_id,
                mask_sensitive(msg.text[:200]),
            )
            # The message stays stored; the resident learns something went wrong.
            reply = _Replier(destination, up_to, now, inline)
            async with self.store.transaction() as w:
                await w.take_inbound(up_to, now)
                return up_to, await reply(w, [Outbound(self.services.texts("error"))])

    async def _turn(
        self,
        w: TurnWrites,
        up_to: int,
        msg: Inbound,
        now: datetime,
        *,
        inline: bool,
        matched: dict[str, MatchResult] | None = None,
        taken: bool = False,
    ) -> tuple[int | None, list[Sent]]:
        """The resident's oldest waiting message up to ``up_to``, processed: its id and
        replies, or None when no message is waiting; ``taken``: ``up_to`` is that message,
        taken when it was stored. With ``matched``, the turn may ask for the FAQ's match
        first (``MatchFirst``)."""
        found = (
            (up_to, None)
            if taken
            else await w.take_next_inbound(msg.channel, msg.user_id, up_to, now)
        )
        if found is None:
            return None, []
        inbound_id, earlier = found
        if earlier is not None:  # an earlier message of the resident waited: it goes first
            msg = earlier
        loaded = await w.conversation(msg.channel, msg.user_id)
        state, data = loaded if loaded else (MENU, {})
        turn = Turn(msg, inbound_id, state, data, w, self.services, now, matched=matched)
        await self._run(turn, first_contact=loaded is None)
        self._remember_choices(turn)
        resume.touch(turn.data, now)
        await w.save_conversation(msg.channel, msg.user_id, turn.state, turn.data, now)
        reply = _Replier(Destination(msg.channel, msg.user_id), inbound_id, now, inline)
        return inbound_id, await reply(w, turn.replies)

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
            await self._goto(turn, await danger.after_warning(turn))
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


class _Queue:
    """A resident's lock and how many hold or await it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()  # fair: waiters get it in arrival order
        self.users = 0


class _ResidentLock:
    """``async with``: the resident's turn. The lock is dropped once no one holds or
    awaits it. A class, not a generator-based context manager: every message takes one."""

    __slots__ = ("_key", "_locks", "_queue")

    def __init__(self, locks: dict[tuple[str, str], _Queue], key: tuple[str, str]) -> None:
        self._locks = locks
        self._key = key
        self._queue = locks.get(key) or locks.setdefault(key, _Queue())

    async def __aenter__(self) -> None:
        self._queue.users += 1
        try:
            await self._queue.lock.acquire()
        except BaseException:  # cancelled while waiting
            self._leave()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._queue.lock.release()
        self._leave()

    def _leave(self) -> None:
        self._queue.users -= 1
        if not self._queue.users and self._locks.get(self._key) is self._queue:
            del self._locks[self._key]


@dataclass(frozen=True)
class _Arrival:
    """What storing a message did: its id, the replies so far, whether its turn is done."""

    inbound_id: int | None
    sent: list[Sent] = field(default_factory=list)
    done: bool = True
    duplicate: bool = False


class _TurnFailed(Exception):
    """A turn raised inside the transaction that stored its message."""


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
