"""法律咨询: a question goes to the FAQ; answer, suggestions, or an honest no."""

from __future__ import annotations

from common.messages import Choice
from common.metrics import FAQ_DECISIONS

from .._flow import Turn
from .._states import ASK_FEEDBACK, ASK_PICK, MENU
from . import report
from ._common import menu_choices, to_menu

__all__ = [
    "answer",
    "feedback_handle",
    "feedback_prompt",
    "handle",
    "pick_handle",
    "pick_prompt",
    "prompt",
]


async def prompt(turn: Turn) -> None:
    """Asks the resident to type the question."""
    turn.say(turn.t("ask.prompt"), [to_menu(turn)])


async def handle(turn: Turn) -> str | None:
    if turn.text:
        return await answer(turn, turn.text)
    turn.say(turn.t("ask.hint"), [to_menu(turn)])
    return None


async def answer(turn: Turn, query: str) -> str | None:
    """Matches the question: answer it, offer up to three, or say we can't."""
    result = await turn.match(query)
    best = result.candidates[0] if result.candidates else None
    turn.data["ask"] = {"query": query}
    # Decisions are string enums: compared by value, so dialogs need not import faq.
    decision = "none"
    if result.decision == "answer" and best:
        decision = "answer"
    elif result.decision == "suggest" and result.candidates:
        decision = "suggest"
    turn.data["ask"]["qid"] = await turn.writes.log_faq_question(
        turn.msg.channel,
        turn.msg.user_id,
        query,
        decision,
        best.entry.id if best else None,
        turn.data.get("home"),
        turn.now,
    )
    turn.services.metrics.count(FAQ_DECISIONS, decision=decision)
    if decision == "answer" and best:
        turn.data["ask"]["score"] = best.score
        _show_answer(turn, best.entry.id)
        return ASK_FEEDBACK
    if result.referral is not None:
        # Outside the FAQ: say who handles this kind of matter, like a help desk would.
        turn.say(result.referral.say)
    if decision == "suggest":
        shown = result.candidates[:3]
        turn.data["ask"]["candidates"] = [c.entry.id for c in shown]
        turn.data["ask"]["scores"] = {c.entry.id: c.score for c in shown}
        return ASK_PICK
    await _no_match(
        turn,
        "no_match",
        best.entry.id if best else None,
        best.score if best else None,
        referred=result.referral is not None,
    )
    return None


async def _no_match(
    turn: Turn, reason: str, best_id: str | None, score: float | None, *, referred: bool = False
) -> None:
    query = turn.data.get("ask", {}).get("query", "")
    await turn.writes.log_faq_miss(
        turn.msg.channel, turn.msg.user_id, query, reason, best_id, score, turn.now
    )
    turn.say(
        turn.t("ask.referred" if referred else "ask.no_match"),
        [
            Choice(turn.t("menu.report"), "menu:report"),
            Choice(turn.t("ask.rephrase"), "menu:ask"),
            to_menu(turn),
        ],
    )
    turn.state = MENU


def _show_answer(turn: Turn, entry_id: str) -> None:
    entry = turn.services.faq.entry(entry_id)
    if entry is None:  # the FAQ was edited between suggestion and pick
        turn.say(turn.t("ask.no_match"))
        return
    turn.data.setdefault("ask", {})["entry"] = entry.id
    short = entry.short_answer or entry.answer.strip()
    text = turn.t("ask.answer", question=entry.question, answer=short)
    details = [entry.answer.strip()] if entry.short_answer else []
    if entry.basis:
        details.append(turn.t("ask.basis_title") + turn.services.faq.cite(entry.basis))
    turn.say(
        f"{text}\n\n{turn.t('ask.disclaimer')}",
        details="\n\n".join(details),
        details_label=turn.t("ask.details_label"),
    )


async def pick_prompt(turn: Turn) -> None:
    """Offers the candidate questions."""
    faq = turn.services.faq
    entries = [faq.entry(i) for i in turn.data.get("ask", {}).get("candidates", [])]
    choices = [Choice(e.question, f"faq:{e.id}") for e in entries if e is not None]
    choices.append(Choice(turn.t("ask.none_of_these"), "faq:none"))
    turn.say(turn.t("ask.suggest"), choices)


async def pick_handle(turn: Turn) -> str | None:
    ask = turn.data.get("ask", {})
    if turn.payload == "faq:none":
        best = (ask.get("candidates") or [None])[0]
        await _no_match(turn, "none_of_these", best, ask.get("scores", {}).get(best))
        return None
    if turn.payload.startswith("faq:"):
        entry_id = turn.payload.removeprefix("faq:")
        if entry_id in ask.get("candidates", []):
            ask["score"] = ask.get("scores", {}).get(entry_id)
            await _tap(turn, "picked", entry_id)
            _show_answer(turn, entry_id)
            return ASK_FEEDBACK
    if turn.text:
        return await answer(turn, turn.text)
    return ASK_PICK


async def feedback_prompt(turn: Turn) -> None:
    """Asks whether the answer helped."""
    turn.say(
        turn.t("ask.helpful_question"),
        [
            Choice(turn.t("ask.helpful"), "fb:yes"),
            Choice(turn.t("ask.not_helpful"), "fb:no"),
            Choice(turn.t("ask.show_law"), "fb:law"),
        ],
    )


async def feedback_handle(turn: Turn) -> str | None:
    ask = turn.data.get("ask", {})
    entry = turn.services.faq.entry(ask.get("entry", ""))
    if turn.payload in ("fb:yes", "fb:no"):
        await _tap(turn, "useful" if turn.payload == "fb:yes" else "not_useful", ask.get("entry"))
    if turn.payload == "fb:yes":
        turn.say(turn.t("ask.thanks"), menu_choices(turn))
        turn.state = MENU
        return None
    if turn.payload == "fb:no":
        await turn.writes.log_faq_miss(
            turn.msg.channel,
            turn.msg.user_id,
            ask.get("query", ""),
            "not_helpful",
            entry.id if entry else None,
            ask.get("score"),
            turn.now,
        )
        turn.say(turn.t("ask.not_helpful_ack"))
        return report.begin(
            turn, category=entry.category if entry else None, first_message=ask.get("query")
        )
    if turn.payload == "fb:law" and entry is not None:
        quotes = []
        for citation in entry.basis:
            text = turn.services.faq.article_text(citation)
            if text:
                quotes.append(f"{citation}\n{text.strip()}")
        turn.say("\n\n".join(quotes) or turn.t("ask.no_law_text"))
        return ASK_FEEDBACK
    if turn.text:
        return await answer(turn, turn.text)
    return ASK_FEEDBACK


async def _tap(turn: Turn, kind: str, entry_id: str | None) -> None:
    """Record a tap on the question being answered (for the self-service rate)."""
    qid = turn.data.get("ask", {}).get("qid")
    if isinstance(qid, int):
        await turn.writes.log_faq_feedback(qid, kind, entry_id, turn.now)
