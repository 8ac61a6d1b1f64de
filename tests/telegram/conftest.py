"""The service with its Telegram channel, the fake Bot API, and residents on Telegram.

The channel is the real adapter with the real python-telegram-bot, pointed
at the fake server (``fake_api``) on 127.0.0.1; the service is the real
Starlette app over HTTP with a real SQLite file. A ``TelegramResident`` does
what a person does in the Telegram app — types, taps inline buttons, shares
a location, a photo, a voice note, their number — and reads what the bot
sent back, so the shared conversation helpers of ``tests.chat`` run over
Telegram unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bot.channels.telegram import TelegramChannel
from bot.channels.web import WebChannel
from bot.config import Settings
from common.delivery import OUTBOX_TOPIC
from common.outbox import Destination, OutboxState
from tests.chat import ChatDriver
from tests.support import Clock, Service, run_service

from .fake_api import DATE, TOKEN, FakeBotApi, Sent, run_fake_api

SECRET = "webhook-Secret_0123456789"
PUBLIC_URL = "https://minshi.example.org"
_message_ids = itertools.count(1)
_callback_ids = itertools.count(1)


def person(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "居民", "language_code": "zh-hans"}


def private_chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": "居民"}


def message(chat_id: int, **content: Any) -> dict[str, Any]:
    """A message a resident sends in the private chat with the bot."""
    return {
        "message_id": next(_message_ids),
        "date": DATE,
        "chat": private_chat(chat_id),
        "from": person(chat_id),
        **content,
    }


def member_update(chat_id: int, old: str, new: str) -> dict[str, Any]:
    """my_chat_member: the bot's status in a private chat changed (blocked, unblocked)."""
    bot = {"id": 123456, "is_bot": True, "first_name": "民事直说", "username": "minshi_test_bot"}
    return {
        "chat": private_chat(chat_id),
        "from": person(chat_id),
        "date": DATE,
        "old_chat_member": {
            "user": bot,
            "status": old,
            **({"until_date": 0} if old == "kicked" else {}),
        },
        "new_chat_member": {
            "user": bot,
            "status": new,
            **({"until_date": 0} if new == "kicked" else {}),
        },
    }


async def eventually(condition: Callable[[], Awaitable[bool]], timeout: float = 5) -> None:
    """Until ``condition`` holds (it reads the database, which announces nothing)."""
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.01)


class Telegram:
    """One running service with a Telegram channel, and the fake Bot API it talks to."""

    def __init__(
        self, fake: FakeBotApi, service: Service, channel: TelegramChannel, clock: Clock
    ) -> None:
        self.fake = fake
        self.service = service
        self.channel = channel
        self.clock = clock
        self.webhook = not channel.polling
        self._residents = itertools.count(700_000_001)

    @property
    def runtime(self) -> Any:
        return self.service.runtime

    def resident(self, chat_id: int | None = None) -> TelegramResident:
        return TelegramResident(self, chat_id or next(self._residents))

    async def send(self, update: dict[str, Any]) -> None:
        """Hand an update to the service the way Telegram does in this mode, and wait
        until the service has taken it (webhook: answered 200; polling: confirmed)."""
        self.clock.advance(seconds=2)  # a person takes a moment between messages
        if self.webhook:
            response = await self.fake.deliver(update)
            assert response.status_code == 200, response.text
            return
        update_id = update["update_id"]
        await self.fake.queue(update)
        await self.fake.wait_for(
            lambda: any((c.json("offset") or 0) > update_id for c in self.fake.called("getUpdates"))
        )

    async def records(self, chat_id: int) -> list[Any]:
        return list(await self.runtime.store.outbox_records(Destination("telegram", str(chat_id))))

    async def settled(self, chat_id: int) -> None:
        """Until every message to this resident has gone out (or was given up)."""
        final = {OutboxState.DELIVERED, OutboxState.UNDELIVERABLE}

        async def done() -> bool:
            return all(r.state in final for r in await self.records(chat_id))

        await eventually(done)

    async def exchange(self, chat_id: int, update: dict[str, Any]) -> list[Sent]:
        """Send an update; the messages the bot sent this resident in answer."""
        mark = len(self.fake.sent)
        await self.send(update)
        await self.settled(chat_id)
        return [m for m in self.fake.sent[mark:] if m.chat_id == chat_id]

    def wake_delivery(self) -> None:
        """Retries fall due by the clock; tell the delivery worker to look now."""
        self.runtime.notifier.publish(OUTBOX_TOPIC)


