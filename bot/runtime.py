"""The composition root: build every part of the service from the settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from dialogs import Engine, Services, Texts
from faq import FaqService
from handoff import CenterDirectory, load_centers

from .config import Settings
from .dispatch import Dispatcher
from .storage import Database, Store, migrate

__all__ = ["Runtime", "open_runtime", "utc_now"]

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    store: Store
    faq: FaqService
    centers: CenterDirectory
    engine: Engine
    dispatcher: Dispatcher


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now
) -> AsyncIterator[Runtime]:
    """Open the database, load FAQ and centers, and recover unfinished messages."""
    faq = FaqService(settings.faq_dir, reload_interval=settings.faq_reload_seconds)
    faq.load()
    centers = load_centers(settings.centers_file, faq.categories().keys())
    texts = Texts(settings.texts_file)
    async with Database(settings.db, synchronous=settings.db_synchronous) as db:
        version = await migrate(db)
        log.info("database %s at schema version %s", settings.db, version)
        store = Store(db)
        services = Services(
            faq=faq,
            centers=centers,
            texts=texts,
            clock=clock,
            deadline_hours=settings.deadline_hours(),
        )
        engine = Engine(store, services)
        dispatcher = Dispatcher(engine, store, clock)
        await engine.recover()
        await faq.start()
        warm_up = asyncio.create_task(asyncio.to_thread(centers.warm_up))
        try:
            yield Runtime(settings, db, store, faq, centers, engine, dispatcher)
        finally:
            await warm_up
            await faq.stop()
