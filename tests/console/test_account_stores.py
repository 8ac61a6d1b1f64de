"""Both account stores (SQL and in memory) keep accounts, sessions and login attempts alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.storage import AccountExists, AccountStore, Database, MemoryAccounts, SqlAccounts, migrate
from common.clock import ManualClock


@pytest.fixture(params=["memory", "sqlite"])
async def accounts(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AccountStore]:
    if request.param == "memory":
        yield MemoryAccounts()
        return
    async with Database(tmp_path / "a.db") as db:
        await migrate(db)
        yield SqlAccounts(db)


async def test_accounts_sessions_and_attempts(accounts: AccountStore) -> None:
    clock = ManualClock()
    now = clock()
    assert await accounts.count_accounts() == 0
    wang = await accounts.add_account("wang", "王芳", "620702103203", "mediator", "h1", now)
    await accounts.add_account("li", "李娜", "620702103", "mediator", "h2", now)
    with pytest.raises(AccountExists):
        await accounts.add_account("wang", "又一个", "620702103203", "mediator", "h3", now)
    assert [a.username for a in await accounts.accounts()] == ["li", "wang"]
    assert [a.username for a in await accounts.accounts("620702103203")] == ["wang"]
    assert await accounts.account_by_id(wang.id) == await accounts.account("wang")

    changed = await accounts.update_account("wang", clock.advance(minutes=1), password_hash="h9")
    assert changed is not None and changed.password_hash == "h9" and changed.active
    assert await accounts.update_account("nobody", clock()) is None

    await accounts.start_session("s1", wang.id, "c1", clock(), clock() + timedelta(hours=12))
    await accounts.start_session("s2", wang.id, "c2", clock(), clock() + timedelta(hours=12))
    session = await accounts.session("s1")
    assert session is not None and session.csrf == "c1" and session.ended_at is None
    await accounts.end_session("s1", clock())
    ended = await accounts.session("s1")
    assert ended is not None and ended.ended_at == clock()
    await accounts.end_sessions_of(wang.id, clock())
    assert (await accounts.session("s2")).ended_at is not None  # type: ignore[union-attr]
    assert await accounts.session("unknown") is None

    start = clock()
    for _ in range(3):
        await accounts.record_login("wang", "10.0.0.1", False, clock.advance(minutes=1))
    await accounts.record_login("wang", "10.0.0.1", True, clock.advance(minutes=1))
    await accounts.record_login("wang", "10.0.0.2", False, clock.advance(minutes=1))
    await accounts.record_login("li", "10.0.0.1", False, clock.advance(minutes=1))
    failures = await accounts.login_failures("wang", "10.0.0.1", start)
    assert len(failures.for_username) == 1  # only those after the last success
    assert len(failures.from_address) == 4
    later = await accounts.login_failures("wang", "10.0.0.1", clock())  # the window has passed
    assert (len(later.for_username), len(later.from_address)) == (0, 0)
