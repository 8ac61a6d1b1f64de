"""Adapters and background jobs start and stop with the application."""

from __future__ import annotations

import asyncio

from bot.app import create_app
from bot.channels import ChannelAdapter
from bot.channels.web import WebChannel
from bot.config import Settings
from bot.runtime import Runtime
from common.messages import Outbound
from common.outbox import Delivered, DeliveryResult, Destination, OutboxEntry, OutboxState
from handoff import CaseDraft

from .support import Clock, run_service


class RecordingChannel(ChannelAdapter):
    """A fake platform channel that records what the app asks of it."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.sent: list[str] = []

    async def start(self, runtime: Runtime) -> None:
        self.calls.append("start")

    async def stop(self) -> None:
        self.calls.append("stop")

    async def send(self, entry: OutboxEntry) -> DeliveryResult:
        self.sent.append(entry.message.text)
        return Delivered()


async def _wait_for(condition: object, timeout: float = 5) -> None:
    async def poll() -> None:
        while not await condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


async def test_adapters_start_deliver_and_stop_with_the_app(
    settings: Settings, clock: Clock
) -> None:
    fake = RecordingChannel()
    async with run_service(settings, clock, adapters=[WebChannel(), fake]) as svc:
        assert fake.calls == ["start"]
        await svc.runtime.push(Destination("fake", "42"), Outbound("您的事项有新回复"))

        async def delivered() -> bool:
            return fake.sent == ["您的事项有新回复"]

        await _wait_for(delivered)
        (record,) = await svc.runtime.store.outbox_records(Destination("fake", "42"))
        assert record.state is OutboxState.DELIVERED
    assert fake.calls == ["start", "stop"]


async def test_without_background_jobs_nothing_is_delivered(
    settings: Settings, clock: Clock
) -> None:
    """``minshi chat`` and tools open the app without jobs: the outbox waits for serve."""
    fake = RecordingChannel()
    async with run_service(settings, clock, adapters=[fake], background=False) as svc:
        await svc.runtime.push(Destination("fake", "42"), Outbound("稍后送达"))
        await asyncio.sleep(0.3)
        assert fake.sent == []
        (record,) = await svc.runtime.store.outbox_records()
        assert record.state is OutboxState.PENDING
    async with run_service(settings, clock, adapters=[fake]) as svc:

        async def delivered() -> bool:
            return fake.sent == ["稍后送达"]

        await _wait_for(delivered)


async def test_a_deadline_missed_while_stopped_escalates_at_the_next_serve(
    settings: Settings, clock: Clock
) -> None:
    """The deadline scheduler runs only in serve, and catches up as soon as it starts."""
    draft = CaseDraft("web", "alice", "neighbor", "邻居堵路", "620702103203", "寺儿沟村", "picker")
    async with run_service(settings, clock, background=False) as svc:
        async with svc.runtime.store.transaction() as w:
            case, _ = await svc.runtime.cases.open(w, draft, clock())
        clock.advance(hours=25)  # overdue while the service is stopped
    async with run_service(settings, clock) as svc:

        async def escalated() -> bool:
            found = await svc.runtime.store.case_by_id(case.id)
            return found is not None and found.center_name == "沙井镇综治中心"

        await _wait_for(escalated)
        (notice,) = await svc.runtime.store.outbox_records(Destination("web", "alice"))
        assert "已自动转到上一级：沙井镇综治中心" in notice.body["text"]


def test_the_app_builds_its_channels_from_the_settings(settings: Settings) -> None:
    app = create_app(settings)
    paths = {getattr(route, "path", "") for route in app.routes}
    assert {"/chat", "/healthz", "/api/chat/messages", "/api/chat/events"} <= paths
