"""``minshi faq check | ask | eval``: the admin's tools for the FAQ files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from faq._eval import EvalFileError, EvalReport, evaluate, read_cases
from faq._laws import LawLibrary
from faq._loader import DEFAULT_FAQ_DIR, FaqData, entry_files, load_faq, read_faq
from faq._matcher import Matcher
from faq._model import FaqLoadError

__all__ = ["register"]


def register(subparsers: Any) -> Any:
    """Add ``faq`` with its sub-commands to the ``minshi`` parser; return them for more."""
    faq = subparsers.add_parser("faq", help="check, try and evaluate the FAQ")
    commands = faq.add_subparsers(dest="faq_command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="report every problem in the FAQ files as file:line")
    check.add_argument(
        "dir", nargs="?", type=Path, default=None, help="FAQ folder (default: the shipped FAQ)"
    )
    check.add_argument(
        "--laws", type=Path, default=None, help="law texts folder (default: the shipped ones)"
    )
    check.set_defaults(run=run_check)

    ask = commands.add_parser("ask", help="show how the FAQ answers a question, and why")
    ask.add_argument("question")
    ask.add_argument(
        "--top", type=int, default=3, help="how many ranked entries to show (default 3)"
    )
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    _faq_options(ask)
    ask.set_defaults(run=run_ask)

    ev = commands.add_parser("eval", help="top-1/top-3/MRR/out-of-scope figures on a JSONL file")
    ev.add_argument(
        "file", type=Path, help='JSON lines: {"query": "...", "expected": "<id>" | null}'
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument(
        "--skip-unknown",
        action="store_true",
        help="set aside queries labelled with ids the FAQ does not have (yet) instead of failing",
    )
    _faq_options(ev)
    ev.set_defaults(run=run_eval)
    return commands


def _faq_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--faq", type=Path, default=None, help="FAQ folder (default: the shipped FAQ)"
    )
    parser.add_argument("--laws", type=Path, default=None, help="law texts folder")


def _load(args: argparse.Namespace) -> tuple[FaqData, Matcher] | None:
    try:
        data = load_faq(args.faq, LawLibrary.load(args.laws))
    except FaqLoadError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(
            f"the FAQ has {len(exc.problems)} problem(s); run `minshi faq check`", file=sys.stderr
        )
        return None
    return data, Matcher.for_faq(data)


def run_check(args: argparse.Namespace) -> int:
    faq_dir = args.dir if args.dir is not None else DEFAULT_FAQ_DIR
    data, problems = read_faq(faq_dir, LawLibrary.load(args.laws), strict=True)
    for problem in problems:
        print(problem)
    files = entry_files(faq_dir) if faq_dir.is_dir() else []
    if problems:
        print(f"{len(problems)} problem(s) in {faq_dir}", file=sys.stderr)
        return 1
    citations = sum(len(e.basis) for e in data.entries)
    print(
        f"OK: {len(data.entries)} entries in {len(files)} files,"
        f" {citations} citations found in the law texts"
    )
    return 0


def run_ask(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return 1
    _, matcher = loaded
    result = matcher.match(args.question)
    analysis = matcher.analyze(args.question)
    ranked = matcher.rank(args.question, max(args.top, 1))
    if args.json:
        print(
            json.dumps(
                {
                    "query": args.question,
                    "decision": str(result.decision),
                    "referral": result.referral.kind if result.referral else None,
                    "understood": [t for t in analysis.tokens if t not in analysis.parts],
                    "repairs": [list(r) for r in analysis.repairs],
                    "off_topic": list(analysis.off_topic),
                    "candidates": [
                        {
                            "id": c.entry.id,
                            "score": c.score,
                            "question": c.entry.question,
                            "matched": c.matched,
                        }
                        for c in ranked
                    ],
                },
                ensure_ascii=False,
            )
        )
        return 0
    print(f"question:   {args.question}")
    print(
        "understood: "
        + (" ".join(t for t in analysis.tokens if t not in analysis.parts) or "(nothing)")
    )
    if analysis.repairs:
        print("repaired:   " + ", ".join(f"{typed}→{meant}" for typed, meant in analysis.repairs))
    if analysis.off_topic:
        print("off topic:  " + ", ".join(sorted(set(analysis.off_topic))))
    print(f"decision:   {result.decision}")
    if result.referral:
        print(f"referral:   {result.referral.kind} ({result.referral.name})")
    for rank, c in enumerate(ranked, 1):
        print(f"{rank:>2}. {c.score:.3f}  {c.entry.id}  {c.entry.question}")
        print(f"           matched: {c.matched}")
    return 0


def _figure(value: float | None) -> str:
    return "    -" if value is None else f"{value:.3f}"


def _print_report(report: EvalReport) -> None:
    m = report.overall
    print(f"queries: {m.n} ({m.in_scope} in scope, {m.out_of_scope} out of scope)")
    rows: list[tuple[str, float | None]] = [
        ("top-1", m.top1),
        ("top-3", m.top3),
        ("MRR", m.mrr),
        ("out-of-scope rejection", m.oos_rejection),
        ("confident wrong answers", m.wrong_answer_rate),
        ("answer rate", m.answer_rate),
        ("answer rate, in scope", m.answer_rate_in_scope),
        ("answer precision", m.answer_precision),
        ("'no match' for in-scope", m.none_rate_in_scope),
        ("'no match' for out-of-scope", m.none_rate_out_of_scope),
        ("out-of-scope given suggestions", m.oos_suggested),
        ("referral kind right", m.referral_accuracy),
    ]
    for name, value in rows:
        print(f"  {name:<28}{_figure(value)}")
    print()
    print(
        f"  {'category':<14}{'n':>5}  {'top-1':>6} {'top-3':>6} {'MRR':>6}"
        f" {'reject':>6} {'wrong':>6}"
    )
    for name, c in report.by_category.items():
        print(
            f"  {name:<14}{c.n:>5}  {_figure(c.top1):>6} {_figure(c.top3):>6} {_figure(c.mrr):>6}"
            f" {_figure(c.oos_rejection):>6} {_figure(c.wrong_answer_rate):>6}"
        )
    if report.referrals:
        print()
        print(f"  {'out of scope, by kind':<24}{'n':>5}  referral chosen")
        for kind, chosen in sorted(report.referrals.items()):
            shown = ", ".join(f"{k} {n}" for k, n in sorted(chosen.items(), key=lambda x: -x[1]))
            print(f"  {kind:<24}{sum(chosen.values()):>5}  {shown}")


def run_eval(args: argparse.Namespace) -> int:
    try:
        cases = read_cases(args.file)
    except EvalFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    loaded = _load(args)
    if loaded is None:
        return 1
    data, matcher = loaded
    report = evaluate(matcher, cases, list(data.categories))
    for case in report.unknown_ids:
        print(
            f"{args.file}:{case.line}: expected id {case.expected!r} is not in the FAQ",
            file=sys.stderr,
        )
    if report.unknown_ids and not args.skip_unknown:
        return 1
    if report.unknown_ids:
        # While entries are being written the labels run ahead of the FAQ:
        # figures over the rest still show whether matching got better or worse.
        print(
            f"{len(report.unknown_ids)} queries set aside (--skip-unknown)",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        _print_report(report)
    return 0
