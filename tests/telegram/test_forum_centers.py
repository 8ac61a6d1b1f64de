"""A center's Telegram forum group in the centers file, as `minshi centers check` sees it."""

from __future__ import annotations

from pathlib import Path

from handoff import check_centers, load_centers
from tests.test_terminal_chat import minshi

CENTERS = """\
regions:
  - code: "620000"
    name: 甘肃省
    level: province
    center: {name: 省中心, phone: "0931-0000001"}
    children:
      - code: "620700"
        name: 张掖市
        level: city
        center: {name: 市中心, phone: "0936-0000100", telegram_group: "%(city)s"}
        children:
          - code: "620702"
            name: 甘州区
            level: county
            center: {name: 区中心, phone: "0936-0000200", telegram_group: "%(county)s"}
            committees:
              - id: gz-labor
                name: 劳动调委会
                categories: [labor]
                phone: "0936-0000211"
                telegram_group: "%(committee)s"
            children:
              - code: "620702103"
                name: 沙井镇
                level: township
                center: {name: 镇中心, phone: "0936-0000122"}
                children:
                  - code: "620702103203"
                    name: 寺儿沟村
                    level: village
                    center: {name: 村中心, phone: "0936-0000123"}
"""
CATEGORIES = {"labor", "neighbor"}


def _write(tmp_path: Path, city: str, county: str, committee: str) -> Path:
    path = tmp_path / "centers.yaml"
    text = CENTERS % {"city": city, "county": county, "committee": committee}
    path.write_text(text, encoding="utf-8")
    return path


def test_groups_are_read_for_centers_and_committees(tmp_path: Path) -> None:
    path = _write(tmp_path, "-1001000000700", "-1001000000702", "-1001000000711")
    directory = load_centers(path, CATEGORIES)
    assert directory.center("620700").telegram_group == -1001000000700  # type: ignore[union-attr]
    assert directory.center("gz-labor").telegram_group == -1001000000711  # type: ignore[union-attr]
    assert directory.center("620702103").telegram_group is None  # type: ignore[union-attr]


def test_a_wrong_or_shared_group_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "@zhangye_group", "-1001000000702", "-1001000000702")
    problems = [str(p) for p in check_centers(path, CATEGORIES)]
    assert problems == [
        f"{path}:10: telegram_group of the center of region '张掖市' must be the chat id of a "
        "forum supergroup (-100 followed by digits, e.g. -1001234567890), not '@zhangye_group'",
        f"{path}:21: telegram_group -1001000000702 of committee 'gz-labor' is already the "
        "group of the center of region '甘州区' (line 15); each center needs a group of its own",
    ]


def test_minshi_centers_check_names_the_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "-1001000000700", "1000000702", "-1001000000711")
    checked = minshi("centers", "check", str(path))
    assert checked.returncode == 1
    assert (
        f"{path}:15: telegram_group of the center of region '甘州区'"
        in checked.stdout + checked.stderr
    )
