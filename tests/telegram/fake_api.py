"""A fake Telegram Bot API server on 127.0.0.1, for the real python-telegram-bot.

It speaks the HTTP protocol PTB uses (``POST /bot<token>/<method>`` with a
form body whose non-string values are JSON, answers ``{"ok": …}``), keeps
what a real server would (pending updates and the polling offset, the
webhook, the files residents sent) and records every call. A test can make
it answer a method with a 429 and ``retry_after``, a 403 for a resident who
blocked the bot, a 5xx, or hold a method until released; ``down`` makes
every method fail like an outage. ``deliver`` posts an update to the
service's webhook as Telegram would, with the registered secret.

Forum supergroups (``forum``) have topics the bot opens, renames, closes,
reopens and deletes; a person can close or delete one by hand, and a post
to it then fails as on Telegram ("message thread not found", TOPIC_CLOSED).
``getChatMember`` answers from the group's member list.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import json
import socket
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuv"
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "民事直说",
    "username": "minshi_test_bot",
    "can_join_groups": False,
}
DATE = 1_795_000_000  # a Unix time; the bot never looks at it


@dataclass
class Call:
    method: str
    params: dict[str, str]

    def json(self, name: str) -> Any:
        """A parameter PTB sent JSON-encoded (numbers, objects, lists)."""
        raw = self.params.get(name)
        return None if raw is None else json.loads(raw)


@dataclass
class Sent:
    """A message the bot sent (edits change it in place)."""

    message_id: int
    chat_id: int
    text: str
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    edits: int = 0
    thread_id: int | None = None  # the forum topic it was posted in
    kind: str = "text"  # text | photo | document | voice | video

    @property
    def inline_buttons(self) -> list[dict[str, Any]]:
        markup = self.reply_markup or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    @property
    def keyboard_buttons(self) -> list[dict[str, Any]]:
        markup = self.reply_markup or {}
        return [b for row in markup.get("keyboard", []) for b in row]

    def as_update_message(self) -> dict[str, Any]:
        """The message as Telegram puts it into a callback query."""
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "date": DATE,
            "chat": chat_json(self.chat_id),
            "from": BOT_USER,
            "text": self.text,
        }
        if self.thread_id is not None:
            message |= {"message_thread_id": self.thread_id, "is_topic_message": True}
        if self.entities:
            message["entities"] = self.entities
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            message["reply_markup"] = self.reply_markup
        return message


def chat_json(chat_id: int) -> dict[str, Any]:
    """A chat as Telegram describes it: a resident's private chat, or a forum group."""
    if chat_id < 0:
        return {"id": chat_id, "type": "supergroup", "title": "综治中心调解群", "is_forum": True}
    return {"id": chat_id, "type": "private", "first_name": "居民"}


@dataclass
class Topic:
    """A topic of a forum group."""

    thread_id: int
    name: str
    closed: bool = False
    deleted: bool = False
    renames: list[str] = field(default_factory=list)


