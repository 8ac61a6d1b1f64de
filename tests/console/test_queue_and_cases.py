"""The queue's order and words, 兜底受理, undelivered replies, live events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx

from bot.console.words import span, time_left
from common.clock import ManualClock
from tests.support import Clock, Service

from .conftest import Mediator, add_account, open_case

People = Callable[[Service, str], Awaitable[Mediator]]


def test_time_left_is_said_in_plain_words() -> None:
    now = ManualClock().now
    assert time_left(now + timedelta(hours=3), now) == "还剩 3 小时"
    assert time_left(now - timedelta(hours=2, minutes=10), now) == "已超时 2 小时"
    assert time_left(now + timedelta(minutes=40), now) == "还剩 40 分钟"
    assert time_left(now, now) == "已超时 1 分钟"
    assert span(timedelta(days=3, hours=5)) == "3 天 5 小时"
    assert span(timedelta(hours=47)) == "47 小时"


async def test_urgent_and_overdue_cases_come_first(
    quiet_service: Service, people: People, clock: Clock
) -> None:
    rt = quiet_service.runtime
    await add_account(rt, "wang")
    late = await open_case(rt, description="早上报的事")
    clock.advance(hours=20)
    urgent = await open_case(rt, description="有人天天上门骂人", urgent=True)
    plain = await open_case(rt, description="路灯坏了")
    clock.advance(hours=5)
    wang = await people(quiet_service, "wang")
    queue = (await wang.get("/console/api/queue")).json()
    got = [(c["number"], c["urgent"], c["overdue"], c["time_left"]) for c in queue["cases"]]
    assert got == [
        (urgent.number, True, False, "还剩 19 小时"),
        (late.number, False, True, "已超时 1 小时"),
        (plain.number, False, False, "还剩 19 小时"),
    ]
    assert queue["counts"] == {"all": 3, "new": 3, "mine": 0, "overdue": 1, "moved_in": 0}
    page = await wang.get("/console/queue")
    assert page.status_code == 200
    html = page.text
    assert html.index(urgent.number) < html.index(late.number) < html.index(plain.number)
    assert "已超时 1 小时" in html and "紧急" in html


async def test_walk_in_is_registered_and_held_by_the_mediator(
    quiet_service: Service, people: People
) -> None:
    rt = quiet_service.runtime
    await add_account(rt, "wang", name="王芳")
    wang = await people(quiet_service, "wang")
    body = {
        "category": "wages",
        "description": "老人来中心说：工地老板欠了三个月工钱",
        "place": "寺儿沟",
        "phone": "139 0000 1111",
    }
    r = await wang.post("/console/api/walk-in", body)
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "claimed" and case["assignee"] == "wang"
    assert case["center"]["name"] == "寺儿沟村综治中心" and case["phone"] == "13900001111"
    assert case["location"] == "张掖市甘州区沙井镇寺儿沟村" and case["channel"] == "walk-in"
    r = await wang.act(case["number"], "reply", text="明天带上欠条来中心")
    delivery = next(m for m in r.json()["transcript"] if m["who"] == "mediator")["delivery"]
    assert delivery["problem"] and delivery["call"] == "请打电话告诉居民：13900001111"

    assert (await wang.post("/console/api/walk-in", {**body, "place": "火星"})).status_code == 400
    r = await wang.post("/console/api/walk-in", {**body, "category": "nonsense"})
    assert r.status_code == 400 and r.json()["error"] == "请选择事情的类型"
    places = (await wang.get("/console/api/places?q=寺儿沟")).json()["places"]
    assert places[0] == {"code": "620702103203", "name": "张掖市甘州区沙井镇寺儿沟村"}

    form = {**body, "place": "620702103203", "csrf": wang.csrf}
    r = await wang.client.post("/console/walk-in", data=form)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/cases/MS")
    page = await wang.get(r.headers["location"])
    assert "老人来中心说" in page.text and "13900001111" in page.text


async def test_a_reply_still_not_delivered_after_half_an_hour_says_whom_to_call(
    quiet_service: Service, people: People, clock: Clock
) -> None:
    rt = quiet_service.runtime  # no delivery worker runs here: the reply stays queued
    await add_account(rt, "wang", name="王芳")
    await add_account(rt, "li", name="李娜")
    case = await open_case(rt)
    wang, li = await people(quiet_service, "wang"), await people(quiet_service, "li")
    await wang.act(case.number, "claim")
    r = await wang.act(case.number, "reply", text="您好，我是王芳")
    (sent,) = [m for m in r.json()["transcript"] if m["who"] == "mediator"]
    assert sent["delivery"] == {
        "state": "pending",
        "label": "正在发送",
        "problem": False,
        "call": "",
    }
    clock.advance(minutes=31)
    (sent,) = [m for m in (await wang.case(case.number))["transcript"] if m["who"] == "mediator"]
    assert sent["delivery"]["problem"]
    assert "超过 30 分钟还没送到" in sent["delivery"]["label"]
    assert sent["delivery"]["call"] == "请打电话告诉居民：13812345678"
    (seen_by_li,) = [
        m for m in (await li.case(case.number))["transcript"] if m["who"] == "mediator"
    ]
    assert seen_by_li["delivery"]["call"] == "请打电话告诉居民：138****5678"
    page = await wang.get(f"/console/cases/{case.number}")
    assert "请打电话告诉居民：13812345678" in page.text


def _mediator_messages(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in case["transcript"] if m["who"] == "mediator"]


async def _first_event(client: httpx.AsyncClient, path: str, ready: asyncio.Event) -> str:
    async with client.stream("GET", path) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("retry:"):
                ready.set()
            if line.startswith("event: "):
                return line.removeprefix("event: ")
    return "ended"


async def test_event_streams_wake_the_pages(quiet_service: Service, people: People) -> None:
    rt = quiet_service.runtime
    await add_account(rt, "wang")
    wang = await people(quiet_service, "wang")
    ready = asyncio.Event()
    queue_events = asyncio.create_task(_first_event(wang.client, "/console/queue/events", ready))
    await asyncio.wait_for(ready.wait(), 5)
    case = await open_case(rt)
    assert await asyncio.wait_for(queue_events, 5) == "changed"

    ready = asyncio.Event()
    path = f"/console/cases/{case.number}/events"
    case_events = asyncio.create_task(_first_event(wang.client, path, ready))
    await asyncio.wait_for(ready.wait(), 5)
    async with rt.store.transaction() as w:  # the resident adds to the case (我的事项)
        await w.add_case_message(case.id, "resident", "补充一下", [], None, rt.clock())
    assert await asyncio.wait_for(case_events, 5) == "changed"

    ready = asyncio.Event()
    ending = asyncio.create_task(_first_event(wang.client, path, ready))
    await asyncio.wait_for(ready.wait(), 5)
    await wang.post("/console/api/logout")
    await rt.cases.note(case.number, "system", "系统", "叫醒一下")
    assert await asyncio.wait_for(ending, 5) == "gone"
    r = await wang.get(path)
    assert r.status_code == 303  # logged out: to the login page


async def test_escalating_hands_the_case_up_with_the_reason(
    quiet_service: Service, people: People
) -> None:
    rt = quiet_service.runtime
    await add_account(rt, "wang", name="王芳")
    await add_account(rt, "zhou", center="620702103", name="周镇")
    await add_account(rt, "chen", center="620700", name="陈市")
    case = await open_case(rt)
    wang, zhou = await people(quiet_service, "wang"), await people(quiet_service, "zhou")
    r = await wang.act(case.number, "escalate", reason="")
    assert r.status_code == 400 and r.json()["error"] == "请填写上交理由"
    r = await wang.act(case.number, "escalate", reason="涉及两个村，村里调不了")
    assert r.status_code == 200 and r.json()["gone"]
    (item,) = (await zhou.get("/console/api/queue")).json()["cases"]
    assert (item["number"], item["moved_label"], item["time_left"]) == (
        case.number,
        "上交来的",
        "还剩 2 天",
    )
    trail = (await zhou.case(case.number))["trail"]
    assert trail[-1]["label"] == "上交" and trail[-1]["actor"] == "王芳"
    assert trail[-1]["detail"] == "沙井镇综治中心（涉及两个村，村里调不了）"

    city_case = await open_case(rt, "620700", description="市里的事")
    chen = await people(quiet_service, "chen")
    r = await chen.act(city_case.number, "escalate", reason="太难")
    assert r.status_code == 409 and "最高一级" in r.json()["error"]
