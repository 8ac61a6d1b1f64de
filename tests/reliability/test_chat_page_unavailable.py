"""The web chat page while the database cannot take writes, in headless Chromium: the
resident reads the server's own "稍后再试" words, and what they typed stays in the
box; sending it again later delivers it once (the same message id)."""

from __future__ import annotations

import json

from playwright.async_api import Browser, Request, expect

from tests.browser.test_chat_page import _answered, open_chat
from tests.support import Service, rows

from .test_storage_unavailable import UNAVAILABLE, read_only


async def test_the_page_says_what_the_server_said_and_keeps_the_text_for_later(
    service: Service, browser: Browser
) -> None:
    page = await open_chat(browser, service)
    await expect(page.locator(".bot").first).to_contain_text("民事直说")
    posted: list[dict[str, str]] = []

    def sent(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/api/chat/messages"):
            posted.append(json.loads(request.post_data or "{}"))

    page.on("request", sent)
    text = "邻居把排水沟堵了，水都流到我家院子里"
    async with read_only(service.runtime):
        await page.fill("#text", text)
        await page.press("#text", "Enter")
        await expect(page.locator("#status")).to_have_text(UNAVAILABLE)
        await expect(page.locator("#text")).to_have_value(text)
        await expect(page.locator(".resident.unsent")).to_have_text(text)

    before = await page.locator(".bot").count()
    await page.press("#text", "Enter")  # later: the resident sends it again
    await _answered(page, before)
    await expect(page.locator(".resident")).to_have_count(1)
    await expect(page.locator(".resident.unsent")).to_have_count(0)
    await expect(page.locator("#status")).to_have_text("")
    await expect(page.locator("#text")).to_have_value("")

    tries = [body for body in posted if body.get("text") == text]
    assert len(tries) == 2 and tries[0]["id"] == tries[1]["id"]
    stored = rows(
        service.runtime.settings.db,
        "SELECT processed_at FROM inbound WHERE platform_msg_id = ?",
        (tries[0]["id"],),
    )
    assert len(stored) == 1 and stored[0]["processed_at"]
