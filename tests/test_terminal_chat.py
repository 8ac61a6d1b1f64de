"""`minshi chat`: the same dialogs from a shell, driven through stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from faq import FaqService


def minshi(*args: str, stdin: str = "", **settings: str) -> subprocess.CompletedProcess[str]:
    """Run the ``minshi`` command with only the given MINSHI_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINSHI_")}
    env.update({f"MINSHI_{key.upper()}": value for key, value in settings.items()})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def chat(db: Path, *lines: str) -> str:
    result = minshi("chat", "--db", str(db), "--user", "admin", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_terminal_report_with_numbered_choices(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    out = chat(
        db,
        "2",  # 反映问题/申请调解
        "邻里纠纷",
        "邻居家装修天天吵到半夜",
        "说完了",
        "/loc 0 0",
        "甘州区沙井镇寺儿沟村",
        "1",
        "13812345678",
        "确认提交",
    )
    assert "1. 法律咨询" in out  # the greeting came with the numbered menu
    assert "不在本平台服务的地区" in out
    assert "138****5678" in out and "13812345678" not in out.replace("> 13812345678", "")
    assert "已提交" in out and "MS" in out


def test_terminal_conversation_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    chat(db, "反映问题/申请调解", "交通事故")
    out = chat(db, "被三轮车撞了", "说完了")
    assert "民事直说" not in out  # no new greeting: the dialog went on
    assert "发生在哪里" in out


def test_terminal_answers_a_question_and_opens_the_details(tmp_path: Path) -> None:
    faq = FaqService(None)
    faq.load()
    entry = faq.entry("wage-arrears-construction")
    assert entry is not None
    out = chat(tmp_path / "chat.db", entry.question, "?")
    assert entry.short_answer in out
    assert "〔详细说明 · 法律依据：输入 ? 查看〕" in out
    after_question_mark = out.split("〔详细说明 · 法律依据：输入 ? 查看〕", 1)[1]
    assert entry.answer.strip()[:30] in after_question_mark
    assert "法律依据：《" in after_question_mark


def test_broken_centers_file_stops_start_up_with_file_and_line(tmp_path: Path) -> None:
    centers = tmp_path / "centers.yaml"
    centers.write_text("regions:\n  - code: [unclosed\n", encoding="utf-8")
    result = minshi("chat", "--db", str(tmp_path / "x.db"), centers_file=str(centers))
    assert result.returncode == 1
    assert f"{centers}:" in result.stderr and "Traceback" not in result.stderr


def test_bad_setting_is_named(tmp_path: Path) -> None:
    result = minshi("serve", "--db", str(tmp_path / "x.db"), port="eighty")
    assert result.returncode == 1
    assert "MINSHI_PORT" in result.stderr and "Traceback" not in result.stderr


def test_admin_sees_unanswered_questions_counted(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    chat(db, "明天会宁下雨不", "明天会宁下雨不")
    result = minshi("faq", "misses", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "    2  答不了" in result.stdout and "明天会宁下雨不" in result.stdout
