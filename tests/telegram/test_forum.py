"""Mediators on Telegram: a forum group per center, a topic per case.

The real service with its Telegram channel (webhook mode) talks to the fake
Bot API; the village center and the township above it each have a forum
group. Residents use the web chat; mediators tap and write in the topics
and use the console, and the tests check what each of them sees.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.console.alerts import send_alerts
from bot.storage import ConsoleReads, SqlForumStore
from common.outbox import OutboxState
from handoff import DEFAULT_CENTERS_PATH, CaseStatus
from tests.chat import pick_place, start_report, submit_case
from tests.console.conftest import PASSWORD, Mediator, add_account
from tests.resident.conftest import Resident
from tests.support import Clock

from .conftest import Telegram, eventually, person, running
from .fake_api import DATE, Sent, Topic, chat_json, run_fake_api

VILLAGE = "620702103203"  # 寺儿沟村综治中心
TOWNSHIP = "620702103"  # 沙井镇综治中心, above it
OTHER_TOWNSHIP = "620702107"  # 党寨镇综治中心: no Telegram group
VILLAGE_GROUP = -1001000000203
TOWNSHIP_GROUP = -1001000000103
PUBLIC_URL = "https://minshi.example.org"
JPEG = b"\xff\xd8\xff\xe0" + b"photo of the wall across the lane" * 10

# Telegram users
LI, WANG, TOWN = 910001, 910002, 910003  # linked: two of the village, one of the township
STRANGER = 910004  # in the village group, linked to no account
ZHAO = 910005  # a township mediator who is also in the village group
OUTSIDER = 910006  # linked to a village account, not in the village group
_ids = itertools.count(1)


@dataclass
class Forum:
    tg: Telegram

    @property
    def fake(self) -> Any:
        return self.tg.fake

    @property
    def rt(self) -> Any:
        return self.tg.runtime

    async def settled(self) -> None:
        """Until everything queued has gone out (or was given up)."""
        final = {OutboxState.DELIVERED, OutboxState.UNDELIVERABLE}

        async def done() -> bool:
            return all(r.state in final for r in await self.rt.store.outbox_records())

        await eventually(done, timeout=10)

    async def resident(self) -> Resident:
        client = httpx.AsyncClient(base_url=self.tg.service.base_url, trust_env=False, timeout=10)
        r = await client.post("/api/chat/session")
        assert r.status_code == 201
        return Resident(client, r.json()["token"])

    async def mediator(self, username: str) -> Mediator:
        mediator = Mediator(self.tg.service.base_url, username)
        assert (await mediator.login(PASSWORD)).status_code == 200
        return mediator

    def topic(self, number: str, group: int = VILLAGE_GROUP) -> Topic:
        found = [t for t in self.fake.topics(group) if number in t.name]
        assert len(found) == 1, [t.name for t in self.fake.topics(group)]
        return found[0]

    def posts(self, number: str, group: int = VILLAGE_GROUP) -> list[Sent]:
        return list(self.fake.in_topic(group, self.topic(number, group).thread_id))

    def said(self, number: str, group: int = VILLAGE_GROUP) -> str:
        return "\n".join(m.text for m in self.posts(number, group))

    async def write(self, user: int, number: str, text: str, group: int = VILLAGE_GROUP) -> None:
        """A person writes in the case's topic; then everything it caused goes out."""
        message = {
            "message_id": next(_ids),
            "date": DATE,
            "chat": chat_json(group),
            "from": person(user),
            "message_thread_id": self.topic(number, group).thread_id,
            "is_topic_message": True,
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        await self.deliver(self.fake.update(message=message))

    def claim_update(self, user: int, number: str, group: int = VILLAGE_GROUP) -> dict[str, Any]:
        card = next(m for m in self.posts(number, group) if m.inline_buttons)
        query = {
            "id": f"cq-{next(_ids)}",
            "from": person(user),
            "chat_instance": "ci-forum",
            "data": card.inline_buttons[0]["callback_data"],
            "message": card.as_update_message(),
        }
        return dict(self.fake.update(callback_query=query))

    async def deliver(self, update: dict[str, Any]) -> None:
        response = await self.fake.deliver(update)
        assert response.status_code == 200, response.text
        await self.settled()

    def answer(self, callback_id: str) -> str:
        calls = [
            c
            for c in self.fake.called("answerCallbackQuery")
            if c.params["callback_query_id"] == callback_id
        ]
        assert len(calls) == 1
        return calls[0].params.get("text", "")

    async def case(self, number: str) -> Any:
        return await self.rt.store.case_by_number(number)

    async def report(
        self, story: str = "邻居在巷道口砌了墙，我家的车进不来"
    ) -> tuple[Resident, str]:
        resident = await self.resident()
        number = await submit_case(resident, story)
        await self.settled()
        return resident, number


def _centers_file(tmp_path: Path) -> Path:
    text = DEFAULT_CENTERS_PATH.read_text(encoding="utf-8")
    for name, group in (("寺儿沟村综治中心", VILLAGE_GROUP), ("沙井镇综治中心", TOWNSHIP_GROUP)):
        marker = f"{{name: {name},"
        assert text.count(marker) == 1
        text = text.replace(marker, f'{{name: {name}, telegram_group: "{group}",')
    path = tmp_path / "centers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
async def forum(settings: Settings, clock: Clock, tmp_path: Path) -> AsyncIterator[Forum]:
    configured = settings.model_copy(
        update={"centers_file": _centers_file(tmp_path), "public_url": PUBLIC_URL}
    )
    async with run_fake_api() as fake:
        fake.forum(VILLAGE_GROUP, {LI, WANG, STRANGER, ZHAO})
        fake.forum(TOWNSHIP_GROUP, {TOWN})
        async with running(configured, clock, webhook=True, fake=fake) as tg:
            rt = tg.runtime
            for username, center, user in (
                ("li", VILLAGE, LI),
                ("wang", VILLAGE, WANG),
                ("outsider", VILLAGE, OUTSIDER),
                ("town", TOWNSHIP, TOWN),
                ("zhao", TOWNSHIP, ZHAO),
            ):
                await add_account(rt, username, center=center, name=f"调解员{username}")
                account = await rt.accounts.account(username)
                await rt.accounts.link_telegram(account.id, str(user), clock())
            yield Forum(tg)


async def test_a_new_case_opens_a_topic_with_its_card_transcript_and_photo(forum: Forum) -> None:
    resident = await forum.resident()
    await start_report(resident)
    await resident.say("邻居在巷道口砌了墙，我家的车进不来")
    upload = await resident.client.post(
        "/api/chat/photos",
        content=JPEG,
        headers={**resident.headers, "Content-Type": "image/jpeg"},
    )
    assert upload.status_code == 201, upload.text
    await resident.post({"photo": upload.json()["ref"]})
    await resident.tap("说完了")
    await pick_place(resident, "甘州区", "沙井镇", "寺儿沟村")
    await resident.say("13812345678")
    await resident.tap("确认提交")
    number = re.search(r"MS\d{6}-\d{4}", resident.text)
    assert number, resident.text
    await forum.settled()

    topic = forum.topic(number.group(0))
    assert "邻里纠纷" in topic.name and "寺儿沟村" in topic.name
    posts = forum.posts(number.group(0))
    card = posts[0]
    assert f"事项 {number.group(0)}" in card.text and "待认领" in card.text
    assert "138****5678" in card.text and "13812345678" not in forum.said(number.group(0))
    assert [b["text"] for b in card.inline_buttons] == ["🙋 认领"]
    assert f"{PUBLIC_URL}/console/cases/{number.group(0)}" in card.text
    said = forum.said(number.group(0))
    assert "居民反映时的对话" in said and "我家的车进不来" in said
    assert [m.kind for m in posts if m.kind != "text"] == ["photo"]
    assert forum.fake.topics(TOWNSHIP_GROUP) == []  # only the case's own center hears of it
    await resident.client.aclose()


async def test_claim_from_the_topic_races_a_console_claim_and_one_wins(forum: Forum) -> None:
    resident, number = await forum.report()
    wang = await forum.mediator("wang")
    tap = forum.claim_update(LI, number)
    console, _ = await asyncio.gather(wang.act(number, "claim"), forum.deliver(tap))
    case = await forum.case(number)
    assert case.status is CaseStatus.CLAIMED
    answer = forum.answer(tap["callback_query"]["id"])
    if case.assignee == "li":
        assert console.status_code == 409 and "调解员li" in console.json()["error"]
        assert "认领成功" in answer
    else:
        assert case.assignee == "wang" and console.status_code == 200
        assert "已经由 调解员wang 认领" in answer
    claimed = [m.text for m in forum.posts(number) if "认领了这件事" in m.text]
    assert claimed == [
        f"🙋 调解员{case.assignee} 认领了这件事。只有 调解员{case.assignee} 能在这里回复居民。"
    ]
    assert forum.posts(number)[0].inline_buttons == []  # the card lost its button
    await wang.client.aclose()
    await resident.client.aclose()


async def test_messages_are_relayed_both_ways(forum: Forum) -> None:
    resident, number = await forum.report()
    await forum.deliver(forum.claim_update(LI, number))

    await forum.write(LI, number, "您好，我是村里的调解员，明天上午去现场看看")
    history = await resident.client.get("/api/chat/messages", headers=resident.headers)
    assert any("明天上午去现场看看" in m["text"] for m in history.json()["messages"])
    assert "→ 居民" not in forum.said(number)  # no echo of what the group saw written

    await resident.post({"choice": f"reply:{number}"})
    await resident.say("好的，我明天一直在家")
    await forum.settled()
    assert "👤 居民：好的，我明天一直在家" in forum.said(number)

    li = await forum.mediator("li")
    r = await li.act(number, "reply", text="另外请把墙的照片也准备好")
    assert r.status_code == 200, r.text
    await forum.settled()
    assert "💬 调解员li → 居民：另外请把墙的照片也准备好" in forum.said(number)
    case = await forum.case(number)
    assert case.status is CaseStatus.IN_PROGRESS
    await li.client.aclose()
    await resident.client.aclose()


async def test_only_the_holder_talks_to_the_resident(forum: Forum) -> None:
    resident, number = await forum.report()
    await forum.write(WANG, number, "我先说一句")
    assert "请先认领" in forum.said(number)
    await forum.deliver(forum.claim_update(LI, number))
    await forum.write(WANG, number, "我再说一句")
    history = await resident.client.get("/api/chat/messages", headers=resident.headers)
    assert not any("说一句" in m["text"] for m in history.json()["messages"])
    await resident.client.aclose()


async def test_note_and_resolve_commands(forum: Forum) -> None:
    resident, number = await forum.report()
    await forum.deliver(forum.claim_update(LI, number))

    await forum.write(LI, number, "/note 两家是亲戚，先私下劝一劝")
    notes = [m for m in await forum.rt.store.case_messages((await forum.case(number)).id)]
    assert [(m.kind, m.author, m.body) for m in notes if m.kind == "note"] == [
        ("note", "mediator:li", "两家是亲戚，先私下劝一劝")
    ]
    assert "📝 内部备注" not in forum.said(number)  # the group saw it written

    await forum.write(LI, number, "/resolve 和好了")
    assert "用法：/resolve" in forum.said(number)
    assert (await forum.case(number)).status is CaseStatus.CLAIMED

    await forum.write(LI, number, "/resolve 调解成功 邻居同意三天内拆墙")
    case = await forum.case(number)
    assert case.status is CaseStatus.RESOLVED and case.outcome == "mediated"
    assert "✅ 调解员li 办结了这件事：调解成功（邻居同意三天内拆墙）" in forum.said(number)
    assert forum.topic(number).name.startswith("✅")
    history = await resident.client.get("/api/chat/messages", headers=resident.headers)
    assert any("调解成功" in m["text"] for m in history.json()["messages"])
    await resident.client.aclose()


async def test_escalation_opens_a_topic_in_the_township_group_with_a_link_back(
    forum: Forum,
) -> None:
    resident, number = await forum.report()
    old = forum.topic(number)
    await forum.write(LI, number, "/escalate 涉及两个村的地界，村里定不了")
    case = await forum.case(number)
    assert case.center_id == TOWNSHIP and case.status is CaseStatus.ASSIGNED

    assert "上交到沙井镇综治中心：涉及两个村的地界，村里定不了" in forum.said(number)
    assert forum.topic(number).name.startswith("↪️")
    new_card = forum.posts(number, TOWNSHIP_GROUP)[0]
    assert "从寺儿沟村综治中心上交来：涉及两个村的地界" in new_card.text
    assert f"https://t.me/c/1000000203/{old.thread_id}" in new_card.text
    assert [b["text"] for b in new_card.inline_buttons] == ["🙋 认领"]

    # The township takes it from its own group; the village group may not act any more.
    await forum.deliver(forum.claim_update(TOWN, number, TOWNSHIP_GROUP))
    assert (await forum.case(number)).assignee == "town"
    await forum.write(LI, number, "/note 还在吗")
    assert "不归您的中心办理" in forum.said(number)
    await resident.client.aclose()


async def test_transfer_to_a_center_without_a_group_leaves_it_to_its_console(
    forum: Forum,
) -> None:
    resident, number = await forum.report()
    await forum.write(LI, number, "/transfer 不存在的中心 理由")
    assert "找不到「不存在的中心」" in forum.said(number)
    await forum.write(LI, number, "/transfer 党寨镇综治中心 地在党寨镇")
    case = await forum.case(number)
    assert case.center_id == OTHER_TOWNSHIP
    assert "转到党寨镇综治中心：地在党寨镇" in forum.said(number)
    assert forum.fake.topics(TOWNSHIP_GROUP) == []
    await resident.client.aclose()


async def test_people_who_may_not_act_are_refused_politely(forum: Forum) -> None:
    resident, number = await forum.report()

    await forum.write(STRANGER, number, "我来处理吧")
    assert "还没有关联调解员账号" in forum.said(number)
    await forum.write(ZHAO, number, "/resolve 调解成功")
    assert "您是沙井镇综治中心的调解员" in forum.said(number)
    tap = forum.claim_update(OUTSIDER, number)
    await forum.deliver(tap)
    assert "不在寺儿沟村综治中心的调解群里" in forum.answer(tap["callback_query"]["id"])
    tap = forum.claim_update(STRANGER, number)
    await forum.deliver(tap)
    assert "还没有关联调解员账号" in forum.answer(tap["callback_query"]["id"])

    case = await forum.case(number)
    assert case.status is CaseStatus.ASSIGNED and case.assignee is None
    history = await resident.client.get("/api/chat/messages", headers=resident.headers)
    assert not any("我来处理吧" in m["text"] for m in history.json()["messages"])
    await resident.client.aclose()


async def test_joining_or_leaving_the_group_counts_at_once(forum: Forum) -> None:
    """Membership looked up is trusted for a minute, unless the group says sooner."""
    resident, number = await forum.report()
    not_in_group = "不在寺儿沟村综治中心的调解群里"
    await forum.write(LI, number, "我先问问情况")  # a member: looked up and trusted
    assert not_in_group not in forum.said(number)

    forum.fake.members[VILLAGE_GROUP].discard(LI)
    left = {"message_id": next(_ids), "date": DATE, "chat": chat_json(VILLAGE_GROUP)}
    await forum.deliver(forum.fake.update(message={**left, "left_chat_member": person(LI)}))
    await forum.write(LI, number, "离开调解群以后说的话")
    assert forum.said(number).count(not_in_group) == 1

    await forum.write(WANG, number, "我看看")  # a member, looked up
    forum.fake.members[VILLAGE_GROUP].discard(WANG)
    removed = {
        "chat": chat_json(VILLAGE_GROUP),
        "from": person(ZHAO),
        "date": DATE,
        "old_chat_member": {"user": person(WANG), "status": "member"},
        "new_chat_member": {"user": person(WANG), "status": "kicked", "until_date": 0},
    }
    await forum.deliver(forum.fake.update(chat_member=removed))
    tap = forum.claim_update(WANG, number)
    await forum.deliver(tap)
    assert not_in_group in forum.answer(tap["callback_query"]["id"])

    tap = forum.claim_update(OUTSIDER, number)
    await forum.deliver(tap)  # not a member: looked up and trusted
    assert not_in_group in forum.answer(tap["callback_query"]["id"])
    forum.fake.members[VILLAGE_GROUP].add(OUTSIDER)
    joined = {**left, "message_id": next(_ids), "new_chat_members": [person(OUTSIDER)]}
    await forum.deliver(forum.fake.update(message=joined))
    await forum.deliver(forum.claim_update(OUTSIDER, number))
    case = await forum.case(number)
    assert case.assignee == "outsider"
    await resident.client.aclose()


async def test_a_resent_update_acts_once(forum: Forum) -> None:
    resident, number = await forum.report()
    await forum.deliver(forum.claim_update(LI, number))
    message = {
        "message_id": next(_ids),
        "date": DATE,
        "chat": chat_json(VILLAGE_GROUP),
        "from": person(LI),
        "message_thread_id": forum.topic(number).thread_id,
        "is_topic_message": True,
        "text": "请问您家几口人在家",
    }
    update = forum.fake.update(message=message)
    await forum.deliver(update)
    await forum.deliver(update)  # Telegram sent it again
    messages = await forum.rt.store.case_messages((await forum.case(number)).id)
    assert [m.body for m in messages if m.body == "请问您家几口人在家"] == ["请问您家几口人在家"]
    await resident.client.aclose()


async def test_a_deleted_topic_is_opened_again_and_nothing_is_lost(forum: Forum) -> None:
    resident, number = await forum.report()
    first = forum.topic(number)
    forum.fake.delete_topic(VILLAGE_GROUP, first.thread_id)

    await resident.post({"choice": f"reply:{number}"})
    await resident.say("墙今天又加高了")
    await forum.settled()
    again = forum.topic(number)
    assert again.thread_id != first.thread_id
    posts = forum.posts(number)
    assert f"事项 {number}" in posts[0].text and posts[0].inline_buttons  # the card again
    assert "👤 居民：墙今天又加高了" in forum.said(number)
    assert len(forum.fake.called("createForumTopic")) == 2

    # Closed by hand: reopened, and the message goes into the same topic.
    forum.fake.close_topic(VILLAGE_GROUP, again.thread_id)
    await resident.say("邻居还骂人")
    await forum.settled()
    assert forum.topic(number).thread_id == again.thread_id and not forum.topic(number).closed
    assert "👤 居民：邻居还骂人" in forum.said(number)
    assert len(forum.fake.called("createForumTopic")) == 2
    await resident.client.aclose()


async def test_two_first_messages_at_once_open_one_topic(forum: Forum) -> None:
    """Two senders (as two processes would) post the first messages of a case at once."""
    from bot.channels._telegram_forum import ForumChannel
    from bot.channels._telegram_forum_feed import TopicPost, topic_destination
    from common.outbox import OutboxEntry
    from handoff import CaseDraft

    rt = forum.rt
    feeds = list(rt.cases.feeds)
    rt.cases.feeds.clear()  # the case is opened without queueing anything
    draft = CaseDraft("web", "someone", "neighbor", "邻居的狗天天叫", VILLAGE, "寺儿沟村", "picker")
    async with rt.store.transaction() as w:
        case, _ = await rt.cases.open(w, draft, rt.clock())
    rt.cases.feeds.extend(feeds)

    senders = [ForumChannel(forum.tg.channel.bot), ForumChannel(forum.tg.channel.bot)]
    for sender in senders:
        await sender.start(rt)
    destination = topic_destination(VILLAGE_GROUP, case.number)
    bodies = [
        TopicPost("", post={"kind": "card"}),
        TopicPost("", post={"kind": "message", "who": "resident", "text": "狗叫到半夜"}),
    ]
    entries = [OutboxEntry(-1 - i, destination, b.to_json(), 0) for i, b in enumerate(bodies)]
    held = forum.fake.hold("createForumTopic")
    sending = [asyncio.create_task(s.send(e)) for s, e in zip(senders, entries, strict=True)]
    await forum.fake.wait_for(lambda: bool(forum.fake.called("createForumTopic")))
    done, _ = await asyncio.wait(sending, timeout=1)  # the other one does not wait for it
    held.set()
    results = await asyncio.gather(*sending)
    for sender in senders:
        await sender.stop()
    assert len(forum.fake.called("createForumTopic")) == 1
    assert sorted(type(r).__name__ for r in results) == ["Delivered", "RetryLater"]
    waiting = next(i for i, r in enumerate(results) if type(r).__name__ == "RetryLater")
    assert await senders[waiting].send(entries[waiting]) == results[1 - waiting]
    assert len(forum.fake.topics(VILLAGE_GROUP)) == 1
    assert "👤 居民：狗叫到半夜" in forum.said(case.number)
    assert done  # the loser answered while the topic was still being opened


async def test_a_mediator_links_telegram_with_a_code_from_the_console(forum: Forum) -> None:
    await add_account(forum.rt, "new", center=VILLAGE, name="新调解员")
    mediator = await forum.mediator("new")
    page = await mediator.client.post(
        "/console/me/telegram-code", data={"csrf": mediator.csrf}, follow_redirects=False
    )
    assert page.status_code == 200 and "/link " in page.text
    code = re.search(r"/link ([A-Z0-9]{8})", page.text)
    assert code
    newcomer = 910099

    async def send_link(user: int, text: str) -> str:
        update = forum.fake.update(
            message={
                "message_id": next(_ids),
                "date": DATE,
                "chat": chat_json(user),
                "from": person(user),
                "text": text,
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            }
        )
        mark = len(forum.fake.to(user))
        await forum.deliver(update)
        return "\n".join(m.text for m in forum.fake.to(user)[mark:])

    assert "已关联：新调解员（寺儿沟村综治中心）" in await send_link(
        newcomer, f"/link {code.group(1).lower()}"
    )
    linked = await forum.rt.accounts.account_by_telegram(str(newcomer))
    assert linked is not None and linked.username == "new"
    assert "关联码不对" in await send_link(910098, f"/link {code.group(1)}")  # used already

    r = await mediator.post("/console/api/me/telegram-code")
    assert r.status_code == 200 and r.json()["minutes"] == 10
    forum.tg.clock.advance(minutes=11)
    assert "过期" in await send_link(910098, r.json()["command"])
    assert "请发送：/link 关联码" in await send_link(910098, "/link")
    for _ in range(3):  # with the two above: five wrong codes in a quarter of an hour
        assert "关联码不对" in await send_link(910098, "/link WRONG123")
    fresh = await mediator.post("/console/api/me/telegram-code")
    assert "次数太多" in await send_link(910098, fresh.json()["command"])
    assert await forum.rt.accounts.account_by_telegram("910098") is None
    await mediator.client.aclose()


async def test_alerts_carry_links_to_the_console_and_the_topic(forum: Forum) -> None:
    resident, number = await forum.report()
    case = await forum.case(number)
    await send_alerts(forum.rt, ConsoleReads(forum.rt.db))
    await forum.settled()
    texts = [m.text for m in forum.fake.to(LI)]
    alert = next(t for t in texts if number in t and "新事项" in t)
    thread = forum.topic(number).thread_id
    assert f"{PUBLIC_URL}/console/cases/{number}" in alert
    assert f"https://t.me/c/1000000203/{thread}" in alert
    topics = await SqlForumStore(forum.rt.db).topics_of_case(case.id)
    assert [t.link for t in topics] == [f"https://t.me/c/1000000203/{thread}"]
    assert not any(number in m.text for m in forum.fake.to(TOWN))  # not the township's case
    await resident.client.aclose()


async def test_a_resident_on_telegram_hears_the_mediator_and_their_photo_reaches_the_topic(
    forum: Forum,
) -> None:
    forum.fake.add_file("AgWall1", "photos/wall.jpg", JPEG)
    resident = forum.tg.resident()
    await start_report(resident)
    await resident.send_message(text="邻居在巷道口砌了墙")
    photo = [{"file_id": "AgWall1", "file_unique_id": "w1", "width": 9, "height": 9}]
    await resident.send_message(photo=photo)
    await resident.tap("说完了")
    await pick_place(resident, "甘州区", "沙井镇", "寺儿沟村")
    await resident.tap("跳过")
    await resident.tap("确认提交")
    found = re.search(r"MS\d{6}-\d{4}", resident.text)
    assert found, resident.text
    number = found.group(0)
    await forum.settled()
    photos = [m for m in forum.posts(number) if m.kind == "photo"]
    assert [m.text for m in photos] == ["居民 · 📷 照片"]
    sent = [c for c in forum.fake.called("sendPhoto") if int(c.json("chat_id")) == VILLAGE_GROUP]
    assert [c.params["photo"] for c in sent] == ["AgWall1"]  # re-sent by its file id

    await forum.deliver(forum.claim_update(LI, number))
    mark = len(forum.fake.to(resident.chat_id))
    await forum.write(LI, number, "我下午到您家看看那堵墙")
    await forum.tg.settled(resident.chat_id)
    heard = [m.text for m in forum.fake.to(resident.chat_id)[mark:]]
    assert any("我下午到您家看看那堵墙" in t for t in heard)
