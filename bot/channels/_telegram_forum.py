"""Mediators in their center's Telegram forum group: a topic per case.

Sending (``send``, the outbox adapter of ``telegram-topic`` destinations):
the first post of a case opens its topic, claimed in the store first so
that two senders never open two; the card (summary, 认领 button, the
resident's conversation and files) comes first in every new topic. A topic
deleted or closed by hand is noticed when Telegram answers "message thread
not found" or TOPIC_CLOSED: a closed one is reopened, a deleted one opened
again with the card, and the post is sent there — nothing is lost.

Receiving (``handle``, called by the Telegram channel for the groups' updates
and for ``/link`` in a private chat): a tap on 认领, a plain message (relayed
to the resident, on whatever channel they use) and the commands /resolve,
/escalate, /transfer, /note, /claim run the console's own actions
(``bot.console.actions``) as the mediator the Telegram account is linked to,
so a claim here and one in the console are the same exclusive claim. Only
members of the group linked to an account of the group's center may act;
everyone else is told politely why not. Each update acts once, even when
Telegram sends it again.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import Bot, ChatMember, Message, Update
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.console.access import staff_for
from bot.console.actions import ActionError, run_action
from bot.console.linking import CODE_MINUTES, code_hash
from bot.storage import Account, ForumStore, SqlForumStore
from common.messages import Outbound
from common.outbox import (
    Delivered,
    DeliveryResult,
    Destination,
    OutboxEntry,
    RetryLater,
    Unreachable,
)
from handoff import OUTCOME_LABELS, Case, CaseStatus, Center

from ._telegram_forum_feed import (
    TOPIC_CHANNEL,
    ForumFeed,
    origin_of,
    parse_topic_address,
    topic_destination,
)
from ._telegram_forum_render import CLAIM_PREFIX, Piece, TopicRenderer
from .base import ChannelAdapter

if TYPE_CHECKING:
    from bot.runtime import Runtime

__all__ = ["REFUSALS", "ForumChannel"]

log = logging.getLogger(__name__)

STALE_CREATION = timedelta(seconds=60)  # a topic claimed this long ago and not opened: retake
WAIT_FOR_CREATION = timedelta(seconds=1)
NOT_IN_GROUP_RETRY = timedelta(minutes=10)
# How long a group membership looked up is trusted, unless the group says
# sooner that someone joined, left or was removed.
MEMBER_SECONDS = 60.0
LINK_TRIES = 5  # wrong link codes a Telegram user may send per window
LINK_WINDOW = 15 * 60.0
_COMMAND = re.compile(r"/([A-Za-z_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?", re.DOTALL)
_MEMBERS = {ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER}
_OUTCOMES = {
    **{label: key for key, label in OUTCOME_LABELS.items()},
    **{key: key for key in OUTCOME_LABELS},
    "成功": "mediated",
    "诉讼": "to_court_or_arbitration",
    "仲裁": "to_court_or_arbitration",
    "诉讼或仲裁": "to_court_or_arbitration",
    "转办": "referred",
    "不受理": "not_accepted",
}
# What people who may not act are told (plain and polite; nothing was changed).
REFUSALS = {
    "not_member": "{who}，您不在{center}的调解群里，不能办理这件事。",
    "unlinked": (
        "{who}，您的 Telegram 还没有关联调解员账号，所以不能在这里办理，刚才的消息也没有转给居民。"
        "请在调解台「我的账号」里生成关联码，再私信发给我：/link 关联码"
    ),
    "other_center": "{who}，您是{own}的调解员，这里是{center}的事项，不能在这里办理。",
    "anonymous": "匿名发言不能办理事项，请关闭「匿名管理员」后再发。",
    "failed": "出了点问题，刚才的操作没有完成，请再试一次。",
}
TEXTS = {
    "usage_resolve": (
        "用法：/resolve 结果 [说明]。结果写：调解成功、引导诉讼或仲裁、转办部门、不予受理"
        "（不予受理要写理由）。"
    ),
    "usage_escalate": "用法：/escalate 上交理由",
    "usage_transfer": (
        "用法：/transfer 中心编号或名称 转办理由，例如 /transfer 620702103 不归本村管"
    ),
    "usage_note": "用法：/note 备注内容（只有本中心的人能看到）",
    "no_center": "找不到「{name}」这个综治中心或调解委员会，请写中心的编号或全名。",
    "media_only": "照片和文件暂时不能转给居民，请用文字说明。",
    "text_only": "文字已经转给居民；照片和文件暂时不能转，请用文字说明。",
    "claimed": "认领成功。在这个话题里直接发消息，就会转给居民。",
    "link_usage": "请发送：/link 关联码（在调解台「我的账号」里生成，{minutes} 分钟内有效）",
    "link_bad": (
        "关联码不对，或者已经过期、用过了。请在调解台「我的账号」里重新生成一个"
        "（{minutes} 分钟内有效，只能用一次）。"
    ),
    "link_slow": "试错的次数太多了，请过一刻钟再试。",
    "linked": (
        "已关联：{name}（{center}）。\n以后本中心的新事项、紧急事项和快到期的事项会发到这里；"
        "在中心的 Telegram 群里，也可以认领和办理事项。"
    ),
}


def _thread_gone(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return "thread not found" in text or "topic_deleted" in text or "topic_id_invalid" in text


def _thread_closed(exc: BadRequest) -> bool:
    return "topic_closed" in exc.message.lower()


def _failure(exc: TelegramError, what: str) -> DeliveryResult:
    if isinstance(exc, RetryAfter):
        wait = exc.retry_after
        delay = wait if isinstance(wait, timedelta) else timedelta(seconds=float(wait))
        return RetryLater(f"Telegram flood control while {what}", delay)
    if isinstance(exc, BadRequest) and "chat not found" in exc.message.lower():
        return Unreachable(f"Telegram: the group is unknown ({exc.message})")
    return RetryLater(f"Telegram, {what}: {exc.message}")


class ForumChannel(ChannelAdapter):
    """Sends the posts of case topics and acts on what mediators do in the groups."""

    name = TOPIC_CHANNEL

    def __init__(self, bot: Bot, store: ForumStore | None = None) -> None:
        self.bot = bot
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._store = store
        self._runtime: Runtime | None = None
        self._render: TopicRenderer | None = None
        self._feed: ForumFeed | None = None
        self.groups: dict[int, Center] = {}
        self._progress: dict[int, tuple[int, int]] = {}  # entry id → (thread, pieces sent)
        self._members: dict[tuple[int, int], tuple[float, bool]] = {}
        self._link_failures: dict[int, list[float]] = {}

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the forum channel works only after start()")
        return self._runtime

    @property
    def store(self) -> ForumStore:
        if self._store is None:
            self._store = SqlForumStore(self.runtime.db)
        return self._store

    @property
    def render(self) -> TopicRenderer:
        if self._render is None:
            self._render = TopicRenderer(self.runtime)
        return self._render

    async def start(self, runtime: Runtime) -> None:
        """Idempotent: the Telegram channel starts it before its first update."""
        self._runtime = runtime
        self.groups = {c.telegram_group: c for c in runtime.centers.centers() if c.telegram_group}
        if self.groups and self._feed is None:
            self._feed = ForumFeed(runtime.centers)
            runtime.cases.feeds.append(self._feed)

    async def stop(self) -> None:
        if self._feed is not None and self._runtime is not None:
            self._runtime.cases.feeds.remove(self._feed)
            self._feed = None

    # -- sending --------------------------------------------------------------------

    async def send(self, entry: OutboxEntry) -> DeliveryResult:
        parsed = parse_topic_address(entry.destination.address)
        if parsed is None:
            return Unreachable(f"not a topic address: {entry.destination.address!r}")
        chat_id, number = parsed
        case = await self.runtime.store.case_by_number(number)
        if case is None:
            return Unreachable(f"no case {number}")
        post: dict[str, Any] = entry.body.get("topic") or {"text": entry.body.get("text", "")}
        for _ in range(3):  # a topic deleted by hand is opened again, at most twice
            opened = await self._topic(case, chat_id, rename_only=post.get("kind") == "rename")
            if not isinstance(opened, tuple):
                return opened
            thread, fresh = opened
            pieces = []
            if fresh and post.get("kind") != "card":
                pieces = await self._card(case, chat_id, {"kind": "card"})
            if post.get("kind") == "card":
                pieces += await self._card(case, chat_id, post)
            else:
                pieces += await self.render.post(case, post)
            result = await self._send_pieces(entry.id, case, chat_id, thread, pieces)
            if result is not None:
                return result
        return RetryLater("the topic keeps disappearing; trying again later")

    async def _topic(
        self, case: Case, chat_id: int, *, rename_only: bool
    ) -> tuple[int, bool] | DeliveryResult:
        """(thread, whether it is new) of the case's topic in this group, opened now if
        there is none; or why not now."""
        now = self.runtime.clock()
        topics = {t.chat_id: t for t in await self.store.topics_of_case(case.id)}
        current = topics.get(chat_id)
        if current is not None and current.state == "open" and current.thread_id:
            return current.thread_id, False
        if rename_only:
            return Delivered()  # no topic now: the one opened later is named right then
        claim = await self.store.claim_topic(
            case.id, chat_id, self.owner, now, now - STALE_CREATION
        )
        if not claim.create:
            if claim.topic is not None and claim.topic.thread_id:
                return claim.topic.thread_id, False
            return RetryLater("another sender is opening the topic", WAIT_FOR_CREATION)
        try:
            name = self.render.topic_name(case, _mark_now(case, self.groups.get(chat_id)))
            topic = await self.bot.create_forum_topic(chat_id, name)
        except TelegramError as exc:
            await self.store.release_topic(case.id, chat_id, self.owner)
            log.warning("telegram: cannot open a topic in group %s: %s", chat_id, exc)
            return _failure(exc, "opening a topic")
        opened = await self.store.topic_created(
            case.id, chat_id, self.owner, topic.message_thread_id
        )
        if opened is None:
            return RetryLater("the topic claim was taken over", WAIT_FOR_CREATION)
        log.info("telegram: topic %s opened for %s", topic.message_thread_id, case.number)
        return topic.message_thread_id, True

    async def _card(self, case: Case, chat_id: int, post: dict[str, Any]) -> list[Piece]:
        back = None
        for topic in await self.store.topics_of_case(case.id):
            if topic.chat_id != chat_id and topic.thread_id:
                back = topic.link
        return await self.render.card(case, post, back)

    async def _send_pieces(
        self, entry_id: int, case: Case, chat_id: int, thread: int, pieces: list[Piece]
    ) -> DeliveryResult | None:
        """Send the pieces not sent yet; None when the thread is gone (open it again)."""
        done_thread, done = self._progress.get(entry_id, (thread, 0))
        start = done if done_thread == thread else 0
        for index in range(start, len(pieces)):
            try:
                await self._put(case, chat_id, thread, pieces[index])
            except BadRequest as exc:
                if _thread_closed(exc) and await self._reopen(chat_id, thread):
                    try:
                        await self._put(case, chat_id, thread, pieces[index])
                        continue
                    except BadRequest as again:
                        exc = again
                if _thread_gone(exc) or _thread_closed(exc):
                    self._progress.pop(entry_id, None)
                    await self.store.topic_lost(case.id, chat_id, thread)
                    log.warning(
                        "telegram: topic %s of %s is gone; opening it again", thread, case.number
                    )
                    return None
                log.warning("telegram: a post to %s was refused (%s); skipped", case.number, exc)
            except Forbidden as exc:  # the bot was removed: posts wait until it is back
                self._progress[entry_id] = (thread, index)
                reason = f"Telegram: the bot cannot post in group {chat_id}: {exc.message}"
                return RetryLater(reason, NOT_IN_GROUP_RETRY)
            except TelegramError as exc:
                self._progress[entry_id] = (thread, index)
                return _failure(exc, "posting to a topic")
        self._progress.pop(entry_id, None)
        return Delivered()

    async def _reopen(self, chat_id: int, thread: int) -> bool:
        try:
            await self.bot.reopen_forum_topic(chat_id, thread)
        except BadRequest as exc:
            return "not_modified" in exc.message.lower()
        return True

    async def _put(self, case: Case, chat_id: int, thread: int, piece: Piece) -> None:
        """One Bot API call of a post."""
        if piece.rename is not None:
            try:
                await self.bot.edit_forum_topic(chat_id, thread, name=piece.rename)
            except BadRequest as exc:
                if "not_modified" not in exc.message.lower():
                    raise
            return
        if piece.clear_card:
            await self._clear_card(case, chat_id, thread)
            return
        if piece.file is not None:
            await self._put_file(chat_id, thread, piece)
            return
        sent = await self.bot.send_message(
            chat_id, piece.text, message_thread_id=thread, reply_markup=piece.markup
        )
        if piece.card:
            await self.store.set_card_message(case.id, chat_id, thread, sent.message_id)

    async def _put_file(self, chat_id: int, thread: int, piece: Piece) -> None:
        file = piece.file
        assert file is not None
        source: Any = file.file_id if file.file_id else file.path
        try:
            if file.kind == "photo":
                await self.bot.send_photo(
                    chat_id, source, caption=piece.text, message_thread_id=thread
                )
            elif file.kind == "voice" and file.file_id:
                await self.bot.send_voice(
                    chat_id, source, caption=piece.text, message_thread_id=thread
                )
            elif file.kind == "video" and file.file_id:
                await self.bot.send_video(
                    chat_id, source, caption=piece.text, message_thread_id=thread
                )
            else:
                await self.bot.send_document(
                    chat_id, source, caption=piece.text, message_thread_id=thread
                )
        except BadRequest as exc:
            if _thread_gone(exc) or _thread_closed(exc):
                raise
            log.info("telegram: a file could not be posted (%s); its link instead", exc.message)
            await self.bot.send_message(chat_id, file.fallback, message_thread_id=thread)

    async def _clear_card(self, case: Case, chat_id: int, thread: int) -> None:
        """Take the 认领 button off the card: the case is claimed, moved or closed."""
        for topic in await self.store.topics_of_case(case.id):
            if topic.chat_id == chat_id and topic.thread_id == thread and topic.card_message_id:
                try:
                    await self.bot.edit_message_reply_markup(
                        chat_id, topic.card_message_id, reply_markup=None
                    )
                except BadRequest as exc:
                    log.debug("telegram: the card keeps its button: %s", exc.message)

    # -- receiving ------------------------------------------------------------------

    def takes(self, update: Update) -> bool:
        """Whether an update is this channel's: from a center's group, or /link."""
        message = update.message or (
            update.callback_query.message if update.callback_query else None
        )
        if update.chat_member is not None:
            return update.chat_member.chat.id in self.groups
        if message is None:
            return (
                update.edited_message is not None and update.edited_message.chat.id in self.groups
            )
        if message.chat.id in self.groups:
            return True
        text = update.message.text if update.message is not None else None
        return (
            message.chat.type == message.chat.PRIVATE
            and text is not None
            and _command(text)[0] == "link"
        )

    async def handle(self, update: Update) -> None:
        """Act on an update ``takes`` accepted, once (a re-sent update does nothing)."""
        rt = self.runtime
        if update.edited_message is not None and update.message is None:
            return  # an edit is not a new message; what was sent stands
        if update.chat_member is not None:  # (Telegram sends these to group admins)
            changed = update.chat_member
            self._forget_member(changed.chat.id, changed.new_chat_member.user.id)
            return
        if not await rt.store.first_sight("telegram", f"update:{update.update_id}", rt.clock()):
            log.info("telegram: group update %s again; done before", update.update_id)
            return
        try:
            if update.callback_query is not None:
                await self._tapped(update)
            elif update.message is not None and update.message.chat.id in self.groups:
                await self._group_message(update.message)
            elif update.message is not None:
                await self._link(update.message)
        except Exception:
            log.exception("telegram: group update %s failed", update.update_id)
            await self._say_failed(update)

    async def _say_failed(self, update: Update) -> None:
        message = update.message
        if message is None or message.message_thread_id is None:
            return
        topic = await self.store.topic_by_thread(message.chat.id, message.message_thread_id)
        case = await self.runtime.store.case_by_id(topic.case_id) if topic else None
        if case is not None:
            await self._tell(message.chat.id, case, REFUSALS["failed"])

    async def _tell(self, chat_id: int, case: Case, text: str) -> None:
        await self.runtime.push(topic_destination(chat_id, case.number), Outbound(text))

    async def _case_of(self, message: Message) -> Case | None:
        if not message.is_topic_message or message.message_thread_id is None:
            return None  # the General topic: talk among the mediators
        topic = await self.store.topic_by_thread(message.chat.id, message.message_thread_id)
        return await self.runtime.store.case_by_id(topic.case_id) if topic else None

    async def _staff_or_refusal(
        self, chat_id: int, user_id: int, who: str
    ) -> tuple[Account | None, str]:
        """The account acting, or the polite refusal to give."""
        center = self.groups[chat_id]
        if not await self._is_member(chat_id, user_id):
            return None, REFUSALS["not_member"].format(who=who, center=center.name)
        account = await self.runtime.accounts.account_by_telegram(str(user_id))
        if account is None or not account.active:
            return None, REFUSALS["unlinked"].format(who=who)
        if account.center_id != center.id:
            own = self.runtime.centers.center(account.center_id)
            name = own.name if own else account.center_id
            return None, REFUSALS["other_center"].format(who=who, own=name, center=center.name)
        return account, ""

    def _forget_member(self, chat_id: int, user_id: int) -> None:
        """Someone joined, left or was removed: ask Telegram again next time."""
        self._members.pop((chat_id, user_id), None)

    async def _is_member(self, chat_id: int, user_id: int) -> bool:
        key = (chat_id, user_id)
        cached = self._members.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            member = await self.bot.get_chat_member(chat_id, user_id)
        except BadRequest:
            found = False  # "user not found": never was in the group
        else:
            found = member.status in _MEMBERS or (
                member.status == ChatMember.RESTRICTED and bool(getattr(member, "is_member", False))
            )
        self._members[key] = (time.monotonic() + MEMBER_SECONDS, found)
        return found

    async def _tapped(self, update: Update) -> None:
        query = update.callback_query
        assert query is not None
        data = query.data or ""
        message = query.message
        answer = ""
        if message is not None and message.chat.id in self.groups and data.startswith(CLAIM_PREFIX):
            number = data.removeprefix(CLAIM_PREFIX)
            who = query.from_user.first_name
            account, refusal = await self._staff_or_refusal(
                message.chat.id, query.from_user.id, who
            )
            answer = refusal
            if account is not None:
                answer = await self._act(account, number, "claim", {}) or TEXTS["claimed"]
        try:
            await self.bot.answer_callback_query(
                query.id, answer[:200] or None, show_alert=bool(answer)
            )
        except TelegramError as exc:
            log.debug("telegram: answering a callback failed: %s", exc)

    async def _act(
        self,
        account: Account,
        number: str,
        action: str,
        fields: Mapping[str, Any],
        origin: str | None = None,
    ) -> str:
        """Run a console action as this account; the refusal to show, or "" when done."""
        staff = staff_for(account, self.runtime.centers)
        try:
            await run_action(self.runtime, staff, number, action, fields, origin=origin)
        except ActionError as exc:
            return exc.message
        return ""

    async def _group_message(self, message: Message) -> None:
        joined_or_left = [*(message.new_chat_members or ()), message.left_chat_member]
        for person in joined_or_left:
            if person is not None:
                self._forget_member(message.chat.id, person.id)
        case = await self._case_of(message)
        if case is None:
            return
        user = message.from_user
        chat_id = message.chat.id
        if message.sender_chat is not None:
            await self._tell(chat_id, case, REFUSALS["anonymous"])
            return
        if user is None or user.is_bot:
            return
        text = (message.text or message.caption or "").strip()
        name, argument = _command(text)
        if name is None and not text and not _has_media(message):
            return  # a service message (topic edited, someone joined)
        account, refusal = await self._staff_or_refusal(chat_id, user.id, user.first_name)
        if account is None:
            await self._tell(chat_id, case, refusal)
            return
        destination = topic_destination(chat_id, case.number)
        if name is None:
            if not text:
                await self._tell(chat_id, case, TEXTS["media_only"])
                return
            origin = origin_of(destination)
            refused = await self._act(account, case.number, "reply", {"text": text}, origin)
            if not refused and _has_media(message):
                refused = TEXTS["text_only"]
        else:
            refused = await self._command(account, case, name, argument, origin_of(destination))
        if refused:
            await self._tell(chat_id, case, refused)

    async def _command(
        self, account: Account, case: Case, name: str, argument: str, origin: str
    ) -> str:
        """Run a topic command; what to tell the group when it was refused."""
        if name == "claim":
            return await self._act(account, case.number, "claim", {})
        if name == "note":
            if not argument:
                return TEXTS["usage_note"]
            return await self._act(account, case.number, "note", {"text": argument}, origin)
        if name == "escalate":
            if not argument:
                return TEXTS["usage_escalate"]
            return await self._act(account, case.number, "escalate", {"reason": argument})
        if name == "transfer":
            target, _, reason = argument.partition(" ")
            if not target or not reason.strip():
                return TEXTS["usage_transfer"]
            center = self._find_center(target)
            if center is None:
                return TEXTS["no_center"].format(name=target)
            fields = {"to": center.id, "reason": reason.strip()}
            return await self._act(account, case.number, "transfer", fields)
        if name == "resolve":
            outcome, _, note = argument.partition(" ")
            key = _OUTCOMES.get(outcome.strip())
            if key is None:
                return TEXTS["usage_resolve"]
            fields = {"outcome": key, "note": note.strip()}
            return await self._act(account, case.number, "resolve", fields)
        return ""  # another bot's command, or one of ours meant for residents: not ours

    def _find_center(self, typed: str) -> Center | None:
        directory = self.runtime.centers
        exact = directory.center(typed)
        if exact is not None:
            return exact
        named = [c for c in directory.centers() if c.name == typed]
        if not named:
            named = [c for c in directory.centers() if typed in c.name]
        return named[0] if len(named) == 1 else None

    async def _link(self, message: Message) -> None:
        """``/link CODE`` in a private chat: the sender's account is the code's."""
        rt = self.runtime
        user = message.from_user
        reply = Destination("telegram", str(message.chat.id))
        if user is None:
            return
        _, code = _command(message.text or "")
        recent = time.monotonic() - LINK_WINDOW
        failures = [t for t in self._link_failures.pop(user.id, []) if t > recent]
        if failures:  # (only people who erred lately are remembered)
            self._link_failures[user.id] = failures
        if not code:
            await rt.push(reply, Outbound(TEXTS["link_usage"].format(minutes=CODE_MINUTES)))
            return
        if len(failures) >= LINK_TRIES:
            await rt.push(reply, Outbound(TEXTS["link_slow"]))
            return
        account = await rt.accounts.redeem_link_code(code_hash(code), str(user.id), rt.clock())
        if account is None:
            self._link_failures[user.id] = [*failures, time.monotonic()]
            await rt.push(reply, Outbound(TEXTS["link_bad"].format(minutes=CODE_MINUTES)))
            return
        center = rt.centers.center(account.center_id)
        log.info("telegram: account %s linked to a Telegram user", account.username)
        text = TEXTS["linked"].format(
            name=account.name, center=center.name if center else account.center_id
        )
        await rt.push(reply, Outbound(text))


def _mark_now(case: Case, center: Center | None) -> str:
    """The mark a topic opened now starts with (see ``_telegram_forum_feed``)."""
    if center is not None and center.id != case.center_id:
        return "moved"
    if case.status is CaseStatus.WITHDRAWN:
        return "withdrawn"
    if case.status in (CaseStatus.RESOLVED, CaseStatus.RATED, CaseStatus.ARCHIVED):
        return "resolved"
    return ""


def _command(text: str) -> tuple[str | None, str]:
    """(command name, argument) of a message, or (None, "") for plain text."""
    found = _COMMAND.fullmatch(text.strip())
    if found is None:
        return None, ""
    return found.group(1).lower(), (found.group(2) or "").strip()


def _has_media(message: Message) -> bool:
    return bool(
        message.photo
        or message.document
        or message.voice
        or message.video
        or message.audio
        or message.video_note
        or message.sticker
    )
