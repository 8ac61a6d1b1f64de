"""Messages that answer no callback (a mediator's reply, a slow turn) through the
customer-service API: the shared access token, WeChat's errors, the 48-hour window."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import Settings
from common.messages import Outbound
from common.outbox import Destination, OutboxState

from .conftest import Clock, WeChat, wechat_service
from .fake_api import FakeWeChat

SEND = "/cgi-bin/message/custom/send"


def to(openid: str) -> Destination:
    return Destination("wechat", openid)


async def test_one_token_is_shared_and_replaced_when_it_expires_midway(wx: WeChat) -> None:
    runtime, fake = wx.service.runtime, wx.fake
    residents = [f"oRESIDENT{n:019d}" for n in range(3)]
    for openid in residents:
        await runtime.push(to(openid), Outbound("调解员：您好，我们明天上午去现场看看。"))
    await fake.until(lambda: len(fake.sent) == 3)
    assert len(fake.tokens_issued) == 1  # one token for every sender

    fake.expire_tokens()  # 42001 from now on for the old token
    for openid in residents:
        await runtime.push(to(openid), Outbound("调解员：时间改到下午三点。"))
    await fake.until(lambda: len(fake.sent) == 6)
    assert len(fake.tokens_issued) == 2  # fetched again once, not once per sender
    assert [code for _, code in fake.refused] == [42001] * len(fake.refused)
    for openid in residents:
        assert fake.texts_to(openid) == [
            "调解员：您好，我们明天上午去现场看看。",
            "调解员：时间改到下午三点。",
        ]
        records = await wx.settled(openid)
        assert [r.state for r in records] == [OutboxState.DELIVERED] * 2

    fake.fail(SEND, 40001)  # "not the latest token": replaced too, with one retry
    await runtime.push(to(residents[0]), Outbound("调解员：到了打电话。"))
    await fake.until(lambda: len(fake.sent) == 7)
    assert len(fake.tokens_issued) == 3

    wx.clock.advance(hours=2)  # the token's 7200 s are over: a new one before the call
    await runtime.push(to(residents[0]), Outbound("调解员：已经处理好了。"))
    await fake.until(lambda: len(fake.sent) == 8)
    assert len(fake.tokens_issued) == 4 and fake.refused[-1] == (SEND, 40001)


@pytest.mark.parametrize("failure", [-1, "502"], ids=["busy", "http-502"])
async def test_busy_and_unreachable_wechat_is_retried_later(wx: WeChat, failure: int | str) -> None:
    fake, openid = wx.fake, "oRESIDENT0000000000000000001"
    fake.fail(SEND, failure)
    await wx.service.runtime.push(to(openid), Outbound("调解员：收到，正在处理。"))
    await fake.until(lambda: (SEND, failure) in fake.refused)
    (record,) = await wx.settled(openid)
    assert record.state is OutboxState.RETRYING and fake.sent == []
    wx.clock.advance(seconds=3)  # past the outbox's first backoff (2 s)
    await fake.until(lambda: len(fake.sent) == 1)
    (record,) = await wx.settled(openid)
    assert record.state is OutboxState.DELIVERED and record.attempts == 2
    assert fake.texts_to(openid) == ["调解员：收到，正在处理。"]


async def test_a_network_failure_is_retried_later(
    settings: Settings, clock: Clock, fake: FakeWeChat
) -> None:
    closed = "http://127.0.0.1:9"  # nothing listens on the discard port
    async with wechat_service(settings, clock, fake, wechat_api_url=closed) as wx:
        openid = "oRESIDENT0000000000000000001"
        await wx.service.runtime.push(to(openid), Outbound("调解员：您好"))

        async def retrying() -> None:
            while (await wx.settled(openid))[0].state is not OutboxState.RETRYING:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(retrying(), 10)
        (record,) = await wx.settled(openid)
        assert record.last_error and "ConnectError" in record.last_error


@pytest.mark.parametrize("code", [45015, 45047], ids=["48-hour-window", "5-message-quota"])
async def test_a_mediator_reply_waits_until_the_resident_writes_again(
    settings: Settings, clock: Clock, fake: FakeWeChat, code: int
) -> None:
    async with wechat_service(settings, clock, fake, wechat_template_reply="TPL-REPLY") as wx:
        resident = wx.resident()
        await resident.event("subscribe")
        wx.clock.advance(hours=49)  # the resident has been quiet for two days
        if code == 45015:
            fake.close_window(resident.openid)
        else:
            fake.fail(SEND, code)
        await wx.service.runtime.push(to(resident.openid), Outbound("调解员：对方同意赔偿了。"))
        await fake.until(lambda: (SEND, code) in fake.refused)
        (*_, waiting) = await wx.settled(resident.openid)
        assert waiting.state is OutboxState.RETRYING and fake.sent == []
        if code == 45015:  # a template message (allowed outside the window) says so
            (notice,) = fake.templates
            assert notice["touser"] == resident.openid and notice["template_id"] == "TPL-REPLY"
            assert notice["data"] == {"thing1": {"value": "调解员：对方同意赔偿了。"}}

        fake.open_window(resident.openid)
        wx.clock.advance(minutes=1)  # nothing is retried by the clock alone…
        await asyncio.sleep(0.05)
        assert fake.sent == []
        answer = await resident.say("菜单")  # …but the resident's next message wakes it
        assert "1. 法律咨询" in answer
        await fake.until(lambda: len(fake.sent) == 1)
        assert fake.texts_to(resident.openid) == ["调解员：对方同意赔偿了。"]
        records = await wx.settled(resident.openid)
        assert all(r.state is OutboxState.DELIVERED for r in records)
        assert len(fake.templates) == (1 if code == 45015 else 0)


async def test_an_unfollowed_resident_is_unreachable_until_they_follow_again(wx: WeChat) -> None:
    resident = wx.resident()
    await resident.event("subscribe")
    wx.clock.advance(seconds=10)
    gone = await resident.event("unsubscribe")
    assert gone.body == "success"
    store = wx.service.runtime.store
    assert not await store.is_reachable(to(resident.openid))
    await wx.service.runtime.push(to(resident.openid), Outbound("调解员：您好"))
    (*_, record) = await wx.settled(resident.openid)
    assert record.state is OutboxState.UNDELIVERABLE and wx.fake.sent == []

    wx.clock.advance(seconds=10)
    await resident.event("subscribe")
    assert await store.is_reachable(to(resident.openid))
    wx.fake.fail(SEND, 43004)  # WeChat says so too: "require subscribe"
    await wx.service.runtime.push(to(resident.openid), Outbound("调解员：欢迎回来"))
    (*_, record) = await wx.settled(resident.openid)
    assert record.state is OutboxState.UNDELIVERABLE
