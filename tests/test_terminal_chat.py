"""`minshi chat`: the same dialogs from a shell, driven through stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def chat(db: Path, *lines: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINSHI_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--db", str(db), "--user", "admin"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
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


def test_terminal_answers_a_question(tmp_path: Path) -> None:
    out = chat(tmp_path / "chat.db", "工地包工头跑了工钱找谁要")
    assert "法律依据" in out or "您想问的是不是" in out
