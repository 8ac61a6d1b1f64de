"""Residents on Telegram: a whole report through inline keyboards, deep links, places,
their own number, and the answers with details folded behind a button."""

from __future__ import annotations

import json
import logging
import re

import pytest

from bot.channels import build_adapters
from bot.channels.telegram import TelegramChannel
from common.messages import Choice, Outbound
from common.outbox import Destination
from tests.chat import ZHANGYE_VILLAGE, describe, pick_place, start_report, submit_case
from tests.support import rows

from .conftest import Telegram, reply, telegram_settings
from .fake_api import TOKEN

ZHANGYE_CODE = "620702103203"  # 张掖市甘州区沙井镇寺儿沟村


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def test_a_whole_report_through_inline_keyboards(telegram: Telegram) -> None:
    """Polling and webhook alike: every step is a tap on an inline button."""
    resident = telegram.resident()
    number = await submit_case(resident, "邻居在巷道口砌了墙，我家的车进不来")

    cases = rows(telegram.runtime.settings.db, "SELECT * FROM cases")
    assert [(c["number"], c["channel"], c["user_id"]) for c in cases] == [
        (number, "telegram", str(resident.chat_id))
    ]
    fake = telegram.fake
    buttons = [b for m in fake.to(resident.chat_id) for b in m.inline_buttons]
    assert buttons and all(len(b["callback_data"].encode()) <= 64 for b in buttons)

    def every_tap_answered() -> bool:
        answered = {c.params["callback_query_id"] for c in fake.called("answerCallbackQuery")}
        return answered >= set(resident.taps)

    await fake.wait_for(every_tap_answered)
    assert len(resident.taps) >= 8
    # What the resident picked shows under the question; the buttons are gone there.
    await fake.wait_for(lambda: any("✅ 邻里纠纷" in m.text for m in fake.to(resident.chat_id)))
    picked = next(m for m in fake.to(resident.chat_id) if "✅ 邻里纠纷" in m.text)
    assert picked.inline_buttons == []


async def test_deep_link_starts_with_the_place(polling: Telegram) -> None:
    resident = polling.resident()
    await resident.start(ZHANGYE_CODE)
    center = polling.runtime.centers.route(ZHANGYE_CODE, "other").center.name
    assert center in resident.text
    await resident.tap("反映问题")
    await resident.tap("邻里纠纷")
    await describe(resident, "邻居家的树倒在我家房顶上")
    assert "寺儿沟村" in resident.text  # the place from the link is offered
    await resident.tap("是这里")
    assert "手机号" in resident.text


async def test_unknown_deep_link_code_asks_for_the_place_as_usual(polling: Telegram) -> None:
    resident = polling.resident()
    await resident.start("999999999999")
    assert "反映问题" in " ".join(resident.labels)
    await resident.tap("反映问题")
    await resident.tap("邻里纠纷")
    await describe(resident, "邻居家的狗咬了我家的鸡")
    assert "按地区选" in resident.labels
    assert "寺儿沟村" not in resident.text


async def test_location_message_finds_the_nearest_center(webhook: Telegram) -> None:
    village = webhook.runtime.centers.search("寺儿沟村", limit=1)[0].region
    resident = webhook.resident()
    await start_report(resident)
    await describe(resident, "邻居家的牛跑进我家地里")
    # On Telegram the location is one tap on a reply-keyboard button.
    assert [b.get("request_location") for b in resident.keyboard] == [True]
    await resident.send_location(village.lat, village.lon)
    assert "寺儿沟村" in resident.text
    await resident.tap("是这里")
    assert "手机号" in resident.text


async def test_venue_message_gives_the_place(webhook: Telegram) -> None:
    village = webhook.runtime.centers.search("寺儿沟村", limit=1)[0].region
    resident = webhook.resident()
    await start_report(resident)
    await describe(resident, "村口的桥塌了一半")
    venue = {
        "location": {"latitude": village.lat, "longitude": village.lon},
        "title": "寺儿沟村委会",
        "address": "沙井镇",
    }
    await resident.send_message(venue=venue, location=venue["location"])
    assert "寺儿沟村" in resident.text


async def test_shared_own_contact_is_the_phone_number(webhook: Telegram) -> None:
    resident = webhook.resident()
    await start_report(resident)
    await describe(resident, "隔壁装修天天砸墙到半夜")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    assert [b.get("request_contact") for b in resident.keyboard] == [True]
    contact = {"phone_number": "8613812345678", "first_name": "居民", "user_id": resident.chat_id}
    await resident.send_message(contact=contact)
    assert "请核对" in resident.text and "138****5678" in resident.text
    await resident.tap("确认提交")
    assert re.search(r"MS\d{6}-\d{4}", resident.text)
    (case,) = rows(webhook.runtime.settings.db, "SELECT phone FROM cases")
    assert case["phone"] == "13812345678"
    # The next message without buttons (a mediator's, say) takes the reply keyboard away.
    destination = Destination("telegram", str(resident.chat_id))
    await webhook.runtime.push(destination, Outbound("调解员已经收到您的事项。"))
    await webhook.settled(resident.chat_id)
    last = webhook.fake.to(resident.chat_id)[-1]
    assert last.text == "调解员已经收到您的事项。"
    assert last.reply_markup == {"remove_keyboard": True}


