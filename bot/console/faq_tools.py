"""FAQ tools for admins: try a question, see what residents asked in vain.

The FAQ files stay the source of truth (edited as files, checked with
``minshi faq check``, hot reloaded); these tools only read. Misses are
grouped by the FAQ's own normaliser, so "明天会下雨吗" and "明天会下雨吗？？"
count as one question, and each group offers a YAML snippet that adds the
question as a variant of the entry it comes closest to.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from bot.runtime import Runtime
from bot.storage import ConsoleReads
from faq import FaqService, normalize

from .access import Staff
from .actions import ActionError

__all__ = [
    "MISS_REASONS",
    "misses",
    "misses_csv",
    "reload_state",
    "require_faq_tools",
    "try_question",
    "variant_snippet",
]

MISS_REASONS = {"no_match": "没找到", "none_of_these": "都不是", "not_helpful": "没用"}
DECISIONS = {"answer": "直接回答", "suggest": "给出候选问题", "none": "没找到答案"}
_CSV_HEADER = [
    "问题",
    "次数",
    "没找到",
    "都不是",
    "没用",
    "最近一次",
    "最接近的条目",
    "分数",
    "其他问法",
]
MAX_QUESTION = 500


def require_faq_tools(staff: Staff) -> None:
    """System admins and center admins; the tools change nothing."""
    if staff.role not in ("admin", "center-admin"):
        raise ActionError(403, "只有系统管理员和中心管理员能看法律咨询工具")


def _resident_view(rt: Runtime, faq: FaqService, decision: str, result: Any) -> dict[str, Any]:
    """What the web chat would show, from the same texts the dialogs use."""
    t = rt.engine.services.texts
    if decision == "answer":
        entry = result.candidates[0].entry
        short = entry.short_answer or entry.answer.strip()
        text = f"{t('ask.answer', question=entry.question, answer=short)}\n\n{t('ask.disclaimer')}"
        details = [entry.answer.strip()] if entry.short_answer else []
        if entry.basis:
            details.append(t("ask.basis_title") + faq.cite(entry.basis))
        return {"text": text, "details": "\n\n".join(details), "choices": []}
    if decision == "suggest":
        choices = [c.entry.question for c in result.candidates[:3]] + [t("ask.none_of_these")]
        return {"text": t("ask.suggest"), "details": "", "choices": choices}
    return {"text": t("ask.no_match"), "details": "", "choices": []}


def try_question(rt: Runtime, question: str) -> dict[str, Any]:
    """The decision, the ranking with scores and phrasings, and the resident's view."""
    question = question.strip()
    if not question:
        raise ActionError(400, "请输入一个问题")
    if len(question) > MAX_QUESTION:
        raise ActionError(400, f"问题太长了（最多 {MAX_QUESTION} 字）")
    faq = rt.faq
    result = faq.match(question)
    decision = str(result.decision)
    return {
        "question": question,
        "normalized": normalize(question),
        "decision": decision,
        "decision_label": DECISIONS.get(decision, decision),
        "candidates": [
            {
                "id": c.entry.id,
                "question": c.entry.question,
                "category": c.entry.category,
                "score": round(c.score, 3),
                "matched": c.matched,
                "file": c.entry.file,
                "line": c.entry.line,
            }
            for c in result.candidates
        ],
        "resident": _resident_view(rt, faq, decision, result),
    }


def reload_state(rt: Runtime) -> dict[str, Any]:
    state = rt.faq.last_reload
    return {
        "faq_dir": str(rt.faq.faq_dir),
        "version": state.version,
        "entries": len(rt.faq.entries),
        "loaded_at": state.loaded_at.isoformat() if state.loaded_at else None,
        "failed_at": state.failed_at.isoformat() if state.failed_at else None,
        "problems": [
            {"file": p.file, "line": p.line, "message": p.message, "text": str(p)}
            for p in state.problems
        ],
    }


def variant_snippet(entry_id: str, file: str, question: str) -> str:
    """YAML that adds ``question`` to the entry's variants (JSON strings are YAML)."""
    return (
        f"# 加到 {file} 里 id 为 {entry_id} 的条目的 variants 下\n"
        f"- id: {json.dumps(entry_id, ensure_ascii=False)}\n"
        "  variants:\n"
        f"    - {json.dumps(question, ensure_ascii=False)}\n"
    )


async def misses(rt: Runtime, reads: ConsoleReads, limit: int = 2000) -> dict[str, Any]:
    """Unanswered questions grouped when the FAQ normalises them alike, newest first."""
    groups: dict[str, dict[str, Any]] = {}
    for row in await reads.faq_miss_rows(limit):  # newest first
        key = normalize(row["query"]).replace(" ", "") or row["query"].strip()
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "key": key,
                "question": row["query"].strip(),
                "questions": [],
                "count": 0,
                "reasons": dict.fromkeys(MISS_REASONS, 0),
                "last_at": row["at"].isoformat(),
            }
        group["count"] += 1
        group["reasons"][row["reason"]] = group["reasons"].get(row["reason"], 0) + 1
        text = row["query"].strip()
        if text not in group["questions"]:
            group["questions"].append(text)
    found = []
    for group in groups.values():
        # The FAQ as it is now decides which entry the question should join.
        best = rt.faq.match(group["question"]).best
        group["best"] = (
            {
                "id": best.entry.id,
                "question": best.entry.question,
                "score": round(best.score, 3),
                "matched": best.matched,
                "file": best.entry.file,
            }
            if best
            else None
        )
        group["snippet"] = (
            variant_snippet(best.entry.id, best.entry.file, group["question"]) if best else None
        )
        found.append(group)
    return {"groups": found, "reasons": MISS_REASONS}


def misses_csv(found: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_CSV_HEADER)
    for g in found["groups"]:
        best = g["best"]
        writer.writerow(
            [
                g["question"],
                g["count"],
                *(g["reasons"].get(r, 0) for r in MISS_REASONS),
                g["last_at"],
                best["id"] if best else "",
                f"{best['score']:.3f}" if best else "",
                "；".join(q for q in g["questions"] if q != g["question"]),
            ]
        )
    return out.getvalue()
