"""Trends for leaders: counts by category and township week by week or month
by month, the rising mark, the CSV downloads, and the page in Chromium."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from bot.console.trends import rising
from bot.runtime import Runtime
from tests.support import Clock, Service

from .conftest import COUNTY, OTHER_TOWNSHIP, PASSWORD, TOWNSHIP, VILLAGE, Mediator, add_account
from .conftest import open_case as open_one
from .test_console_browser import DESK, PHONE, fits

People = Callable[[Service, str], Awaitable[Mediator]]
API = "/console/api/trends"


def test_rising_needs_five_and_half_again_the_average_of_four_before() -> None:
    assert rising([2, 2, 2, 2, 5], 4)  # 5 ≥ 1.5 × 2 (=3)
    assert not rising([4, 4, 4, 4, 5], 4)  # 5 < 6
    assert not rising([0, 0, 0, 0, 4], 4)  # fewer than five
    assert rising([9, 2, 2, 2, 2, 6], 5)  # only the four before count: 6 ≥ 3
    assert rising([0, 6], 1)  # one period before: its average


async def history(rt: Runtime, clock: Clock) -> str:
    """One case a week for four weeks, then five in the fifth; questions in the last."""
    for week in range(4):
        await open_one(rt, description=f"第{week}周的事情")
        clock.advance(days=7)
    for n in range(5):
        await open_one(rt, description=f"本周第{n}件事")
    await open_one(rt, OTHER_TOWNSHIP, description="别的镇的事")  # outside the township
    entry = rt.faq.match("离婚").candidates[0].entry
    async with rt.store.transaction() as w:
        for user in ("a", "b"):
            await w.log_faq_question("web", user, "离婚", "answer", entry.id, VILLAGE, clock())
        await w.log_faq_question("web", "c", "化肥", "none", None, VILLAGE, clock())
        await w.log_faq_question("web", "d", "化肥", "none", None, None, clock())
    return entry.category


@pytest.fixture
async def leader(quiet_service: Service, people: People, clock: Clock) -> tuple[Mediator, str]:
    category = await history(quiet_service.runtime, clock)
    await add_account(quiet_service.runtime, "boss", "center-admin", TOWNSHIP)
    await add_account(quiet_service.runtime, "leader", "leader", COUNTY)
    return await people(quiet_service, "leader"), category


def series(found: dict[str, Any], chart: str) -> dict[str, tuple[list[int], list[bool]]]:
    shown = next(c for c in found["charts"] if c["key"] == chart)
    return {s["key"]: (s["values"], s["rising"]) for s in shown["series"]}


async def test_weekly_and_monthly_counts_with_the_rising_mark(
    quiet_service: Service, leader: tuple[Mediator, str], people: People
) -> None:
    who, faq_category = leader
    weekly = (await who.get(f"{API}?by=week&periods=5")).json()
    assert weekly["periods"] == [
        "2026-11-16周",
        "2026-11-23周",
        "2026-11-30周",
        "2026-12-07周",
        "2026-12-14周",
    ]
    no, up = [False] * 4, [True]
    assert series(weekly, "cases_by_category") == {"neighbor": ([1, 1, 1, 1, 6], no + up)}
    assert series(weekly, "cases_by_place") == {
        TOWNSHIP: ([1, 1, 1, 1, 5], no + up),
        OTHER_TOWNSHIP: ([0, 0, 0, 0, 1], [*no, False]),
    }
    assert series(weekly, "faq_by_category") == {
        faq_category: ([0, 0, 0, 0, 2], [False] * 5),
        "unmatched": ([0, 0, 0, 0, 1], [False] * 5),  # the county does not see place-less ones
    }
    rows = {r["code"]: r for r in weekly["townships"]}
    assert rows[TOWNSHIP]["cases"] == [1, 1, 1, 1, 5] and rows[TOWNSHIP]["faq"] == [0, 0, 0, 0, 3]
    assert rows[TOWNSHIP]["name"].endswith("沙井镇")

    monthly = (await who.get(f"{API}?by=month&periods=2")).json()
    assert monthly["periods"] == ["2026-11", "2026-12"]
    assert series(monthly, "cases_by_category") == {"neighbor": ([2, 8], [False, True])}

    boss = await people(quiet_service, "boss")  # the township sees its own area only
    own = (await boss.get(f"{API}?by=week&periods=5")).json()
    assert series(own, "cases_by_category") == {"neighbor": ([1, 1, 1, 1, 5], no + up)}

    for chart in ("cases_by_category", "cases_by_place", "faq_by_category", "faq_by_place"):
        r = await who.get(f"/console/trends/{chart}.csv?by=week&periods=5")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert csv_numbers(r.content.decode("utf-8-sig")) == json_numbers(weekly, chart)


def csv_numbers(text: str) -> list[tuple[str, str, int, bool]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["期间", "系列", "数量", "上升"]
    return [(p, s, int(n), up == "是") for p, s, n, up in rows[1:]]


def json_numbers(found: dict[str, Any], chart: str) -> list[tuple[str, str, int, bool]]:
    shown = next(c for c in found["charts"] if c["key"] == chart)
    return [
        (period, s["name"], value, up)
        for s in shown["series"]
        for period, value, up in zip(shown["periods"], s["values"], s["rising"], strict=True)
    ]


async def test_the_trends_page_draws_charts_and_downloads_their_numbers(
    browser: Browser, quiet_service: Service, leader: tuple[Mediator, str]
) -> None:
    who, _ = leader
    weekly = (await who.get(f"{API}?by=week&periods=5")).json()
    context = await browser.new_context(accept_downloads=True)
    page = await context.new_page()
    await page.goto(f"{quiet_service.base_url}/console/trends?by=week&periods=5")
    await page.fill("#username", "leader")
    await page.fill("#password", PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page.locator("svg.chart")).to_have_count(4)
    cases_chart = page.locator('svg[data-chart="cases_by_category"]')
    await expect(cases_chart.locator("polyline.series")).to_have_count(1)
    await expect(cases_chart.locator("circle.rising")).to_have_count(1)
    await expect(page.locator(f'#townships tr[data-township="{TOWNSHIP}"]')).to_contain_text(
        "5 / 3"
    )
    assert "cdn" not in (await page.content()).lower()
    card = page.locator('[data-chart-card="cases_by_place"]')
    async with page.expect_download() as info:
        await card.get_by_role("link", name="下载 CSV").click()
    download = await info.value
    path = await download.path()
    text = path.read_bytes().decode("utf-8-sig")
    assert csv_numbers(text) == json_numbers(weekly, "cases_by_place")

    await page.goto(f"{quiet_service.base_url}/console/stats?from=2026-11-01&to=2026-12-31")
    await expect(page.locator('#figures tr[data-figure="received"] .value')).to_have_text("10 件")
    for viewport in (PHONE, DESK):  # a leader's phone and a desk: no sideways scrolling
        await page.set_viewport_size(viewport)
        for path in ("/console/trends?by=week&periods=5", "/console/stats"):
            await page.goto(f"{quiet_service.base_url}{path}")
            await fits(page)
    await context.close()
