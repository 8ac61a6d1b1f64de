"""Telegram's delivery quirks: repeated and edited updates, kinds the service does not use,
webhook secrets, flood control, blocked residents and outages — nothing lost, nothing twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from bot.config import Settings
from common.messages import Outbound
from common.outbox import Destination, OutboxState
from tests.chat import start_report
from tests.support import Clock, rows

from .conftest import Telegram, eventually, member_update, message, private_chat, running
from .fake_api import run_fake_api


def _inbound(telegram: Telegram) -> list[dict[str, Any]]:
    return rows(telegram.runtime.settings.db, "SELECT * FROM inbound ORDER BY id")


async def test_a_repeated_update_changes_nothing_and_sends_nothing(webhook: Telegram) -> None:
    resident = webhook.resident()
    await resident.start()
    question = message(resident.chat_id, text="老板三个月没发工资怎么办")
    update = webhook.fake.update(message=question)
    assert await resident.send_update(update)
    stored = _inbound(webhook)

    assert await webhook.exchange(resident.chat_id, update) == []  # Telegram sent it again
    assert _inbound(webhook) == stored

    # An update that stores no message (a tap on 详细说明) is not repeated either.
    tap = resident.tap_update(resident.choice("详细说明"))
    assert len(await webhook.exchange(resident.chat_id, tap)) == 1
    assert await webhook.exchange(resident.chat_id, tap) == []


async def test_a_repeated_tap_does_nothing_after_a_restart(
    settings: Settings, clock: Clock
) -> None:
    """Telegram may send an update again after the service restarted; a tap on 详细说明
    (which stores no message) is remembered in the database, not only in memory."""
    async with run_fake_api() as fake:
        async with running(settings, clock, webhook=True, fake=fake) as before:
            resident = before.resident()
            await resident.start()
            await resident.send_message(text="老板三个月没发工资怎么办")
            tap = resident.tap_update(resident.choice("详细说明"))
            assert len(await before.exchange(resident.chat_id, tap)) == 1
        answered = len(fake.called("answerCallbackQuery"))
        async with running(settings, clock, webhook=True, fake=fake) as after:
            assert await after.exchange(resident.chat_id, tap) == []
            assert len(fake.called("answerCallbackQuery")) == answered
            blocked = fake.update(
                my_chat_member=member_update(resident.chat_id, "member", "kicked")
            )
            await after.send(blocked)
        async with running(settings, clock, webhook=True, fake=fake) as again:
            destination = Destination("telegram", str(resident.chat_id))
            await again.runtime.store.set_reachable(destination, True, clock(), "")
            await again.send(blocked)  # the block again, after the resident unblocked
            assert await again.runtime.store.is_reachable(destination)


async def test_a_repeated_update_is_one_message_in_polling_too(polling: Telegram) -> None:
    resident = polling.resident()
    await resident.start()
    update = polling.fake.update(message=message(resident.chat_id, text="我的事项"))
    assert await polling.exchange(resident.chat_id, update)
    assert await polling.exchange(resident.chat_id, update) == []
    texts = [r["body"] for r in _inbound(polling) if "我的事项" in r["body"]]
    assert len(texts) == 1


async def test_an_edited_message_gets_no_second_answer(webhook: Telegram) -> None:
    resident = webhook.resident()
    await start_report(resident)
    original = message(resident.chat_id, text="邻居把垃圾倒在我家门口")
    await resident.send_update(webhook.fake.update(message=original))
    assert "第 1 条" in resident.text
    edited = {**original, "text": "邻居把垃圾倒在我家门口，已经三天了", "edit_date": 1_795_000_100}
    assert (
        await webhook.exchange(resident.chat_id, webhook.fake.update(edited_message=edited)) == []
    )
    await resident.tap("说完了")
    assert "第 2 条" not in resident.text
    bodies = [r["body"] for r in _inbound(webhook) if "垃圾" in r["body"]]
    assert len(bodies) == 1 and "三天" not in bodies[0]


async def test_update_kinds_the_service_does_not_use(webhook: Telegram) -> None:
    resident = webhook.resident()
    await resident.start()
    before = len(_inbound(webhook))
    chat = resident.chat_id
    user = {"id": chat, "is_bot": False, "first_name": "居民"}
    group = {"id": -100123, "type": "supergroup", "title": "村民群"}
    channel = {"id": -100456, "type": "channel", "title": "通知"}
    fake = webhook.fake
    unused: list[dict[str, Any]] = [
        {"inline_query": {"id": "iq1", "from": user, "query": "工资", "offset": ""}},
        {"chosen_inline_result": {"result_id": "r", "from": user, "query": "q"}},
        {
            "poll": {
                "id": "p1",
                "question": "?",
                "options": [],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
            }
        },
        {"poll_answer": {"poll_id": "p1", "option_ids": [0], "user": user}},
        {
            "message_reaction": {
                "chat": private_chat(chat),
                "message_id": 1,
                "date": 1,
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": "👍"}],
                "user": user,
            }
        },
        {"channel_post": {"message_id": 1, "date": 1, "chat": channel, "text": "通知"}},
        {"edited_channel_post": {"message_id": 1, "date": 1, "chat": channel, "text": "改"}},
        {
            "business_connection": {
                "id": "b",
                "user": user,
                "user_chat_id": chat,
                "date": 1,
                "is_enabled": True,
            }
        },
        {
            "business_message": {
                "message_id": 1,
                "date": 1,
                "chat": private_chat(chat),
                "from": user,
                "text": "你好",
                "business_connection_id": "b",
            }
        },
        {"chat_join_request": {"chat": group, "from": user, "user_chat_id": chat, "date": 1}},
        {"chat_member": member_update(chat, "member", "left") | {"chat": group}},
        {"my_chat_member": member_update(chat, "left", "member") | {"chat": group}},
        {"message": {"message_id": 9, "date": 1, "chat": group, "from": user, "text": "大家好"}},
        {
            "message": message(
                chat, pinned_message={"message_id": 1, "date": 1, "chat": private_chat(chat)}
            )
        },
        {
            "removed_chat_boost": {
                "chat": channel,
                "boost_id": "x",
                "remove_date": 1,
                "source": {"source": "premium", "user": user},
            }
        },
        {"galaxy_event": {"anything": [1, 2, 3]}},  # a kind Telegram adds next year
        {"message": "not an object at all"},
        {},
    ]
    for kind in unused:
        assert await webhook.exchange(chat, fake.update(**kind)) == [], kind
    assert len(_inbound(webhook)) == before

    # A person who sends something the bot cannot use gets a short hint (once in a while).
    sticker = {
        "file_id": "st",
        "file_unique_id": "st",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
    }
    (hint,) = await resident.send_message(sticker=sticker)
    assert "看不懂" in hint["text"]
    assert await resident.send_message(dice={"emoji": "🎲", "value": 3}) == []
    webhook.clock.advance(minutes=1)
    (hint,) = await resident.send_message(future_content={"x": 1})
    assert "看不懂" in hint["text"]
    assert len(_inbound(webhook)) == before


async def test_webhook_refuses_a_wrong_or_missing_secret(webhook: Telegram) -> None:
    fake = webhook.fake
    assert fake.webhook["url"] == "https://minshi.example.org/telegram/webhook"
    update = fake.update(message=message(700_000_999, text="你好"))
    assert (await fake.deliver(update, secret="wrong-secret")).status_code == 403
    assert (await fake.deliver(update, secret="")).status_code == 403
    async with httpx.AsyncClient(trust_env=False) as client:
        r = await client.post(
            fake.webhook_target,
            content=b"not json",
            headers={"X-Telegram-Bot-Api-Secret-Token": fake.webhook["secret_token"]},
        )
        assert r.status_code == 400
    assert _inbound(webhook) == []
    assert fake.sent == []


async def _new_replies(telegram: Telegram, chat_id: int, known: int) -> list[Any]:
    """The outbox entries for this resident after the first ``known`` ones."""
    destination = Destination("telegram", str(chat_id))
    return list(await telegram.runtime.store.outbox_records(destination))[known:]


async def test_flood_control_429_waits_and_keeps_the_order(polling: Telegram) -> None:
    resident = polling.resident()
    await resident.start()
    chat, fake = resident.chat_id, polling.fake
    known, mark = len(await polling.records(chat)), len(fake.to(chat))
    fake.fail("sendMessage", 429, retry_after=7)
    await polling.send(fake.update(message=message(chat, text="我的事项")))

    async def waiting() -> bool:
        new = await _new_replies(polling, chat, known)
        return bool(new) and new[0].state is OutboxState.RETRYING

    await eventually(waiting)
    first, *rest = await _new_replies(polling, chat, known)
    assert first.next_attempt_at == polling.clock() + timedelta(seconds=7)
    assert "flood" in (first.last_error or "")
    assert all(r.state is OutboxState.PENDING for r in rest)  # held back behind the first
    assert fake.to(chat)[mark:] == []

    polling.clock.advance(seconds=7)
    polling.wake_delivery()
    await polling.settled(chat)
    replies = [first, *rest]
    assert [m.text for m in fake.to(chat)[mark:]] == [r.body["text"] for r in replies]


async def test_blocked_resident_messages_wait_until_unblocked(webhook: Telegram) -> None:
    resident = webhook.resident()
    await resident.start()
    chat, fake, store = resident.chat_id, webhook.fake, webhook.runtime.store
    destination = Destination("telegram", str(chat))
    mark = len(fake.to(chat))
    fake.blocked.add(chat)
    await webhook.runtime.push(destination, Outbound("调解员：明天上午去您家看看。"))

    async def unreachable() -> bool:
        return not await store.is_reachable(destination)

    await eventually(unreachable)  # the 403 says so, before any my_chat_member update
    await webhook.send(fake.update(my_chat_member=member_update(chat, "member", "kicked")))
    await webhook.runtime.push(destination, Outbound("调解员：请带上土地证。"))
    webhook.clock.advance(hours=12)
    webhook.wake_delivery()
    *_, first, second = await store.outbox_records(destination)
    assert first.state is OutboxState.RETRYING and second.state is OutboxState.PENDING
    assert first.next_attempt_at is not None
    assert first.next_attempt_at > webhook.clock() + timedelta(hours=6)  # no use trying soon
    assert fake.to(chat)[mark:] == []

    fake.blocked.discard(chat)
    unblock = fake.update(my_chat_member=member_update(chat, "kicked", "member"))
    sent = await webhook.exchange(chat, unblock)
    assert [m.text for m in sent] == ["调解员：明天上午去您家看看。", "调解员：请带上土地证。"]
    assert await store.is_reachable(destination)


async def test_an_outage_delays_but_loses_nothing(polling: Telegram) -> None:
    resident = polling.resident()
    await start_report(resident)
    chat, fake = resident.chat_id, polling.fake
    known, mark = len(await polling.records(chat)), len(fake.to(chat))
    lines = ["邻居家的羊吃了我家的麦苗", "已经是第三次了", "找他说他不认"]

    await fake.outage(True)  # the Bot API answers 502 to everything, getUpdates included
    polls = len(fake.called("getUpdates"))
    for line in lines:
        await fake.queue(fake.update(message=message(chat, text=line)))
    await fake.wait_for(lambda: len(fake.called("getUpdates")) >= polls + 3)
    assert not any(line in r["body"] for r in _inbound(polling) for line in lines)

    fake.failing.add("sendMessage")  # updates arrive again, sending still fails
    await fake.outage(False)

    async def all_failed_once() -> bool:
        new = await _new_replies(polling, chat, known)
        return len(new) == 3 and new[0].state is OutboxState.RETRYING

    await eventually(all_failed_once)
    assert fake.to(chat)[mark:] == []

    fake.failing.clear()  # recovered: the retries go out, in order, each once
    polling.clock.advance(minutes=10)
    polling.wake_delivery()
    await polling.settled(chat)
    texts = [m.text for m in fake.to(chat)[mark:]]
    assert texts == [r.body["text"] for r in await _new_replies(polling, chat, known)]
    assert [("第 1 条" in t, "第 2 条" in t, "第 3 条" in t) for t in texts] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]
    for line in lines:
        assert sum(line in r["body"] for r in _inbound(polling)) == 1


async def test_polling_skips_an_update_it_cannot_read_and_goes_on(polling: Telegram) -> None:
    resident = polling.resident()
    await resident.start()
    fake = polling.fake
    await fake.queue(fake.update(message={"message_id": 1, "text": "no date, no chat"}))
    await fake.queue(fake.update(poll_answer={"poll_id": "p", "option_ids": [], "user": {}}))
    replies = await resident.send_message(text="我的事项")
    assert replies and all(r["text"] for r in replies)
    assert fake.pending == []  # all three confirmed, none left to block the queue
