"""Routing, escalation, contact cards and lookups over the shipped centers file."""

from __future__ import annotations

from pathlib import Path

import pytest

from handoff import CenterDirectory, load_centers

DONGGOU = "620702103223"  # 甘州区沙井镇东沟村: no village center
SIERGOU = "620702103203"  # 甘州区沙井镇寺儿沟村: has a village center
DAYUN = "620422113204"  # 会宁县中川镇大墩村: no village center, no committees in 会宁
MUER = "621223206200"  # 宕昌县木耳乡木耳村: 宕昌 has no committees


def test_lowest_level_center_takes_the_case(directory: CenterDirectory) -> None:
    route = directory.route(SIERGOU, "neighbor")
    assert route.center.id == SIERGOU
    assert route.center.name == "寺儿沟村综治中心"
    assert (route.level, route.committee, route.region.code) == ("village", False, SIERGOU)


def test_village_without_center_goes_to_its_township(directory: CenterDirectory) -> None:
    route = directory.route(DONGGOU, "neighbor")
    assert route.center.id == "620702103"
    assert route.region.name == "沙井镇"
    assert route.level == "township"
    assert route.committee is False


def test_category_with_a_committee_goes_to_the_committee(directory: CenterDirectory) -> None:
    route = directory.route(SIERGOU, "traffic")
    assert route.committee is True
    assert route.center.id == "ganzhou-traffic"
    assert route.center.name == "甘州区道路交通事故纠纷人民调解委员会"
    assert route.region.code == "620702"
    assert route.level == "county"


def test_wages_go_to_the_labour_committee(directory: CenterDirectory) -> None:
    assert directory.route("621202100", "wages").center.id == "wudu-labor"
    assert directory.route("621202100", "labor").center.id == "wudu-labor"


def test_same_category_in_a_county_without_committee_goes_to_the_normal_center(
    directory: CenterDirectory,
) -> None:
    route = directory.route(MUER, "traffic")
    assert route.committee is False
    assert route.center.id == MUER
    route = directory.route(DAYUN, "property")
    assert (route.center.id, route.level) == ("620422113", "township")


def test_route_from_a_township_or_county(directory: CenterDirectory) -> None:
    assert directory.route("620171102", "land").center.name == "秦川镇综治中心"
    assert directory.route("623021", "neighbor").center.name == "临潭县综治中心"


def test_route_rejects_unknown_codes_and_categories(directory: CenterDirectory) -> None:
    with pytest.raises(KeyError, match="999999"):
        directory.route("999999", "neighbor")
    with pytest.raises(ValueError, match="'divorce'"):
        directory.route(DONGGOU, "divorce")


def test_parent_center_chain_up_to_the_province(directory: CenterDirectory) -> None:
    chain = []
    center = directory.route(DAYUN, "neighbor").center
    while center is not None:
        chain.append((center.level, center.name))
        center = directory.parent_center(center.id)
    assert chain == [
        ("township", "中川镇综治中心"),
        ("county", "会宁县综治中心"),
        ("city", "白银市综治中心"),
        ("province", "甘肃省社会治安综合治理中心"),
    ]


def test_village_center_escalates_to_its_township(directory: CenterDirectory) -> None:
    parent = directory.parent_center(SIERGOU)
    assert parent is not None and parent.id == "620702103"


def test_committee_escalates_to_the_city_above_its_county(directory: CenterDirectory) -> None:
    parent = directory.parent_center("wudu-traffic")
    assert parent is not None
    assert (parent.id, parent.name) == ("621200", "陇南市综治中心")


def test_parent_center_of_unknown_id(directory: CenterDirectory) -> None:
    with pytest.raises(KeyError):
        directory.parent_center("nobody")


def test_contact_card_of_a_village(directory: CenterDirectory) -> None:
    region, contacts, center = directory.contact_card(DONGGOU)
    assert region.code == DONGGOU
    assert [c.role for c in contacts] == ["村党支部书记", "驻村民警", "网格员"]
    assert all("示例" in c.name for c in contacts)
    assert center is not None and center.id == "620702103"


def test_contact_card_of_a_township_has_its_center_but_no_village_contacts(
    directory: CenterDirectory,
) -> None:
    region, contacts, center = directory.contact_card("620171101")
    assert (region.code, contacts) == ("620171101", ())
    assert center is not None and center.name == "中川镇综治中心"


def test_children_start_with_counties_across_cities(directory: CenterDirectory) -> None:
    counties = directory.children(None)
    assert counties == directory.counties()
    names = [c.name for c in counties]
    assert {"武都区", "甘州区", "白银区", "会宁县", "兰州新区", "临潭县"} <= set(names)
    assert all(c.level == "county" for c in counties)
    townships = directory.children("620702")
    assert [t.name for t in townships] == ["东街街道", "沙井镇", "党寨镇"]
    assert [v.name for v in directory.children("620702103")] == ["寺儿沟村", "东沟村"]
    assert directory.children(DONGGOU) == []


