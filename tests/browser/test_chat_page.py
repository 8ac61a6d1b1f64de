"""The web chat page in headless Chromium: what a resident sees and taps."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.support import Service, rows

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        await browser.close()


async def open_chat(browser: Browser, service: Service, query: str = "") -> Page:
    context = await browser.new_context(
        viewport={"width": 390, "height": 780},
        geolocation={"latitude": 38.9, "longitude": 100.4},
        permissions=["geolocation"],
    )
    page = await context.new_page()
    await page.goto(f"{service.base_url}/chat{query}")
    return page


async def _answered(page: Page, before: int) -> None:
    """Wait until the bot has said something new, as a resident waits."""
    await page.wait_for_function(
        "n => document.querySelectorAll('.bot').length > n", arg=before, timeout=10_000
    )


async def tap(page: Page, label: str) -> None:
    before = await page.locator(".bot").count()
    await page.locator(".choices button:not([disabled])", has_text=label).last.click()
    await _answered(page, before)


async def type_text(page: Page, text: str) -> None:
    before = await page.locator(".bot").count()
    await page.fill("#text", text)
    await page.press("#text", "Enter")
    await _answered(page, before)


async def test_resident_reports_from_a_qr_code_on_a_phone(
    browser: Browser, service: Service
) -> None:
    village = service.runtime.centers.search("寺儿沟村", limit=1)[0].region
    page = await open_chat(browser, service, f"?loc={village.code}")
    await expect(page.locator(".bot").first).to_contain_text("民事直说")
    await tap(page, "反映问题")
    await tap(page, "邻里纠纷")
    await type_text(page, "邻居把我家门前的路挖断了")
    await expect(page.locator(".bot").last).to_contain_text("第 1 条")
    before = await page.locator(".bot").count()
    await page.set_input_files(
        "#file", files=[{"name": "lane.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff"}]
    )
    await _answered(page, before)
    await expect(page.locator(".bot").last).to_contain_text("照片/文件收到了")
    await tap(page, "说完了")
    await expect(page.locator(".bot").last).to_contain_text("寺儿沟村")
    await tap(page, "是，就是这里")
    await tap(page, "跳过")
    await tap(page, "确认提交")
    await expect(page.locator(".bot").last).to_contain_text("已提交")
    assert rows(service.runtime.settings.db, "SELECT location_method FROM cases") == [
        {"location_method": "link"}
    ]
    stored = rows(service.runtime.settings.db, "SELECT attachments FROM case_messages")
    assert '"kind": "photo"' in stored[0]["attachments"]


async def test_send_location_button_uses_the_phone_gps(service: Service, browser: Browser) -> None:
    page = await open_chat(browser, service)
    await tap(page, "反映问题")
    await tap(page, "交通事故")
    await type_text(page, "电动车被撞了")
    await tap(page, "说完了")
    await tap(page, "发送位置")
    await expect(page.locator(".bot").last).to_contain_text("离您位置最近的是")


async def test_reload_keeps_the_conversation(service: Service, browser: Browser) -> None:
    page = await open_chat(browser, service)
    await tap(page, "法律咨询")
    await expect(page.locator(".bot").last).to_contain_text("请直接打字")
    await page.reload()
    await expect(page.locator(".bot").last).to_contain_text("请直接打字")
    await expect(page.locator(".bot")).to_have_count(3)  # greeting, menu, ask prompt
    await type_text(page, "被狗咬了找谁赔")
    await expect(page.locator(".resident").last).to_have_text("被狗咬了找谁赔")
