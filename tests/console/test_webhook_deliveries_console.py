"""The webhook deliveries page: a failing endpoint's retries as an admin sees them.

A real receiver on 127.0.0.1 fails on request; the real delivery worker and
webhook adapter send to it; the admin reads the console over HTTP.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.channels.webhook import WebhookChannel
from bot.config import Settings
from common.delivery import DeliveryWorker
from handoff import CaseStatus
from tests.support import Clock, Service, run_service
from tests.webhooks.receiver import Receiver, run_receiver
from tests.webhooks.test_webhooks import SECRETS, centers_with_webhooks

from .conftest import OTHER_TOWNSHIP, TOWNSHIP, VILLAGE, Mediator, add_account, open_case

People = Callable[[Service, str], Awaitable[Mediator]]


@dataclass
class Hooked:
    service: Service
    receiver: Receiver
    worker: DeliveryWorker
    clock: Clock

    async def deliver(self) -> None:
        await self.worker.run_once()


@pytest.fixture
async def hooked(settings: Settings, clock: Clock, tmp_path: Path) -> AsyncIterator[Hooked]:
    """寺儿沟村 has two endpoints (one trusted), 沙井镇 one; nothing is sent until asked."""
    async with run_receiver(SECRETS) as receiver:
        centers = centers_with_webhooks(tmp_path / "centers.yaml", receiver.base_url)
        with_hooks = settings.model_copy(update={"centers_file": centers})
        async with run_service(with_hooks, clock, background=False) as svc:
            rt = svc.runtime
            for name, role, center in (
                ("root", "admin", TOWNSHIP),
                ("shajing", "center-admin", TOWNSHIP),
                ("dangzhai", "center-admin", OTHER_TOWNSHIP),
                ("med", "mediator", VILLAGE),
            ):
                await add_account(rt, name, role, center)
            channel = WebhookChannel(rt.centers, clock=clock)
            try:
                yield Hooked(
                    svc, receiver, DeliveryWorker(rt.store, {"webhook": channel}, clock), clock
                )
            finally:
                await channel.stop()


async def listing(who: Mediator, state: str = "") -> list[dict[str, Any]]:
    r = await who.get("/console/api/webhooks" + (f"?state={state}" if state else ""))
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["deliveries"]
    return found


def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="delivery"(.*?)</tr>', html, re.S)


async def test_a_failing_endpoint_shows_its_retries_until_delivered(
    hooked: Hooked, people: People
) -> None:
    case = await open_case(hooked.service.runtime)
    root = await people(hooked.service, "root")
    hooked.receiver.fail_next = 1  # one of the village's two endpoints answers 500
    await hooked.deliver()
    [stuck] = await listing(root, "retrying")
    assert stuck["case_number"] == case.number and stuck["event"] == "created"
    assert (stuck["attempts"], stuck["last_error"]) == (1, "HTTP 500")
    assert stuck["endpoint"].startswith(f"{hooked.receiver.base_url}/hook/")
    assert stuck["next_attempt_at"] is not None
    assert [d["state"] for d in await listing(root, "delivered")] == ["delivered"]

    hooked.receiver.fail_next = 1  # it fails again after the backoff
    hooked.clock.advance(seconds=2)
    await hooked.deliver()
    page = await root.get("/console/webhooks?state=retrying")
    [row] = rows(page.text)
    assert case.number in row and "HTTP 500" in row and "重试中" in row
    assert re.search(r'class="attempts">2<', row) and "下次" in row
    assert not any(secret in page.text for secret in SECRETS.values())
    assert "重试中（1）" in page.text and "已送达（1）" in page.text

    hooked.clock.advance(seconds=4)
    await hooked.deliver()
    assert await listing(root, "retrying") == []
    delivered = await listing(root, "delivered")
    assert sorted(d["attempts"] for d in delivered) == [1, 3]
    assert hooked.receiver.failures == 2 and len(hooked.receiver.received) == 2
    empty = await root.get("/console/webhooks?state=retrying")
    assert rows(empty.text) == [] and "没有这种状态的记录" in empty.text


async def test_an_endpoint_that_refuses_is_given_up_and_shown_failed(
    hooked: Hooked, people: People
) -> None:
    rt = hooked.service.runtime
    case = await open_case(rt)
    await hooked.deliver()
    hooked.receiver.fail_next, hooked.receiver.fail_status = 2, 410
    await rt.cases.claim(case.number, "m1", CaseStatus.ASSIGNED)
    await hooked.deliver()
    root = await people(hooked.service, "root")
    failed = await listing(root, "failed")
    assert [(d["event"], d["last_error"], d["attempts"]) for d in failed] == [
        ("claimed", "HTTP 410", 1)
    ] * 2
    page = (await root.get("/console/webhooks?state=failed")).text
    assert len(rows(page)) == 2 and "送不到，已放弃" in page
    everything = await listing(root)
    assert [d["event"] for d in everything] == ["claimed", "claimed", "created", "created"]


async def test_center_admins_see_their_area_and_mediators_nothing(
    hooked: Hooked, people: People
) -> None:
    await open_case(hooked.service.runtime)
    shajing = await people(hooked.service, "shajing")  # 寺儿沟村 lies below 沙井镇
    assert len(await listing(shajing)) == 2
    dangzhai = await people(hooked.service, "dangzhai")  # the township next door
    assert await listing(dangzhai) == []
    med = await people(hooked.service, "med")
    assert (await med.get("/console/webhooks")).status_code == 403
    assert (await med.get("/console/api/webhooks")).status_code == 403
    bad = await shajing.get("/console/api/webhooks?state=lost")
    assert bad.status_code == 400 and "pending" in bad.json()["error"]