class TelegramResident(ChatDriver):
    """A person in the Telegram app, in the private chat with the bot."""

    def __init__(self, telegram: Telegram, chat_id: int) -> None:
        super().__init__()
        self.tg = telegram
        self.chat_id = chat_id
        self.taps: list[str] = []  # callback query ids, one per tapped button

    async def _send(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        if "text" in body:
            update = self.tg.fake.update(message=message(self.chat_id, text=body["text"]))
        elif "start" in body:
            update = self.deep_link(body["start"])
        elif "choice" in body:
            update = self.tap_update(body["choice"])
        elif "location" in body:
            point = {"latitude": body["location"]["lat"], "longitude": body["location"]["lon"]}
            update = self.tg.fake.update(message=message(self.chat_id, location=point))
        else:
            raise AssertionError(f"not something a Telegram user sends: {body}")
        return await self._exchange(update)

    async def send_update(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        self.replies = await self._exchange(update)
        return self.replies

    async def send_message(self, **content: Any) -> list[dict[str, Any]]:
        return await self.send_update(self.tg.fake.update(message=message(self.chat_id, **content)))

    async def _exchange(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        return [reply(m) for m in await self.tg.exchange(self.chat_id, update)]

    def deep_link(self, payload: str) -> dict[str, Any]:
        """What t.me/<bot>?start=<payload> makes the app send (or a bare /start)."""
        text = f"/start {payload}".strip()
        entity = {"type": "bot_command", "offset": 0, "length": len("/start")}
        return self.tg.fake.update(message=message(self.chat_id, text=text, entities=[entity]))

    def tap_update(self, data: str) -> dict[str, Any]:
        """Tapping the inline button with this callback data (on the newest message with it)."""
        for sent in reversed(self.tg.fake.to(self.chat_id)):
            if any(b.get("callback_data") == data for b in sent.inline_buttons):
                self.taps.append(f"cq-{next(_callback_ids)}")
                query = {
                    "id": self.taps[-1],
                    "from": person(self.chat_id),
                    "chat_instance": "ci-1",
                    "data": data,
                    "message": sent.as_update_message(),
                }
                return self.tg.fake.update(callback_query=query)
        raise AssertionError(f"no inline button with data {data!r} in this chat")

    @property
    def keyboard(self) -> list[dict[str, Any]]:
        """The reply-keyboard buttons of the latest answer."""
        return [b for r in self.replies for b in r["keyboard"]]


def reply(sent: Sent) -> dict[str, Any]:
    """A message the bot sent, as the shared helpers read replies."""
    return {
        "id": sent.message_id,
        "text": sent.text,
        "choices": [
            {"label": b["text"], "payload": b["callback_data"]}
            for b in sent.inline_buttons
            if "callback_data" in b
        ],
        "keyboard": sent.keyboard_buttons,
        "entities": sent.entities,
    }


def telegram_settings(settings: Settings, fake: FakeBotApi, *, webhook: bool) -> Settings:
    changes: dict[str, Any] = {"telegram_token": TOKEN, "telegram_api_url": fake.base_url}
    if webhook:
        changes |= {"telegram_webhook_secret": SECRET, "public_url": PUBLIC_URL}
    return settings.model_copy(update=changes)


@contextlib.asynccontextmanager
async def running(
    settings: Settings, clock: Clock, *, webhook: bool, fake: FakeBotApi | None = None
) -> AsyncIterator[Telegram]:
    """The service with its Telegram channel, connected to a (new or given) fake Bot API."""
    async with contextlib.AsyncExitStack() as stack:
        if fake is None:
            fake = await stack.enter_async_context(run_fake_api())
        tg_settings = telegram_settings(settings, fake, webhook=webhook)
        channel = TelegramChannel(
            tg_settings, poll_timeout=5, retry_seconds=0.05, file_retry_seconds=0.05
        )
        service = await stack.enter_async_context(
            run_service(tg_settings, clock, adapters=[WebChannel(), channel, channel.forum])
        )
        fake.webhook_target = service.base_url + "/telegram/webhook"
        connected = "setWebhook" if webhook else "getUpdates"
        await fake.wait_for(lambda: bool(fake.called(connected)))
        yield Telegram(fake, service, channel, clock)


@pytest.fixture
async def polling(settings: Settings, clock: Clock) -> AsyncIterator[Telegram]:
    async with running(settings, clock, webhook=False) as telegram:
        yield telegram


@pytest.fixture
async def webhook(settings: Settings, clock: Clock) -> AsyncIterator[Telegram]:
    async with running(settings, clock, webhook=True) as telegram:
        yield telegram


@pytest.fixture(params=["polling", "webhook"])
async def telegram(
    request: pytest.FixtureRequest, settings: Settings, clock: Clock
) -> AsyncIterator[Telegram]:
    async with running(settings, clock, webhook=request.param == "webhook") as telegram:
        yield telegram
