"""Case events reach outside systems as signed webhooks, through the outbox.

A real receiver on 127.0.0.1 checks every signature; cases live in a real
SQLite file; the real delivery worker and webhook adapter send them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.channels.webhook import WebhookChannel, sign
from bot.cli import main
from bot.storage import Database, SqlStore, migrate
from common.clock import ManualClock
from common.delivery import DeliveryWorker
from common.outbox import OutboxState
from handoff import (
    DEFAULT_CENTERS_PATH,
    Case,
    CaseDraft,
    CaseService,
    CaseStatus,
    CenterDirectory,
    DeadlinePolicy,
    Level,
    load_centers,
)

from .receiver import Receiver, run_receiver

VILLAGE = "620702103203"  # 寺儿沟村, with its own center
TOWNSHIP = "620702103"  # 沙井镇, one step up
PHONE = "13812345678"
SECRETS = {
    "hotline": "hotline-secret-0123456789",
    "trusted": "trusted-secret-0123456789",
    "county": "township-secret-0123456789",
}
HOURS = {Level.VILLAGE: 24, Level.TOWNSHIP: 48, Level.COUNTY: 72, Level.CITY: 96}


def centers_with_webhooks(path: Path, base_url: str) -> Path:
    """The shipped file, with endpoints on 寺儿沟村 (one trusted) and 沙井镇."""

    def hook(name: str, trusted: bool) -> str:
        url = f"{base_url}/hook/{name}"
        return f'{{url: "{url}", secret: "{SECRETS[name]}", trusted: "{str(trusted).lower()}"}}'

    lines = DEFAULT_CENTERS_PATH.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if "center: {name: 寺儿沟村综治中心" in line:
            hooks = f"[{hook('hotline', False)}, {hook('trusted', True)}]"
            lines[i] = line[:-1] + f", webhooks: {hooks}}}"
        if "center: {name: 沙井镇综治中心" in line:
            lines[i] = line[:-1] + f", webhooks: [{hook('county', False)}]}}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Setup:
    receiver: Receiver
    service: CaseService
    store: SqlStore
    clock: ManualClock
    directory: CenterDirectory
    channels: list[WebhookChannel]

    def channel(self) -> WebhookChannel:
        self.channels.append(WebhookChannel(self.directory, clock=self.clock))
        return self.channels[-1]

    def worker(self, **options: Any) -> DeliveryWorker:
        return DeliveryWorker(self.store, {"webhook": self.channel()}, self.clock, **options)

    async def deliver(self) -> DeliveryWorker:
        worker = self.worker()
        while await worker.run_once():
            pass
        return worker

    async def open(self) -> Case:
        draft = CaseDraft(
            channel="web",
            user_id="alice",
            category="neighbor",
            description=f"邻居把路堵了，电话{PHONE}",
            region_code=VILLAGE,
            location_text="寺儿沟村",
            location_method="picker",
            phone=PHONE,
        )
        async with self.store.transaction() as w:
            case, _ = await self.service.open(w, draft, self.clock())
        return case


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    async with run_receiver(SECRETS) as receiver:
        directory = load_centers(
            centers_with_webhooks(tmp_path / "centers.yaml", receiver.base_url)
        )
        async with Database(tmp_path / "cases.db") as db:
            await migrate(db)
            store = SqlStore(db)
            clock = ManualClock()
            service = CaseService(
                store,
                directory,
                DeadlinePolicy(HOURS),
                clock,
                case_link=lambda number: f"https://minshi.example/console/cases/{number}",
            )
            setup = Setup(receiver, service, store, clock, directory, [])
            try:
                yield setup
            finally:
                for channel in setup.channels:
                    await channel.stop()


async def test_each_case_event_reaches_the_centers_endpoints_signed(setup: Setup) -> None:
    case = await setup.open()
    n = case.number
    await setup.service.claim(n, "m1", CaseStatus.ASSIGNED)
    await setup.service.supervise(n, "mediator:boss", "王主任", "请尽快办理")
    await setup.service.escalate(n, CaseStatus.CLAIMED, actor="mediator:m1", reason="需要镇里协调")
    await setup.service.claim(n, "m2", CaseStatus.ASSIGNED)
    await setup.service.resolve(n, CaseStatus.CLAIMED, "mediator:m2", "mediated", "")
    async with setup.store.transaction() as w:
        await setup.service.rate(w, n, "satisfied", None, setup.clock())
    await setup.deliver()

    r = setup.receiver
    assert r.bad_signatures == 0
    village = [(n, "created"), (n, "claimed"), (n, "supervised"), (n, "escalated")]
    assert r.events("hotline") == village
    assert r.events("trusted") == village
    assert r.events("county") == [(n, "escalated"), (n, "claimed"), (n, "resolved"), (n, "rated")]

    created = next(x.body for x in r.received if x.path == "hotline")
    assert created == {
        "event": "created",
        "time": setup.clock().isoformat(),
        "case_number": n,
        "category": "neighbor",
        "place": {"region_code": VILLAGE, "text": "寺儿沟村", "lat": None, "lon": None},
        "center": {"id": VILLAGE, "name": "寺儿沟村综治中心", "level": "village"},
        "status": "assigned",
        "urgent": False,
        "phone": "138****5678",
        "detail": {},
        "link": f"https://minshi.example/console/cases/{n}",
    }
    trusted = next(x.body for x in r.received if x.path == "trusted")
    assert trusted["phone"] == PHONE
    escalated = next(x.body for x in r.received if x.path == "county")
    assert escalated["center"]["id"] == TOWNSHIP
    assert escalated["from_center"]["id"] == VILLAGE
    assert escalated["detail"] == {"reason": "需要镇里协调"}
    rated = [x.body for x in r.received if x.path == "county"][-1]
    assert rated["status"] == "rated" and rated["detail"] == {"rating": "satisfied"}


async def test_withdrawn_reason_is_masked_for_untrusted_endpoints(setup: Setup) -> None:
    case = await setup.open()
    async with setup.store.transaction() as w:
        reason = f"私下解决了，有事打{PHONE}"
        await setup.service.withdraw(w, case.number, CaseStatus.ASSIGNED, reason, setup.clock())
    await setup.deliver()
    hotline = [x.body for x in setup.receiver.received if x.path == "hotline"][-1]
    trusted = [x.body for x in setup.receiver.received if x.path == "trusted"][-1]
    assert hotline["event"] == "withdrawn" and PHONE not in str(hotline)
    assert trusted["detail"]["reason"] == f"私下解决了，有事打{PHONE}"


async def test_failed_calls_are_retried_with_backoff_in_order_per_case(setup: Setup) -> None:
    case = await setup.open()
    await setup.service.claim(case.number, "m1", CaseStatus.ASSIGNED)
    await setup.service.resolve(case.number, CaseStatus.CLAIMED, "mediator:m1", "mediated", "")
    setup.receiver.fail_next = 1  # the very first call fails
    worker = setup.worker()
    await worker.run_once()
    assert setup.receiver.failures == 1
    records = await setup.store.outbox_records()
    failed = [r for r in records if r.state is OutboxState.RETRYING]
    assert len(failed) == 1 and failed[0].last_error == "HTTP 500"  # what an admin sees
    # The failed call's endpoint waits: nothing after it overtook it.
    first_path = "hotline" if failed[0].destination.address.endswith("#0") else "trusted"
    assert setup.receiver.events(first_path) == []

    setup.clock.advance(seconds=2)  # the backoff
    while await worker.run_once():
        pass
    n = case.number
    for path in ("hotline", "trusted"):
        assert setup.receiver.events(path) == [(n, "created"), (n, "claimed"), (n, "resolved")]
    hooks = [r for r in await setup.store.outbox_records() if r.destination.channel == "webhook"]
    assert all(r.state is OutboxState.DELIVERED for r in hooks)
    assert setup.receiver.bad_signatures == 0


async def test_429_waits_for_retry_after_and_4xx_gives_up(setup: Setup) -> None:
    await setup.open()
    setup.receiver.fail_next, setup.receiver.fail_status = 2, 429  # both endpoints
    worker = setup.worker()
    await worker.run_once()
    retrying = [r for r in await setup.store.outbox_records() if r.state is OutboxState.RETRYING]
    assert retrying[0].next_attempt_at == setup.clock() + timedelta(seconds=30)

    setup.receiver.fail_next, setup.receiver.fail_status = 5, 410
    setup.clock.advance(seconds=30)
    while await worker.run_once():
        pass
    records = await setup.store.outbox_records()
    assert {r.state for r in records} == {OutboxState.UNDELIVERABLE}
    assert {r.last_error for r in records} == {"HTTP 410"}


async def test_only_a_call_cut_off_by_a_crash_is_sent_again(setup: Setup) -> None:
    case = await setup.open()
    await setup.service.claim(case.number, "m1", CaseStatus.ASSIGNED)
    setup.receiver.hang_next = True  # it receives the first call; the sender dies before the answer
    dying = setup.worker(concurrency=1)
    task = asyncio.create_task(dying.run_once())
    await asyncio.wait_for(setup.receiver.hung.wait(), 5)
    task.cancel()  # the process is gone
    with pytest.raises(asyncio.CancelledError):
        await task
    setup.clock.advance(minutes=2)  # its lease runs out
    survivor = await setup.deliver()

    deliveries = [x.delivery for x in setup.receiver.received]
    assert len(deliveries) == 5  # 2 events × 2 endpoints, plus the one cut-off call again
    assert len(set(deliveries)) == 4
    assert survivor.stats.resends == 1
    n = case.number
    for path in ("hotline", "trusted"):
        events = setup.receiver.events(path)
        assert sorted(set(events)) == [(n, "claimed"), (n, "created")]
        assert [e for i, e in enumerate(events) if e not in events[:i]] == [
            (n, "created"),
            (n, "claimed"),
        ]
    assert sum(r.resends for r in await setup.store.outbox_records()) == 1


def test_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    mac = hmac.new(b"k" * 16, b'1700000000.{"a":1}', hashlib.sha256)
    assert sign("k" * 16, "1700000000", b'{"a":1}') == f"sha256={mac.hexdigest()}"


def test_centers_check_reports_bad_webhooks_with_their_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "centers.yaml"
    path.write_text(
        "regions:\n"
        '  - code: "620000"\n'
        "    name: 甘肃省\n"
        "    level: province\n"
        "    center:\n"
        "      name: 省中心\n"
        '      phone: "0931-0000001"\n'
        "      webhooks:\n"
        '        - {url: "ftp://12345.example", secret: "a-long-enough-secret"}\n'
        '        - {url: "https://12345.example/hook"}\n'
        '        - {url: "https://12345.example/hook", secret: "short"}\n'
        '        - {url: "https://12345.example/hook", secret: "a-long-enough-secret",\n'
        '           trusted: "maybe"}\n',
        encoding="utf-8",
    )
    assert main(["centers", "check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert any(f"{path}:9:" in line and "not an http(s) URL" in line for line in out), out
    assert any(f"{path}:10:" in line and "missing 'secret'" in line for line in out), out
    assert any(f"{path}:11:" in line and "too short" in line for line in out), out
    assert any(f"{path}:13:" in line and "trusted" in line for line in out), out
