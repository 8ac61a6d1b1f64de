"""The /wechat callback over real HTTP: what WeChat may send, and what nobody else may.

Refusals come before any processing: a refused request stores nothing and
never reaches the dialog.
"""

from __future__ import annotations

import json

from bot.config import Settings

from .conftest import Clock, WeChat, wechat_service
from .fake_api import FakeWeChat
from .sim import ACCOUNT, sign

Fields = dict[str, object]


def text_fields(openid: str = "oRESIDENT0000000000000000001", content: str = "菜单") -> Fields:
    return {
        "ToUserName": ACCOUNT,
        "FromUserName": openid,
        "CreateTime": 1409735668,  # old on purpose: the body's time is never checked
        "MsgType": "text",
        "Content": content,
        "MsgId": 6054768590064713728,
    }


async def test_url_verification_echoes_echostr(wx: WeChat) -> None:
    query = {**wx.server.query(), "echostr": "6543210987654321"}
    r = await wx.client.get("/wechat", params=query)
    assert r.status_code == 200 and r.text == "6543210987654321"

    forged = {**query, "signature": sign("not-the-token", query["timestamp"], query["nonce"])}
    assert (await wx.client.get("/wechat", params=forged)).status_code == 403
    stale = {**wx.server.query(timestamp=str(int(wx.clock().timestamp()) - 301)), "echostr": "1"}
    assert (await wx.client.get("/wechat", params=stale)).status_code == 403


async def test_every_mode_answers_what_wechat_signed_and_refuses_forgeries(
    wx_mode: WeChat,
) -> None:
    """Plaintext, compatible and safe mode: the reply comes back the way it was asked;
    a forged signature gets 403 before anything is stored."""
    server = wx_mode.server
    query, body = server.request(text_fields())
    bad = {**query, "signature": sign("guessed", query["timestamp"], query["nonce"])}
    assert (await server.post(bad, body)).status == 403
    missing = {k: v for k, v in query.items() if k != "signature"}
    assert (await server.post(missing, body)).status == 403
    if server.mode != "plain":
        wrong = {**query, "msg_signature": "0" * 40}
        assert (await server.post(wrong, body)).status == 403
        # Someone who knows only the query signature cannot swap the ciphertext.
        _, other = server.request(text_fields(content="另一条"))
        assert (await server.post(query, other)).status == 403
    assert wx_mode.inbound() == []

    answer = await server.post(query, body)
    assert answer.status == 200
    assert answer.passive is not None and "1. 法律咨询" in answer.passive
    if server.mode != "plain":
        assert "<Encrypt>" in answer.body and "法律咨询" not in answer.body
    (stored,) = wx_mode.inbound()
    assert stored["platform_msg_id"] == "6054768590064713728"


async def test_compatible_mode_trusts_only_the_encrypted_fields(
    settings: Settings, clock: Clock, fake: FakeWeChat
) -> None:
    """A compatible-mode body whose plaintext half was changed still says what was signed."""
    async with wechat_service(settings, clock, fake, "compat") as wx:
        query, body = wx.server.request(text_fields(content="菜单"))
        forged = body.replace("<![CDATA[菜单]]>".encode(), "<![CDATA[我要投诉]]>".encode(), 1)
        assert forged != body
        answer = await wx.server.post(query, forged)
        assert answer.passive is not None and "1. 法律咨询" in answer.passive
        assert json.loads(wx.inbound()[0]["body"])["text"] == "菜单"


