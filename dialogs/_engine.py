"""The dialog engine: one resident message in, the replies out, state saved.

For each message: store it (dropping a platform id seen before), then in
one transaction load the conversation, run the step, save the new state and
the replies. A crash between the two leaves the message stored and
unprocessed; ``recover()`` finishes such messages at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import unicodedata
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.privacy import mask_sensitive

from ._flow import Services, Turn
from ._model import Inbound, Outbound
from ._states import MENU
from .flows import STEPS, open_menu_item
from .flows._common import menu_choices

if TYPE_CHECKING:
    from bot.storage import Store

__all__ = ["Engine", "Sent"]

log = logging.getLogger(__name__)

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_START = re.compile(r"^/start(?:\s+(\S+))?$")
_MAX_TEXT = 2000


@dataclass(frozen=True)
class Sent:
    """A reply as stored: its outbox id orders the conversation."""

    id: int
    message: Outbound


def _plain(text: str) -> str:
    """Lower-case, full-width folded, without spaces or punctuation (for commands)."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text)).lower()


class Engine:
    def __init__(self, store: Store, services: Services) -> None:
        self.store = store
        self.services = services
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._recent: dict[tuple[str, str], deque[float]] = {}
        texts = services.texts
        self._commands = {
            name: {_plain(w) for w in texts.words(f"commands.{name}")}
            for name in ("menu", "cancel", "back", "human", "card")
        }
        self._emergency = tuple(_plain(w) for w in texts.words("emergency_words"))

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

    async def handle(self, msg: Inbound) -> list[Sent]:
        """Process one message; a repeated platform id returns the first replies."""
        if len(msg.text) > _MAX_TEXT:
            msg = replace(msg, text=msg.text[:_MAX_TEXT])
        async with self._conversation_lock((msg.channel, msg.user_id)):
            now = self.services.clock()
            async with self.store.transaction() as w:
                inbound_id = await w.record_inbound(msg, now)
            if inbound_id is None:
                log.info("duplicate %s message %s dropped", msg.channel, msg.platform_msg_id)
                first = await self.store.inbound_id(msg.channel, msg.platform_msg_id or "")
                stored = await self.store.outbound_for_inbound(first) if first else []
                return [Sent(m.id, Outbound.from_json(m.body)) for m in stored]
            return await self._process(inbound_id, msg)

    async def recover(self) -> int:
        """Finish messages that were stored but not processed before a crash."""
        pending = await self.store.unprocessed_inbound()
        for inbound_id, msg in pending:
            async with self._conversation_lock((msg.channel, msg.user_id)):
                await self._process(inbound_id, msg)
        if pending:
            log.info("recovered %d unprocessed messages", len(pending))
        return len(pending)

    def _flooding(self, key: tuple[str, str]) -> bool:
        """True when a resident sends faster than any person types."""
        moment = time.monotonic()
        if len(self._recent) > 10_000:  # forget residents who went quiet
            horizon = moment - self.services.flood_seconds
            self._recent = {k: w for k, w in self._recent.items() if w and w[-1] > horizon}
        window = self._recent.setdefault(key, deque())
        while window and moment - window[0] > self.services.flood_seconds:
            window.popleft()
        window.append(moment)
        return len(window) > self.services.flood_messages

    async def _process(self, inbound_id: int, msg: Inbound) -> list[Sent]:
        now = self.services.clock()
        if self._flooding((msg.channel, msg.user_id)):
            # Kept in the inbound table, not run through the dialog; asked to slow down.
            slow_down = Outbound(self.services.texts("flood"))
            async with self.store.transaction() as w:
                out_id = await w.add_outbound(msg.channel, msg.user_id, slow_down, inbound_id, now)
                await w.mark_processed(inbound_id, now)
            return [Sent(out_id, slow_down)]
        try:
            async with self.store.transaction() as w:
                loaded = await w.conversation(msg.channel, msg.user_id)
                state, data = loaded if loaded else (MENU, {})
                turn = Turn(msg, inbound_id, state, data, w, self.services, now)
                await self._run(turn, first_contact=loaded is None)
                self._remember_choices(turn)
                await w.save_conversation(msg.channel, msg.user_id, turn.state, turn.data, now)
                sent = [
                    Sent(await w.add_outbound(msg.channel, msg.user_id, r, inbound_id, now), r)
                    for r in turn.replies
                ]
                await w.mark_processed(inbound_id, now)
            return sent
        except Exception:
            log.exception(
                "failed to process %s message %s from %s: %s",
                msg.channel,
                inbound_id,
                msg.user_id,
                mask_sensitive(msg.text[:200]),
            )
            # The message stays stored; the resident learns something went wrong.
            apology = Outbound(self.services.texts("error"))
            async with self.store.transaction() as w:
                out_id = await w.add_outbound(msg.channel, msg.user_id, apology, inbound_id, now)
                await w.mark_processed(inbound_id, now)
            return [Sent(out_id, apology)]

    def _remember_choices(self, turn: Turn) -> None:
        """Typed numbers and labels refer to the choices of the latest reply only."""
        if not turn.replies:
            return
        last = turn.replies[-1]
        if last.choices:
            turn.data["_choices"] = [[c.label, c.payload] for c in last.choices]
        else:
            turn.data.pop("_choices", None)

    async def _goto(self, turn: Turn, state: str) -> None:
        turn.state = state
        await STEPS[state].prompt(turn)

    async def _greet(self, turn: Turn) -> None:
        home = turn.data.get("home")
        center_part = ""
        centers = self.services.centers
        if home and centers.region(home):
            center = centers.route(home, "other").center
            center_part = turn.t("greeting_center", center=center.name)
        turn.say(turn.t("greeting", center_part=center_part))

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

    def _reset(self, turn: Turn) -> None:
        for key in ("report", "loc", "loc_purpose", "loc_skip_home", "ask", "case", "urgent"):
            turn.data.pop(key, None)

    async def _run(self, turn: Turn, *, first_contact: bool) -> None:
        msg = turn.msg
        plain = _plain(msg.text) if msg.kind == "text" else ""
        if plain and any(word in plain for word in self._emergency):
            turn.say(turn.t("emergency"))
            turn.data["urgent"] = True

        start = _START.match(msg.text.strip()) if msg.kind == "text" else None
        if start:
            self._reset(turn)
            code = start.group(1)
            if code and self.services.centers.region(code):
                turn.data["home"] = code
            await self._greet(turn)
            await self._goto(turn, MENU)
            return
        if first_contact:
            await self._greet(turn)
            if len(plain) < 6 or any(plain in words for words in self._commands.values()):
                await self._goto(turn, MENU)
                return

        self._as_choice(turn)
        command = next((name for name, words in self._commands.items() if plain in words), None)
        payload = turn.payload
        if payload.startswith("cmd:"):
            command = payload.removeprefix("cmd:")

        if command == "menu":
            self._reset(turn)
            await self._goto(turn, MENU)
            return
        if command == "cancel":
            if turn.state == MENU:
                turn.say(turn.t("nothing_to_cancel"), menu_choices(turn))
            else:
                self._reset(turn)
                turn.say(turn.t("cancelled"))
                await self._goto(turn, MENU)
            return
        if command == "back":
            target = STEPS[turn.state].back_target(turn)
            if target is None:
                turn.say(turn.t("cannot_go_back"), menu_choices(turn))
            else:
                await self._goto(turn, target)
            return
        if command == "human" and "report" in turn.data and turn.state != MENU:
            turn.say(turn.t("human.in_report"))
            await self._goto(turn, turn.state)
            return
        if command in ("human", "card") or payload.startswith("menu:"):
            item = payload if payload.startswith("menu:") else f"menu:{command}"
            if item != "menu:ask":
                self._reset(turn)
            turn.state = MENU
            target = await open_menu_item(turn, item)
            if target:
                await self._goto(turn, target)
            return

        target = await STEPS[turn.state].handle(turn)
        if target is not None:
            await self._goto(turn, target)