def test_full_name_leaves_out_the_province(directory: CenterDirectory) -> None:
    assert directory.full_name(DONGGOU) == "张掖市甘州区沙井镇东沟村"
    assert directory.full_name("620171101") == "兰州市兰州新区中川镇"
    assert directory.full_name("620000") == ""


def test_centers_by_id(directory: CenterDirectory) -> None:
    assert directory.center("621202").name == "武都区综治中心"
    committee = directory.center("ganzhou-labor")
    assert committee.categories == ("labor", "wages")
    assert committee.region_code == "620702"
    assert directory.center("nope") is None


def test_nearest_prefers_the_village_at_that_spot(directory: CenterDirectory) -> None:
    village = directory.region(DONGGOU)
    found = directory.nearest(village.lat, village.lon)
    assert found is not None and found.code == DONGGOU


def test_nearest_in_a_county_town_without_villages_is_the_township(
    directory: CenterDirectory,
) -> None:
    found = directory.nearest(35.69, 105.05)  # 会宁县城
    assert found is not None and found.name == "会师镇"


def test_nearest_outside_the_service_area_is_none(directory: CenterDirectory) -> None:
    assert directory.nearest(39.90, 116.40) is None  # 北京
    assert directory.nearest(40.14, 94.66) is None  # 敦煌: Gansu, but no center within 50 km


def test_committees_sit_at_their_county(directory: CenterDirectory) -> None:
    county = directory.region("621202")
    committee = directory.center("wudu-traffic")
    assert (committee.level, committee.region_code) == ("county", "621202")
    assert (committee.lat, committee.lon) == (county.lat, county.lon)
    assert committee.is_committee and not county.center.is_committee


# -- the categories added with the 2026-12 topics -----------------------------------


def test_village_affairs_skip_the_village_center(directory: CenterDirectory) -> None:
    # 寺儿沟村's own center is run with the 村委会 a village-affairs complaint is about.
    route = directory.route(SIERGOU, "village")
    assert (route.center.id, route.center.name) == ("620702103", "沙井镇综治中心")
    assert (route.level, route.committee, route.region.code) == ("township", False, "620702103")


def test_village_affairs_from_a_village_without_center_go_to_its_township(
    directory: CenterDirectory,
) -> None:
    assert directory.route(DONGGOU, "village").center.id == "620702103"
    assert directory.route(DAYUN, "village").center.name == "中川镇综治中心"


def test_village_affairs_from_a_township_or_county_stay_there(directory: CenterDirectory) -> None:
    assert directory.route("620702103", "village").center.id == "620702103"
    assert directory.route("623021", "village").center.name == "临潭县综治中心"


def test_no_village_affairs_case_lands_on_a_village_center(directory: CenterDirectory) -> None:
    villages = [r for r in directory.regions() if r.level == "village"]
    assert sum(1 for v in villages if v.center) >= 10
    for village in villages:
        route = directory.route(village.code, "village")
        assert route.level != "village", village.name
        assert route.center.region_code == village.parent_code, village.name  # its township


@pytest.mark.parametrize("category", ["welfare", "housing"])
def test_welfare_and_housing_go_to_the_lowest_center(
    directory: CenterDirectory, category: str
) -> None:
    assert directory.route(SIERGOU, category).center.id == SIERGOU
    assert directory.route(DONGGOU, category).center.id == "620702103"
    assert directory.route("621202100", category).committee is False  # no committee takes them


def test_every_faq_category_routes_from_every_place(directory: CenterDirectory) -> None:
    assert {"welfare", "village", "housing"} <= directory.categories
    for region in directory.regions():
        for category in directory.categories:
            assert directory.route(region.code, category).center is not None


def test_village_affairs_climb_past_a_township_without_center(tmp_path: Path) -> None:
    path = tmp_path / "centers.yaml"
    path.write_text(
        """\
regions:
  - code: "621202"
    name: 武都区
    level: county
    center: {name: 区中心, phone: "0939-0000200"}
    children:
      - code: "621202002"
        name: 吉石坝街道
        level: township
        children:
          - code: "621202002001"
            name: 吉石坝社区
            level: village
            center: {name: 社区中心, phone: "0939-0000102"}
""",
        encoding="utf-8",
    )
    directory = load_centers(path, {"neighbor", "village"})
    assert directory.route("621202002001", "neighbor").center.name == "社区中心"
    route = directory.route("621202002001", "village")
    assert (route.center.name, route.level) == ("区中心", "county")
