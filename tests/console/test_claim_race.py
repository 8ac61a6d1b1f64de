"""Twenty mediators claim one case at the same moment, over HTTP, on the SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tests.support import Service, rows

from .conftest import Mediator, add_account, open_case

MEDIATORS = 20


async def test_twenty_concurrent_claims_one_wins_and_the_rest_learn_who(
    quiet_service: Service, people: Callable[[Service, str], Awaitable[Mediator]]
) -> None:
    rt = quiet_service.runtime
    case = await open_case(rt)
    names = [f"m{n:02d}" for n in range(MEDIATORS)]
    for username in names:
        await add_account(rt, username, name=f"调解员{username}")
    mediators = [await people(quiet_service, username) for username in names]
    start = asyncio.Event()

    async def claim(mediator: Mediator) -> tuple[str, int, dict[str, object]]:
        await start.wait()
        r = await mediator.act(case.number, "claim", seen="assigned")
        return mediator.username, r.status_code, r.json()

    racing = [asyncio.create_task(claim(m)) for m in mediators]
    await asyncio.sleep(0.05)  # every request is ready before any is sent
    start.set()
    results = await asyncio.gather(*racing)

    winners = [(who, body) for who, status, body in results if status == 200]
    losers = [(who, status, body) for who, status, body in results if status != 200]
    assert len(winners) == 1, results
    ((winner, won),) = winners
    assert won["assignee"] == winner and won["status"] == "claimed"
    assert len(losers) == MEDIATORS - 1
    for who, status, body in losers:
        assert status == 409, (who, body)
        assert body["holder"] == winner and body["holder_name"] == f"调解员{winner}"
        assert f"调解员{winner}" in str(body["error"])
    db = rt.settings.db
    claims = rows(db, "SELECT actor FROM case_events WHERE kind = 'claimed'")
    assert claims == [{"actor": f"mediator:{winner}"}]
    assert rows(db, "SELECT assignee FROM cases") == [{"assignee": winner}]
