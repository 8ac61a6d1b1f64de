"""``minshi centers check``: summary and exit 0, or every problem and exit 1."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.cli import main


def minshi(argv: Sequence[str]) -> int:
    """Run the ``minshi`` command line as residents' admins would."""
    return main(list(argv))


def test_shipped_file_is_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert minshi(["centers", "check"]) == 0
    out = capsys.readouterr().out
    assert out == "ok: 9 counties, 21 townships, 46 villages, 8 committees\n"


def test_named_file_is_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "centers.yaml"
    path.write_text(
        "regions:\n"
        '  - {code: "620000", name: 甘肃省, level: province,\n'
        '     center: {name: 省中心, phone: "0931-0000001"}}\n',
        encoding="utf-8",
    )
    assert minshi(["centers", "check", str(path)]) == 0
    assert capsys.readouterr().out == "ok: 0 counties, 0 townships, 0 villages, 0 committees\n"


def test_problems_are_printed_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "centers.yaml"
    path.write_text(
        "regions:\n"
        '  - code: "62000"\n'
        "    name: 甘肃省\n"
        "    level: province\n"
        '    center: {name: 省中心, phone: "110-110"}\n',
        encoding="utf-8",
    )
    assert minshi(["centers", "check", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{path}:2: code '62000' of region '甘肃省' must have 6 digits for level 'province'",
        f"{path}:5: phone '110-110' of the center of region '甘肃省' is not a phone number "
        "(0xxx-xxxxxxx, 1xxxxxxxxxx or a short national number)",
    ]


def test_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert minshi(["centers", "check", str(tmp_path / "none.yaml")]) == 1
    assert "cannot read file" in capsys.readouterr().out


def test_centers_without_action_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert minshi(["centers"]) == 2
    assert "check" in capsys.readouterr().out
