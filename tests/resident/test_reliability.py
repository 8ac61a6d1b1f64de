"""Nothing is lost or done twice: restarts, retries, late messages."""

from __future__ import annotations

import asyncio
import json

import httpx

from bot.config import Settings
from bot.runtime import open_runtime
from common.outbox import Destination, OutboxState
from dialogs import Inbound, Outbound
from tests.chat import ZHANGYE_VILLAGE, describe, pick_place, start_report

from .conftest import Clock, Resident, Service, rows, run_service


async def test_a_new_process_continues_the_conversation(settings: Settings, clock: Clock) -> None:
    async with (
        run_service(settings, clock) as first,
        httpx.AsyncClient(base_url=first.base_url, trust_env=False) as client,
    ):
        token = (await client.post("/api/chat/session")).json()["token"]
        resident = Resident(client, token)
        await start_report(resident)
        await describe(resident, "邻居把排水沟堵了")
        await resident.tap("按地区选")
        await resident.tap(ZHANGYE_VILLAGE[0])
    # The service stopped mid-dialog; a new one opens the same database file.
    async with (
        run_service(settings, clock) as second,
        httpx.AsyncClient(base_url=second.base_url, trust_env=False) as client,
    ):
        resident = Resident(client, token)
        history = (await client.get("/api/chat/messages", headers=resident.headers)).json()[
            "messages"
        ]
        resident.replies = [m for m in history if m["from"] == "bot"][-1:]
        await resident.tap(ZHANGYE_VILLAGE[1])
        assert "请选村" in resident.text
        await resident.tap(ZHANGYE_VILLAGE[2])
        await resident.tap("跳过")
        assert "邻居把排水沟堵了" in resident.text
        await resident.tap("确认提交")
        assert "已提交" in resident.text


async def test_a_retried_message_is_processed_once(resident: Resident, service: Service) -> None:
    await start_report(resident)
    first = await resident.post({"id": "client-42", "text": "邻居家的牛跑进我家地里"})
    again = await resident.post({"id": "client-42", "text": "邻居家的牛跑进我家地里"})
    assert again == first  # the same replies, not a second "第 2 条"
    db = service.runtime.settings.db
    stored = rows(db, "SELECT COUNT(*) AS n FROM inbound WHERE platform_msg_id = 'client-42'")
    assert stored[0]["n"] == 1
    await resident.tap("说完了")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    await resident.tap("确认提交")
    case = rows(db, "SELECT description FROM cases")[0]
    assert case["description"] == "邻居家的牛跑进我家地里"


async def test_messages_stored_before_a_crash_are_answered_at_the_next_start(
    settings: Settings, clock: Clock
) -> None:
    """A message stored but not processed (a crash) is finished at the next start,
    and its replies are delivered once the channel runs."""
    async with open_runtime(settings, clock=clock) as rt, rt.store.transaction() as w:
        await w.record_inbound(Inbound(channel="web", user_id="u1", kind="start"), clock())
    async with run_service(settings, clock) as svc:
        store = svc.runtime.store
        replies = await store.outbound_after("web", "u1", 0)
        assert replies and "民事直说" in replies[0].body["text"]
        assert await store.unprocessed_inbound() == []
        for _ in range(200):
            records = await store.outbox_records(Destination("web", "u1"))
            if all(r.state is OutboxState.DELIVERED for r in records):
                break
            await asyncio.sleep(0.02)
        assert [r.state for r in records] == [OutboxState.DELIVERED] * len(replies)


async def test_late_messages_arrive_on_the_event_stream(
    resident: Resident, service: Service
) -> None:
    await resident.start()
    seen_up_to = max(r["id"] for r in resident.replies)
    user_id = rows(service.runtime.settings.db, "SELECT user_id FROM conversations")[0]["user_id"]
    received: list[dict[str, object]] = []

    async def listen() -> None:
        url = f"/api/chat/events?token={resident.token}&after={seen_up_to}"
        async with resident.client.stream("GET", url) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    received.append(json.loads(line[6:]))
                    return

    task = asyncio.create_task(listen())
    await asyncio.sleep(0.2)
    await service.runtime.push(
        Destination("web", user_id), Outbound("调解员：您好，我是沙井镇的调解员。")
    )
    await asyncio.wait_for(task, 5)
    assert received[0]["text"] == "调解员：您好，我是沙井镇的调解员。"


async def test_replies_reach_the_event_stream_at_once(resident: Resident) -> None:
    """A page with two tabs: the reply to one tab's message shows in the other without delay."""
    await resident.start()
    after = max(r["id"] for r in resident.replies)
    received: list[int] = []

    async def listen() -> None:
        url = f"/api/chat/events?token={resident.token}&after={after}"
        async with resident.client.stream("GET", url) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("id: "):
                    received.append(int(line[4:]))
                    return

    task = asyncio.create_task(listen())
    await asyncio.sleep(0.2)
    replies = await resident.tap("法律咨询")
    await asyncio.wait_for(task, 2)  # well before the 15 s keep-alive
    assert received == [replies[0]["id"]]


async def test_event_stream_replays_what_was_missed(resident: Resident, service: Service) -> None:
    await resident.start()
    await resident.tap("法律咨询")
    await resident.say("邻居把路堵了怎么办")
    history = (await resident.client.get("/api/chat/messages", headers=resident.headers)).json()
    bot_ids = [m["id"] for m in history["messages"] if m["from"] == "bot"]
    assert len(bot_ids) >= 3
    seen_up_to = bot_ids[0]
    replayed: list[int] = []
    async with resident.client.stream(
        "GET",
        f"/api/chat/events?token={resident.token}",
        headers={"Last-Event-ID": str(seen_up_to)},
    ) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("id: "):
                replayed.append(int(line[4:]))
                if len(replayed) == len(bot_ids) - 1:
                    break
    assert replayed == bot_ids[1:]


async def test_a_flooding_resident_is_asked_to_slow_down(
    resident: Resident, service: Service
) -> None:
    await resident.start()
    answers = [await resident.say(f"第{n}次") for n in range(35)]
    slowed = [a for a in answers if "发得太快了" in a[0]["text"]]
    assert len(slowed) == 35 + 1 - 30  # the first thirty in a minute are handled as usual
    stored = rows(service.runtime.settings.db, "SELECT COUNT(*) AS n FROM inbound")
    assert stored[0]["n"] == 36  # nothing is thrown away
