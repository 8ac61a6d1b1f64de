"""What the resident is told when a mediator or the scheduler acts on a case.

The words live with the bot's other texts (``notices.*`` in
dialogs/texts.yaml); the composition root passes them in, so this module
only knows keys. The buttons carry payloads the resident's dialog answers at
any step: ``reply:<number>``, ``rate:<number>:<rating>`` and
``followup:<number>:ok|again``.
"""

from __future__ import annotations

from collections.abc import Callable

from common.messages import Choice, Outbound

from ._cases import OUTCOME_LABELS, RATINGS, Case

__all__ = ["Notices", "ResidentNotices", "followup_payload", "rating_payload"]

Notices = Callable[..., str]  # text by key, with placeholders filled in (dialogs.Texts)


def rating_payload(number: str, rating: str) -> str:
    return f"rate:{number}:{rating}"


def followup_payload(number: str, answer: str) -> str:
    return f"followup:{number}:{answer}"


def _shipped_texts() -> Notices:
    # Imported late: the dialogs package builds on this one. Only callers that
    # pass no texts (tests, tools) get here; the runtime passes the configured ones.
    from dialogs._texts import Texts

    return Texts(None)


class ResidentNotices:
    """The messages queued to the resident, built from the texts by key."""

    def __init__(self, texts: Notices | None = None) -> None:
        self.t: Notices = texts if texts is not None else _shipped_texts()

    def reply(self, case: Case, name: str, text: str) -> Outbound:
        return Outbound(
            self.t("notices.reply", name=name, text=text, number=case.number),
            (Choice(self.t("notices.reply_button"), f"reply:{case.number}"),),
        )

    def escalated(self, case: Case) -> Outbound:
        return Outbound(self.t("notices.escalated", number=case.number, center=case.center_name))

    def overdue(self, case: Case) -> Outbound:
        return Outbound(self.t("notices.overdue", number=case.number, center=case.center_name))

    def transferred(self, case: Case) -> Outbound:
        return Outbound(self.t("notices.transferred", number=case.number, center=case.center_name))

    def reopened(self, case: Case) -> Outbound:
        return Outbound(self.t("notices.reopened", number=case.number, center=case.center_name))

    def resolved(self, case: Case, note: str) -> Outbound:
        """The outcome in plain words, with the rating buttons."""
        outcome = OUTCOME_LABELS.get(case.outcome or "", case.outcome or "")
        note_part = self.t("notices.resolved_note", note=note.strip()) if note.strip() else ""
        text = self.t(
            "notices.resolved",
            number=case.number,
            center=case.center_name,
            outcome=outcome,
            note_part=note_part,
        )
        choices = tuple(
            Choice(self.t(f"notices.ratings.{r}"), rating_payload(case.number, r)) for r in RATINGS
        )
        return Outbound(f"{text}\n{self.t('notices.rate_question')}", choices)

    def followup(self, case: Case) -> Outbound:
        """The 回访 question, some days after the case was resolved."""
        return Outbound(
            self.t("notices.followup", number=case.number, center=case.center_name),
            (
                Choice(self.t("notices.followup_ok"), followup_payload(case.number, "ok")),
                Choice(self.t("notices.followup_again"), followup_payload(case.number, "again")),
            ),
        )
