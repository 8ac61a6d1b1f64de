"""The WeChat Official Account (公众号) channel: callback at GET/POST /wechat.

WeChat POSTs each resident message and waits 5 seconds for an answer. The
message goes to the dialog engine with its replies queued in the outbox like
any other; if the turn ends within ``wechat_passive_wait_seconds`` (4 s) its
replies — merged into one text, choices numbered — go back in the HTTP
response (a passive reply) and the outbox records them as delivered when the
delivery worker reaches them. Otherwise the callback answers ``success`` at
once, so WeChat never shows "该公众号暂时无法提供服务", and the delivery
worker sends the replies through the customer-service API.

``_Handover`` keeps the two paths apart: while a callback of a resident is
deciding, ``send`` for that resident waits; entries (or their leading pieces)
a passive reply carried are then reported delivered without an API call.

WeChat retries a message it got no answer to (three tries in all): a retry of
the same MsgId (or, for events, the same sender, CreateTime and event) gets
the answer the first try got, and the engine never processes it twice.

Photos, recordings and videos are queued by the callback and downloaded by a
background loop through the media API (temporary media expire after 3 days);
the WeChat media id is the attachment ref. A recording comes as AMR, which no
browser plays: the loop keeps it (named by its hash) and has ffmpeg convert it
to AAC in ``.m4a`` (``_wechat_voice``), and that file is the one the media id
resolves to (``store.local_file``), so the mediator console can play it. Without
ffmpeg the AMR is the local file and one warning says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from wechatpy.replies import TextReply

from common.messages import Attachment, Choice, Inbound, Location, Outbound
from common.outbox import (
    Delivered,
    DeliveryResult,
    Destination,
    FileToFetch,
    OutboxEntry,
    Unreachable,
)
from common.unavailable import StorageUnavailable
from dialogs import Sent
from dialogs.danger import detect as detect_danger

from ..config import Settings
from ..runtime import runtime_of
from ._numbered import choice_lines, close_choice, exact_choice, reply_hint
from ._wechat_api import INVALID_MEDIA, OUTSIDE_WINDOW, WeChatApi, WeChatApiError, delivery_result
from ._wechat_voice import VoiceConverter
from ._wechat_xml import CallbackError, Envelope, WeChatCallback, text_field
from .base import ChannelAdapter

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["WeChatChannel", "render", "split_text"]

log = logging.getLogger(__name__)

# Resident-facing texts of this channel only (the dialog texts are in dialogs/texts.yaml).
TEXTS = {
    "unsupported": "这种消息我还看不懂。请打字、发语音或照片告诉我；回复「菜单」看看能办什么。",
    "empty": "请打字告诉我您遇到的事；回复「菜单」看看能办什么。",
    "file_unsupported": "这个文件我收不到。可以拍照发给我，或者打字说明。",
    "template_notice": "调解员给您回复了，请进入公众号发一条消息查看",
}

# Custom menu keys (minshi wechat menu) → the main menu's choices.
MENU_KEYS = {
    "MENU_ASK": "menu:ask",
    "MENU_REPORT": "menu:report",
    "MENU_CASES": "menu:cases",
    "MENU_HUMAN": "menu:human",
    "MENU_CARD": "menu:card",
}
MENU_PAYLOADS = frozenset(MENU_KEYS.values())
_UNKNOWN_KEY = "cmd:menu"  # an old or unknown menu key shows the main menu

# While a report asks where it happened, WeChat's automatic location report answers it.
_LOCATION_STEPS = frozenset({"location", "loc_county", "loc_township", "loc_village", "loc_choose"})

_PIECE_BYTES = 2000  # WeChat drops a text over 2047 bytes (passive) and truncates others
_MAX_BODY = 64 * 1024
_OPENID = re.compile(r"[A-Za-z0-9_-]{6,64}")
_DIGITS = re.compile(r"[0-9]{1,20}")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_WINDOW_WAIT = timedelta(hours=6)  # retry of a message outside the 48-hour window
_MEMORY = 10_000  # residents / messages remembered for choices and retries
_FETCH_BATCH = 20
_FETCH_POLL_SECONDS = 30.0
_FETCH_GIVE_UP = 12
_STOP_WAIT_SECONDS = 5.0


# -- rendering -----------------------------------------------------------------


def render(message: Outbound) -> str:
    """One message as WeChat text: warning mark, details inline, numbered choices."""
    text = message.text
    if message.tone == "warning" and not text.startswith("⚠"):
        text = f"⚠️ {text}"
    body = replace(message, text=text).as_plain_text()
    if message.choices:
        lines = choice_lines(message.choices)
        body = "\n".join([body, "", *lines, reply_hint(len(message.choices))])
    body = _NOT_XML.sub("", body)  # control characters would make the reply unreadable
    return body.replace("]]>", "]] >")  # the passive reply is CDATA


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def split_text(text: str, limit: int = _PIECE_BYTES) -> list[str]:
    """Pieces of at most ``limit`` UTF-8 bytes, cut between paragraphs, else lines."""
    return _split(text, limit, ("\n\n", "\n")) or [""]


def _split(text: str, limit: int, separators: tuple[str, ...]) -> list[str]:
    if _size(text) <= limit:
        return [text]
    if not separators:
        pieces, current = [], ""
        for char in text:
            if _size(current + char) > limit:
                pieces.append(current)
                current = ""
            current += char
        return [*pieces, current] if current else pieces
    separator, finer = separators[0], separators[1:]
    packed: list[str] = []
    open_piece: str | None = None
    for part in text.split(separator):
        for sub in _split(part, limit, finer):
            if open_piece is None:
                open_piece = sub
            elif _size(open_piece + separator + sub) <= limit:
                open_piece += separator + sub
            else:
                packed.append(open_piece)
                open_piece = sub
    if open_piece is not None:
        packed.append(open_piece)
    return [p for p in packed if p.strip()]


def _pieces(message: Outbound) -> list[str]:
    return split_text(render(message))


# -- passive replies and the outbox ------------------------------------------


class _Handover:
    """Which outbox entries (or leading pieces of them) a passive reply carried."""

    def __init__(self) -> None:
        self._deciding: dict[str, int] = {}
        self._settled: dict[str, asyncio.Event] = {}
        self.carried: dict[int, int] = {}  # entry id → pieces already with the resident
        self.by_api: set[int] = set()  # entries the worker started sending itself

    def open(self, openid: str) -> None:
        if self._deciding.get(openid, 0) == 0:
            self._settled[openid] = asyncio.Event()
        self._deciding[openid] = self._deciding.get(openid, 0) + 1

    def close(self, openid: str) -> None:
        left = self._deciding.get(openid, 1) - 1
        if left > 0:
            self._deciding[openid] = left
            return
        self._deciding.pop(openid, None)
        event = self._settled.pop(openid, None)
        if event is not None:
            event.set()

    async def settled(self, openid: str, timeout: float) -> bool:
        """Wait until no callback of this resident is deciding; False after ``timeout``."""
        event = self._settled.get(openid)
        if event is None:
            return True
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def claim(self, sent: Sequence[Sent]) -> str | None:
        """The passive reply for a turn's replies, marking what it carries; None: none."""
        if not sent or any(s.id in self.by_api for s in sent):
            return None
        carried: list[str] = []
        used = 0
        for s in sent:
            pieces = _pieces(s.message)
            taken = 0
            for piece in pieces:
                extra = _size(piece) + (2 if carried else 0)
                if used + extra > _PIECE_BYTES:
                    break
                carried.append(piece)
                used += extra
                taken += 1
            if taken:
                self.carried[s.id] = taken
            if taken < len(pieces):
                break
        return "\n\n".join(carried) if carried else None