async def test_details_come_when_the_button_is_tapped(webhook: Telegram) -> None:
    resident = webhook.resident()
    await resident.start()
    await resident.say("老板三个月没发工资怎么办")
    answer = next(r for r in resident.replies if "详细说明 · 法律依据" in resident_labels(r))
    assert "法律依据" not in answer["text"]
    await resident.tap("详细说明 · 法律依据")
    (details,) = resident.replies
    assert details["text"].startswith("详细说明 · 法律依据")
    assert "法律依据" in details["text"]


def resident_labels(reply: dict[str, object]) -> str:
    return " ".join(c["label"] for c in reply["choices"])  # type: ignore[attr-defined]


async def test_warning_is_bold_and_numbers_stand_out(webhook: Telegram) -> None:
    resident = webhook.resident()
    await resident.start()
    await resident.say("邻居拿着刀在我家门口要砍人")
    warning = resident.replies[0]
    text = warning["text"]
    bold = [e for e in warning["entities"] if e["type"] == "bold"]
    assert bold[0] == {"type": "bold", "offset": 0, "length": _utf16(text)}
    numbers = {
        text.encode("utf-16-le")[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode(
            "utf-16-le"
        )
        for e in warning["entities"]
        if e["type"] == "underline"
    }
    assert "110" in numbers


async def test_long_messages_are_split_at_paragraphs_with_utf16_offsets(
    polling: Telegram,
) -> None:
    resident = polling.resident()
    paragraph = "😀 有事请打 0936-0000123。" + "说明文字" * 300
    text = "\n\n".join([paragraph] * 4)  # about 5,000 characters
    await polling.runtime.push(
        Destination("telegram", str(resident.chat_id)),
        Outbound(text, calls=("0936-0000123",), tone="warning"),
    )
    await polling.settled(resident.chat_id)
    parts = polling.fake.to(resident.chat_id)
    assert len(parts) == 2
    assert all(_utf16(p.text) <= 4096 for p in parts)
    assert "\n\n".join(p.text for p in parts) == text  # nothing lost, cut between paragraphs
    for part in parts:
        raw = part.text.encode("utf-16-le")
        underlined = [e for e in part.entities if e["type"] == "underline"]
        assert underlined
        for e in underlined:  # the emoji counts two UTF-16 units
            assert (
                raw[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
                == "0936-0000123"
            )


async def test_menu_commands_work(polling: Telegram) -> None:
    resident = polling.resident()
    await resident.start()
    await resident.tap("反映问题")
    await resident.send_message(
        text="/menu", entities=[{"type": "bot_command", "offset": 0, "length": 5}]
    )
    assert "法律咨询" in " ".join(resident.labels)


def test_the_settings_switch_the_channel_on(settings: object) -> None:
    from bot.config import Settings
    from tests.telegram.fake_api import FakeBotApi

    assert isinstance(settings, Settings)
    names = [a.name for a in build_adapters(settings)]
    assert "telegram" not in names
    fake = FakeBotApi(base_url="http://127.0.0.1:9")
    channels = build_adapters(telegram_settings(settings, fake, webhook=True))
    (channel,) = [c for c in channels if isinstance(c, TelegramChannel)]
    assert channel.webhook_url == "https://minshi.example.org/telegram/webhook"
    assert [getattr(r, "path", "") for r in channel.routes()] == ["/telegram/webhook"]


async def test_a_choice_too_long_for_telegram_still_comes_back_whole(webhook: Telegram) -> None:
    resident = webhook.resident()
    await resident.start()
    payload = "case:" + "很长的事项编号" * 5  # 110 bytes: more than a button can carry
    destination = Destination("telegram", str(resident.chat_id))
    await webhook.runtime.push(destination, Outbound("请选择：", (Choice("这一件", payload),)))
    await webhook.settled(resident.chat_id)
    resident.replies = [reply(webhook.fake.to(resident.chat_id)[-1])]
    data = resident.choice("这一件")
    assert len(data.encode()) <= 64
    await resident.tap("这一件")
    (tapped,) = rows(
        webhook.runtime.settings.db,
        "SELECT body FROM inbound WHERE kind = 'choice' AND user_id = ?",
        (str(resident.chat_id),),
    )
    assert json.loads(tapped["body"]) == {"kind": "choice", "payload": payload}


async def test_the_bot_token_stays_out_of_the_logs(
    polling: Telegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    resident = polling.resident()
    await resident.start()
    assert "getUpdates" in caplog.text  # the requests are logged, with the token masked
    assert TOKEN not in caplog.text
