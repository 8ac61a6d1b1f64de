"""``minshi chat``: the same dialogs in a terminal, for admins and demos.

Choices print as a numbered list; typing the number (or the label) picks it.
``/loc 纬度 经度`` sends a location, ``/photo 文件`` an attachment,
``/quit`` (or end of input) leaves; the conversation is kept for next time.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TextIO

from dialogs import Attachment, Inbound, Location, Sent

from .base import ChannelAdapter

__all__ = ["TerminalChannel"]

HELP = "（输入数字选择；/loc 纬度 经度 发送位置；/photo 文件名 发送照片；/quit 退出）"


class TerminalChannel(ChannelAdapter):
    name = "terminal"

    def __init__(self, user_id: str, out: TextIO = sys.stdout) -> None:
        self.user_id = user_id
        self.out = out

    async def deliver(self, user_id: str, messages: Sequence[Sent]) -> None:
        if user_id == self.user_id:
            self.show(messages)

    def show(self, messages: Sequence[Sent]) -> None:
        for sent in messages:
            print(sent.message.text, file=self.out)
            for number, choice in enumerate(sent.message.choices, start=1):
                print(f"  {number}. {choice.label}", file=self.out)
            print(file=self.out)
        self.out.flush()

    def parse(self, line: str) -> Inbound | None:
        """A typed line as a message; None for an empty line."""
        text = line.strip()
        if not text:
            return None
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

    async def run(
        self,
        receive: Callable[[Inbound], Awaitable[list[Sent]]],
        has_conversation: bool,
        stdin: TextIO = sys.stdin,
    ) -> None:
        """Read lines until /quit or end of input, printing the replies."""
        print(HELP, file=self.out)
        if not has_conversation:
            self.show(await receive(Inbound(self.name, self.user_id, "text", text="/start")))
        while True:
            print("> ", end="", file=self.out, flush=True)
            line = await asyncio.to_thread(stdin.readline)
            if not line or line.strip() in ("/quit", "/exit"):
                print(file=self.out)
                return
            msg = self.parse(line)
            if msg is not None:
                self.show(await receive(msg))