@dataclass
class _Update:
    """What one callback asks of the service, read from the message before anything is done."""

    openid: str
    key: str  # MsgId, or CreateTime:event:EventKey for events: the same key twice is a retry
    inbound: Inbound | None = None
    hint: str | None = None  # answered at once, without the dialog
    fetch: list[tuple[str, str]] = field(default_factory=list)  # (media id, kind) to download
    opens_window: bool = False  # WeChat lets us write again (message, follow, scan, click)
    unsubscribed: bool = False
    only_in_report: bool = False  # a LOCATION event: used only while a report asks for a place


def _coordinate(fields: dict[str, Any], name: str, bound: float) -> float:
    try:
        value = float(text_field(fields, name))
    except ValueError:
        raise CallbackError(400, f"{name} is not a number") from None
    if not -bound <= value <= bound:  # NaN fails too
        raise CallbackError(400, f"{name} is out of range")
    return value


def _media(fields: dict[str, Any]) -> str:
    media_id = text_field(fields, "MediaId")
    if not media_id or len(media_id) > 256:
        raise CallbackError(400, "MediaId missing")
    return media_id


def read_update(fields: dict[str, Any], channel: str) -> _Update | None:
    """The update of a verified message; None from a sender without an openid."""
    msg_type = text_field(fields, "MsgType").lower()
    if not msg_type:
        raise CallbackError(400, "MsgType missing")
    created = text_field(fields, "CreateTime")
    if not _DIGITS.fullmatch(created):
        raise CallbackError(400, "CreateTime is not a whole number")
    msg_id = text_field(fields, "MsgId")
    if msg_id and not _DIGITS.fullmatch(msg_id):
        raise CallbackError(400, "MsgId is not a whole number")
    openid = text_field(fields, "FromUserName")
    if not _OPENID.fullmatch(openid):
        return None
    if msg_type == "event":
        return _read_event(fields, channel, openid, created)
    # MsgId stays text: 64-bit ids differ where doubles are equal.
    key = msg_id or f"{created}:{msg_type}"
    update = _Update(openid, key, opens_window=True)

    def inbound(**values: Any) -> Inbound:
        return Inbound(channel, openid, platform_msg_id=key, **values)

    if msg_type == "text":
        content = fields.get("Content")
        text = content if isinstance(content, str) else ""
        if text.strip():
            update.inbound = inbound(kind="text", text=text)
        else:
            update.hint = TEXTS["empty"]
    elif msg_type == "image":
        media_id = _media(fields)
        update.fetch.append((media_id, "photo"))
        update.inbound = inbound(kind="attachment", attachments=(Attachment("photo", media_id),))
    elif msg_type == "voice":
        media_id = _media(fields)
        update.fetch.append((media_id, "voice"))
        voice = (Attachment("voice", media_id, f"{media_id}.amr"),)
        said = text_field(fields, "Recognition")
        if said:  # WeChat's speech recognition: the dialog reads it like typed text
            update.inbound = inbound(kind="text", text=said, attachments=voice)
        else:
            update.inbound = inbound(kind="attachment", attachments=voice)
    elif msg_type in ("video", "shortvideo"):
        media_id = _media(fields)
        update.fetch.append((media_id, "video"))
        update.inbound = inbound(kind="attachment", attachments=(Attachment("video", media_id),))
    elif msg_type == "location":
        lat = _coordinate(fields, "Location_X", 90)
        lon = _coordinate(fields, "Location_Y", 180)
        place = Location(lat, lon, text_field(fields, "Label")[:200])
        update.inbound = inbound(kind="location", location=place)
    elif msg_type == "link":
        parts = [text_field(fields, n) for n in ("Title", "Description", "Url")]
        text = "\n".join(p for p in parts if p)
        if text:
            update.inbound = inbound(kind="text", text=text)
        else:
            update.hint = TEXTS["unsupported"]
    elif msg_type == "file" and text_field(fields, "MediaId"):
        media_id = _media(fields)
        update.fetch.append((media_id, "file"))
        name = text_field(fields, "Title")[:200]
        update.inbound = inbound(
            kind="attachment", attachments=(Attachment("file", media_id, name),)
        )
    elif msg_type == "file":
        update.hint = TEXTS["file_unsupported"]
    else:
        update.hint = TEXTS["unsupported"]
    return update


