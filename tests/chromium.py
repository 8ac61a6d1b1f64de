"""Debian's Chromium, headless, driven by Playwright (the ``browser`` fixture of
tests/conftest.py launches it once per test)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Browser, async_playwright

__all__ = ["CHROMIUM", "FLAGS", "launched_chromium"]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these, Chromium keeps calling Google's hosts, which this network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A fake microphone that is allowed without asking, for voice messages.
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


@asynccontextmanager
async def launched_chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield launched
        finally:
            await launched.close()
