"""QR-code posters from the console: who may print which, the files, and a
resident scanning one in Chromium and landing in the chat at their village."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from bot.config import Settings
from tests.browser.test_chat_page import open_chat, tap, type_text
from tests.posters.decode import pdf_pages, png, qr_texts
from tests.support import Clock, Service, run_service

from .conftest import COUNTY, OTHER_TOWNSHIP, PASSWORD, TOWNSHIP, VILLAGE, Mediator, add_account
from .test_console_browser import DESK, PHONE, fits

People = Callable[[Service, str], Awaitable[Mediator]]
BASE = "https://minshi.example.org"
SHAJING = ["620702103", VILLAGE, "620702103223"]  # 沙井镇综治中心, 寺儿沟村, 东沟村


@pytest.fixture
async def poster_service(settings: Settings, clock: Clock) -> AsyncIterator[Service]:
    with_url = settings.model_copy(update={"public_url": BASE})
    async with run_service(with_url, clock, background=False) as svc:
        rt = svc.runtime
        await add_account(rt, "root", "admin", TOWNSHIP)
        await add_account(rt, "shajing", "center-admin", TOWNSHIP)
        await add_account(rt, "ganzhou", "center-admin", COUNTY)
        await add_account(rt, "siergou", "center-admin", VILLAGE)
        await add_account(rt, "med", "mediator", TOWNSHIP)
        await add_account(rt, "leader", "leader", TOWNSHIP)
        yield svc


def listed(html: str) -> tuple[list[str], list[str]]:
    """The township sections and the posters the page offers."""
    return (
        re.findall(r'class="card township" data-code="(\d+)"', html),
        re.findall(r'class="poster" data-code="(\d+)"', html),
    )


async def test_admin_downloads_a_township_pdf_and_each_poster(
    poster_service: Service, people: People
) -> None:
    root = await people(poster_service, "root")
    page = await root.get("/console/posters")
    townships, _ = listed(page.text)
    # every township of the file, and every county and city with a center of its own
    assert len([t for t in townships if len(t) == 9]) == 21 and "621223206" in townships
    assert "620702" in townships and "620100" in townships
    whole = await root.get("/console/posters/townships/620702103.pdf")
    assert whole.status_code == 200 and whole.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''620702103-%E6%B2%99" in whole.headers["content-disposition"]
    pages = pdf_pages(whole.content)
    assert [p.qr for p in pages] == [[f"{BASE}/chat?loc={code}"] for code in SHAJING]
    one = await root.get(f"/console/posters/{VILLAGE}.png")
    assert one.headers["content-type"] == "image/png"
    assert qr_texts(png(one.content)) == [f"{BASE}/chat?loc={VILLAGE}"]
    [pdf_page] = pdf_pages((await root.get(f"/console/posters/{VILLAGE}.pdf")).content)
    assert "寺儿沟村" in pdf_page.text


async def test_center_admins_print_the_places_inside_their_area(
    poster_service: Service, people: People
) -> None:
    shajing = await people(poster_service, "shajing")
    assert listed((await shajing.get("/console/posters")).text) == (["620702103"], SHAJING)
    for path in (
        f"/console/posters/townships/{OTHER_TOWNSHIP}.pdf",
        "/console/posters/620702107201.png",  # 小寨村, in the township next door
    ):
        assert (await shajing.get(path)).status_code == 404
    ganzhou = await people(poster_service, "ganzhou")
    townships, _ = listed((await ganzhou.get("/console/posters")).text)
    # 甘州区's own center, then its townships
    assert townships == ["620702", "620702001", "620702103", OTHER_TOWNSHIP]
    siergou = await people(poster_service, "siergou")
    page = (await siergou.get("/console/posters")).text
    assert listed(page) == (["620702103"], [VILLAGE]) and "townships/620702103.pdf" not in page
    assert (await siergou.get(f"/console/posters/{VILLAGE}.pdf")).status_code == 200
    assert (await siergou.get("/console/posters/620702103223.png")).status_code == 404
    assert (await siergou.get("/console/posters/townships/620702103.pdf")).status_code == 404


async def test_mediators_and_leaders_get_no_posters(
    poster_service: Service, people: People
) -> None:
    for name in ("med", "leader"):
        who = await people(poster_service, name)
        for path in (
            "/console/posters",
            f"/console/posters/{VILLAGE}.png",
            "/console/posters/townships/620702103.pdf",
        ):
            r = await who.get(path)
            assert r.status_code == 403 and "只有系统管理员和中心管理员" in r.text
        assert 'href="/console/posters"' not in (await who.get("/console/stats")).text


async def test_without_a_public_address_the_page_says_what_to_set(
    quiet_service: Service, people: People
) -> None:
    await add_account(quiet_service.runtime, "root", "admin", TOWNSHIP)
    root = await people(quiet_service, "root")
    page = await root.get("/console/posters")
    assert page.status_code == 200 and "请先设置 MINSHI_PUBLIC_URL" in page.text
    assert listed(page.text) == ([], [])
    refused = await root.get(f"/console/posters/{VILLAGE}.png")
    assert refused.status_code == 409 and "MINSHI_PUBLIC_URL" in refused.text


async def test_a_resident_scanning_the_poster_lands_in_the_chat_at_the_village(
    browser: Browser, service: Service, tmp_path: Path
) -> None:
    service.runtime.settings.public_url = service.base_url  # this machine plays the public site
    await add_account(service.runtime, "root", "admin", TOWNSHIP)
    desk = await (await browser.new_context(viewport=DESK, accept_downloads=True)).new_page()
    await desk.goto(f"{service.base_url}/console/posters")
    await desk.fill("#username", "root")
    await desk.fill("#password", PASSWORD)
    await desk.click("button[type=submit]")
    await expect(desk.locator("#poster-warning")).to_contain_text("本机或内网地址")
    await fits(desk)
    row = desk.locator(f'.poster[data-code="{VILLAGE}"]')
    async with desk.expect_download() as waiting:
        await row.locator("a.png").click()
    download = await waiting.value
    assert download.suggested_filename == f"{VILLAGE}-寺儿沟村.png"
    saved = tmp_path / "poster.png"
    await download.save_as(saved)
    [link] = qr_texts(png(saved.read_bytes()))
    await desk.set_viewport_size(PHONE)
    await fits(desk)

    # The phone opens what the code holds; the chat knows the village already.
    assert link.startswith(f"{service.base_url}/chat?")
    chat = await open_chat(browser, service, link.removeprefix(f"{service.base_url}/chat"))
    await expect(chat.locator(".bot").first).to_contain_text("寺儿沟村综治中心为您服务")
    await tap(chat, "反映问题")
    await tap(chat, "邻里纠纷")
    await type_text(chat, "邻居把我家门前的路挖断了")
    await tap(chat, "说完了")
    await expect(chat.locator(".bot").last).to_contain_text("张掖市甘州区沙井镇寺儿沟村")
    await expect(chat.locator(".choices button", has_text="是，就是这里")).to_be_visible()