def _read_event(fields: dict[str, Any], channel: str, openid: str, created: str) -> _Update:
    event = text_field(fields, "Event").lower()
    if not event:
        raise CallbackError(400, "Event missing")
    event_key = text_field(fields, "EventKey")
    # WeChat's own rule is sender + CreateTime + event; the key tells two different
    # menu clicks within one second apart (a retry repeats it).
    key = f"{created}:{event}:{event_key[:64]}"
    update = _Update(openid, key)

    def inbound(**values: Any) -> Inbound:
        return Inbound(channel, openid, platform_msg_id=key, **values)

    if event in ("subscribe", "scan"):
        # A place QR code: qrscene_<region code> for a new follower, <code> for a follower.
        scene = event_key.removeprefix("qrscene_") if event == "subscribe" else event_key
        update.inbound = inbound(kind="start", payload=scene[:64])
        update.opens_window = True
    elif event == "click":
        payload = event_key if event_key in MENU_PAYLOADS else MENU_KEYS.get(event_key)
        update.inbound = inbound(kind="choice", payload=payload or _UNKNOWN_KEY)
        update.opens_window = True
    elif event == "location":
        lat = _coordinate(fields, "Latitude", 90)
        lon = _coordinate(fields, "Longitude", 180)
        update.inbound = inbound(kind="location", location=Location(lat, lon))
        update.only_in_report = True
    elif event == "unsubscribe":
        update.unsubscribed = True
    # VIEW (a menu link) and anything else: nothing to do.
    return update


