"""The composition root: build every part of the service from the settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import (
    AbstractAsyncContextManager,
    AsyncExitStack,
    asynccontextmanager,
    nullcontext,
)
from dataclasses import dataclass, field

from starlette.requests import Request

from common.clock import Clock, utc_now
from common.jobs import JobRunner, LocalJobs
from common.messages import Outbound
from common.notify import LocalNotifier, Notifier
from common.outbox import Destination
from dialogs import Engine, Services, Texts
from faq import FaqService
from handoff import CaseService, CenterDirectory, load_centers

from .config import Settings
from .metrics import PrometheusMetrics
from .pg_jobs import PgJobs, hold_exclusive
from .pg_notifier import PgNotifier
from .storage import AccountStore, SqlAccounts, SqlDatabase, SqlStore, migrate, open_database
from .storage._database import url_for_display
from .storage._postgres import PostgresDatabase

__all__ = ["Runtime", "open_runtime", "runtime_of"]

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The parts every adapter, route and job works with."""

    settings: Settings
    clock: Clock
    db: SqlDatabase  # SQLite (one instance) or PostgreSQL (one or several)
    store: SqlStore
    notifier: Notifier  # across instances on PostgreSQL (LISTEN/NOTIFY)
    faq: FaqService
    centers: CenterDirectory
    cases: CaseService
    engine: Engine
    accounts: AccountStore  # mediator console: accounts, sessions, login attempts
    metrics: PrometheusMetrics = field(default_factory=PrometheusMetrics)  # /metrics
    warm_up: asyncio.Future[None] | None = None  # the place-search index, built in a thread

    async def push(self, destination: Destination, message: Outbound) -> int:
        """Queue a message that answers no request (the delivery worker sends it)."""
        async with self.store.transaction() as w:
            return await w.enqueue(destination, message, self.clock())

    def single_instance_jobs(self) -> JobRunner:
        """A runner for jobs that must run in one place only, however many instances
        share the database (on SQLite there is one)."""
        if isinstance(self.db, PostgresDatabase):
            return PgJobs(self.db)
        return LocalJobs()

    def exclusive(self, name: str, refusal: str) -> AbstractAsyncContextManager[None]:
        """Held by one instance at a time: raises ``RefusedHere(refusal)`` when another
        instance on the same PostgreSQL database holds ``name``."""
        if isinstance(self.db, PostgresDatabase):
            return hold_exclusive(self.db, name, refusal)
        return nullcontext()


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, clock: Clock = utc_now, faq: FaqService | None = None
) -> AsyncIterator[Runtime]:
    """Open the database, load FAQ and centers, and finish unprocessed messages.

    No adapter or background job runs here: ``bot.app`` starts those in the
    application's lifespan (``minshi serve``), the terminal chat its own.
    ``faq``: the FAQ of ``settings``, loaded already (one process running several
    runtimes one after another reads it once).
    """
    if faq is None:
        faq = FaqService(
            settings.faq_dir,
            reload_interval=settings.faq_reload_seconds,
            match_process=settings.faq_match_process,
        )
        faq.load()
    centers = load_centers(settings.centers_file, faq.categories().keys())
    texts = Texts(settings.texts_file)
    db = open_database(
        settings.database, synchronous=settings.db_synchronous, pool_size=settings.db_pool_size
    )
    async with db, AsyncExitStack() as stack:
        version = await migrate(db)
        log.info("database %s at schema version %s", url_for_display(settings.database), version)
        notifier: Notifier = LocalNotifier()
        if isinstance(db, PostgresDatabase):
            notifier = await stack.enter_async_context(PgNotifier(db))
        store = SqlStore(db, on_commit=lambda topics: _publish(notifier, topics))
        metrics = PrometheusMetrics()
        cases = CaseService(
            store,
            centers,
            settings.deadline_policy(),
            clock,
            notices=texts,
            followup_days=settings.followup_days,
            archive_days=settings.archive_days,
            case_link=lambda number: f"{settings.public_url or ''}/console/cases/{number}",
            metrics=metrics,
        )
        services = Services(
            faq=faq,
            centers=centers,
            texts=texts,
            clock=clock,
            cases=cases,
            expiry_hours=settings.conversation_expiry_hours,
            metrics=metrics,
        )
        engine = Engine(store, services)
        await engine.recover()
        await faq.start()
        warm_up = asyncio.create_task(asyncio.to_thread(centers.warm_up))
        try:
            yield Runtime(
                settings,
                clock,
                db,
                store,
                notifier,
                faq,
                centers,
                cases,
                engine,
                SqlAccounts(db),
                metrics,
                warm_up,
            )
        finally:
            await warm_up
            await faq.stop()


def _publish(notifier: Notifier, topics: set[str]) -> None:
    for topic in topics:
        notifier.publish(topic)


def runtime_of(request: Request) -> Runtime:
    """The runtime the application's lifespan opened (typed lifespan state)."""
    runtime: Runtime = request.state.runtime
    return runtime
