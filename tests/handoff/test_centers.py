"""Loading and checking the centers file: the shipped data and every kind of mistake."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import handoff
from common.yamlsource import YamlSourceError
from handoff import DEFAULT_CENTERS_PATH, CenterDirectory, CentersError, check_centers, load_centers

CATEGORIES = {"traffic", "labor", "wages", "property", "family", "neighbor", "consumer", "other"}

# A small valid file; tests break one line at a time (list index = line - 1).
VALID = """\
demo: true
national:
  - {name: 报警, phone: "110"}
regions:
  - code: "620000"
    name: 甘肃省
    level: province
    center: {name: 省中心, phone: "0931-0000001"}
    children:
      - code: "621200"
        name: 陇南市
        level: city
        center: {name: 市中心, phone: "0939-0000100"}
        children:
          - code: "621202"
            name: 武都区
            level: county
            lat: "33.39"
            lon: "104.93"
            center: {name: 区中心, phone: "0939-0000200"}
            committees:
              - {id: wudu-traffic, name: 交通调委会, categories: [traffic], phone: "0939-0000211"}
            children:
              - code: "621202002"
                name: 吉石坝街道
                level: township
                center: {name: 街道中心, phone: "0939-0000101"}
                children:
                  - code: "621202002001"
                    name: 吉石坝社区
                    level: village
                    contacts:
                      - {role: 网格员, name: 张某（示例）, phone: "13800000001"}