# -- files ---------------------------------------------------------------------

_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "audio/amr": ".amr",
    "audio/speex": ".speex",
    "audio/mpeg": ".mp3",
    "video/mp4": ".mp4",
}
_DEFAULT_EXTENSIONS = {"photo": ".jpg", "voice": ".amr", "video": ".mp4", "file": ".bin"}


def _extension(data: bytes, content_type: str, kind: str) -> str:
    if data.startswith(b"#!AMR"):
        return ".amr"
    if data.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return ".gif"
    return _EXTENSIONS.get(content_type) or _DEFAULT_EXTENSIONS.get(kind, ".bin")


def _save(path: Path, data: bytes) -> None:
    """Write once under the content hash (an existing file has the same content)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
    partial.write_bytes(data)
    partial.replace(path)


# -- the channel -----------------------------------------------------------------


class WeChatChannel(ChannelAdapter):
    name = "wechat"

    def __init__(
        self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        if not settings.wechat_enabled:
            raise ValueError("WeChat needs MINSHI_WECHAT_APP_ID, _APP_SECRET and _TOKEN")
        assert settings.wechat_app_id and settings.wechat_app_secret and settings.wechat_token
        self.settings = settings
        self.callback = WeChatCallback(
            settings.wechat_token,
            settings.wechat_app_id,
            settings.wechat_aes_key or "",
            window_seconds=settings.wechat_timestamp_window_seconds,
        )
        self.passive_wait = settings.wechat_passive_wait_seconds
        self._transport = transport
        self._api: WeChatApi | None = None
        self._runtime: Runtime | None = None
        self._handover = _Handover()
        self._answers: OrderedDict[tuple[str, str], asyncio.Future[str | None]] = OrderedDict()
        self._choices: OrderedDict[str, tuple[Choice, ...]] = OrderedDict()
        self._noticed: set[int] = set()  # entries announced by a template message
        self._turns: set[asyncio.Task[list[Sent]]] = set()
        self._fetch_wake = asyncio.Event()
        self._fetch_after: dict[str, float] = {}
        self._fetcher: asyncio.Task[None] | None = None
        self._voice = VoiceConverter(settings.attachments_dir)

    # -- lifecycle -------------------------------------------------------------

    @property
    def api(self) -> WeChatApi:
        if self._api is None:
            raise RuntimeError("the WeChat channel works only after start()")
        return self._api

    async def start(self, runtime: Runtime) -> None:
        assert self.settings.wechat_app_id and self.settings.wechat_app_secret
        self._runtime = runtime
        self._api = WeChatApi(
            self.settings.wechat_api_url,
            self.settings.wechat_app_id,
            self.settings.wechat_app_secret,
            runtime.clock,
            transport=self._transport,
            tokens=runtime.store,  # every instance uses the same token
        )
        self._fetch_wake = asyncio.Event()
        self._fetcher = asyncio.create_task(self._fetch_files(runtime), name="wechat-files")

    async def stop(self) -> None:
        if self._turns:  # slow turns still running: let them store their replies
            await asyncio.wait(set(self._turns), timeout=_STOP_WAIT_SECONDS)
        if self._fetcher is not None:
            self._fetcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fetcher
            self._fetcher = None
        if self._api is not None:
            await self._api.aclose()
            self._api = None

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/wechat", self.verify, methods=["GET"]),
            Route("/wechat", self.receive, methods=["POST"]),
        ]

    # -- callback ----------------------------------------------------------------

    async def verify(self, request: Request) -> Response:
        """The URL check when the server address is saved in the account settings."""
        try:
            self.callback.verify_query(request.query_params, runtime_of(request).clock())
        except CallbackError as exc:
            raise HTTPException(exc.status, exc.reason) from None
        echo = request.query_params.get("echostr", "")
        if not echo:
            raise HTTPException(400, "echostr missing")
        return PlainTextResponse(echo)

    async def receive(self, request: Request) -> Response:
        rt = runtime_of(request)
        try:
            self.callback.verify_query(request.query_params, rt.clock())
            envelope = self.callback.open(request.query_params, await _body(request), rt.clock())
            update = read_update(envelope.fields, self.name)
        except CallbackError as exc:
            log.warning("wechat callback refused (%d): %s", exc.status, exc.reason)
            raise HTTPException(exc.status, exc.reason) from None
        if update is None:
            log.warning("wechat message without a sender openid ignored")
            return _success()
        memo = (update.openid, update.key)
        earlier = self._answers.get(memo)
        if earlier is not None:  # WeChat's retry of a message still or already answered
            log.info("wechat retry of %s answered as before", update.key)
            try:
                answer = await asyncio.wait_for(asyncio.shield(earlier), self.passive_wait)
            except TimeoutError:
                answer = None
            return self._respond(answer, envelope)
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._remember(self._answers, memo, future)
        try:
            answer = await self._handle(rt, update)
        except StorageUnavailable as exc:
            # Nothing stored: say so politely (WeChat's own error page would follow its
            # retries); the resident sends it again later.
            log.warning("wechat message %s not taken: %s", update.key, exc)
            self._answers.pop(memo, None)
            future.set_result(None)
            return self._respond(rt.engine.services.texts("unavailable"), envelope)
        except BaseException:
            self._answers.pop(memo, None)  # not answered: a retry must try again
            future.set_result(None)
            raise
        future.set_result(answer)
        return self._respond(answer, envelope)

    def _respond(self, answer: str | None, envelope: Envelope) -> Response:
        if answer is None:
            return _success()
        fields = envelope.fields
        reply = TextReply(
            source=text_field(fields, "ToUserName"),
            target=text_field(fields, "FromUserName"),
            content=answer,
            time=int(self._clock_seconds()),
        )
        xml = self.callback.seal(reply.render(), envelope)
        return Response(xml, media_type="application/xml")

    def _clock_seconds(self) -> float:
        return self._runtime.clock().timestamp() if self._runtime else 0.0

    async def _handle(self, rt: Runtime, update: _Update) -> str | None:
        """Do what the update asks; the passive reply, or None to answer ``success``."""
        now = rt.clock()
        destination = Destination(self.name, update.openid)
        if update.unsubscribed:
            await rt.store.set_reachable(destination, False, now, "unsubscribed")
            return None
        if update.hint is not None and update.inbound is None:
            await rt.store.outbox_wake(destination, now)
            return update.hint
        msg = update.inbound
        if msg is None:
            return None
        if update.only_in_report:
            loaded = await rt.store.conversation(self.name, update.openid)
            if loaded is None or loaded[0] not in _LOCATION_STEPS:
                return None
        if await rt.store.replies_to(self.name, update.openid, update.key):
            return None  # processed before a restart: its replies are in the outbox
        if update.opens_window:
            if not await rt.store.is_reachable(destination):
                await rt.store.set_reachable(destination, True, now, "wrote again")
            await rt.store.outbox_wake(destination, now)
        for media_id, kind in update.fetch:
            await rt.store.queue_file(self.name, media_id, kind, now)
            self._fetch_wake.set()
        if msg.kind == "text" and not msg.attachments:
            msg = await self._as_choice(rt, msg)
        return await self._converse(rt, msg)

    async def _as_choice(self, rt: Runtime, msg: Inbound) -> Inbound:
        """A Chinese ordinal or a close misspelling of a choice counts as picking it.

        A number or exact label is left to the dialog engine (it knows the latest
        choices itself); a message that tells of danger is always read as text.
        """
        choices = await self._last_choices(rt, msg.user_id)
        if not choices or exact_choice(msg.text, choices) is not None:
            return msg
        picked = close_choice(msg.text, choices)
        if picked is None or detect_danger(msg.text) is not None:
            return msg
        return replace(msg, kind="choice", payload=picked.payload)

    async def _last_choices(self, rt: Runtime, openid: str) -> tuple[Choice, ...]:
        known = self._choices.get(openid)
        if known is not None:
            return known
        # Not since this process started: the latest message the resident was sent.
        stored = await rt.store.outbound_after(self.name, openid, 0)
        choices = Outbound.from_json(stored[-1].body).choices if stored else ()
        self._remember(self._choices, openid, choices)
        return choices

    async def _converse(self, rt: Runtime, msg: Inbound) -> str | None:
        """Run the turn; its replies as the passive reply when they come in time."""
        self._handover.open(msg.user_id)
        try:
            turn = asyncio.create_task(rt.engine.handle(msg, inline=False))
            self._turns.add(turn)
            turn.add_done_callback(self._turn_done)
            done, _ = await asyncio.wait({turn}, timeout=self.passive_wait)
            if not done:
                log.info("wechat turn of %s is slow: replies go as service messages", msg.user_id)
                return None
            sent = turn.result()
            text = self._handover.claim(sent)
            if text is not None:
                for s in sent:
                    if self._handover.carried.get(s.id, 0) >= len(_pieces(s.message)):
                        self._remember(self._choices, msg.user_id, s.message.choices)
            return text
        finally:
            self._handover.close(msg.user_id)

    def _turn_done(self, turn: asyncio.Task[list[Sent]]) -> None:
        self._turns.discard(turn)
        if not turn.cancelled() and turn.exception() is not None:
            log.error("wechat turn failed", exc_info=turn.exception())

    @staticmethod
    def _remember(memory: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        memory[key] = value
        memory.move_to_end(key)
        while len(memory) > _MEMORY:
            memory.popitem(last=False)

    # -- outbox --------------------------------------------------------------

    async def send(self, entry: OutboxEntry) -> DeliveryResult:
        openid = entry.destination.address
        if not _OPENID.fullmatch(openid):
            return Unreachable("not a WeChat openid")
        if not await self._handover.settled(openid, self.passive_wait + 1.0):
            self._handover.by_api.add(entry.id)
        message = entry.message
        pieces = _pieces(message)
        start = self._handover.carried.get(entry.id, 0)
        if start >= len(pieces):  # it went back in the callback's answer
            self._finish(entry.id)
            return Delivered()
        if self._runtime and not await self._runtime.store.is_reachable(entry.destination):
            self._finish(entry.id)
            return Unreachable("the resident unfollowed the account")
        for index in range(start, len(pieces)):
            try:
                await self.api.send_text(openid, pieces[index])
            except WeChatApiError as exc:
                self._handover.carried[entry.id] = index
                if exc.code == OUTSIDE_WINDOW:
                    await self._announce(entry, message)
                result = delivery_result(exc, _WINDOW_WAIT)
                if isinstance(result, Unreachable):
                    self._finish(entry.id)
                log.info("wechat entry %s not sent: %s", entry.id, exc)
                return result
        self._finish(entry.id)
        self._remember(self._choices, openid, message.choices)
        return Delivered()

    def _finish(self, entry_id: int) -> None:
        self._handover.carried.pop(entry_id, None)
        self._handover.by_api.discard(entry_id)

    async def _announce(self, entry: OutboxEntry, message: Outbound) -> None:
        """Outside the 48-hour window: a template message tells the resident to come back."""
        template = self.settings.wechat_template_reply
        if not template or entry.id in self._noticed:
            return
        self._noticed.add(entry.id)
        start = message.text.strip().splitlines()[0] if message.text.strip() else ""
        data = {self.settings.wechat_template_field: start[:20] or TEXTS["template_notice"]}
        try:
            await self.api.send_template(entry.destination.address, template, data)
        except WeChatApiError as exc:
            log.warning("wechat template notice for entry %s failed: %s", entry.id, exc)

    # -- files ---------------------------------------------------------------

    async def _fetch_files(self, rt: Runtime) -> None:
        """Download what residents sent, in the background, until stopped."""
        loop = asyncio.get_running_loop()
        while True:
            self._fetch_wake.clear()
            try:
                waiting = await rt.store.files_to_fetch(self.name, _FETCH_BATCH)
                fetched = 0
                for item in waiting:
                    if self._fetch_after.get(item.platform_ref, 0.0) > loop.time():
                        continue
                    fetched += await self._fetch_one(rt, item)
            except Exception:
                log.exception("wechat file downloads failed")
                fetched = 0
            if fetched and len(waiting) == _FETCH_BATCH:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._fetch_wake.wait(), _FETCH_POLL_SECONDS)

    async def _fetch_one(self, rt: Runtime, item: FileToFetch) -> int:
        try:
            data, content_type = await self.api.download_media(item.platform_ref)
        except WeChatApiError as exc:
            attempts = item.attempts + 1
            give_up = exc.code == INVALID_MEDIA or attempts >= _FETCH_GIVE_UP
            await rt.store.file_failed(self.name, item.platform_ref, str(exc), rt.clock(), give_up)
            wait = min(30.0 * 2**attempts, 3600.0)
            self._fetch_after[item.platform_ref] = asyncio.get_running_loop().time() + wait
            log.warning("wechat %s %s not downloaded: %s", item.kind, item.platform_ref, exc)
            return 0
        name = hashlib.sha256(data).hexdigest() + _extension(data, content_type, item.kind)
        await asyncio.to_thread(_save, self.settings.attachments_dir / name, data)
        local, size = name, len(data)
        if name.endswith(".amr"):
            playable = await self._voice.playable(name)
            if playable is not None:
                local, size = playable
                log.info(
                    "wechat voice %s converted to %s; WeChat's AMR kept as %s",
                    item.platform_ref,
                    local,
                    name,
                )
        await rt.store.file_fetched(self.name, item.platform_ref, local, size, rt.clock())
        self._fetch_after.pop(item.platform_ref, None)
        return 1


def _success() -> Response:
    # WeChat's "received, the answer comes later": no retry, no error shown to the resident.
    return PlainTextResponse("success")


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and len(declared) < 19 and int(declared) > _MAX_BODY:
        raise CallbackError(413, "body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > _MAX_BODY:
            raise CallbackError(413, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)
