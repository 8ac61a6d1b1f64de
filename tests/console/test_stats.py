"""The statistics against a history built by hand with the advancing clock.

Every figure is asserted per center and rolled up (village → township →
county, and the admin's whole area), then who may ask for which area.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.runtime import Runtime
from handoff import CaseStatus
from tests.support import Clock, Service

from .conftest import (
    COUNTY,
    OTHER_TOWNSHIP,
    TOWNSHIP,
    VILLAGE,
    Mediator,
    Resident,
    add_account,
    open_case,
)

People = Callable[[Service, str], Awaitable[Mediator]]
API = "/console/api"
PERIOD = "from=2026-11-01&to=2026-11-30"
ROLES = {
    "v1": ("mediator", VILLAGE),
    "chief": ("center-admin", VILLAGE),
    "boss": ("center-admin", TOWNSHIP),
    "leader": ("leader", COUNTY),
    "root": ("admin", "620000"),
}


def rate(count: int, of: int) -> dict[str, Any]:
    return {"count": count, "of": of, "rate": round(count / of, 4) if of else None}


async def ask(
    rt: Runtime,
    user: str,
    region: str | None,
    decision: str,
    taps: tuple[tuple[str, timedelta], ...] = (),
) -> None:
    """A question as the ask dialog records it, with later taps."""
    now = rt.clock()
    entry = rt.faq.match("离婚").candidates[0].entry.id if decision != "none" else None
    async with rt.store.transaction() as w:
        qid = await w.log_faq_question("web", user, "问题", decision, entry, region, now)
        for kind, after in taps:
            await w.log_faq_feedback(qid, kind, entry, now + after)


async def build_history(rt: Runtime, clock: Clock) -> None:
    """Four cases (A, B, C at the village, D at the township beside) and eight questions."""
    other_case_user = f"resident-{OTHER_TOWNSHIP}-别的镇的"
    await ask(rt, "u1", VILLAGE, "answer", (("useful", timedelta(minutes=1)),))
    await ask(rt, "u2", VILLAGE, "suggest", (("picked", timedelta(minutes=1)),))
    await ask(rt, "u3", VILLAGE, "answer", (("not_useful", timedelta(minutes=5)),))
    await ask(rt, "u4", VILLAGE, "suggest")
    await ask(rt, "u5", VILLAGE, "none")
    await ask(rt, other_case_user, OTHER_TOWNSHIP, "answer")  # then reports: not self-served
    await ask(rt, "u7", None, "answer")  # place unknown: only in the whole area
    await ask(rt, "u8", OTHER_TOWNSHIP, "answer", (("not_useful", timedelta(hours=2)),))

    a = await open_case(rt, description="甲家的狗咬了人")
    b = await open_case(rt, description="乙家占了路")
    c = await open_case(rt, description="丙家漏水")
    d = await open_case(rt, OTHER_TOWNSHIP, description="别的镇的事")
    cases = rt.cases
    for case, who in ((a, "v1"), (b, "v1"), (d, "d1")):
        await cases.claim(case.number, who, CaseStatus.ASSIGNED)
    clock.advance(minutes=10)
    await cases.reply(a.number, "v1", "调解员", "您好")
    await cases.reply(d.number, "d1", "调解员", "您好")
    clock.advance(minutes=35)
    await cases.reply(b.number, "v1", "调解员", "您好")
    await cases.escalate(b.number, CaseStatus.IN_PROGRESS, actor="mediator:v1", reason="复杂")
    await cases.supervise(a.number, "mediator:boss", "镇长", "请尽快")
    clock.advance(days=2)
    await cases.resolve(a.number, CaseStatus.IN_PROGRESS, "mediator:v1", "mediated", "")
    await cases.resolve(d.number, CaseStatus.IN_PROGRESS, "mediator:d1", "mediated", "")
    async with rt.store.transaction() as w:
        await cases.rate(w, a.number, "satisfied", None, clock())
        await cases.rate(w, d.number, "fairly_satisfied", None, clock())
    latest_c = await rt.store.case_by_number(c.number)
    assert latest_c is not None and latest_c.due_at <= clock()
    assert await cases.escalate_overdue(latest_c, clock()) is not None  # automatic
    async with rt.store.transaction() as w:
        await cases.withdraw(w, c.number, CaseStatus.ASSIGNED, "自己解决了", clock())
    await cases.claim(b.number, "t1", CaseStatus.ASSIGNED)
    await cases.reply(b.number, "t1", "调解员", "我来处理")
    clock.advance(days=6)  # B is resolved 8 days after it came in
    await cases.resolve(b.number, CaseStatus.IN_PROGRESS, "mediator:t1", "mediated", "")
    async with rt.store.transaction() as w:
        await cases.rate(w, b.number, "dissatisfied", None, clock())
    await cases.reopen(None, b.number, CaseStatus.RATED, "resident", "没解决")


NO_ESCALATION = {"township": {"auto": 0, "manual": 0}, "county": {"auto": 0, "manual": 0}}
VILLAGE_FIGURES = {
    "received": 3,
    "by_channel": {"web": 3},
    "by_category": {"neighbor": 3},
    "reply_30min": rate(1, 3),  # A after 10 min; B after 45; C never
    "reply_median_minutes": 27.5,  # of 10 and 45
    "resolved": rate(1, 3),  # A; B was reopened, C withdrawn
    "resolved_7d": rate(1, 3),  # A after 2 days; B after 8
    "village_resolved": rate(1, 1),
    "escalations": {
        "township": {"auto": 1, "manual": 1},
        "county": {"auto": 0, "manual": 0},
        "city": {"auto": 0, "manual": 0},
        "total": {"auto": 1, "manual": 1},
    },
    "supervised": 1,
    "satisfaction": {
        "rated": 2,
        "satisfied": rate(1, 2),
        "fairly_satisfied": rate(0, 2),
        "dissatisfied": rate(1, 2),
    },
    "reopened": 1,
    "withdrawn": 1,
    "faq_self_service": rate(2, 5),  # u1 answered, u2 picked; u3 没用, u4 no pick, u5 none
}
BESIDE_FIGURES = {
    "received": 1,
    "by_channel": {"web": 1},
    "by_category": {"neighbor": 1},
    "reply_30min": rate(1, 1),
    "reply_median_minutes": 10.0,
    "resolved": rate(1, 1),
    "resolved_7d": rate(1, 1),
    "village_resolved": rate(0, 1),
    "escalations": {
        **NO_ESCALATION,
        "city": {"auto": 0, "manual": 0},
        "total": {"auto": 0, "manual": 0},
    },
    "supervised": 0,
    "satisfaction": {
        "rated": 1,
        "satisfied": rate(0, 1),
        "fairly_satisfied": rate(1, 1),
        "dissatisfied": rate(0, 1),
    },
    "reopened": 0,
    "withdrawn": 0,
    "faq_self_service": rate(1, 2),  # u8's 没用 came after the hour; D's resident reported
}
COUNTY_FIGURES = {
    **VILLAGE_FIGURES,
    "received": 4,
    "by_channel": {"web": 4},
    "by_category": {"neighbor": 4},
    "reply_30min": rate(2, 4),
    "reply_median_minutes": 10.0,  # of 10, 45 and 10
    "resolved": rate(2, 4),
    "resolved_7d": rate(2, 4),
    "village_resolved": rate(1, 2),
    "satisfaction": {
        "rated": 3,
        "satisfied": rate(1, 3),
        "fairly_satisfied": rate(1, 3),
        "dissatisfied": rate(1, 3),
    },
    "faq_self_service": rate(3, 7),
}


async def log_in(service: Service, people: People) -> dict[str, Mediator]:
    for username, (role, center) in ROLES.items():
        await add_account(service.runtime, username, role, center)
    return {username: await people(service, username) for username in ROLES}


@pytest.fixture
async def staff(quiet_service: Service, people: People) -> dict[str, Mediator]:
    return await log_in(quiet_service, people)


async def stats(who: Mediator, query: str = "") -> dict[str, Any]:
    r = await who.get(f"{API}/stats?{PERIOD}{query}")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


async def test_every_figure_per_center_and_rolled_up(
    quiet_service: Service, people: People, clock: Clock
) -> None:
    await build_history(quiet_service.runtime, clock)
    staff = await log_in(quiet_service, people)  # after the history: sessions last hours

    village = await stats(staff["chief"])
    assert village["scope"]["id"] == VILLAGE
    assert village["overall"] == VILLAGE_FIGURES
    township = await stats(staff["boss"])
    assert township["overall"] == VILLAGE_FIGURES  # nothing came in at the township itself
    assert {c["id"]: c["figures"] for c in township["sub_centers"]}[VILLAGE] == VILLAGE_FIGURES

    county = await stats(staff["leader"])
    assert county["scope"]["id"] == COUNTY
    assert county["overall"] == COUNTY_FIGURES
    below = {c["id"]: c["figures"] for c in county["sub_centers"]}
    assert below[TOWNSHIP] == VILLAGE_FIGURES and below[OTHER_TOWNSHIP] == BESIDE_FIGURES
    assert (await stats(staff["leader"], f"&center={OTHER_TOWNSHIP}"))["overall"] == (
        BESIDE_FIGURES
    )

    everything = (await stats(staff["root"]))["overall"]
    assert everything["received"] == 4
    assert everything["faq_self_service"] == rate(4, 8)  # u7, place unknown, counts here only

    # Every figure carries its definition; counts by status stay alongside.
    assert set(VILLAGE_FIGURES) <= set(county["definitions"])
    assert "30分钟" in county["definitions"]["reply_30min"]
    assert county["all"] == 4
    assert "13812345678" not in str(county) and "挖断" not in str(county)

    # A period before the history: nothing.
    r = await staff["leader"].get(f"{API}/stats?from=2026-10-01&to=2026-10-31")
    assert r.json()["overall"]["received"] == 0
    assert r.json()["overall"]["resolved"] == rate(0, 0)

    page = await staff["leader"].get(f"/console/stats?{PERIOD}")
    assert page.status_code == 200
    assert "小事不出村" in page.text and "30分钟内首次回复" in page.text
    assert "50.0%（2/4）" in page.text and "沙井镇综治中心" in page.text


async def test_who_may_see_which_area(staff: dict[str, Mediator]) -> None:
    for path in (f"{API}/stats", "/console/stats", f"{API}/trends", "/console/trends"):
        assert (await staff["v1"].get(path)).status_code == 403, path
        for who in ("chief", "boss", "leader", "root"):
            assert (await staff[who].get(path)).status_code == 200, (who, path)
        # Only one's own center and those below it; an admin anywhere.
        assert (await staff["chief"].get(f"{path}?center={TOWNSHIP}")).status_code == 403
        assert (await staff["boss"].get(f"{path}?center={VILLAGE}")).status_code == 200
        assert (await staff["boss"].get(f"{path}?center={OTHER_TOWNSHIP}")).status_code == 403
        assert (await staff["leader"].get(f"{path}?center={VILLAGE}")).status_code == 200
        assert (await staff["leader"].get(f"{path}?center=620000")).status_code == 403
        assert (await staff["root"].get(f"{path}?center={OTHER_TOWNSHIP}")).status_code == 200
        assert (await staff["root"].get(f"{path}?center=nowhere")).status_code == 404
    csv_path = "/console/trends/cases_by_category.csv"
    assert (await staff["v1"].get(csv_path)).status_code == 403
    assert (await staff["chief"].get(f"{csv_path}?center={TOWNSHIP}")).status_code == 403
    assert (await staff["leader"].get(csv_path)).status_code == 200
    assert (await staff["leader"].get("/console/trends/nothing.csv")).status_code == 404
    bad = await staff["leader"].get(f"{API}/stats?from=yesterday")
    assert bad.status_code == 400 and "error" in bad.json()


async def test_the_ask_dialog_records_what_the_self_service_rate_counts(
    service: Service, new_resident: Callable[[], Awaitable[Resident]], people: People
) -> None:
    rt = service.runtime
    entry = rt.faq.entry("neighbor-right-of-way")
    assert entry is not None
    question = entry.question
    assert str(rt.faq.match(question).decision) == "answer"
    helped, not_helped, lost = await new_resident(), await new_resident(), await new_resident()
    for resident in (helped, not_helped, lost):
        await resident.start()
        await resident.tap("法律咨询")
    await helped.say(question)
    await helped.tap("有用")
    await not_helped.say(question)
    await not_helped.tap("没解决")
    await lost.say("明天会下雨吗")
    await add_account(rt, "root", "admin", "620000")
    root = await people(service, "root")
    figures = (await stats(root))["overall"]
    assert figures["faq_self_service"] == rate(1, 3)
    with sqlite3.connect(service.runtime.settings.db) as db:
        decisions = db.execute("SELECT decision FROM faq_questions ORDER BY id").fetchall()
        taps = db.execute("SELECT kind FROM faq_feedback ORDER BY id").fetchall()
    assert [d for (d,) in decisions] == ["answer", "answer", "none"]
    assert [t for (t,) in taps] == ["useful", "not_useful"]
