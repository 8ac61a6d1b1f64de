"""The console in headless Chromium, next to a resident's chat page.

A resident reports on the web chat; a mediator of that center, logged in on
another page, sees it arrive without reloading, claims it and replies; the
resident's page shows the reply without reloading and the resident answers;
the mediator sees the answer at once, resolves the case, and the case page
shows the audit trail. Along the way: the pages fit a 360 px phone and a
1280 px desk without sideways scrolling, and every button is big enough to tap.
"""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.browser.test_chat_page import open_chat, tap, type_text
from tests.support import Service

from .conftest import PASSWORD, add_account

PHONE: ViewportSize = {"width": 360, "height": 740}
DESK: ViewportSize = {"width": 1280, "height": 800}


async def fits(page: Page) -> None:
    """No sideways scrolling, and every control at least 44 px tall and wide."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert page.viewport_size is not None
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide"
    small = await page.evaluate(
        """() => [...document.querySelectorAll(
              'button, summary, select, input:not([type=hidden]):not([type=checkbox]), nav a')]
            .filter(el => el.offsetParent !== null)
            .map(el => [el.textContent.trim() || el.name || el.id, el.getBoundingClientRect()])
            .filter(([, r]) => r.height < 44 || r.width < 44)
            .map(([name, r]) => `${name}: ${Math.round(r.width)}x${Math.round(r.height)}`)"""
    )
    assert small == [], f"{page.url}: {small}"


async def test_resident_and_mediator_handle_a_case_without_reloading(
    browser: Browser, service: Service
) -> None:
    await add_account(service.runtime, "wang", name="王芳")
    desk = await (await browser.new_context(viewport=DESK)).new_page()
    await desk.goto(f"{service.base_url}/console")
    await expect(desk).to_have_url(re.compile(r"/console/login"))
    await fits(desk)
    await desk.fill("#username", "wang")
    await desk.fill("#password", PASSWORD)
    await desk.click("button[type=submit]")
    await expect(desk.locator("h1")).to_have_text("寺儿沟村综治中心 · 事项队列")
    await expect(desk.locator(".empty")).to_be_visible()
    await desk.evaluate("window.notReloaded = true")

    chat = await open_chat(browser, service, "?loc=620702103203")
    await expect(chat.locator(".bot").first).to_contain_text("民事直说")
    await tap(chat, "反映问题")
    await tap(chat, "邻里纠纷")
    await type_text(chat, "邻居把我家门前的路挖断了，车出不去")
    await tap(chat, "说完了")
    await tap(chat, "是，就是这里")
    await tap(chat, "跳过")
    await tap(chat, "确认提交")
    await expect(chat.locator(".bot").last).to_contain_text("已提交")
    found = re.search(r"MS\d{6}-\d{4}", await chat.locator(".bot").last.inner_text())
    assert found
    number = found.group(0)

    row = desk.locator(".case-row", has_text=number)
    await expect(row).to_contain_text("车出不去")
    await expect(row).to_contain_text("还剩 24 小时")
    await expect(desk.locator("#banner")).to_contain_text(f"新事项：{number}")
    assert await desk.evaluate("window.notReloaded") is True
    await desk.set_viewport_size(PHONE)
    await fits(desk)
    await desk.set_viewport_size(DESK)

    await row.locator("a").click()
    await expect(desk.locator("h1")).to_have_text(f"{number} · 邻里纠纷")
    await expect(desk.locator("#transcript")).to_contain_text("车出不去")
    await fits(desk)
    await desk.click("#claim")
    await expect(desk.locator(".facts")).to_contain_text("王芳 在办")
    await desk.fill("#reply-text", "您好，我是王芳，明天上午去现场看看。")
    await desk.click("text=发送给居民")
    await expect(desk.locator(".msg.mediator")).to_contain_text("明天上午去现场看看")
    await expect(desk.locator(".msg.mediator .delivery")).to_contain_text("已送达")
    await desk.evaluate("window.notReloaded = true")

    reply = chat.locator(".bot", has_text="明天上午去现场看看")
    await expect(reply).to_contain_text("调解员王芳")
    await tap(chat, "回复调解员")
    await type_text(chat, "好的，明天上午我在家等您")

    answer = desk.locator(".msg.resident", has_text="明天上午我在家等您")
    await expect(answer).to_be_visible()
    assert await desk.evaluate("window.notReloaded") is True

    await desk.set_viewport_size(PHONE)
    await desk.locator("summary", has_text="办结").click()
    await fits(desk)
    await desk.select_option("#outcome", "mediated")
    await desk.fill("#resolve-note", "两家商量好了，邻居三天内把路修好")
    await desk.click("#resolve")
    trail = desk.locator("#trail")
    await expect(trail).to_contain_text("认领")
    await expect(trail).to_contain_text("第一次回复居民")
    await expect(trail.locator("li").last).to_contain_text("办结：调解成功（两家商量好了")
    await expect(desk.locator(".facts")).to_contain_text("办理结果：调解成功")
    await expect(chat.locator(".bot").last).to_contain_text("办理结果：调解成功")
    await fits(desk)