async def test_replayed_and_future_timestamps_get_403(wx: WeChat) -> None:
    server = wx.server
    query, body = server.request(text_fields())
    wx.clock.advance(seconds=301)  # the same signed request, replayed five minutes later
    assert (await server.post(query, body)).status == 403
    ahead = str(int(wx.clock().timestamp()) + 301)
    query, body = server.request(text_fields(), timestamp=ahead)
    assert (await server.post(query, body)).status == 403
    query, body = server.request(text_fields(), timestamp="1e9")
    assert (await server.post(query, body)).status == 403
    assert wx.inbound() == []
    query, body = server.request(text_fields(), timestamp=str(int(wx.clock().timestamp()) - 299))
    assert (await server.post(query, body)).status == 200


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "哈哈哈哈哈哈哈哈">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
    "<FromUserName><![CDATA[oRESIDENT0000000000000000001]]></FromUserName>"
    "<CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content>&c;</Content><MsgId>1</MsgId></xml>"
)
EXTERNAL_ENTITY = (
    '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<xml><FromUserName><![CDATA[oRESIDENT0000000000000000001]]></FromUserName>"
    "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&x;</Content></xml>"
)


MALFORMED = {
    "billion laughs": BILLION_LAUGHS,
    "external entity": EXTERNAL_ENTITY,
    "doctype": "<!doctype xml><xml><MsgType>text</MsgType></xml>",
    "empty": "",
    "blank": "   ",
    "json": '{"ToUserName": "gh_10f6c3c3ac5a", "MsgType": "text", "Content": "菜单"}',
    "cut off": "<xml><MsgType>text</MsgType>",
    "html": "<html><body>hello</body></html>",
    "no MsgType": "<xml><FromUserName>oRESIDENT0000000000000000001</FromUserName></xml>",
    "bad CreateTime": "<xml><FromUserName>oRESIDENT0000000000000000001</FromUserName>"
    "<MsgType>text</MsgType><CreateTime>soon</CreateTime><Content>菜单</Content></xml>",
    "float MsgId": "<xml><FromUserName>oRESIDENT0000000000000000001</FromUserName>"
    "<MsgType>text</MsgType><CreateTime>1</CreateTime><MsgId>6.054768590064714e18</MsgId></xml>",
    "bad location": "<xml><FromUserName>oRESIDENT0000000000000000001</FromUserName>"
    "<MsgType>location</MsgType><CreateTime>1</CreateTime><Location_X>north</Location_X></xml>",
    "not UTF-8": "<xml><Content>菜单</Content></xml>",
}


async def test_malformed_bodies_get_400_and_store_nothing(wx: WeChat) -> None:
    for name, body in MALFORMED.items():
        raw = body.encode("gbk") if name == "not UTF-8" else body.encode()
        r = await wx.client.post("/wechat", params=wx.server.query(), content=raw)
        assert r.status_code == 400, f"{name}: {r.status_code} {r.text}"
    assert wx.inbound() == []
    assert await wx.service.runtime.store.outbox_records() == []


async def test_an_encrypted_body_hiding_a_doctype_is_refused(
    settings: Settings, clock: Clock, fake: FakeWeChat
) -> None:
    async with wechat_service(settings, clock, fake, "safe") as wx:
        query, body = wx.server.request_xml(BILLION_LAUGHS, {})
        assert b"DOCTYPE" not in body  # only inside the ciphertext
        assert (await wx.server.post(query, body)).status == 400
        assert wx.inbound() == []


async def test_a_body_over_64_kb_is_refused(wx: WeChat) -> None:
    fields = text_fields(content="长" * 30_000)
    query, body = wx.server.request(fields)
    assert (await wx.server.post(query, body)).status == 413
    assert wx.inbound() == []


async def test_a_message_without_an_openid_opens_no_conversation(wx: WeChat) -> None:
    fields = {**text_fields(), "FromUserName": ""}
    answer = await wx.server.send(fields)
    assert answer.status == 200 and answer.body == "success"
    assert wx.inbound() == []
    assert await wx.service.runtime.store.conversation("wechat", "") is None


async def test_an_unknown_message_type_gets_a_polite_hint(wx: WeChat) -> None:
    resident = wx.resident()
    answer = await resident.send("miniprogrampage", Title="小程序", AppId="wx123")
    assert answer.passive is not None and "看不懂" in answer.passive
    empty = await resident.send("text", Content="")
    assert empty.passive is not None and "打字" in empty.passive
