"""The pieces every dialog step works with: the turn, the step, the services.

A step is a pair of small async functions: ``prompt`` says what the step
asks for (it reads only ``turn.data``, so 返回 can ask again), and
``handle`` consumes the resident's message and returns the name of the
next step, or None to stay. The table of steps is declared once, in
``dialogs.flows``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from common.messages import Choice, Inbound, Outbound, Tone
from common.metrics import NO_METRICS, Metrics

from ._phones import phone_numbers
from ._texts import Texts

if TYPE_CHECKING:
    from faq import FaqEntry, MatchResult
    from handoff import CaseService, CenterDirectory

    from ._ports import TurnWrites

__all__ = ["FaqLookup", "MatchFirst", "Services", "Step", "Turn"]


class FaqLookup(Protocol):
    """What the dialogs need from the FAQ engine."""

    async def amatch(self, text: str) -> MatchResult: ...
    @property
    def matches_elsewhere(self) -> bool: ...
    def entry(self, entry_id: str) -> FaqEntry | None: ...
    def categories(self) -> dict[str, str]: ...
    def category_keywords(self) -> dict[str, tuple[str, ...]]: ...
    def article_text(self, citation: Any) -> str | None: ...
    def cite(self, citations: tuple[Any, ...]) -> str: ...


@dataclass(frozen=True)
class Services:
    """Everything a step may use besides the turn itself."""

    faq: FaqLookup
    centers: CenterDirectory
    texts: Texts
    clock: Callable[[], datetime]
    cases: CaseService
    max_description_messages: int = 20
    max_attachments: int = 10
    flood_messages: int = 30  # more than this many messages …
    flood_seconds: float = 60.0  # … within this many seconds: asked to slow down
    expiry_hours: float = 12.0  # an unfinished flow older than this is put aside
    metrics: Metrics = NO_METRICS  # messages, FAQ decisions, handling time


class MatchFirst(Exception):
    """The turn needs the FAQ's match of ``text``, and the FAQ matches in another
    process: the engine rolls the turn back, matches outside the transaction (which
    would otherwise hold the database, and every other resident's turn, while it
    waits) and runs the turn again with the result (``Turn.matched``)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass
class Turn:
    """One resident message being handled, and what we answer."""

    msg: Inbound
    inbound_id: int
    state: str
    data: dict[str, Any]
    writes: TurnWrites
    services: Services
    now: datetime
    replies: list[Outbound] = field(default_factory=list)
    # The FAQ's matches made before this turn's transaction (see ``MatchFirst``);
    # None: none are, and a match is made in place.
    matched: dict[str, MatchResult] | None = None

    def t(self, key: str, **values: object) -> str:
        return self.services.texts(key, **values)

    def say(
        self,
        text: str,
        choices: list[Choice] | tuple[Choice, ...] = (),
        *,
        tone: Tone = "normal",
        details: str = "",
        details_label: str = "",
    ) -> None:
        """Queue a reply; the engine remembers the last one's choices for typed picks.

        Phone numbers in the text (and details) become tap-to-call where the
        channel can; ``details`` is folded away behind ``details_label``.
        """
        self.replies.append(
            Outbound(
                text=text,
                choices=tuple(choices),
                tone=tone,
                calls=phone_numbers(f"{text}\n{details}"),
                details=details,
                details_label=details_label,
            )
        )

    @property
    def text(self) -> str:
        return self.msg.text.strip() if self.msg.kind == "text" else ""

    @property
    def payload(self) -> str:
        return self.msg.payload if self.msg.kind == "choice" else ""

    async def match(self, text: str) -> MatchResult:
        """The FAQ's match of ``text``."""
        if self.matched is not None:
            if (result := self.matched.get(text)) is not None:
                return result
            if self.services.faq.matches_elsewhere:
                raise MatchFirst(text)
        return await self.services.faq.amatch(text)

    def form(self, name: str) -> dict[str, Any]:
        """The data a multi-step form collected so far (created on first use)."""
        form: dict[str, Any] = self.data.setdefault(name, {})
        return form


Prompt = Callable[[Turn], Awaitable[None]]
Handle = Callable[[Turn], Awaitable[str | None]]
Back = str | Callable[[Turn], str] | None


@dataclass(frozen=True)
class Step:
    name: str
    prompt: Prompt
    handle: Handle
    back: Back = None  # where 返回 leads; None: nowhere (the menu)

    def back_target(self, turn: Turn) -> str | None:
        return self.back(turn) if callable(self.back) else self.back
