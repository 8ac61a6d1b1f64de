"""Fixtures every test folder shares: settings, a frozen clock, a running service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from bot.config import Settings

from .chromium import launched_chromium
from .support import Clock, Service, run_service


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        db=tmp_path / "minshi.db", attachments_dir=tmp_path / "attachments", _env_file=None
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def service(settings: Settings, clock: Clock) -> AsyncIterator[Service]:
    async with run_service(settings, clock) as svc:
        yield svc


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium for the page tests (web chat, console)."""
    async with launched_chromium() as launched:
        yield launched
