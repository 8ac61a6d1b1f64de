"""Telegram for residents, through python-telegram-bot's ``Bot`` as the transport.

Updates come by long polling (the default) or, with a webhook secret and a
public address, as ``POST /telegram/webhook`` to this app; requests without
the right ``X-Telegram-Bot-Api-Secret-Token`` get 403 before anything else.
Either way each update is turned into ``Inbound`` messages (see
``_telegram_updates``) and stored by the dialog engine before Telegram is
told it arrived: polling confirms an update (the next ``offset``) only
after it was handled, a webhook answers 200 after it was stored and 503
when it could not be (Telegram then sends it again). The update_id is the
message id, so a repeated update is one message; what an update does besides
storing messages (answering a tapped button, 详细说明, a hint, a block) is
marked seen in the store before it is done (``first_sight``), so a re-sent
update — even after a restart — does not do it twice.

Replies go out through the outbox (``send``): rendered by
``_telegram_render``, and every platform failure reported as a typed result
— flood control and outages as ``RetryLater`` (with Telegram's retry-after),
a resident who blocked the bot is marked unreachable and their messages
wait until they unblock it. Files residents send are downloaded by a
background loop (``_telegram_files``), never inside a webhook request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import warnings
from collections.abc import Coroutine, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import (
    Bot,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBUserWarning

from common.messages import Inbound, Outbound
from common.outbox import (
    Delivered,
    DeliveryResult,
    Destination,
    OutboxEntry,
    RetryLater,
    Unreachable,
)

from ..config import Settings
from ._telegram_files import FileFetcher
from ._telegram_forum import ForumChannel
from ._telegram_render import MAX_TEXT, TEXTS, CallbackRef, Part, render, utf16_len
from ._telegram_updates import CHANNEL, Received, translate
from .base import ChannelAdapter

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["ALLOWED_UPDATES", "WEBHOOK_PATH", "TelegramChannel", "make_bot", "webhook_url"]

log = logging.getLogger(__name__)

# PTB 22 warns on every int-valued duration (RetryAfter.retry_after…) unless told to use
# timedelta, the type its next major version will have; opt in.
os.environ.setdefault("PTB_TIMEDELTA", "true")

WEBHOOK_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member", "chat_member"]
BLOCKED_RETRY = timedelta(days=1)  # a blocked resident's messages wait (woken on unblock)
HINT_INTERVAL = timedelta(seconds=30)  # one "cannot use this" hint per resident at most
_MAX_BODY = 1_048_576
_REMEMBERED_HINTS = 10_000
_KEPT_ENTITIES = {
    MessageEntity.BOLD,
    MessageEntity.ITALIC,
    MessageEntity.UNDERLINE,
    MessageEntity.STRIKETHROUGH,
    MessageEntity.SPOILER,
    MessageEntity.CODE,
    MessageEntity.PRE,
    MessageEntity.TEXT_LINK,
    MessageEntity.BLOCKQUOTE,
}


def webhook_url(settings: Settings) -> str | None:
    """The address Telegram posts updates to; None means long polling."""
    if not settings.telegram_webhook_secret:
        return None
    if settings.telegram_webhook_url:
        return settings.telegram_webhook_url
    if settings.public_url:
        return settings.public_url.rstrip("/") + WEBHOOK_PATH
    return None


def make_bot(settings: Settings) -> Bot:
    """A PTB ``Bot`` for the configured Bot API server (not yet initialised)."""
    token = settings.telegram_token
    if not token:
        raise ValueError("MINSHI_TELEGRAM_TOKEN is not set")
    api = settings.telegram_api_url.rstrip("/")
    # HTTPS_PROXY is honoured (Telegram is often reachable only through one), never for
    # a Bot API server on this machine.
    local = urlsplit(api).hostname in ("127.0.0.1", "localhost", "::1")
    httpx_kwargs: dict[str, Any] = {"trust_env": False} if local else {}
    return Bot(
        token,
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        request=HTTPXRequest(connection_pool_size=64, pool_timeout=10.0, httpx_kwargs=httpx_kwargs),
        get_updates_request=HTTPXRequest(connection_pool_size=2, httpx_kwargs=httpx_kwargs),
    )


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class _TokenFilter(logging.Filter):
    """Keeps the bot token out of log lines (httpx logs every request URL)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), None
        return True


def _acts_once(received: Received) -> bool:
    """Whether an update does something a repeat must not do again: answer a tapped
    button (and send the details), a hint, a block (storing messages and queueing
    files the store keeps to once by itself)."""
    return (
        received.callback_id is not None
        or received.hint is not None
        or received.reachable is not None
    )


