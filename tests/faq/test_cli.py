"""``minshi faq check | ask | eval`` through the real command line entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

from .test_eval import CASES, write_cases


def test_check_passes_a_good_faq(small_faq: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["faq", "check", str(small_faq)]) == 0
    assert capsys.readouterr().out.startswith("OK: 5 entries in 1 files")


def test_check_lists_problems_and_fails(
    small_faq: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = small_faq / "small.yaml"
    text = path.read_text(encoding="utf-8").replace("第六十二条", "第九百条")
    path.write_text(text, encoding="utf-8")
    assert main(["faq", "check", str(small_faq)]) == 1
    out = capsys.readouterr().out.splitlines()
    line = text.splitlines().index("    - 土地管理法 第九百条") + 1
    assert out == [
        f"{path}:{line}: entry 'homestead': basis '土地管理法 第九百条': "
        "中华人民共和国土地管理法 has no article 900 (it has 87)"
    ]


def test_check_of_the_shipped_faq(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["faq", "check"]) == 0
    assert "OK: 152 entries in 19 files" in capsys.readouterr().out


def test_ask_shows_decision_ranking_and_why(
    small_faq: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["faq", "ask", "老板不給工錢咋辦", "--faq", str(small_faq)]) == 0
    out = capsys.readouterr().out
    assert "decision:   answer" in out
    assert " 1. " in out and "wage-arrears  老板拖欠工资不给怎么办？" in out
    assert "matched: 老板不给工钱" in out
    assert "understood: 老板 不 工资" in out


def test_ask_json_and_top(small_faq: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["faq", "ask", "离昏后孩子归谁", "--top", "4", "--json", "--faq", str(small_faq)]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["candidates"][0]["id"] == "divorce-custody"
    assert len(data["candidates"]) <= 4
    assert ["离昏", "离婚"] in data["repairs"]
    assert data["decision"] in {"answer", "suggest"}


def test_ask_with_a_broken_faq_fails(small_faq: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (small_faq / "bad.yaml").write_text("- id: [\n", encoding="utf-8")
    assert main(["faq", "ask", "狗", "--faq", str(small_faq)]) == 1
    assert f"{small_faq / 'bad.yaml'}:" in capsys.readouterr().err


def test_eval_json(small_faq: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_cases(tmp_path / "q.jsonl", CASES)
    assert main(["faq", "eval", str(path), "--json", "--faq", str(small_faq)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["top1"], data["top3"], data["mrr"]) == (0.8, 1.0, 0.9)
    assert (data["oos_rejection"], data["wrong_answer_rate"], data["n"]) == (0.6667, 0.25, 8)


def test_eval_text(small_faq: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_cases(tmp_path / "q.jsonl", CASES)
    assert main(["faq", "eval", str(path), "--faq", str(small_faq)]) == 0
    out = capsys.readouterr().out
    assert "queries: 8 (5 in scope, 3 out of scope)" in out
    assert "top-1                       0.800" in out
    assert "confident wrong answers     0.250" in out
    assert "  family            1   0.000  1.000  0.500      -  1.000" in out


def test_eval_can_set_aside_ids_the_faq_does_not_have_yet(
    small_faq: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # While entries are being written, labels run ahead of the FAQ.
    path = write_cases(tmp_path / "q.jsonl", [*CASES, ("低保怎么申请", "social-assistance")])
    args = ["faq", "eval", str(path), "--json", "--faq", str(small_faq)]
    assert main(args) == 1
    assert main([*args, "--skip-unknown"]) == 0
    captured = capsys.readouterr()
    assert f"{path}:9: expected id 'social-assistance' is not in the FAQ" in captured.err
    assert "1 queries set aside (--skip-unknown)" in captured.err
    assert json.loads(captured.out.splitlines()[-1])["n"] == 8


def test_eval_rejects_bad_files(
    small_faq: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"query": "狗", "expected": "no-such-id"}\n', encoding="utf-8")
    assert main(["faq", "eval", str(path), "--faq", str(small_faq)]) == 1
    assert f"{path}:1: expected id 'no-such-id' is not in the FAQ" in capsys.readouterr().err
    path.write_text("{oops\n", encoding="utf-8")
    assert main(["faq", "eval", str(path), "--faq", str(small_faq)]) == 1
    assert f"{path}:1: not JSON" in capsys.readouterr().err
