"""The web chat page in headless Chromium: what a resident sees and taps."""

from __future__ import annotations

import json

from playwright.async_api import Browser, FilePayload, Page, expect

from tests.support import Service, rows

GREEN = "rgb(31, 122, 77)"


async def open_chat(browser: Browser, service: Service, query: str = "") -> Page:
    context = await browser.new_context(
        viewport={"width": 390, "height": 780},
        geolocation={"latitude": 38.9, "longitude": 100.4},
        permissions=["geolocation", "microphone"],
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
    photo: FilePayload = {"name": "lane.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff"}
    await page.set_input_files("#file", files=[photo])
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
    assert [a["kind"] for a in json.loads(stored[0]["attachments"])] == ["photo"]


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


async def test_a_danger_warning_stands_out_with_numbers_to_call(
    service: Service, browser: Browser
) -> None:
    page = await open_chat(browser, service)
    await expect(page.locator(".bot").first).to_contain_text("民事直说")
    await type_text(page, "救命 他拿着刀要砍我")
    warning = page.locator(".bot.warning")
    await expect(warning).to_have_count(1)
    await expect(warning).to_have_attribute("role", "alert")
    await expect(warning.locator("a.call", has_text="110")).to_have_attribute("href", "tel:110")
    color = await warning.evaluate("el => getComputedStyle(el).borderTopColor")
    assert color == "rgb(198, 40, 40)"


async def test_an_answer_shows_the_short_answer_and_opens_the_details(
    service: Service, browser: Browser
) -> None:
    entry = service.runtime.faq.entry("neighbor-right-of-way")
    assert entry is not None
    page = await open_chat(browser, service)
    await tap(page, "法律咨询")
    await type_text(page, entry.question)
    answer = page.locator(".bot", has_text=entry.question).last
    await expect(answer).to_contain_text(entry.short_answer)
    details = answer.locator("details")
    await expect(details.locator("summary")).to_have_text("详细说明 · 法律依据")
    body = details.locator("div")
    await expect(body).not_to_be_visible()
    await details.locator("summary").click()
    await expect(body).to_be_visible()
    await expect(body).to_contain_text("法律依据：《民法典》")
    await expect(body).to_contain_text("第291条")


async def report_until_confirm(page: Page) -> None:
    await tap(page, "反映问题")
    await tap(page, "邻里纠纷")
    await type_text(page, "邻居家的树倒在我家院子里")
    await tap(page, "说完了")
    await tap(page, "按地区选")
    for place in ("甘州区", "沙井镇", "寺儿沟村"):
        await tap(page, place)
    await tap(page, "跳过")
    await expect(page.locator(".bot").last).to_contain_text("邻居家的树倒在我家院子里")


async def test_submitting_is_the_main_button(service: Service, browser: Browser) -> None:
    page = await open_chat(browser, service)
    await report_until_confirm(page)
    buttons = page.locator(".choices").last.locator("button")
    confirm = buttons.filter(has_text="确认提交")
    await expect(confirm).to_have_attribute("data-payload", "confirm:yes")
    style = (
        "el => [getComputedStyle(el).backgroundColor, parseFloat(getComputedStyle(el).fontSize)]"
    )
    confirm_bg, confirm_size = await confirm.evaluate(style)
    assert confirm_bg == GREEN
    others = [
        await b.evaluate(style)
        for b in await buttons.all()
        if await b.get_attribute("data-payload") != "confirm:yes"
    ]
    assert others and all(bg == "rgb(255, 255, 255)" for bg, _ in others)  # outlined
    assert all(confirm_size > size for _, size in others)
    await tap(page, "确认提交")
    await expect(page.locator(".bot").last).to_contain_text("已提交")


async def test_the_text_box_grows_and_enter_sends(service: Service, browser: Browser) -> None:
    page = await open_chat(browser, service)
    await tap(page, "法律咨询")
    box = page.locator("#text")
    assert await box.evaluate("el => el.tagName") == "TEXTAREA"

    async def height() -> float:
        return float(await box.evaluate("el => el.getBoundingClientRect().height"))

    one_line = await height()
    said = await page.locator(".resident").count()
    await box.click()
    for n in range(1, 4):
        await page.keyboard.type(f"第{n}行")
        await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("第4行")
    four_lines = await height()
    assert four_lines > one_line * 2
    for n in range(5, 11):
        await page.keyboard.press("Shift+Enter")
        await page.keyboard.type(f"第{n}行")
    ten_lines = await height()
    assert four_lines < ten_lines < one_line * 6  # stops growing at about six lines
    assert await page.locator(".resident").count() == said  # Shift+Enter sent nothing
    before = await page.locator(".bot").count()
    await page.keyboard.press("Enter")
    await _answered(page, before)
    await expect(page.locator(".resident").last).to_have_text(
        "\n".join(f"第{n}行" for n in range(1, 11))
    )
    assert await box.input_value() == ""
    assert await height() == one_line


async def test_reload_shows_what_was_tapped_not_codes(service: Service, browser: Browser) -> None:
    page = await open_chat(browser, service, "?loc=620702103203")
    await tap(page, "反映问题")
    await tap(page, "邻里纠纷")
    await type_text(page, "邻居把路堵了")
    shown = await page.locator(".resident").all_inner_texts()
    await page.reload()
    await expect(page.locator(".bot").last).to_contain_text("第 1 条")
    assert await page.locator(".resident").all_inner_texts() == shown
    assert shown[1:] == ["邻里纠纷", "邻居把路堵了"] and shown[0].startswith("反映问题")
    log = await page.locator("#log").inner_text()
    assert "menu:" not in log and "620702103203" not in log


async def test_a_token_from_elsewhere_gets_a_fresh_chat(service: Service, browser: Browser) -> None:
    page = await open_chat(browser, service)
    await expect(page.locator(".bot").first).to_contain_text("民事直说")
    await page.evaluate("localStorage.setItem('minshi.token', 'x'.repeat(32))")  # old, unsigned
    await page.reload()
    await expect(page.locator(".bot").first).to_contain_text("民事直说")
    await expect(page.locator("#status")).to_have_text("")
    token = await page.evaluate("localStorage.getItem('minshi.token')")
    assert token != "x" * 32 and "." in token


async def test_hold_the_microphone_to_send_a_voice_message(
    service: Service, browser: Browser
) -> None:
    page = await open_chat(browser, service)
    await tap(page, "反映问题")
    await tap(page, "邻里纠纷")
    mic = page.locator("#mic")
    await expect(mic).to_have_text("🎤")
    await mic.hover()
    await page.mouse.down()
    await expect(page.locator("#status")).to_contain_text("正在录音")
    await page.wait_for_timeout(1200)
    before = await page.locator(".bot").count()
    await page.mouse.up()
    await _answered(page, before)
    await expect(page.locator(".bot").last).to_contain_text("照片/文件收到了")
    await expect(page.locator(".resident").last).to_have_text("🎤 语音")
    uploads = rows(service.runtime.settings.db, "SELECT ref, kind, size FROM uploads")
    assert [u["kind"] for u in uploads] == ["voice"] and uploads[0]["size"] > 0
    recorded = (service.runtime.settings.attachments_dir / uploads[0]["ref"]).read_bytes()
    assert recorded.startswith(b"\x1a\x45\xdf\xa3")  # WebM, as Chromium records
    await page.reload()
    await expect(page.locator(".resident").last).to_have_text("🎤 语音")


async def test_a_short_tap_on_the_microphone_says_to_hold_it(
    service: Service, browser: Browser
) -> None:
    page = await open_chat(browser, service)
    await expect(page.locator(".bot").first).to_contain_text("民事直说")
    await page.locator("#mic").click()
    await expect(page.locator("#status")).to_contain_text("按住说话")
    await page.wait_for_timeout(500)
    assert await page.locator(".resident").count() == 0
    assert rows(service.runtime.settings.db, "SELECT * FROM uploads") == []
