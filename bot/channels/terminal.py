"""``minshi chat``: the same dialogs in a terminal, for admins and demos.

Choices print as a numbered list; typing the number (or the label) picks it.
``/loc 纬度 经度`` sends a location, ``/photo 文件`` an attachment, ``/start
[地区代码]`` starts over (as a QR code would), ``?`` opens the details of
the last answer, ``/quit`` (or end of input) leaves; the conversation is
kept for next time. No background job runs here: messages waiting in the
outbox for this resident are shown when the chat opens.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from common.delivery import DeliveryWorker
from common.messages import Attachment, Inbound, Location, Outbound
from common.outbox import Delivered, DeliveryResult, OutboxEntry, Unreachable
from dialogs import Sent

from ._numbered import choice_lines
from .base import ChannelAdapter

if TYPE_CHECKING:
    from bot.runtime import Runtime

__all__ = ["TerminalChannel"]

HELP = (
    "（输入数字选择；? 查看详细说明；/loc 纬度 经度 发送位置；/photo 文件名 发送照片；/quit 退出）"
)


class TerminalChannel(ChannelAdapter):
    name = "terminal"

    def __init__(self, user_id: str, out: TextIO = sys.stdout) -> None:
        self.user_id = user_id
        self.out = out
        self._details = ""

    async def send(self, entry: OutboxEntry) -> DeliveryResult:
        if entry.destination.address != self.user_id:
            return Unreachable("another terminal user")
        self.show([entry.message])
        return Delivered()

    def show(self, messages: Sequence[Outbound]) -> None:
        for message in messages:
            text = message.text
            if message.tone == "warning":
                text = f"！！{text}"
            print(text, file=self.out)
            if message.details:
                self._details = message.details
                print(f"  〔{message.details_label}：输入 ? 查看〕", file=self.out)
            for line in choice_lines(message.choices, indent="  "):
                print(line, file=self.out)
            print(file=self.out)
        self.out.flush()

    def parse(self, line: str) -> Inbound | None:
        """A typed line as a message; None for an empty line or a local command."""
        text = line.strip()
        if not text:
            return None
        if text in ("?", "？"):
            print(self._details or "（没有更多说明）", file=self.out)
            print(file=self.out)
            return None
        if text == "/start" or text.startswith("/start "):
            code = text.removeprefix("/start").strip()
            return Inbound(self.name, self.user_id, "start", payload=code)
        if text.startswith("/loc"):
            parts = text.split()
            try:
                lat, lon = float(parts[1]), float(parts[2])
            except (IndexError, ValueError):
                print("位置格式：/loc 38.93 100.45", file=self.out)
                return None
            return Inbound(self.name, self.user_id, "location", location=Location(lat, lon))
        if text.startswith("/photo"):
            name = text.removeprefix("/photo").strip() or "photo.jpg"
            photo = Attachment("photo", name, name)
            return Inbound(self.name, self.user_id, "attachment", attachments=(photo,))
        return Inbound(self.name, self.user_id, "text", text=text)

    async def run(self, runtime: Runtime, stdin: TextIO = sys.stdin) -> None:
        """Show what waited in the outbox, then read lines until /quit or end of input."""
        print(HELP, file=self.out)
        pending = DeliveryWorker(runtime.store, {self.name: self}, runtime.clock)
        while await pending.run_once():
            pass
        if await runtime.store.conversation(self.name, self.user_id) is None:
            self._show_sent(await runtime.engine.handle(Inbound(self.name, self.user_id, "start")))
        while True:
            print("> ", end="", file=self.out, flush=True)
            line = await asyncio.to_thread(stdin.readline)
            if not line or line.strip() in ("/quit", "/exit"):
                print(file=self.out)
                return
            msg = self.parse(line)
            if msg is not None:
                self._show_sent(await runtime.engine.handle(msg))

    def _show_sent(self, sent: Sequence[Sent]) -> None:
        self.show([s.message for s in sent])
