"""Fixtures every test folder shares: settings, a frozen clock, a running service."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.async_api import Browser

from bot.config import Settings

from .chromium import launched_chromium
from .postgres import Cluster, PostgresUnavailable, throwaway_cluster
from .support import Clock, Service, run_service

# Every service started here (in this process or as `minshi serve`) would start an FAQ
# matching process of its own; tests/faq/test_match_process.py, and the tests of it
# through the web chat and `minshi serve`, turn it on.
os.environ.setdefault("MINSHI_FAQ_MATCH_PROCESS", "false")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        db=tmp_path / "minshi.db",
        attachments_dir=tmp_path / "attachments",
        _env_file=None,
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


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """One PostgreSQL cluster for the run (tests/postgres.py); without one the tests
    that need it fail with the reason, they are never skipped."""
    with ExitStack() as stack:
        try:
            cluster = stack.enter_context(throwaway_cluster())
        except PostgresUnavailable as exc:
            pytest.fail(f"PostgreSQL: {exc}", pytrace=False)
        yield cluster


@pytest.fixture
async def postgres_url(postgres: Cluster) -> str:
    """A new, empty database in the test cluster."""
    return await postgres.fresh_database()