class TelegramChannel(ChannelAdapter):
    name = CHANNEL

    def __init__(
        self,
        settings: Settings,
        *,
        poll_timeout: int = 30,
        retry_seconds: float = 5.0,
        file_retry_seconds: float = 10.0,
    ) -> None:
        self.settings = settings
        self.bot = make_bot(settings)
        self.webhook_url = webhook_url(settings)
        self.poll_timeout = poll_timeout
        self.retry_seconds = retry_seconds
        self.max_file_bytes = settings.telegram_max_file_mb * 1024 * 1024
        self.files = FileFetcher(
            self.name, self.bot, self.max_file_bytes, retry_seconds=file_retry_seconds
        )
        # Mediators' forum groups and /link: an adapter of its own (its outbox
        # destinations are topics), fed by this channel's updates.
        self.forum = ForumChannel(self.bot)
        self._secret = (settings.telegram_webhook_secret or "").encode()
        self._token_filter = _TokenFilter(settings.telegram_token or "")
        self._runtime: Runtime | None = None
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._progress: dict[int, int] = {}  # outbox entry id → parts already sent
        self._keyboard_up: set[str] = set()  # chats showing our reply keyboard
        self._hinted: dict[str, datetime] = {}
        if settings.telegram_webhook_secret and self.webhook_url is None:
            log.warning(
                "telegram: a webhook secret without MINSHI_PUBLIC_URL or "
                "MINSHI_TELEGRAM_WEBHOOK_URL; using long polling"
            )

    @property
    def polling(self) -> bool:
        return self.webhook_url is None

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the telegram channel works only after start()")
        return self._runtime

    def routes(self) -> list[BaseRoute]:
        if self.polling:
            return []
        return [Route(WEBHOOK_PATH, self.webhook, methods=["POST"])]

    # -- lifecycle ----------------------------------------------------------------

    async def start(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._stop.clear()
        await self.forum.start(runtime)  # before any update arrives
        for name in ("httpx", "telegram.Bot", "telegram.request"):
            logging.getLogger(name).addFilter(self._token_filter)
        self._spawn(self._connect(), "telegram:updates")
        self._spawn(self.files.run(runtime, self._stop), "telegram:files")

    async def stop(self) -> None:
        self._stop.set()
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.forum.stop()
        await self.bot.shutdown()
        for name in ("httpx", "telegram.Bot", "telegram.request"):
            logging.getLogger(name).removeFilter(self._token_filter)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("telegram: %s stopped", task.get_name(), exc_info=task.exception())

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``; True when the channel is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
        return self._stop.is_set()

    async def _connect(self) -> None:
        """Reach the Bot API (trying again while it is down), register or drop the
        webhook, then poll unless Telegram posts updates to us."""
        delay = 1.0
        while not await self._reach():
            if await self._pause(delay):
                return
            delay = min(delay * 2, 60.0)
        mode = "long polling" if self.polling else f"webhook {self.webhook_url}"
        log.info("telegram: connected as @%s (%s)", self.bot.username, mode)
        while self.polling and not self._stop.is_set():
            try:
                await self._poll()
            except Exception:  # a bug must not end the resident channel for good
                log.exception("telegram: polling failed; starting again")
                await self._pause(self.retry_seconds)

    async def _reach(self) -> bool:
        try:
            await self.bot.initialize()  # getMe
            if self.webhook_url is None:
                await self.bot.delete_webhook()  # getUpdates fails while one is set
            else:
                await self.bot.set_webhook(
                    self.webhook_url,
                    secret_token=self.settings.telegram_webhook_secret,
                    allowed_updates=ALLOWED_UPDATES,
                )
            return True
        except InvalidToken:
            log.error("telegram: the Bot API refuses the token (MINSHI_TELEGRAM_TOKEN)")
        except TelegramError as exc:
            log.warning("telegram: cannot reach the Bot API (%s); trying again", exc)
        return False

    # -- receiving ----------------------------------------------------------------

    async def _poll(self) -> None:
        """getUpdates until stopped; an update is confirmed only once it was handled."""
        offset: int | None = None
        delay = self.retry_seconds
        while not self._stop.is_set():
            fetch = asyncio.ensure_future(
                self.bot.get_updates(
                    offset=offset,
                    timeout=timedelta(seconds=self.poll_timeout),
                    allowed_updates=ALLOWED_UPDATES,
                )
            )
            stopping = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not fetch.done():
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, TelegramError):
                    await fetch
                break
            after: int | None = None  # the offset past the batch, when PTB could not parse it
            updates: Sequence[Update]
            try:
                updates = fetch.result()
            except TimedOut:
                continue
            except RetryAfter as exc:
                if await self._pause(_seconds(exc.retry_after)):
                    break
                continue
            except TelegramError as exc:
                if isinstance(exc, Conflict):
                    log.warning("telegram: another client is fetching this bot's updates")
                else:
                    log.warning("telegram: getUpdates failed (%s); trying again", exc)
                if await self._pause(delay):
                    break
                delay = min(delay * 2, 60.0)
                continue
            except Exception:
                log.warning("telegram: an update could not be parsed", exc_info=True)
                try:
                    updates, after = await self._fetch_leniently(offset)
                except Exception:
                    log.exception("telegram: fetching the updates one by one failed")
                    if await self._pause(delay):
                        break
                    continue
            delay = self.retry_seconds
            if updates:
                offset = await self._handle_batch(updates, after)
            elif after is not None:
                offset = after
        await self._confirm(offset)

    async def _fetch_leniently(self, offset: int | None) -> tuple[list[Update], int | None]:
        """The pending updates parsed one by one, so one Telegram sends in a shape this
        library does not know is skipped instead of blocking all that follow it; and
        the offset past all of them."""
        kwargs: dict[str, Any] = {"timeout": 0, "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            kwargs["offset"] = offset
        with warnings.catch_warnings():  # PTB prefers get_updates, which parses the batch
            warnings.simplefilter("ignore", PTBUserWarning)
            raw = await self.bot.do_api_request("getUpdates", api_kwargs=kwargs)
        items = [item for item in raw if isinstance(item, dict)] if isinstance(raw, list) else []
        updates: list[Update] = []
        for item in items:
            try:
                updates.append(Update.de_json(item, self.bot))
            except Exception:
                log.warning("telegram: update %s is malformed; ignored", item.get("update_id"))
        ids = [i["update_id"] for i in items if isinstance(i.get("update_id"), int)]
        return updates, (max(ids) + 1 if ids else None)

    async def _confirm(self, offset: int | None) -> None:
        """Tell Telegram which updates were handled, so a restart does not fetch them again."""
        if offset is None:
            return
        with contextlib.suppress(TelegramError, TimeoutError):
            await asyncio.wait_for(self.bot.get_updates(offset=offset, timeout=0, limit=1), 3)

    async def _handle_batch(self, updates: Sequence[Update], after: int | None = None) -> int:
        """Handle a batch, each chat in order and chats side by side; the next offset
        (``after`` when given and all went well)."""
        chats: dict[str, list[Update]] = {}
        for update in updates:
            chat = update.effective_chat
            key = str(chat.id) if chat is not None else f"update:{update.update_id}"
            chats.setdefault(key, []).append(update)

        async def in_order(batch: list[Update]) -> int | None:
            for update in batch:
                if not await self._handle(update):
                    return update.update_id
            return None

        failed = [f for f in await asyncio.gather(*map(in_order, chats.values())) if f is not None]
        if failed:  # fetch the unstored ones again after a pause
            await self._pause(self.retry_seconds)
            return min(failed)
        return after if after is not None else max(u.update_id for u in updates) + 1

    async def webhook(self, request: Request) -> Response:
        given = request.headers.get("x-telegram-bot-api-secret-token", "").encode()
        if not self._secret or not hmac.compare_digest(given, self._secret):
            raise HTTPException(403, "wrong or missing secret token")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > _MAX_BODY:
            raise HTTPException(413, "update too large")
        raw = await request.body()
        if len(raw) > _MAX_BODY:
            raise HTTPException(413, "update too large")
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise HTTPException(400, "body is not JSON") from exc
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise HTTPException(400, "not a Telegram update")
        try:
            update = Update.de_json(data, self.bot)
        except Exception:
            log.warning("telegram: update %s is malformed; ignored", update_id, exc_info=True)
            return Response(status_code=200)
        if not await self._handle(update):
            return JSONResponse({"error": "could not store the update, send it again"}, 503)
        return Response(status_code=200)

    async def _handle(self, update: Update) -> bool:
        """Handle one update; False only when it could not be stored (try it again)."""
        update_id = update.update_id
        try:
            for_forum = self.forum.takes(update)  # a center's group, or a mediator's /link
        except Exception:  # a field of the wrong type (a list where a chat id belongs …)
            log.warning("telegram: update %s is malformed; ignored", update_id, exc_info=True)
            return True
        if for_forum:
            try:
                await self.forum.handle(update)
            except Exception:
                log.exception("telegram: update %s could not be stored", update_id)
                return False
            return True
        try:
            # JSON may escape a lone surrogate ("\\ud800"): text no database stores.
            json.dumps(update.to_dict(), ensure_ascii=False).encode("utf-8")
            received = translate(update, self.max_file_bytes)
        except Exception:
            log.exception("telegram: update %s could not be read; ignored", update_id)
            return True
        if received.ignored:
            if received.callback_id is not None:
                self._spawn(self._answer(received), "telegram:callback")
            log.debug("telegram: update %s (%s) ignored", update_id, received.kind)
            return True
        try:
            await self._apply(received)
        except Exception:
            log.exception("telegram: update %s could not be stored", update_id)
            return False
        return True

    async def _apply(self, received: Received) -> None:
        rt = self.runtime
        assert received.address is not None
        destination = Destination(self.name, received.address)
        # Storing messages and queueing files the store keeps to once by itself; the
        # rest (a tap's answer and details, a hint, a block) is marked seen before it
        # is done, so a re-send, even after a restart, does not do it again. A failure
        # past the mark loses that part (the next message or send sets a block status
        # right); the update's messages are still stored when it comes again.
        first = not _acts_once(received) or await rt.store.first_sight(
            self.name, f"update:{received.update_id}", rt.clock()
        )
        if not first:
            log.info("telegram: update %s again; done before", received.update_id)
        elif received.callback_id is not None:
            self._spawn(self._answer(received), "telegram:callback")
        if received.reachable is not None:
            if first:
                await self._set_reachable(destination, received.reachable)
            return
        if received.inbound and not await rt.store.is_reachable(destination):
            await self._set_reachable(destination, True)  # writing again: not blocked now
        for file in received.files:
            await rt.store.queue_file(self.name, file.file_id, file.kind, rt.clock())
        if received.files:
            self.files.wake()
        if received.hint is not None and first:
            text = TEXTS[received.hint].format(**received.hint_args)
            await self._hint(destination, text, limited=received.hint == "unsupported")
        messages = list(received.inbound)
        if received.callback is not None and received.callback.kind == "details":
            if first:
                await self._send_details(destination, received.callback.entry_id)
        elif received.callback is not None and received.callback.kind == "choice":
            # A payload too long for a button: the button named the entry and the choice.
            # One that is gone goes to the engine as it came, which treats it as stale.
            payload = await self._stored_payload(destination, received.callback)
            choice = Inbound(
                self.name,
                received.address,
                "choice",
                payload=payload if payload is not None else received.callback_data,
                platform_msg_id=str(received.update_id),
            )
            messages.append(choice)
        for message in messages:
            await rt.engine.handle(message, inline=False)

    async def _set_reachable(self, destination: Destination, reachable: bool) -> None:
        rt = self.runtime
        reason = "" if reachable else "blocked the bot"
        await rt.store.set_reachable(destination, reachable, rt.clock(), reason)
        if reachable:
            woken = await rt.store.outbox_wake(destination, rt.clock())
            if woken:
                log.info("telegram: %s reachable again; %d messages go out now", destination, woken)
        else:
            log.info("telegram: %s blocked the bot; messages wait", destination)

    async def _hint(self, destination: Destination, text: str, *, limited: bool) -> None:
        rt = self.runtime
        now = rt.clock()
        if limited:
            last = self._hinted.get(destination.address)
            if last is not None and now - last < HINT_INTERVAL:
                return
            self._hinted[destination.address] = now
            if len(self._hinted) > _REMEMBERED_HINTS:
                self._hinted.pop(next(iter(self._hinted)))
        await rt.push(destination, Outbound(text))

    async def _stored_body(self, destination: Destination, entry_id: int) -> dict[str, Any] | None:
        """The body of an outbox entry of this resident (never another's)."""
        for record in await self.runtime.store.outbox_records(destination):
            if record.id == entry_id:
                return record.body
        return None

    async def _stored_payload(self, destination: Destination, ref: CallbackRef) -> str | None:
        body = await self._stored_body(destination, ref.entry_id)
        choices = body.get("choices", []) if body else []
        if 0 <= ref.index < len(choices):
            return str(choices[ref.index].get("payload", ""))
        return None

    async def _send_details(self, destination: Destination, entry_id: int) -> None:
        """The details folded behind the tapped button, as a message of their own."""
        body = await self._stored_body(destination, entry_id)
        details = str(body.get("details", "")) if body else ""
        if not body or not details:
            await self.runtime.push(destination, Outbound(TEXTS["details_gone"]))
            return
        label = str(body.get("details_label") or TEXTS["details_label"])
        calls = tuple(n for n in body.get("calls", ()) if n in details)
        await self.runtime.push(destination, Outbound(f"{label}\n\n{details}", calls=calls))

    async def _answer(self, received: Received) -> None:
        """Stop the button's spinner; show under the question which answer was picked."""
        assert received.callback_id is not None
        try:
            await self.bot.answer_callback_query(received.callback_id)
        except TelegramError as exc:
            log.debug("telegram: answering a callback failed: %s", exc)
        message = received.tapped
        if message is None or received.callback is None or received.callback.kind == "details":
            return
        try:
            await self._mark_chosen(message, received.callback_data)
        except TelegramError as exc:
            log.debug("telegram: marking the choice failed: %s", exc)

    async def _mark_chosen(self, message: Message, data: str) -> None:
        markup = message.reply_markup
        if markup is None or not message.text:
            return
        label = None
        kept = []
        for row in markup.inline_keyboard:
            for button in row:
                if button.callback_data == data:
                    label = button.text
                elif str(button.callback_data).startswith("tg:d:"):
                    kept.append([button])  # the details stay available
        if label is None:
            return
        text = f"{message.text}\n\n{TEXTS['chosen'].format(label=label)}"
        if utf16_len(text) > MAX_TEXT:
            return
        await self.bot.edit_message_text(
            text,
            chat_id=message.chat.id,
            message_id=message.message_id,
            entities=[e for e in message.entities if e.type in _KEPT_ENTITIES],
            reply_markup=InlineKeyboardMarkup(kept) if kept else None,
        )

    # -- sending ------------------------------------------------------------------

    async def send(self, entry: OutboxEntry) -> DeliveryResult:
        destination = entry.destination
        try:
            chat_id = int(destination.address)
        except ValueError:
            return Unreachable(f"not a Telegram chat id: {destination.address!r}")
        parts = render(entry.message, entry.id)
        for index in range(self._progress.get(entry.id, 0), len(parts)):
            failure = await self._send_part(chat_id, destination, parts[index])
            if failure is not None:
                if isinstance(failure, RetryLater):
                    self._progress[entry.id] = index  # the parts before it are out
                else:
                    self._progress.pop(entry.id, None)
                return failure
        self._progress.pop(entry.id, None)
        if entry.attempts and not await self.runtime.store.is_reachable(destination):
            await self._set_reachable(destination, True)
        return Delivered()

    async def _send_part(
        self, chat_id: int, destination: Destination, part: Part
    ) -> DeliveryResult | None:
        """Send one message; None when Telegram took it, else what to do about it."""
        markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
        markup = part.markup
        if markup is None and destination.address in self._keyboard_up:
            markup = ReplyKeyboardRemove()  # the location/contact button has done its job
        try:
            try:
                await self.bot.send_message(
                    chat_id, part.text, entities=part.entities or None, reply_markup=markup
                )
            except BadRequest as exc:
                if "chat not found" in exc.message.lower():
                    return Unreachable(f"Telegram: {exc.message}")
                log.warning("telegram: message refused (%s); sending it unformatted", exc.message)
                await self.bot.send_message(chat_id, part.text, reply_markup=markup)
        except BadRequest as exc:
            return Unreachable(f"Telegram refused the message: {exc.message}")
        except TelegramError as exc:
            return await self._failure(exc, destination)
        if isinstance(markup, ReplyKeyboardMarkup):
            self._keyboard_up.add(destination.address)
        elif isinstance(markup, ReplyKeyboardRemove):
            self._keyboard_up.discard(destination.address)
        return None

    async def _failure(self, exc: TelegramError, destination: Destination) -> DeliveryResult:
        if isinstance(exc, RetryAfter):
            wait = _seconds(exc.retry_after)
            return RetryLater(f"Telegram flood control: {wait:g} s", timedelta(seconds=wait))
        if isinstance(exc, Forbidden):
            if "deactivated" in exc.message.lower():
                return Unreachable("the resident's Telegram account was deleted")
            await self._set_reachable(destination, False)
            return RetryLater(f"Telegram: {exc.message}", BLOCKED_RETRY)
        if isinstance(exc, ChatMigrated):
            return Unreachable("the chat became a supergroup")
        if isinstance(exc, InvalidToken):
            return RetryLater("the Bot API refuses the token (MINSHI_TELEGRAM_TOKEN)")
        if isinstance(exc, TimedOut):
            return RetryLater("Telegram timed out")
        if isinstance(exc, NetworkError):
            return RetryLater(f"Telegram unreachable: {exc.message}")
        return RetryLater(f"Telegram: {exc.message}")
