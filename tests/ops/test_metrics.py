"""/metrics over HTTP: counters move with traffic, gauges come from the database."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.channels import ChannelAdapter
from bot.channels.web import WebChannel
from bot.config import Settings
from bot.ops.loop_lag import INTERVAL
from common.messages import Outbound
from common.outbox import DeliveryResult, Destination, OutboxEntry, RetryLater
from handoff import CaseStatus
from tests.support import Clock, Service, run_service

from .conftest import file_case_with_phone, web_resident


class DownPlatform(ChannelAdapter):
    """A platform that is down: every send is to be retried later."""

    name = "down"

    async def send(self, entry: OutboxEntry) -> DeliveryResult:
        return RetryLater("503 from the platform")


async def scrape(
    service: Service, **headers: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient(base_url=service.base_url, trust_env=False) as client:
        r = await client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(r.text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_counters_and_gauges_follow_the_traffic(settings: Settings, clock: Clock) -> None:
    adapters = [WebChannel(), DownPlatform()]
    async with run_service(settings, clock, adapters=adapters) as svc:
        before = await scrape(svc)
        assert value(before, "minshi_database_readable") == 1.0
        assert value(before, "minshi_messages_received_total", channel="web") == 0.0

        async with web_resident(svc) as resident:
            await resident.start()
            await resident.tap("法律咨询")
            await resident.say("老板拖欠工资三个月不给怎么办")
            number = await file_case_with_phone(resident)
        await svc.runtime.push(Destination("down", "42"), Outbound("您的事项有新回复"))
        clock.advance(seconds=90)
        await svc.runtime.cases.escalate(
            number, CaseStatus.ASSIGNED, actor="mediator:1", reason="需要镇上协调"
        )

        after = await scrape(svc)
        received = value(after, "minshi_messages_received_total", channel="web")
        assert received >= 10  # start, taps, the question, the report
        assert value(after, "minshi_messages_sent_total", channel="web") >= received
        assert value(after, "minshi_faq_decisions_total", decision="answer") == 1.0
        assert value(after, "minshi_escalations_total", by="mediator") == 1.0
        assert value(after, "minshi_cases", status="assigned") == 1.0
        assert value(after, "minshi_dialog_seconds_count", channel="web") == received
        assert value(after, "minshi_http_request_seconds_count", channel="web", status="2xx") > 0
        # The platform is down: the message waits, the failures are counted.
        assert value(after, "minshi_outbox_waiting", channel="down") == 1.0
        assert value(after, "minshi_outbox_oldest_waiting_seconds", channel="down") == 90.0
        # The delivery worker tries the pushed message on its own schedule.
        for _ in range(100):
            samples = await scrape(svc)
            if value(samples, "minshi_delivery_failures_total", channel="down", outcome="retry"):
                break
            await asyncio.sleep(0.05)
        failures = value(samples, "minshi_delivery_failures_total", channel="down", outcome="retry")
        assert failures >= 1


async def test_metrics_need_the_token_when_one_is_set(tmp_path: Path, clock: Clock) -> None:
    settings = Settings(  # type: ignore[call-arg]
        db=tmp_path / "m.db", attachments_dir=tmp_path / "a", metrics_token="t0ken", _env_file=None
    )
    async with run_service(settings, clock, background=False) as svc:
        async with httpx.AsyncClient(base_url=svc.base_url, trust_env=False) as client:
            missing = await client.get("/metrics")
            assert missing.status_code == 401 and "Bearer" in missing.headers["www-authenticate"]
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
        samples = await scrape(svc, Authorization="Bearer t0ken")
        assert value(samples, "minshi_database_readable") == 1.0


async def test_without_a_token_only_this_machine_may_scrape(service: Service) -> None:
    """Behind the reverse proxy, the proxy's X-Forwarded-For names the real client."""
    async with httpx.AsyncClient(base_url=service.base_url, trust_env=False) as client:
        outside = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert outside.status_code == 403
    await scrape(service)


async def test_a_busy_event_loop_shows_in_its_lag(settings: Settings, clock: Clock) -> None:
    """While the loop is held (here for 0.3 s: a slow request, a long collection), what
    arrives waits: the lag histogram holds a look that late, and none before."""
    async with run_service(settings, clock) as svc:
        await asyncio.sleep(3 * INTERVAL)  # a few looks of an idle loop
        before = await scrape(svc)
        assert value(before, "minshi_event_loop_lag_seconds_count") >= 1
        assert value(before, "minshi_event_loop_lag_seconds_bucket", le="0.05") == value(
            before, "minshi_event_loop_lag_seconds_count"
        )
        time.sleep(0.3)  # the loop does nothing else meanwhile
        await asyncio.sleep(2 * INTERVAL)
        after = await scrape(svc)
    late = value(after, "minshi_event_loop_lag_seconds_count") - value(
        after, "minshi_event_loop_lag_seconds_bucket", le="0.1"
    )
    assert late >= 1
    assert value(after, "minshi_event_loop_lag_seconds_sum") >= 0.2
