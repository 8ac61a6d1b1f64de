"""Mediators away from the console hear on Telegram of new, urgent and nearly due cases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.channels.web import WebChannel
from bot.config import Settings
from bot.console.alerts import send_alerts
from bot.storage import ConsoleReads
from common.outbox import Destination
from handoff import CaseStatus
from tests.support import Clock, run_service
from tests.test_terminal_chat import minshi

from .conftest import OTHER_TOWNSHIP, VILLAGE, add_account, open_case


def _settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        db=tmp_path / "minshi.db",
        attachments_dir=tmp_path / "files",
        telegram_token="123:fake",
        public_url="https://minshi.example.org",
        _env_file=None,
    )


async def test_linked_mediators_are_alerted_once_per_case_and_reason(
    tmp_path: Path, clock: Clock
) -> None:
    settings = _settings(tmp_path)
    async with run_service(settings, clock, adapters=[WebChannel()], background=False) as svc:
        rt = svc.runtime
        reads = ConsoleReads(rt.db)
        await add_account(rt, "li")
        await add_account(rt, "wang")  # not linked: no Telegram alerts
        await add_account(rt, "zhao", center=OTHER_TOWNSHIP)
        for username, telegram_id in (("li", "555"), ("zhao", "777")):
            await rt.accounts.update_account(username, clock(), telegram_id=telegram_id)

        case = await open_case(rt, urgent=True)
        assert await send_alerts(rt, reads) == 2  # new, and urgent
        li = await rt.store.outbox_records(Destination("telegram", "555"))
        texts = [r.body["text"] for r in li]
        assert any("新事项" in t and case.number in t for t in texts)
        assert any("紧急事项" in t for t in texts)
        assert f"https://minshi.example.org/console/cases/{case.number}" in texts[0]
        assert await rt.store.outbox_records(Destination("telegram", "777")) == []

        assert await send_alerts(rt, reads) == 0  # once is enough

        await rt.cases.claim(case.number, "li", CaseStatus.ASSIGNED)
        clock.advance(case.due_at - clock() - timedelta(minutes=90))
        assert await send_alerts(rt, reads) == 1
        last = (await rt.store.outbox_records(Destination("telegram", "555")))[-1]
        assert "快到期了" in last.body["text"]


async def test_nothing_is_sent_when_telegram_is_not_configured(
    tmp_path: Path, clock: Clock, settings: Settings
) -> None:
    async with run_service(settings, clock, adapters=[WebChannel()], background=False) as svc:
        rt = svc.runtime
        await add_account(rt, "li")
        await rt.accounts.update_account("li", clock(), telegram_id="555")
        await open_case(rt, region=VILLAGE)
        assert await send_alerts(rt, ConsoleReads(rt.db)) == 0


def test_a_mediator_links_a_telegram_account_from_the_shell(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    added = minshi(
        "mediator",
        "add",
        "--db",
        db,
        "--center",
        VILLAGE,
        "--name",
        "李明",
        "--username",
        "li",
        stdin="correct horse battery\n",
    )
    assert added.returncode == 0, added.stderr
    refused = minshi("mediator", "link-telegram", "li", "not-a-number", "--db", db)
    assert refused.returncode == 1 and "一串数字" in refused.stderr
    linked = minshi("mediator", "link-telegram", "li", "555", "--db", db)
    assert linked.returncode == 0, linked.stderr
    assert "Telegram 555" in linked.stdout
