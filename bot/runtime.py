"""The composition root: build every part of the service from the settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.requests import Request

from common.clock import Clock, utc_now
from common.messages import Outbound
from common.notify import LocalNotifier
from common.outbox import Destination
from dialogs import Engine, Services, Texts
from faq import FaqService
from handoff import CaseService, CenterDirectory, load_centers

from .config import Settings
from .storage import AccountStore, Database, SqlAccounts, SqlStore, migrate

__all__ = ["Runtime", "open_runtime", "runtime_of"]

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The parts every adapter, route and job works with."""

    settings: Settings
    clock: Clock
    db: Database
    store: SqlStore
    notifier: LocalNotifier
    faq: FaqService
    centers: CenterDirectory
    cases: CaseService
    engine: Engine
    accounts: AccountStore  # mediator console: accounts, sessions, login attempts

    async def push(self, destination: Destination, message: Outbound) -> int:
        """Queue a message that answers no request (the delivery worker sends it)."""
        async with self.store.transaction() as w:
            return await w.enqueue(destination, message, self.clock())


@asynccontextmanager
async def open_runtime(settings: Settings, *, clock: Clock = utc_now) -> AsyncIterator[Runtime]:
    """Open the database, load FAQ and centers, and finish unprocessed messages.

    No adapter or background job runs here: ``bot.app`` starts those in the
    application's lifespan (``minshi serve``), the terminal chat its own.
    """
    faq = FaqService(settings.faq_dir, reload_interval=settings.faq_reload_seconds)
    faq.load()
    centers = load_centers(settings.centers_file, faq.categories().keys())
    texts = Texts(settings.texts_file)
    notifier = LocalNotifier()
    async with Database(settings.db, synchronous=settings.db_synchronous) as db:
        version = await migrate(db)
        log.info("database %s at schema version %s", settings.db, version)
        store = SqlStore(db, on_commit=lambda topics: _publish(notifier, topics))
        cases = CaseService(
            store,
            centers,
            settings.deadline_policy(),
            clock,
            notices=texts,
            followup_days=settings.followup_days,
            archive_days=settings.archive_days,
            case_link=lambda number: f"{settings.public_url or ''}/console/cases/{number}",
        )
        services = Services(
            faq=faq,
            centers=centers,
            texts=texts,
            clock=clock,
            cases=cases,
            expiry_hours=settings.conversation_expiry_hours,
        )
        engine = Engine(store, services)
        await engine.recover()
        await faq.start()
        warm_up = asyncio.create_task(asyncio.to_thread(centers.warm_up))
        try:
            yield Runtime(
                settings, clock, db, store, notifier, faq, centers, cases, engine, SqlAccounts(db)
            )
        finally:
            await warm_up
            await faq.stop()


def _publish(notifier: LocalNotifier, topics: set[str]) -> None:
    for topic in topics:
        notifier.publish(topic)


def runtime_of(request: Request) -> Runtime:
    """The runtime the application's lifespan opened (typed lifespan state)."""
    runtime: Runtime = request.state.runtime
    return runtime
