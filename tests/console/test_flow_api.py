"""A whole case through the console's JSON API alone, with a resident on the web chat."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from tests.chat import submit_case
from tests.support import Service

from .conftest import Mediator, Resident, add_account


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10) -> None:
    async def poll() -> None:
        while not await check():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


async def _next_event_text(resident: Resident, after: int) -> str:
    """The text of the next message on the resident's event stream."""
    async with resident.client.stream(
        "GET", "/api/chat/events", params={"token": resident.token, "after": after}
    ) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                return str(json.loads(line.removeprefix("data: "))["text"])
    raise AssertionError("the event stream ended")


async def test_report_claim_reply_answer_resolve(
    service: Service,
    new_resident: Callable[[], Awaitable[Resident]],
    people: Callable[[Service, str], Awaitable[Mediator]],
) -> None:
    rt = service.runtime
    resident = await new_resident()
    number = await submit_case(resident, "邻居把我家门前的路挖断了，车出不去")
    await add_account(rt, "wang", name="王芳")
    wang = await people(service, "wang")

    queue = (await wang.get("/console/api/queue")).json()
    (item,) = [c for c in queue["cases"] if c["number"] == number]
    assert item["new"] and item["time_left"] == "还剩 24 小时"
    assert queue["center"]["name"] == "寺儿沟村综治中心"

    r = await wang.act(number, "claim")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "claimed" and r.json()["assignee_name"] == "王芳"

    last_seen = max(m["id"] for m in await resident.history() if m["from"] == "bot")
    listening = asyncio.create_task(_next_event_text(resident, last_seen))
    r = await wang.act(number, "reply", text="您好，我是王芳，明天上午去现场看看。")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_progress"
    assert "明天上午去现场看看" in await asyncio.wait_for(listening, 10)

    async def delivered() -> bool:
        case = await wang.case(number)
        mine = [m for m in case["transcript"] if m["who"] == "mediator"]
        return bool(mine) and mine[-1]["delivery"]["state"] == "delivered"

    await _eventually(delivered)
    history = await resident.history()
    assert any("明天上午去现场看看" in m["text"] for m in history if m["from"] == "bot")

    await resident.say("我的事项")
    await resident.tap(number)
    await resident.say("好的，明天上午我在家等您")
    assert number in resident.text

    case = await wang.case(number)
    said = [m["text"] for m in case["transcript"] if m["who"] == "resident"]
    assert "好的，明天上午我在家等您" in said
    assert any("车出不去" in text for text in said)  # the report itself, from the chat

    r = await wang.act(
        number, "resolve", outcome="mediated", note="两家商量好了，邻居三天内把路修好"
    )
    assert r.status_code == 200, r.text
    case = r.json()
    assert case["status"] == "resolved" and case["outcome_label"] == "调解成功"
    trail = [(e["kind"], e["actor"]) for e in case["trail"]]
    assert trail[:2] == [("received", "居民"), ("assigned", "系统")]
    assert ("claimed", "王芳") in trail and ("replied", "王芳") in trail
    assert trail[-1] == ("resolved", "王芳")
    assert "调解成功" in case["trail"][-1]["detail"]
    assert "邻居三天内把路修好" in case["trail"][-1]["detail"]

    async def told() -> bool:
        return any("调解成功" in m["text"] for m in await resident.history())

    await _eventually(told)
    queue = (await wang.get("/console/api/queue")).json()
    assert number not in [c["number"] for c in queue["cases"]]
    assert number in [c["number"] for c in queue["recent_closed"]]