@dataclass
class _Scripted:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class FakeBotApi:
    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)  # updates not yet confirmed
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file_id → (path, data)
    blocked: set[int] = field(default_factory=set)  # chats that blocked the bot
    down: bool = False  # every method answers 502
    failing: set[str] = field(default_factory=set)  # these methods answer 502
    webhook: dict[str, Any] = field(default_factory=dict)
    webhook_target: str = ""  # where ``deliver`` posts (the service, behind "the proxy")
    base_url: str = ""
    forums: dict[int, dict[int, Topic]] = field(default_factory=dict)  # group → its topics
    members: dict[int, set[int]] = field(default_factory=dict)  # group → user ids in it
    _next_thread: int = 100
    _script: dict[str, list[_Scripted]] = field(default_factory=lambda: defaultdict(list))
    _holds: dict[str, asyncio.Event] = field(default_factory=dict)
    _next_update: int = 5000
    _next_message: int = 1
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _closing: bool = False

    # -- what tests arrange ---------------------------------------------------------

    def fail(
        self, method: str, status: int, description: str = "", *, retry_after: int | None = None
    ) -> None:
        """Answer the next call of ``method`` with this error (queue several for more)."""
        text = description or {
            429: f"Too Many Requests: retry after {retry_after}",
            403: "Forbidden: bot was blocked by the user",
            502: "Bad Gateway",
        }.get(status, "Internal Server Error")
        self._script[method].append(_Scripted(status, text, retry_after))

    async def outage(self, down: bool) -> None:
        """Every method answers 502 (a long poll already waiting too), or works again."""
        async with self._changed:
            self.down = down
            self._changed.notify_all()

    def hold(self, method: str) -> asyncio.Event:
        """Calls of ``method`` wait until the returned event is set."""
        self._holds[method] = asyncio.Event()
        return self._holds[method]

    def update(self, **content: Any) -> dict[str, Any]:
        """A new update with the next update_id (not yet delivered)."""
        self._next_update += 1
        return {"update_id": self._next_update, **content}

    async def queue(self, update: dict[str, Any]) -> None:
        """Make an update available to getUpdates (long polling)."""
        async with self._changed:
            self.pending.append(update)
            self._changed.notify_all()

    async def deliver(self, update: dict[str, Any], secret: str | None = None) -> httpx.Response:
        """POST an update to the webhook, with the secret set by setWebhook."""
        token = self.webhook.get("secret_token", "") if secret is None else secret
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            return await client.post(self.webhook_target, json=update, headers=headers)

    def add_file(self, file_id: str, path: str, data: bytes) -> None:
        self.files[file_id] = (path, data)

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 5) -> None:
        """Until ``condition()`` holds, re-checked after every call the fake answers."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(condition)

    def forum(self, chat_id: int, members: set[int]) -> None:
        """A forum supergroup with these people in it (the bot is its admin)."""
        self.forums[chat_id] = {}
        self.members[chat_id] = set(members)

    def topics(self, chat_id: int) -> list[Topic]:
        return [t for t in self.forums.get(chat_id, {}).values() if not t.deleted]

    def in_topic(self, chat_id: int, thread_id: int) -> list[Sent]:
        return [m for m in self.sent if m.chat_id == chat_id and m.thread_id == thread_id]

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """Someone deleted the topic by hand (its messages go with it)."""
        self.forums[chat_id][thread_id].deleted = True
        self.sent = [
            m for m in self.sent if not (m.chat_id == chat_id and m.thread_id == thread_id)
        ]

    def close_topic(self, chat_id: int, thread_id: int) -> None:
        """Someone closed the topic by hand."""
        self.forums[chat_id][thread_id].closed = True

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def to(self, chat_id: int) -> list[Sent]:
        return [m for m in self.sent if m.chat_id == chat_id]

    # -- the server -----------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._method, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
            ]
        )

    async def _method(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        call = Call(method, await _params(request))
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        hold = self._holds.get(method)
        if hold is not None:
            await hold.wait()
        try:
            return await self._answer(call)
        finally:
            async with self._changed:
                self._changed.notify_all()

    async def _answer(self, call: Call) -> Response:
        if self.down or call.method in self.failing:
            return _error(502, "Bad Gateway")
        scripted = self._script.get(call.method)
        if scripted:
            s = scripted.pop(0)
            return _error(s.status, s.description, s.retry_after)
        handler = getattr(self, f"_api_{call.method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result = handler(call)
        if asyncio.iscoroutine(result):
            result = await result
        if isinstance(result, Response):
            return result
        return JSONResponse({"ok": True, "result": result})

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        for path, data in self.files.values():
            if path == request.path_params["path"]:
                return Response(data, media_type="application/octet-stream")
        return Response(status_code=404)

    # -- Bot API methods --------------------------------------------------------------

    def _api_getMe(self, call: Call) -> Any:
        return BOT_USER

    async def _api_getUpdates(self, call: Call) -> Any:
        offset = call.json("offset")
        timeout = min(float(call.json("timeout") or 0), 10.0)
        limit = call.json("limit") or 100
        if self.webhook.get("url"):
            return _error(409, "Conflict: can't use getUpdates method while webhook is active")
        async with self._changed:
            if offset is not None:
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
                self._changed.notify_all()
            if not self.pending and timeout > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._changed.wait_for(
                            lambda: bool(self.pending) or self.down or self._closing
                        )
            if self.down:  # the outage began while this request waited
                return _error(502, "Bad Gateway")
            return self.pending[:limit]

    def _api_setWebhook(self, call: Call) -> Any:
        self.webhook = {
            "url": call.params.get("url", ""),
            "secret_token": call.params.get("secret_token", ""),
            "allowed_updates": call.json("allowed_updates"),
        }
        if call.json("drop_pending_updates"):
            self.pending.clear()
        return True

    def _api_deleteWebhook(self, call: Call) -> Any:
        self.webhook = {}
        if call.json("drop_pending_updates"):
            self.pending.clear()
        return True

    def _api_getWebhookInfo(self, call: Call) -> Any:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
            "allowed_updates": self.webhook.get("allowed_updates") or [],
        }

    def _thread_error(self, call: Call) -> JSONResponse | None:
        """Why a post to a forum topic fails, as Telegram says it; None when it can go."""
        chat_id, thread = int(call.json("chat_id")), call.json("message_thread_id")
        if thread is None or chat_id not in self.forums:
            return None
        topic = self.forums[chat_id].get(int(thread))
        if topic is None or topic.deleted:
            return _error(400, "Bad Request: message thread not found")
        if topic.closed:
            return _error(400, "Bad Request: TOPIC_CLOSED")
        return None

    def _topic_of(self, call: Call) -> Topic | JSONResponse:
        chat_id = int(call.json("chat_id"))
        if chat_id not in self.forums:
            return _error(400, "Bad Request: the chat is not a forum")
        topic = self.forums[chat_id].get(int(call.json("message_thread_id")))
        if topic is None or topic.deleted:
            return _error(400, "Bad Request: TOPIC_ID_INVALID")
        return topic

    def _api_createForumTopic(self, call: Call) -> Any:
        chat_id = int(call.json("chat_id"))
        if chat_id not in self.forums:
            return _error(400, "Bad Request: the chat is not a forum")
        name = call.params.get("name", "")
        if not 1 <= len(name) <= 128:
            return _error(400, "Bad Request: TOPIC_NAME_INVALID")
        self._next_thread += 1
        self.forums[chat_id][self._next_thread] = Topic(self._next_thread, name)
        return {"message_thread_id": self._next_thread, "name": name, "icon_color": 7322096}

    def _api_editForumTopic(self, call: Call) -> Any:
        topic = self._topic_of(call)
        if isinstance(topic, JSONResponse):
            return topic
        name = call.params.get("name", topic.name)
        if name == topic.name:
            return _error(400, "Bad Request: TOPIC_NOT_MODIFIED")
        topic.name = name
        topic.renames.append(name)
        return True

    def _api_closeForumTopic(self, call: Call) -> Any:
        topic = self._topic_of(call)
        if isinstance(topic, JSONResponse):
            return topic
        topic.closed = True
        return True

    def _api_reopenForumTopic(self, call: Call) -> Any:
        topic = self._topic_of(call)
        if isinstance(topic, JSONResponse):
            return topic
        if not topic.closed:
            return _error(400, "Bad Request: TOPIC_NOT_MODIFIED")
        topic.closed = False
        return True

    def _api_deleteForumTopic(self, call: Call) -> Any:
        topic = self._topic_of(call)
        if isinstance(topic, JSONResponse):
            return topic
        self.delete_topic(int(call.json("chat_id")), topic.thread_id)
        return True

    def _api_getChatMember(self, call: Call) -> Any:
        chat_id, user_id = int(call.json("chat_id")), int(call.json("user_id"))
        if chat_id not in self.members:
            return _error(400, "Bad Request: chat not found")
        status = "member" if user_id in self.members[chat_id] else "left"
        user = {"id": user_id, "is_bot": False, "first_name": "某人"}
        return {"status": status, "user": user}

    def _api_sendMessage(self, call: Call) -> Any:
        chat_id = int(call.json("chat_id"))
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        text = call.params.get("text", "")
        if not text or len(text.encode("utf-16-le")) // 2 > 4096:
            return _error(400, "Bad Request: message text is empty or too long")
        refused = self._thread_error(call)
        if refused is not None:
            return refused
        thread = call.json("message_thread_id")
        message = Sent(
            self._next_message,
            chat_id,
            text,
            call.json("entities") or [],
            call.json("reply_markup"),
            thread_id=None if thread is None else int(thread),
        )
        self._next_message += 1
        self.sent.append(message)
        return self._message_json(message)

    def _api_editMessageText(self, call: Call) -> Any:
        chat_id, message_id = int(call.json("chat_id")), int(call.json("message_id"))
        for message in self.sent:
            if message.chat_id == chat_id and message.message_id == message_id:
                message.text = call.params.get("text", "")
                message.entities = call.json("entities") or []
                message.reply_markup = call.json("reply_markup")
                message.edits += 1
                return self._message_json(message)
        return _error(400, "Bad Request: message to edit not found")

    def _api_editMessageReplyMarkup(self, call: Call) -> Any:
        chat_id, message_id = int(call.json("chat_id")), int(call.json("message_id"))
        for message in self.sent:
            if message.chat_id == chat_id and message.message_id == message_id:
                message.reply_markup = call.json("reply_markup")
                message.edits += 1
                return self._message_json(message)
        return _error(400, "Bad Request: message to edit not found")

    def _api_answerCallbackQuery(self, call: Call) -> Any:
        return True

    def _api_getFile(self, call: Call) -> Any:
        file_id = call.params.get("file_id", "")
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        path, data = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(data),
            "file_path": path,
        }

    def _api_sendPhoto(self, call: Call) -> Any:
        return self._media_message(call, "photo")

    def _api_sendDocument(self, call: Call) -> Any:
        return self._media_message(call, "document")

    def _api_sendVoice(self, call: Call) -> Any:
        return self._media_message(call, "voice")

    def _api_sendVideo(self, call: Call) -> Any:
        return self._media_message(call, "video")

    def _media_message(self, call: Call, kind: str) -> Any:
        chat_id = int(call.json("chat_id"))
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        refused = self._thread_error(call)
        if refused is not None:
            return refused
        thread = call.json("message_thread_id")
        message = Sent(
            self._next_message,
            chat_id,
            call.params.get("caption", ""),
            [],
            None,
            thread_id=None if thread is None else int(thread),
            kind=kind,
        )
        self._next_message += 1
        self.sent.append(message)
        media: Any = {"file_id": f"sent-{message.message_id}", "file_unique_id": "s"}
        if kind == "photo":
            media = [{**media, "width": 1, "height": 1}]
        elif kind in ("voice", "video"):
            size = {"width": 1, "height": 1} if kind == "video" else {}
            media = {**media, "duration": 1, **size}
        return {**self._message_json(message), kind: media}

    def _message_json(self, message: Sent) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": message.message_id,
            "date": DATE,
            "chat": chat_json(message.chat_id),
            "from": BOT_USER,
            "text": message.text,
        }
        if message.thread_id is not None:
            body |= {"message_thread_id": message.thread_id, "is_topic_message": True}
        if message.entities:
            body["entities"] = message.entities
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            body["reply_markup"] = message.reply_markup
        return body


def _error(status: int, description: str, retry_after: int | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=status)


async def _params(request: Request) -> dict[str, str]:
    """The form fields of a call: urlencoded, or multipart when PTB uploads a file."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        params: dict[str, str] = {}
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str) and part.get_filename() is None:
                params[name] = part.get_content()
        return params
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


@contextlib.asynccontextmanager
async def run_fake_api() -> AsyncIterator[FakeBotApi]:
    """The fake server on a free port of 127.0.0.1 until the block ends."""
    fake = FakeBotApi()
    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    fake.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(fake.app(), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield fake
    finally:
        for hold in fake._holds.values():
            hold.set()
        async with fake._changed:  # long polls still waiting end now
            fake._closing = True
            fake._changed.notify_all()
        server.should_exit = True
        await task
        sock.close()
