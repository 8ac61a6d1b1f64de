"""A full disk or a read-only database: said clearly, nothing half-accepted, and it all
works again by itself once the database takes writes (no restart).

A full disk is SQLite's ``PRAGMA max_page_count`` on the service's own
connection: the file may not grow, and writes that still fit in its pages
succeed, as on a real disk. A read-only file is ``PRAGMA query_only`` (every
write fails; root, which runs CI here, ignores file modes, so chmod would not
do it).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from bot.config import Settings
from bot.runtime import Runtime
from dialogs import Texts
from tests.chat import ZHANGYE_VILLAGE, describe, pick_place, start_report
from tests.console.conftest import Mediator, add_account
from tests.resident.conftest import Resident
from tests.support import Clock, Service, rows
from tests.telegram.conftest import message, running
from tests.wechat.conftest import wechat_service
from tests.wechat.fake_api import FakeWeChat, serve_fake

UNAVAILABLE = Texts(None)("unavailable")


@contextlib.asynccontextmanager
async def disk_full(rt: Runtime) -> AsyncIterator[None]:
    row = await rt.db.fetchone("PRAGMA page_count")
    assert row is not None
    await rt.db.fetchone(f"PRAGMA max_page_count = {int(row['page_count'])}")
    try:
        yield
    finally:  # space returns
        await rt.db.fetchone("PRAGMA max_page_count = 1073741823")


@contextlib.asynccontextmanager
async def read_only(rt: Runtime) -> AsyncIterator[None]:
    await rt.db.fetchone("PRAGMA query_only = ON")
    try:
        yield
    finally:
        await rt.db.fetchone("PRAGMA query_only = OFF")


def inbound(service: Service, client_id: str) -> list[dict[str, Any]]:
    return rows(
        service.runtime.settings.db,
        "SELECT id, processed_at FROM inbound WHERE platform_msg_id = ?",
        (client_id,),
    )


def counts(service: Service) -> dict[str, int]:
    tables = ("inbound", "outbound", "cases", "case_events", "case_messages", "conversations")
    db = service.runtime.settings.db
    return {t: rows(db, f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in tables}


@contextlib.asynccontextmanager
async def web_resident(service: Service) -> AsyncIterator[Resident]:
    async with httpx.AsyncClient(base_url=service.base_url, trust_env=False) as client:
        token = (await client.post("/api/chat/session")).json()["token"]
        yield Resident(client, token)


async def file_case(resident: Resident) -> None:
    await start_report(resident)
    await describe(resident, "邻居把车停在我家门口，出不了门")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    await resident.tap("确认提交")
    assert "已提交" in resident.text


async def test_a_full_disk_refuses_what_it_cannot_store_then_passes_by_itself(
    service: Service,
) -> None:
    async with web_resident(service) as resident:
        await start_report(resident)
        async with disk_full(service.runtime):
            refused: tuple[str, httpx.Response] | None = None
            for n in range(80):  # what still fits is taken, as on a real disk
                client_id = f"full-{n}"
                body = {"id": client_id, "text": f"第{n}次补充：对方今天又把车停在我家门口了"}
                r = await resident.client.post(
                    "/api/chat/messages", json=body, headers=resident.headers
                )
                if r.status_code != 200:
                    refused = (client_id, r)
                    break
                assert f"第 {n + 1} 条" in r.json()["replies"][0]["text"]
                assert [m["processed_at"] is not None for m in inbound(service, client_id)] == [
                    True
                ]
            assert refused is not None, "the database never filled up"
            client_id, r = refused
            assert r.status_code == 503 and r.json() == {"error": UNAVAILABLE}
            assert r.headers["retry-after"].isdigit()
            # Not stored, or stored and left unprocessed to finish later; never half done.
            assert all(m["processed_at"] is None for m in inbound(service, client_id))
            health = await resident.client.get("/healthz")
            assert health.status_code == 503, health.text

        # Space is back: the page's retry of the same message is answered, and only once.
        again = await resident.post({"id": client_id, "text": "（页面重发）"})
        assert f"第 {n + 1} 条" in again[0]["text"]
        assert [m["processed_at"] is not None for m in inbound(service, client_id)] == [True]
        assert (await resident.client.get("/healthz")).status_code == 200
        await resident.tap("说完了")
        assert "发生在哪里" in resident.text or "是在「" in resident.text


async def test_a_read_only_database_refuses_everywhere_then_passes_by_itself(
    service: Service,
) -> None:
    await add_account(service.runtime, "m1")
    mediator = Mediator(service.base_url, "m1")
    assert (await mediator.login()).status_code == 200
    async with web_resident(service) as resident:
        await file_case(resident)
        (case,) = rows(service.runtime.settings.db, "SELECT number, status FROM cases")
        number = case["number"]
        before = counts(service)
        async with read_only(service.runtime):
            r = await resident.client.post(
                "/api/chat/messages",
                json={"id": "ro-1", "text": "我的事项"},
                headers=resident.headers,
            )
            assert r.status_code == 503 and r.json() == {"error": UNAVAILABLE}
            assert (await resident.client.get("/healthz")).status_code == 503

            claim = await mediator.act(number, "claim")
            assert claim.status_code == 503 and "数据库文件只读" in claim.json()["error"]
            form = await mediator.client.post(
                f"/console/cases/{number}/claim", data={"csrf": mediator.csrf}
            )
            assert form.status_code == 503 and "数据库文件只读" in form.text
            assert "Traceback" not in form.text
            # Reading still works: the mediator sees the case as it is.
            assert (await mediator.case(number))["status"] == case["status"]
            assert counts(service) == before

        again = await resident.post({"id": "ro-1", "text": "我的事项"})
        assert number in "\n".join(m["text"] for m in again)
        assert (await mediator.act(number, "claim")).status_code == 200
        assert (await resident.client.get("/healthz")).status_code == 200
    await mediator.client.aclose()


async def test_telegram_updates_are_refused_until_they_can_be_stored(
    settings: Settings, clock: Clock
) -> None:
    async with running(settings, clock, webhook=True) as telegram:
        resident = telegram.resident()
        await resident.start()
        update = telegram.fake.update(message=message(resident.chat_id, text="我的事项"))
        before = counts(telegram.service)
        async with read_only(telegram.runtime):
            refused = await telegram.fake.deliver(update)
            assert refused.status_code == 503  # Telegram sends it again later
            assert counts(telegram.service) == before
        sent = await telegram.exchange(resident.chat_id, update)  # the re-delivery
        assert [m.text for m in sent] == ["您还没有反映过事情。"]
        stored = rows(telegram.runtime.settings.db, "SELECT body FROM inbound")
        assert sum("我的事项" in r["body"] for r in stored) == 1


async def test_wechat_residents_are_told_politely_and_nothing_is_kept(
    settings: Settings, clock: Clock
) -> None:
    async with serve_fake(FakeWeChat()) as fake, wechat_service(settings, clock, fake) as wx:
        resident = wx.resident()
        await resident.event("subscribe")
        before = counts(wx.service)
        async with read_only(wx.service.runtime):
            answer = await resident.say("我的事项", msg_id=4242)
            assert answer == UNAVAILABLE
            assert counts(wx.service) == before
        answer = await resident.say("我的事项", msg_id=4242)  # sent again later
        assert answer.startswith("您还没有反映过事情。")
        assert sum("我的事项" in r["body"] for r in wx.inbound()) == 1
