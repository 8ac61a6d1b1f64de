"""Platforms and receivers that fail for a while (5xx, 429, busy) or cannot be reached at
all: outgoing messages wait in the outbox and, once it is over, all arrive, each once,
in order per destination. (Telegram's outage and flood control: tests/telegram.)"""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

from bot.channels.webhook import WebhookChannel
from bot.config import Settings
from bot.storage import Database, SqlStore, migrate
from common.clock import ManualClock
from common.delivery import OUTBOX_TOPIC, DeliveryWorker
from common.messages import Outbound
from common.outbox import Destination, OutboxState
from handoff import CaseDraft, CaseService, CaseStatus, DeadlinePolicy, load_centers
from tests.crowd import free_port
from tests.support import Clock
from tests.webhooks.receiver import run_receiver
from tests.webhooks.test_webhooks import HOURS, SECRETS, VILLAGE, centers_with_webhooks
from tests.wechat.conftest import wechat_service
from tests.wechat.fake_api import FakeWeChat, serve_fake

SEND = "/cgi-bin/message/custom/send"


def _more_calls(fake: FakeWeChat, than: int) -> bool:
    return len(fake.refused) + len(fake.sent) > than


async def test_wechat_down_for_a_while_then_everything_arrives_in_order(
    settings: Settings, clock: Clock
) -> None:
    residents = [f"oRESIDENT{n:019d}" for n in range(3)]
    async with serve_fake(FakeWeChat()) as fake, wechat_service(settings, clock, fake) as wx:
        rt = wx.service.runtime
        # 502s, 503s, 429s and "system busy" (-1): twelve failed calls in a row.
        failures: list[int | str] = ["502", "503", "429", -1]
        fake.fail(SEND, *(failures * 3))
        for n in range(1, 4):
            for openid in residents:
                await rt.push(Destination("wechat", openid), Outbound(f"调解员：第{n}条消息"))
        await fake.until(lambda: len(fake.refused) >= 3)
        for _ in range(40):  # time passes: the retries fall due and are tried
            if len(fake.sent) == 9:
                break
            wx.clock.advance(minutes=31)  # past any backoff
            rt.notifier.publish(OUTBOX_TOPIC)
            await fake.until(partial(_more_calls, fake, len(fake.refused) + len(fake.sent)))
            await asyncio.sleep(0.1)  # the rest of this round
        assert len(fake.refused) == 12 and len(fake.sent) == 9
        for openid in residents:
            assert fake.texts_to(openid) == [f"调解员：第{n}条消息" for n in (1, 2, 3)]
            records = await wx.settled(openid)
            assert [r.state for r in records] == [OutboxState.DELIVERED] * 3
            assert all(r.resends == 0 for r in records)


async def test_a_receiver_that_cannot_be_reached_gets_every_event_once_it_is_back(
    tmp_path: Path,
) -> None:
    port = free_port()  # nothing listens here until the receiver comes back
    url = f"http://127.0.0.1:{port}"
    directory = load_centers(centers_with_webhooks(tmp_path / "centers.yaml", url))
    clock = ManualClock()
    async with Database(tmp_path / "cases.db") as db:
        await migrate(db)
        store = SqlStore(db)
        cases = CaseService(store, directory, DeadlinePolicy(HOURS), clock)
        channel = WebhookChannel(directory, clock=clock, timeout=2)
        worker = DeliveryWorker(store, {"webhook": channel}, clock)
        numbers = []
        for description in ("邻居把路堵了", "邻居的狗咬了我家的羊"):
            draft = CaseDraft(
                "web", description, "neighbor", description, VILLAGE, "寺儿沟村", "picker"
            )
            async with store.transaction() as w:
                case, _ = await cases.open(w, draft, clock())
            await cases.claim(case.number, "m1", CaseStatus.ASSIGNED)
            numbers.append(case.number)

        for _ in range(4):  # the receiver stays down across several retries
            await worker.run_once()
            clock.advance(minutes=31)
        records = await store.outbox_records()
        heads = [r for r in records if r.state is OutboxState.RETRYING]
        assert heads and all("ConnectError" in (r.last_error or "") for r in heads)
        assert {r.destination for r in heads} == {r.destination for r in records}
        assert all(r.state is not OutboxState.DELIVERED for r in records)

        async with run_receiver(SECRETS, port=port) as receiver:
            while await worker.run_once():
                pass
            await channel.stop()
        expected = [(n, event) for n in numbers for event in ("created", "claimed")]
        for path in ("hotline", "trusted"):
            assert receiver.events(path) == expected  # each once, in order
        assert {r.state for r in await store.outbox_records()} == {OutboxState.DELIVERED}
        assert worker.stats.resends == 0
        assert receiver.bad_signatures == 0
