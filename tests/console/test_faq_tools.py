"""FAQ tools for admins: the test box, the questions residents asked in vain
(grouped, CSV, a YAML snippet), the last reload's problems, and both pages
in Chromium."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.async_api import Browser, expect

from bot.config import Settings
from bot.runtime import Runtime
from faq import DEFAULT_FAQ_DIR
from tests.support import Clock, Service, run_service

from .conftest import PASSWORD, TOWNSHIP, Mediator, add_account
from .test_console_browser import DESK, PHONE, fits

People = Callable[[Service, str], Awaitable[Mediator]]
RAIN = "明天会下雨吗"


@pytest.fixture
async def staff(quiet_service: Service) -> None:
    rt = quiet_service.runtime
    await add_account(rt, "root", "admin", TOWNSHIP)
    await add_account(rt, "boss", "center-admin", TOWNSHIP)
    await add_account(rt, "med", "mediator", TOWNSHIP)
    await add_account(rt, "leader", "leader", TOWNSHIP)


async def log_misses(rt: Runtime, clock: Clock, wage_question: str) -> None:
    async with rt.store.transaction() as w:
        await w.log_faq_miss("web", "a", RAIN, "no_match", None, 0.1, clock())
        clock.advance(minutes=5)
        await w.log_faq_miss("web", "b", f"{RAIN}？？", "no_match", None, 0.1, clock())
        clock.advance(minutes=5)
        await w.log_faq_miss("web", "c", wage_question, "not_helpful", None, 0.5, clock())


def wage_entry(rt: Runtime) -> Any:
    return next(e for e in rt.faq.entries if e.category == "wages")


async def test_only_admins_and_center_admins_see_the_faq_tools(
    quiet_service: Service, staff: None, people: People
) -> None:
    for name in ("med", "leader"):
        who = await people(quiet_service, name)
        for path in ("/console/api/faq", "/console/api/faq/test?q=离婚", "/console/api/faq/misses"):
            assert (await who.get(path)).status_code == 403
        for path in ("/console/faq", "/console/faq/misses", "/console/faq/misses.csv"):
            assert (await who.get(path)).status_code == 403
    for name in ("root", "boss"):
        who = await people(quiet_service, name)
        assert (await who.get("/console/api/faq/misses")).status_code == 200
        page = await who.get("/console/faq")
        assert page.status_code == 200 and 'href="/console/faq"' in page.text


async def test_the_test_box_shows_the_decision_ranking_and_the_residents_view(
    quiet_service: Service, staff: None, people: People
) -> None:
    who = await people(quiet_service, "boss")
    entry = wage_entry(quiet_service.runtime)
    found = (await who.get(f"/console/api/faq/test?q={entry.question}")).json()
    assert found["decision"] == "answer"
    best = found["candidates"][0]
    assert best["id"] == entry.id and best["matched"] == entry.question and best["score"] > 0.5
    assert entry.question in found["resident"]["text"]
    out = (await who.get("/console/api/faq/test?q=明天天气怎么样，会下雨吗")).json()
    assert out["decision"] == "none"
    assert out["resident"]["text"] == quiet_service.runtime.engine.services.texts("ask.no_match")
    assert (await who.get("/console/api/faq/test?q=")).status_code == 400


async def test_misses_are_grouped_counted_exported_and_offer_a_snippet(
    quiet_service: Service, staff: None, people: People, clock: Clock
) -> None:
    rt = quiet_service.runtime
    entry = wage_entry(rt)
    await log_misses(rt, clock, entry.question)
    who = await people(quiet_service, "root")
    groups = (await who.get("/console/api/faq/misses")).json()["groups"]
    assert [g["count"] for g in groups] == [1, 2]  # newest first
    wages, rain = groups
    assert wages["reasons"]["not_helpful"] == 1 and wages["best"]["id"] == entry.id
    assert rain["question"] == f"{RAIN}？？" and rain["questions"] == [f"{RAIN}？？", RAIN]
    assert rain["reasons"]["no_match"] == 2

    snippet = yaml.safe_load(wages["snippet"])
    assert snippet == [{"id": entry.id, "variants": [entry.question]}]
    if rain["snippet"] is not None:
        assert yaml.safe_load(rain["snippet"])[0]["variants"] == [f"{RAIN}？？"]

    r = await who.get("/console/faq/misses.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["问题", "次数"]
    assert [(q, int(n), best) for q, n, *_, best, _, _ in rows[1:]] == [
        (g["question"], g["count"], g["best"]["id"] if g["best"] else "") for g in groups
    ]


async def test_a_broken_faq_edit_shows_its_problems_with_file_and_line(
    tmp_path: Path, clock: Clock
) -> None:
    faq_dir = tmp_path / "faq"
    shutil.copytree(DEFAULT_FAQ_DIR, faq_dir)
    settings = Settings(  # type: ignore[call-arg]
        db=tmp_path / "minshi.db", faq_dir=faq_dir, faq_reload_seconds=0.2, _env_file=None
    )
    async with run_service(settings, clock, background=False) as service:
        rt = service.runtime
        await add_account(rt, "root", "admin", TOWNSHIP)
        who = Mediator(service.base_url, "root")
        assert (await who.login()).status_code == 200
        state = (await who.get("/console/api/faq")).json()
        assert state["problems"] == [] and state["version"] == rt.faq.version
        safety = faq_dir / "safety.yaml"
        safety.write_text("- id: [broken\n", encoding="utf-8")
        async with asyncio.timeout(10):
            while not rt.faq.last_reload.problems:
                await asyncio.sleep(0.05)
        state = (await who.get("/console/api/faq")).json()
        assert any(p["file"].endswith("safety.yaml") and p["line"] >= 1 for p in state["problems"])
        page = await who.get("/console/faq")
        assert "最近一次修改没有生效" in page.text and "safety.yaml:" in page.text
        await who.client.aclose()


async def test_the_faq_pages_in_chromium(
    browser: Browser, quiet_service: Service, staff: None, clock: Clock
) -> None:
    rt = quiet_service.runtime
    entry = wage_entry(rt)
    await log_misses(rt, clock, entry.question)
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await page.goto(f"{quiet_service.base_url}/console/faq")
    await page.fill("#username", "boss")
    await page.fill("#password", PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.fill("#q", entry.question)
    await page.get_by_role("button", name="试一试").click()
    await expect(page.locator("#decision")).to_have_attribute("data-decision", "answer")
    await expect(page.locator("#ranking tbody tr").first).to_have_attribute("data-entry", entry.id)
    await expect(page.locator("#resident-view")).to_contain_text(entry.question)
    await fits(page)

    await page.get_by_role("link", name="居民没问到的问题 →").click()
    await expect(page.locator("section.miss")).to_have_count(2)
    rain = page.locator("section.miss").nth(1)
    await expect(rain.locator(".count")).to_have_text("2 次")
    wages = page.locator("section.miss").first
    await wages.locator("summary").click()
    snippet = await wages.locator("textarea.snippet").input_value()
    assert yaml.safe_load(snippet) == [{"id": entry.id, "variants": [entry.question]}]
    await fits(page)
    await page.set_viewport_size(DESK)
    await fits(page)
    await context.close()