""".splitlines()


def committee(committee_id: str, categories: str, phone: str = "0939-0000211") -> str:
    """A committee line of the county in VALID (line 22)."""
    fields = f'id: {committee_id}, name: 调委会, categories: [{categories}], phone: "{phone}"'
    return " " * 14 + "- {" + fields + "}"


def write(tmp_path: Path, lines: list[str], name: str = "centers.yaml") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def edited(**lines: str) -> list[str]:
    """VALID with some lines replaced: ``edited(l12="        level: town")``."""
    result = list(VALID)
    for key, text in lines.items():
        result[int(key[1:]) - 1] = text
    return result


def problems_of(tmp_path: Path, lines: list[str]) -> list[str]:
    path = write(tmp_path, lines)
    return [str(p).removeprefix(f"{path}:") for p in check_centers(path, CATEGORIES)]


# -- the shipped file -------------------------------------------------------------


def test_shipped_file_has_no_problems() -> None:
    assert check_centers(DEFAULT_CENTERS_PATH) == []


def test_shipped_file_counts(directory: CenterDirectory) -> None:
    levels = Counter(r.level for r in directory.regions())
    assert levels["province"] == 1
    assert levels["county"] >= 6
    assert levels["township"] >= 18
    assert levels["village"] >= 40
    committees = [c for c in directory.centers() if c.is_committee]
    assert len(committees) >= 6


@pytest.mark.parametrize(
    ("code", "name", "level"),
    [
        ("620000", "甘肃省", "province"),
        ("621200", "陇南市", "city"),
        ("621202", "武都区", "county"),
        ("621202100", "城关镇", "township"),
        ("620700", "张掖市", "city"),
        ("620702", "甘州区", "county"),
        ("620702103", "沙井镇", "township"),
        ("620702103223", "东沟村", "village"),
        ("620400", "白银市", "city"),
        ("620402", "白银区", "county"),
        ("620422", "会宁县", "county"),
        ("620422113203", "中川村", "village"),
        ("620171", "兰州新区", "county"),
        ("623000", "甘南藏族自治州", "city"),
        ("623021", "临潭县", "county"),
        ("623021102", "冶力关镇", "township"),
    ],
)
def test_named_places_exist_with_their_codes(
    directory: CenterDirectory, code: str, name: str, level: str
) -> None:
    region = directory.region(code)
    assert region is not None
    assert (region.name, region.level) == (name, level)


def test_shipped_file_is_marked_demo_and_lists_national_numbers(directory: CenterDirectory) -> None:
    assert directory.demo is True
    phones = {c.phone for c in directory.national}
    assert {"110", "120", "119", "12348", "12345", "12315"} <= phones


def test_shipped_people_and_numbers_are_placeholders(directory: CenterDirectory) -> None:
    for region in directory.regions():
        for contact in region.contacts:
            assert "示例" in contact.name
            assert contact.phone.startswith("1380000")
    for center in directory.centers():
        assert center.phone.split("-")[1].startswith("0000")


def test_every_region_has_coordinates_and_codes_nest(directory: CenterDirectory) -> None:
    for region in directory.regions():
        assert region.lat is not None and region.lon is not None, region.code
        if region.parent_code:
            assert region.code[:2] == region.parent_code[:2]


def test_committees_in_two_counties(directory: CenterDirectory) -> None:
    for county in ("621202", "620702"):
        handled = {cat for c in directory.committees(county) for cat in c.categories}
        assert {"traffic", "labor", "wages", "property"} <= handled


def test_exports_are_complete_and_sorted() -> None:
    # isort style, as ruff keeps it: CONSTANTS, then Classes, then functions.
    style = sorted(handoff.__all__, key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
    assert handoff.__all__ == style
    for name in handoff.__all__:
        assert hasattr(handoff, name), name


# -- checks, each with its exact line ----------------------------------------------


def test_valid_file_has_no_problems(tmp_path: Path) -> None:
    assert problems_of(tmp_path, VALID) == []
    directory = load_centers(write(tmp_path, VALID), CATEGORIES)
    assert directory.region("621202002001").contacts[0].role == "网格员"


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    found = problems_of(tmp_path, edited(l11="        name: [陇南市"))
    assert len(found) == 1
    assert found[0].startswith("12: YAML syntax")


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (edited(l12="        level: town"), "12: unknown level 'town'"),
        (
            edited(l31="                    level: township"),
            "31: level 'township' of region '吉石坝社区' is not below",
        ),
        (
            edited(l24='              - code: "62120200"'),
            "24: code '62120200' of region '吉石坝街道' must have 9 digits",
        ),
        (
            edited(l29='                  - code: "62120200200X"'),
            "29: code '62120200200X' of region '吉石坝社区' must be digits only",
        ),
        (
            edited(l24='              - code: "621203002"'),
            "24: code '621203002' of region '吉石坝街道' does not start with '621202'",
        ),
        (
            edited(l18='            lat: "北纬33度"'),
            "18: lat of region '武都区' must be a number, not '北纬33度'",
        ),
        (edited(l19='            lon: "4.93"'), "19: lon 4.93 of region '武都区' is outside China"),
        (
            edited(l27='                center: {name: 街道中心, phone: "12345678"}'),
            "27: phone '12345678' of the center of region '吉石坝街道'",
        ),
        (
            edited(
                l33='                      - {role: 网格员, name: 张某（示例）, phone: "138-0000"}'
            ),
            "33: phone '138-0000' of contact '网格员'",
        ),
        (
            edited(l22=committee("wudu-traffic", "traffik")),
            "22: unknown category 'traffik' in committee 'wudu-traffic'",
        ),
        (edited(l25="                nam: 吉石坝街道"), "24: missing 'name' in a region"),
        (
            edited(l20='            centre: {name: 区中心, phone: "0939-0000200"}'),
            "20: unknown key 'centre' in region '武都区'",
        ),
        (edited(l1="demo: yes please"), "1: demo must be true or false"),
        (edited(l3='  - {name: 报警, phone: ""}'), "3: missing 'phone' in national number '报警'"),
    ],
)
def test_each_problem_names_its_line(tmp_path: Path, lines: list[str], expected: str) -> None:
    found = problems_of(tmp_path, lines)
    assert any(p.startswith(expected) for p in found), found


def test_problem_lines_print_as_file_line_message(tmp_path: Path) -> None:
    path = write(tmp_path, edited(l12="        level: town"))
    (problem,) = check_centers(path, CATEGORIES)
    assert (
        str(problem) == f"{path}:12: unknown level 'town' of region '陇南市'; "
        "expected one of province, city, county, township, village"
    )


def test_duplicate_codes_and_committee_ids(tmp_path: Path) -> None:
    lines = list(VALID)
    lines.insert(
        22,
        committee("wudu-traffic", "labor", "0939-0000212"),
    )
    lines += [
        '                  - code: "621202002001"',
        "                    name: 重复社区",
        "                    level: village",
    ]
    found = problems_of(tmp_path, lines)
    assert "23: duplicate committee id 'wudu-traffic' (first used on line 22)" in found
    assert "35: duplicate code '621202002001' (first used on line 30)" in found


def test_two_committees_for_one_category(tmp_path: Path) -> None:
    lines = list(VALID)
    lines.insert(
        22,
        committee("wudu-traffic-2", "traffic", "0939-0000212"),
    )
    found = problems_of(tmp_path, lines)
    assert any(
        p.startswith(
            "23: category 'traffic' of committee 'wudu-traffic-2' "
            "is already handled by committee 'wudu-traffic'"
        )
        for p in found
    )


def test_committees_only_at_county_level(tmp_path: Path) -> None:
    lines = list(VALID)
    lines.insert(27, "                committees: []")
    found = problems_of(tmp_path, lines)
    assert any(p.startswith("28: committees are only allowed at county level") for p in found), (
        found
    )


def test_village_without_any_center_above(tmp_path: Path) -> None:
    lines = [
        "regions:",
        '  - code: "620000"',
        "    name: 甘肃省",
        "    level: province",
        "    children:",
        '      - code: "620104101201"',
        "        name: 下车村",
        "        level: village",
    ]
    found = problems_of(tmp_path, lines)
    assert found == [
        "6: village '下车村' (620104101201) has no center and none above it: "
        "its cases cannot be routed"
    ]


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    lines = edited(
        l12="        level: town",
        l18='            lat: "x"',
        l33='                      - {role: 网格员, name: 张某（示例）, phone: "0"}',
    )
    found = problems_of(tmp_path, lines)
    assert [p.split(":")[0] for p in found] == ["12", "18", "33"]


def test_load_raises_with_all_problems(tmp_path: Path) -> None:
    path = write(tmp_path, edited(l12="        level: town", l18='            lat: "x"'))
    with pytest.raises(CentersError) as caught:
        load_centers(path, CATEGORIES)
    assert len(caught.value.problems) == 2
    assert isinstance(caught.value, YamlSourceError)


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (problem,) = check_centers(tmp_path / "nope.yaml", CATEGORIES)
    assert problem.line == 0
    assert "cannot read file" in problem.message


def test_categories_default_to_the_faq_categories(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        edited(l22=committee("wudu-x", "dv")),
    )
    assert check_centers(path) == []  # dv is in faq/data/categories.yaml
    assert check_centers(path, {"traffic"})[0].message.startswith("unknown category 'dv'")


def test_lat_without_lon(tmp_path: Path) -> None:
    lines = list(VALID)
    del lines[18]  # lon of 武都区
    assert problems_of(tmp_path, lines) == ["15: region '武都区' has lat but no lon"]


def test_empty_lists_are_fine(tmp_path: Path) -> None:
    lines = list(VALID)
    lines[31:33] = ["                    contacts:", "                    children:"]
    lines[1:3] = ["national:"]
    assert problems_of(tmp_path, lines) == []


# A village with its own center and none above it: its everyday cases route,
# complaints about its own committee (category 'village') cannot.
ONLY_A_VILLAGE_CENTER = """\
regions:
  - code: "621202"
    name: 武都区
    level: county
    children:
      - code: "621202002"
        name: 吉石坝街道
        level: township
        children:
          - code: "621202002001"
            name: 吉石坝社区
            level: village
            center: {name: 社区中心, phone: "0939-0000102"}
""".splitlines()


def test_village_affairs_need_a_center_above_the_village(tmp_path: Path) -> None:
    path = write(tmp_path, ONLY_A_VILLAGE_CENTER)
    assert [str(p).removeprefix(f"{path}:") for p in check_centers(path, {"village"})] == [
        "10: village '吉石坝社区' (621202002001) has no center at township level or above: "
        "its 'village' cases (complaints about its own committee) cannot be routed"
    ]
    assert check_centers(path, CATEGORIES) == []  # without the category there is nothing to route


def test_the_new_faq_categories_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, edited(l22=committee("wudu-x", "welfare, village, housing")))
    assert check_centers(path) == []  # they are in faq/data/categories.yaml
    assert check_centers(path, CATEGORIES)[0].message.startswith("unknown category 'welfare'")
