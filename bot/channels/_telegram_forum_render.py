"""How a case looks in its topic: the card, the lines that follow, the files.

Rendered when a post is sent, from the case as it is then: the card (the
summary with the 认领 button, the resident's conversation, the photos and
recordings) opens every topic, also one opened again after it was deleted;
the other posts are one line each (a message, a claim, an outcome). Phone
and ID numbers are masked: everyone in the group reads the topic, and the
full number is for the mediator who holds the case, in the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.console.views import Views, file_ref, file_url
from bot.console.words import STATUS_LABELS, clock_time, outcome_labels, time_left
from bot.storage import ConsoleReads
from common.privacy import mask_phone, mask_sensitive
from handoff import Case, CaseStatus

from ._telegram_forum_feed import mark_of
from ._telegram_render import split_text

if TYPE_CHECKING:
    from bot.runtime import Runtime

__all__ = ["CLAIM_PREFIX", "MOVED_IN", "MOVED_OUT", "TEXTS", "FileRef", "Piece", "TopicRenderer"]

CLAIM_PREFIX = "fc:claim:"  # callback data of the 认领 button: fc:claim:<case number>
MAX_NAME = 128  # characters in a topic's name
_TAPPED = "（点了"  # how the console shows a tapped button (bot.console.views)

# Texts for mediators in the group: plain Simplified Chinese, like the console.
TEXTS = {
    "head": (
        "📋 事项 {number}{urgent}\n"
        "类别：{category}\n"
        "地点：{place}\n"
        "受理：{center}（期限 {due}，{left}）\n"
        "状态：{status}\n"
        "居民电话：{phone}"
    ),
    "urgent": " · 🔴紧急",
    "no_phone": "没有留",
    "story": "事情经过：\n{text}",
    "back_link": "原来的话题：{link}",
    "console_link": "调解台：{link}",
    "how": (
        "点「认领」办理这件事；认领后在这个话题里直接发消息，就会转给居民。\n"
        "命令：/resolve 结果 [说明] 办结 · /escalate 理由 上交 · "
        "/transfer 中心 理由 转办 · /note 内容 内部备注"
    ),
    "claim_button": "🙋 认领",
    "transcript": "—— 居民反映时的对话 ——",
    "file_caption": "{label} · {kind}",
    "file_missing": "{label} · {kind}：文件还没有取回，请在调解台查看。",
    "file_link": "{label} · {kind}：{link}",
    "resident": "👤 居民：{text}",
    "mediator": "💬 {name} → 居民：{text}",
    "note": "📝 内部备注 · {name}：{text}",
    "supervision": "📌 督办 · {name}：{text}",
    "claimed": "🙋 {name} 认领了这件事。只有 {name} 能在这里回复居民。",
    "resolved": "✅ {name} 办结了这件事：{outcome}{note}",
    "rated": "⭐ 居民评价：{rating}{comment}",
    "withdrawn": "↩️ 居民撤回了这件事：{reason}",
    "overdue_flagged": "⏰ 已经超过办理期限（已是最高一级），请尽快办理。",
    "reopened": "🔁 这件事重新办理：{reason}",
    "system": "系统",
}
# A case that came from another center (on its card), and one that left (in the old topic).
MOVED_IN = {
    "escalated": "⬆️ 从{center}上交来：{reason}",
    "transferred": "↪️ 从{center}转来：{reason}",
    "reopened": "🔁 居民要求重新办理，从{center}交来：{reason}",
}
MOVED_OUT = {
    "escalated": "⬆️ {name} 把这件事上交到{to}：{reason}。这个话题不再办理。",
    "transferred": "↪️ {name} 把这件事转到{to}：{reason}。这个话题不再办理。",
    "reopened": "🔁 居民要求重新办理，交给了{to}：{reason}。这个话题不再办理。",
}
_KINDS = {"photo": "📷 照片", "voice": "🎤 语音", "video": "🎬 视频", "file": "📎 文件"}
_RATINGS = {"satisfied": "满意", "fairly_satisfied": "基本满意", "dissatisfied": "不满意"}


@dataclass(frozen=True)
class FileRef:
    """A file of the case: sent again by its Telegram file id, or uploaded from disk."""

    kind: str  # photo | voice | video | file
    file_id: str | None  # a file id this bot received (a resident on Telegram)
    path: Path | None  # the local copy
    fallback: str  # said instead when the file cannot be sent


@dataclass(frozen=True)
class Piece:
    """One Bot API call of a post."""

    text: str = ""
    markup: InlineKeyboardMarkup | None = None
    file: FileRef | None = None
    rename: str | None = None  # a new name for the topic
    card: bool = False  # the card's head: its message id is kept (the 认领 button)
    clear_card: bool = False  # take the 认领 button off the card


class TopicRenderer:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.views = Views(rt, ConsoleReads(rt.db))

    # -- names and links --

    def topic_name(self, case: Case, mark: str = "") -> str:
        region = self.rt.centers.region(case.region_code)
        place = region.name if region is not None else case.location_text
        category = self.views.category_label(case.category)
        marks = " ".join(m for m in (mark_of(mark), "🔴" if case.urgent else "") if m)
        name = f"{marks} {case.number} {category} · {place}".strip()
        return name[:MAX_NAME]

    def console_link(self, path: str) -> str:
        """The console page at ``path`` as a link, when the service has a public address."""
        base = (self.rt.settings.public_url or "").rstrip("/")
        return f"{base}{path}" if base else ""

    async def actor_name(self, actor: str) -> str:
        if not actor.startswith("mediator:"):
            return TEXTS["system"] if actor == "system" else "居民"
        username = actor.removeprefix("mediator:")
        account = await self.rt.accounts.account(username)
        return account.name if account else username

    # -- the card --

    async def card(self, case: Case, post: dict[str, Any], back_link: str | None) -> list[Piece]:
        """The summary with the 认领 button, the conversation, then its files."""
        now = self.rt.clock()
        head = TEXTS["head"].format(
            number=case.number,
            urgent=TEXTS["urgent"] if case.urgent else "",
            category=self.views.category_label(case.category),
            place=case.location_text,
            center=case.center_name,
            due=clock_time(case.due_at),
            left=time_left(case.due_at, now),
            status=await self._status(case),
            phone=mask_phone(case.phone) if case.phone else TEXTS["no_phone"],
        )
        lines = [head]
        move = str(post.get("move", ""))
        if move in MOVED_IN:
            center = self.rt.centers.center(str(post.get("from", "")))
            reason = await self._move_reason(case)
            lines.append(
                MOVED_IN[move].format(
                    center=center.name if center else post.get("from", ""), reason=reason
                )
            )
            if back_link:
                lines.append(TEXTS["back_link"].format(link=back_link))
        link = self.console_link(f"/console/cases/{case.number}")
        if link:
            lines.append(TEXTS["console_link"].format(link=link))
        lines.append(TEXTS["story"].format(text=mask_sensitive(case.description)))
        lines.append(TEXTS["how"])
        markup = None
        if case.status is CaseStatus.ASSIGNED:
            button = InlineKeyboardButton(
                TEXTS["claim_button"], callback_data=f"{CLAIM_PREFIX}{case.number}"
            )
            markup = InlineKeyboardMarkup([[button]])
        heads = split_text("\n\n".join(lines))
        pieces = [Piece(text, card=i == 0) for i, text in enumerate(heads)]
        pieces[0] = Piece(pieces[0].text, markup, card=True)
        transcript, files = await self._transcript(case)
        if transcript:
            pieces.extend(Piece(text) for text in split_text("\n".join(transcript)))
        pieces.extend(files)
        return pieces

    async def _status(self, case: Case) -> str:
        status = STATUS_LABELS.get(case.status.value, case.status.value)
        if case.assignee:
            status += f"（{await self.actor_name(f'mediator:{case.assignee}')}）"
        return status

    async def _move_reason(self, case: Case) -> str:
        for event in reversed(await self.rt.store.case_events(case.id)):
            if event.kind in MOVED_IN:
                return str(event.detail.get("reason", ""))
        return ""

    async def _transcript(self, case: Case) -> tuple[list[str], list[Piece]]:
        """What the resident and the mediators said, with the files; the bot's own
        questions and the buttons tapped in reply stay in the console."""
        lines = [TEXTS["transcript"]]
        files: list[Piece] = []
        story = mask_sensitive(case.description)
        for item in await self.views.shared_transcript(case):
            text = str(item.get("text", ""))
            if item["who"] == "bot" or text.startswith(_TAPPED):
                continue
            if item["who"] == "resident" and case.transcript_from is None and text == story:
                text = ""  # the story is on the card already
            kinds = [a["label"] for a in item.get("attachments", ())]
            shown = " ".join(p for p in (text, *kinds) if p)
            if shown:
                lines.append(f"{item['label']} {item['at']}：{shown}")
            for shown_file in item.get("attachments", ()):
                attachment = {"kind": shown_file["kind"], "ref": file_ref(shown_file["url"])}
                files.append(await self.attachment(case, item["label"], attachment))
        return (lines if len(lines) > 1 else []), files

    # -- files --

    async def attachment(self, case: Case, label: str, attachment: dict[str, Any]) -> Piece:
        """A file of the case as a post of its own, or a line saying where to see it."""
        kind = str(attachment.get("kind", "file"))
        ref = str(attachment.get("ref", ""))
        words = {"label": label, "kind": _KINDS.get(kind, _KINDS["file"])}
        caption = TEXTS["file_caption"].format(**words)
        link = self.console_link(file_url(case.number, ref))
        fallback = (
            TEXTS["file_link"].format(**words, link=link)
            if link
            else TEXTS["file_missing"].format(**words)
        )
        root = self.rt.settings.attachments_dir
        local = ref if ref and "/" not in ref and (root / ref).is_file() else None
        if local is None and case.channel == "telegram":
            return Piece(caption, file=FileRef(kind, ref, None, fallback))
        if local is None:
            local = await self.rt.store.local_file(case.channel, ref)
        path = root / local if local and "/" not in local else None
        if path is None or not path.is_file():
            return Piece(fallback)
        return Piece(caption, file=FileRef(kind, None, path, fallback))

    # -- the posts after the card --

    async def post(self, case: Case, post: dict[str, Any]) -> list[Piece]:
        kind = post.get("kind")
        if kind == "message":
            return await self._message(case, post)
        if kind == "event":
            return await self._event(case, post)
        if kind == "rename":
            return [Piece(rename=self.topic_name(case, str(post.get("mark", ""))))]
        text = str(post.get("text", ""))
        return [Piece(t) for t in split_text(text)]

    async def _message(self, case: Case, post: dict[str, Any]) -> list[Piece]:
        who = str(post.get("who", "resident"))
        name = str(post.get("name", "")) or "调解员"
        text = mask_sensitive(str(post.get("text", "")))
        pieces: list[Piece] = []
        if text.strip():
            line = TEXTS.get(who, TEXTS["resident"]).format(name=name, text=text)
            pieces.extend(Piece(t) for t in split_text(line))
        label = "居民" if who == "resident" else name
        for attachment in post.get("attachments", ()):
            pieces.append(await self.attachment(case, label, attachment))
        return pieces

    async def _event(self, case: Case, post: dict[str, Any]) -> list[Piece]:
        event = str(post.get("event", ""))
        name = await self.actor_name(str(post.get("actor", "")))
        reason = mask_sensitive(str(post.get("reason", "")))
        if event == "moved":
            move = str(post.get("move", "escalated"))
            template = MOVED_OUT.get(move, MOVED_OUT["transferred"])
            text = template.format(name=name, to=post.get("to", ""), reason=reason)
            return [Piece(text), Piece(clear_card=True)]
        if event == "claimed":
            return [Piece(TEXTS["claimed"].format(name=name)), Piece(clear_card=True)]
        if event == "resolved":
            outcome = outcome_labels().get(str(post.get("outcome", "")), "")
            note = mask_sensitive(str(post.get("note", "")).strip())
            text = TEXTS["resolved"].format(
                name=name, outcome=outcome, note=f"（{note}）" if note else ""
            )
            return [Piece(text), Piece(clear_card=True)]
        if event == "rated":
            comment = mask_sensitive(str(post.get("comment") or "").strip())
            rating = _RATINGS.get(str(post.get("rating", "")), "")
            text = TEXTS["rated"].format(rating=rating, comment=f"（{comment}）" if comment else "")
            return [Piece(text)]
        if event == "withdrawn":
            return [Piece(TEXTS["withdrawn"].format(reason=reason)), Piece(clear_card=True)]
        if event in ("overdue_flagged", "reopened"):
            return [Piece(TEXTS[event].format(reason=reason))]
        return []
