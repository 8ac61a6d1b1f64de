"""Residents on WeChat: what they send, as WeChat sends it, and what they read back."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from pathlib import Path

from bot.config import Settings
from common.outbox import OutboxState
from dialogs import Inbound, Sent

from .conftest import Clock, WeChat, rows, wechat_service
from .fake_api import FakeWeChat
from .sim import amr_nb, number_of

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
AMR = amr_nb(0.5)
VILLAGE = "620702103203"  # 张掖市甘州区沙井镇寺儿沟村


def the_case(wx: WeChat) -> dict[str, object]:
    (case,) = rows(wx.service.runtime.settings.db, "SELECT * FROM cases")
    return case


async def test_a_full_report_by_numbered_replies(wx: WeChat) -> None:
    resident = wx.resident()
    greeting = (await resident.event("subscribe")).passive
    assert greeting is not None and "民事直说" in greeting and "隐私说明" in greeting
    assert "2. 反映问题/申请调解" in greeting and "（回复 1 / 2 / 3 / 4 / 5 选择）" in greeting

    categories = await resident.say("２")  # full-width, as a Chinese input method types it
    assert "1. 邻里纠纷" in categories and "（回复 1～20 中的数字选择）" in categories
    await resident.pick("邻里纠纷")
    assert "第 1 条" in await resident.say("邻居在巷道口砌了墙")
    assert "第 2 条" in await resident.say("我家拉粮食的车进不来了")
    await resident.pick("说完了")
    for label in ("按地区选", "甘州区", "沙井镇", "寺儿沟村"):
        await resident.pick(label)
    summary = await resident.say("138 1234 5678")
    assert "138****5678" in summary and "甘州区沙井镇寺儿沟村" in summary
    submitted = await resident.pick("确认提交")
    number = re.search(r"MS\d{6}-\d{4}", submitted)
    assert number and "受理单位" in submitted

    case = the_case(wx)
    assert case["number"] == number.group(0)
    assert case["channel"] == "wechat" and case["user_id"] == resident.openid
    assert case["description"] == "邻居在巷道口砌了墙\n我家拉粮食的车进不来了"
    assert case["region_code"] == VILLAGE and case["phone"] == "13812345678"
    # Every answer went back in the callback's response: no API call, no token needed.
    assert wx.fake.sent == [] and wx.fake.tokens_issued == []
    records = await wx.service.runtime.store.outbox_records()
    assert records and all(r.destination.channel == "wechat" for r in records)


async def test_subscribing_through_a_place_qr_code_fills_in_the_place(wx: WeChat) -> None:
    resident = wx.resident()
    greeting = (
        await resident.event("subscribe", EventKey=f"qrscene_{VILLAGE}", Ticket="T")
    ).passive
    assert greeting is not None and "寺儿沟村综治中心为您服务" in greeting
    await resident.pick("反映问题")
    await resident.pick("邻里纠纷")
    await resident.say("邻居家的污水流到我家院子里")
    where = await resident.pick("说完了")
    assert "是在「张掖市甘州区沙井镇寺儿沟村」吗" in where
    await resident.pick("是")
    await resident.pick("跳过")
    await resident.pick("确认提交")
    assert the_case(wx)["region_code"] == VILLAGE
    (start,) = [r for r in wx.inbound() if '"start"' in r["body"]]
    assert json.loads(start["body"]) == {"kind": "start", "payload": VILLAGE}

    # A follower scanning another place's code (SCAN event) starts again with that place.
    follower = wx.resident()
    await follower.event("subscribe")
    again = (await follower.event("SCAN", EventKey=VILLAGE, Ticket="T")).passive
    assert again is not None and "寺儿沟村综治中心为您服务" in again


async def test_typed_labels_misspellings_and_ordinals_pick_choices(wx: WeChat) -> None:
    resident = wx.resident()
    await resident.event("subscribe")
    assert "1. 邻里纠纷" in await resident.say("反应问题申请调解")  # 映 → 应
    assert "具体情况" in await resident.say("第一个")
    await resident.say("隔壁装修太吵")
    assert "发生在哪里" in await resident.say("说完啦")  # 了 → 啦
    assert "请选区县" in await resident.say("按地区")
    # Free text that only looks like a button stays text: it is never taken for one.
    other = wx.resident()
    await other.event("subscribe")
    await other.say("法律咨询电话")  # close to 法律咨询, but a question of its own
    assert json.loads(wx.inbound()[-1]["body"])["kind"] == "text"


async def test_danger_is_never_taken_for_a_choice(wx: WeChat) -> None:
    resident = wx.resident()
    await resident.event("subscribe")
    answer = await resident.say("他拿着刀要砍人")
    assert "110" in answer and answer.startswith("⚠️")


async def test_photos_and_voice_are_kept_and_downloaded_in_the_background(wx: WeChat) -> None:
    wx.fake.media.update(
        {
            "PHOTO-1": (JPEG, "image/jpeg"),
            "VOICE-1": (AMR, "audio/amr"),
            "VOICE-2": (amr_nb(0.5, payload=bytes(31)), "audio/amr"),
        }
    )
    resident = wx.resident()
    await resident.event("subscribe")
    await resident.pick("反映问题")
    await resident.pick("邻里纠纷")

    photo = await resident.send("image", PicUrl="http://mmbiz.qpic.cn/x", MediaId="PHOTO-1")
    assert photo.passive is not None and "照片/文件收到了（共 1 个）" in photo.passive
    said = await resident.send(
        "voice", MediaId="VOICE-1", Format="amr", Recognition="邻居家的狗天天半夜叫"
    )
    assert said.passive is not None and "第 1 条" in said.passive  # read like typed text
    voice = await resident.send("voice", MediaId="VOICE-2", Format="amr")
    assert voice.passive is not None and "共 2 个" in voice.passive

    store = wx.service.runtime.store
    for media_id in ("PHOTO-1", "VOICE-1", "VOICE-2"):
        await wx.fetched(media_id)
    attachments: Path = wx.service.runtime.settings.attachments_dir
    photo_file = await store.local_file("wechat", "PHOTO-1")
    voice_file = await store.local_file("wechat", "VOICE-1")
    assert photo_file and photo_file.endswith(".jpg")
    assert (attachments / photo_file).read_bytes() == JPEG
    assert voice_file and voice_file.endswith(".m4a")  # what the console's browser plays
    kept = attachments / (hashlib.sha256(AMR).hexdigest() + ".amr")
    assert kept.read_bytes() == AMR  # WeChat's recording is kept next to it

    bodies = [json.loads(r["body"]) for r in wx.inbound()]
    assert {"kind": "photo", "ref": "PHOTO-1", "name": ""} in bodies[-3]["attachments"]
    assert bodies[-2]["text"] == "邻居家的狗天天半夜叫"
    assert bodies[-2]["attachments"][0]["ref"] == "VOICE-1"  # the recording is kept too
    assert bodies[-1]["attachments"][0] == {
        "kind": "voice",
        "ref": "VOICE-2",
        "name": "VOICE-2.amr",
    }

    summary = await resident.pick("说完了")
    assert summary


async def test_an_expired_photo_is_given_up_without_losing_the_message(wx: WeChat) -> None:
    resident = wx.resident()
    await resident.event("subscribe")
    await resident.pick("反映问题")
    await resident.pick("邻里纠纷")
    answer = await resident.send("image", PicUrl="http://x", MediaId="EXPIRED")
    assert answer.passive is not None and "收到了" in answer.passive
    await wx.fake.until(lambda: "EXPIRED" in wx.fake.media_gets)
    db = wx.service.runtime.settings.db
    async with asyncio.timeout(5):
        while not rows(db, "SELECT * FROM platform_files WHERE state = 'failed'"):
            await asyncio.sleep(0.01)
    assert '"EXPIRED"' in wx.inbound()[-1]["body"]


async def test_a_retried_msgid_is_processed_once_and_answered_the_same(wx: WeChat) -> None:
    resident = wx.resident()
    await resident.event("subscribe")
    first = await resident.send("text", Content="2", msg_id=7000000000000000001)
    wx.clock.advance(seconds=5)  # WeChat retries after 5 s, with a fresh signature
    retry = await resident.send("text", Content="2", msg_id=7000000000000000001)
    assert first.passive is not None and "1. 邻里纠纷" in first.passive
    assert retry.passive == first.passive
    texts = [r for r in wx.inbound() if r["platform_msg_id"] == "7000000000000000001"]
    assert len(texts) == 1
    # The retried subscribe event is deduplicated by sender, CreateTime and event too.
    fields = resident._fields("event", Event="subscribe")
    once = await wx.server.send(fields)
    twice = await wx.server.send(fields)
    assert once.passive == twice.passive
    assert len([r for r in wx.inbound() if '"start"' in r["body"]]) == 2


async def test_msgids_equal_as_doubles_are_two_messages(wx: WeChat) -> None:
    a, b = 6054768590064713728, 6054768590064713729
    assert float(a) == float(b) and a != b
    resident = wx.resident()
    await resident.event("subscribe")
    first = await resident.send("text", Content="2", msg_id=a)
    second = await resident.send("text", Content="1", msg_id=b)
    assert first.passive is not None and "1. 邻里纠纷" in first.passive
    assert second.passive is not None and "具体情况" in second.passive
    ids = [r["platform_msg_id"] for r in wx.inbound()]
    assert str(a) in ids and str(b) in ids


async def test_a_slow_dialog_answers_success_and_replies_by_customer_service(
    settings: Settings, clock: Clock, fake: FakeWeChat
) -> None:
    async with wechat_service(settings, clock, fake, "safe", wechat_passive_wait_seconds=0.2) as wx:
        resident = wx.resident()
        await resident.event("subscribe")
        engine = wx.service.runtime.engine
        handle = engine.handle
        release = asyncio.Event()

        async def slow(msg: Inbound, *, inline: bool = True) -> list[Sent]:
            await release.wait()  # the dialog is busy (a slow database, a long FAQ search)
            return await handle(msg, inline=inline)

        engine.handle = slow  # type: ignore[method-assign]
        answer = await resident.send("text", Content="4", msg_id=7100000000000000001)
        assert answer.status == 200 and answer.body == "success"  # never the 5-second error
        retry = await resident.send("text", Content="4", msg_id=7100000000000000001)
        assert retry.body == "success"
        release.set()
        await fake.until(lambda: len(fake.texts_to(resident.openid)) >= 1)
        records = await wx.settled(resident.openid)
        engine.handle = handle  # type: ignore[method-assign]
        assert all(r.state is OutboxState.DELIVERED for r in records)
        assert "调解员" in "\n".join(fake.texts_to(resident.openid))
        assert len([r for r in wx.inbound() if r["platform_msg_id"] == "7100000000000000001"]) == 1
        # Once the dialog is quick again, the next answer is passive again.
        assert (await resident.send("text", Content="菜单")).passive is not None


async def test_a_long_answer_is_cut_for_wechat_and_the_rest_follows(wx: WeChat) -> None:
    resident = wx.resident()
    await resident.event("subscribe")
    passive = await resident.say("老板欠了三个月工资不给怎么办")
    assert len(passive.encode()) <= 2047 and "【老板拖欠工资不给怎么办？】" in passive
    await wx.fake.until(lambda: any("有帮助吗" in t for t in wx.fake.texts_to(resident.openid)))
    rest = wx.fake.texts_to(resident.openid)
    whole = "\n\n".join([passive, *rest])
    assert "法律依据" in whole and "《劳动合同法》第三十条" in whole
    assert number_of(rest[-1], "有用") == 1
    records = await wx.settled(resident.openid)
    assert all(r.state is OutboxState.DELIVERED for r in records)
    # The numbered choices of the last message work like the buttons they stand for.
    assert "很高兴" in await resident.say("1")


async def test_menu_clicks_and_location_reports(wx: WeChat) -> None:
    resident = wx.resident()
    await resident.event("subscribe", EventKey=f"qrscene_{VILLAGE}")
    card = (await resident.event("CLICK", EventKey="menu:card")).passive
    assert card is not None and "便民联系卡" in card and "110" in card
    ask = (await resident.event("CLICK", EventKey="MENU_ASK")).passive
    assert ask is not None and "直接打字说出您的问题" in ask
    stale = (await resident.event("CLICK", EventKey="OLD_KEY")).passive
    assert stale is not None and "1. 法律咨询" in stale

    before = len(wx.inbound())
    view = await resident.event("VIEW", EventKey="https://example.org/policy")
    assert view.body == "success"
    # WeChat reports the location every few seconds when allowed: ignored outside a report.
    idle = await resident.event("LOCATION", Latitude="38.93", Longitude="100.45", Precision="30")
    assert idle.body == "success"
    assert len(wx.inbound()) == before

    await resident.pick("反映问题")
    await resident.pick("邻里纠纷")
    await resident.say("邻居堵了路")
    await resident.pick("说完了")
    await resident.pick("换一个地方")
    wx.clock.advance(seconds=1)
    located = await resident.event("LOCATION", Latitude="0", Longitude="0", Precision="30")
    assert located.passive is not None and "不在本平台服务的地区" in located.passive
    body = json.loads(wx.inbound()[-1]["body"])
    assert body["kind"] == "location" and body["location"]["lat"] == 0.0


async def test_shared_location_link_and_video_messages(wx: WeChat) -> None:
    wx.fake.media["VIDEO-1"] = (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32, "video/mp4")
    resident = wx.resident()
    await resident.event("subscribe")
    where = await resident.send(
        "location", Location_X="38.93", Location_Y="100.45", Scale="15", Label="甘州区沙井镇"
    )
    assert where.passive is not None and "位置" in where.passive
    link = await resident.send(
        "link", Title="村里通知", Description="关于修路", Url="https://example.org/a"
    )
    assert link.passive is not None
    video = await resident.send("video", MediaId="VIDEO-1", ThumbMediaId="THUMB")
    assert video.passive is not None
    bodies = [json.loads(r["body"]) for r in wx.inbound()]
    assert bodies[-3]["location"] == {"lat": 38.93, "lon": 100.45, "label": "甘州区沙井镇"}
    assert "https://example.org/a" in bodies[-2]["text"]
    assert bodies[-1]["attachments"][0] == {"kind": "video", "ref": "VIDEO-1", "name": ""}
    await wx.fake.until(lambda: "VIDEO-1" in wx.fake.media_gets)
