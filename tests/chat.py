"""A resident talking to the bot, whatever carries the messages.

``ChatDriver`` is what a resident does on the chat page: send text, tap a
button, share a location. Subclasses carry the message: over real HTTP to
the running service (``tests/resident``) or straight into the dialog engine
on the in-memory store (``tests/dialogs``, milliseconds per conversation).
The flow helpers below work with either.
"""

from __future__ import annotations

import re
import uuid
from abc import ABC, abstractmethod
from typing import Any

ZHANGYE_VILLAGE = ("甘州区", "沙井镇", "寺儿沟村")


class ChatDriver(ABC):
    def __init__(self) -> None:
        self.replies: list[dict[str, Any]] = []

    @abstractmethod
    async def _send(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Deliver one API body (as the page sends it); the bot's replies."""

    async def post(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        body.setdefault("id", uuid.uuid4().hex)
        self.replies = await self._send(body)
        return self.replies

    async def start(self, place: str = "") -> list[dict[str, Any]]:
        """Open the chat, as the page does (with a place from a QR code)."""
        return await self.post({"start": place})

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self.post({"text": text})

    async def tap(self, label: str) -> list[dict[str, Any]]:
        """Tap the button whose label contains ``label`` in the latest replies."""
        return await self.post({"choice": self.choice(label)})

    async def send_location(self, lat: float, lon: float) -> list[dict[str, Any]]:
        return await self.post({"location": {"lat": lat, "lon": lon}})

    def choice(self, label: str) -> str:
        for reply in reversed(self.replies):
            for c in reply["choices"]:
                if label in c["label"]:
                    return str(c["payload"])
        offered = [c["label"] for r in self.replies for c in r["choices"]]
        raise AssertionError(f"no button '{label}' among {offered}")

    @property
    def labels(self) -> list[str]:
        return [c["label"] for r in self.replies for c in r["choices"]]

    @property
    def text(self) -> str:
        """Everything the bot said in its latest answer, as one string."""
        return "\n".join(r["text"] for r in self.replies)


async def start_report(resident: ChatDriver, category: str = "邻里纠纷") -> None:
    await resident.start()
    await resident.tap("反映问题")
    await resident.tap(category)
    assert "具体情况" in resident.text


async def describe(resident: ChatDriver, *lines: str) -> None:
    for n, line in enumerate(lines, start=1):
        await resident.say(line)
        assert f"第 {n} 条" in resident.text
    await resident.tap("说完了")
    assert "发生在哪里" in resident.text or "是在「" in resident.text


async def pick_place(resident: ChatDriver, county: str, township: str, village: str) -> None:
    if "换一个地方" in resident.labels:  # the place of an earlier report is offered first
        await resident.tap("换一个地方")
    await resident.tap("按地区选")
    assert "请选区县" in resident.text
    await resident.tap(county)
    assert "请选乡镇" in resident.text
    await resident.tap(township)
    assert "请选村" in resident.text
    await resident.tap(village)
    assert "手机号" in resident.text


async def submit_case(resident: ChatDriver, story: str) -> str:
    """Report a neighbour matter in the demo village without a phone; the case number."""
    await start_report(resident)
    await describe(resident, story)
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    await resident.tap("确认提交")
    number = re.search(r"MS\d{6}-\d{4}", resident.text)
    assert number, resident.text
    return number.group(0)
