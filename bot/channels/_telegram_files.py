"""Downloading the files residents send on Telegram, in the background.

The update handler only queues a file (``store.queue_file``); this loop
asks the Bot API for it (getFile, then the download) and keeps it under
the attachments folder by the SHA-256 of its content, so the mediator
console can show it. A file over the size cap, or one Telegram no longer
knows, is given up at once; other failures are tried again a few times.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from common.outbox import FileToFetch

if TYPE_CHECKING:
    from bot.runtime import Runtime

__all__ = ["FileFetcher"]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}")
_DEFAULT_EXTENSION = {"photo": ".jpg", "voice": ".ogg", "video": ".mp4"}


def _save(path: Path, data: bytes) -> None:
    """Write once: the name is the content hash, so an existing file is the same content."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
    partial.write_bytes(data)
    partial.replace(path)


def _extension(file_path: str | None, kind: str) -> str:
    suffix = Path(file_path or "").suffix
    if _EXTENSION.fullmatch(suffix):
        return suffix.lower()
    return _DEFAULT_EXTENSION.get(kind, ".bin")


class FileFetcher:
    """The background loop: fetch what is queued, wake up when more is queued."""

    def __init__(
        self, channel: str, bot: Bot, max_bytes: int, *, retry_seconds: float = 10.0
    ) -> None:
        self.channel = channel
        self.bot = bot
        self.max_bytes = max_bytes
        self.retry_seconds = retry_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, runtime: Runtime, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            wait = self.retry_seconds
            try:
                batch = await runtime.store.files_to_fetch(self.channel, 20)
                failures = 0
                for item in batch:
                    failures += not await self._fetch(runtime, item)
                if batch and not failures:
                    continue  # more may be waiting
            except Exception:
                log.exception("telegram: fetching files failed; trying again later")
            await self._idle(stop, wait)

    async def _idle(self, stop: asyncio.Event, seconds: float) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({stopping, woken}, timeout=seconds, return_when="FIRST_COMPLETED")
        finally:
            stopping.cancel()
            woken.cancel()
            for task in (stopping, woken):
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _fetch(self, runtime: Runtime, item: FileToFetch) -> bool:
        """Fetch one file; False when it failed and should be tried again later."""
        store, ref = runtime.store, item.platform_ref
        try:
            remote = await self.bot.get_file(ref)
            if remote.file_size is not None and remote.file_size > self.max_bytes:
                await store.file_failed(
                    self.channel, ref, "larger than the size cap", runtime.clock(), True
                )
                return True
            data = bytes(await remote.download_as_bytearray())
        except BadRequest as exc:  # an unknown file id, or over the Bot API's 20 MB
            log.warning("telegram: file %s cannot be fetched: %s", ref, exc.message)
            await store.file_failed(self.channel, ref, exc.message, runtime.clock(), True)
            return True
        except (TelegramError, OSError) as exc:
            give_up = item.attempts + 1 >= MAX_ATTEMPTS
            log.warning("telegram: fetching file %s failed (%s): %s", ref, item.attempts + 1, exc)
            await store.file_failed(self.channel, ref, str(exc), runtime.clock(), give_up)
            return give_up
        if len(data) > self.max_bytes:
            await store.file_failed(
                self.channel, ref, "larger than the size cap", runtime.clock(), True
            )
            return True
        name = hashlib.sha256(data).hexdigest() + _extension(remote.file_path, item.kind)
        await asyncio.to_thread(_save, runtime.settings.attachments_dir / name, data)
        await store.file_fetched(self.channel, ref, name, len(data), runtime.clock())
        return True
