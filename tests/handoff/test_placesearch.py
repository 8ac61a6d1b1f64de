"""Typing a place name: typos, homophones, missing suffixes and chatter."""

from __future__ import annotations

import pytest

from handoff import CenterDirectory
from handoff._placesearch import normalize_place_text, short_name


def top(directory: CenterDirectory, text: str) -> str:
    found = directory.search(text)
    assert found, f"nothing found for {text!r}"
    return found[0].region.code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("沙井镇", "620702103"),  # exact
        ("甘州区沙井镇东沟村", "620702103223"),  # full path
        ("东沟", "620702103223"),  # missing 村
        ("冶力关", "623021102"),  # missing 镇
        ("西巩驿", "621102106"),
        ("沙景镇", "620702103"),  # homophone (井/景 jǐng)
        ("寺而沟村", "620702103203"),  # homophone (儿/而 ér)
        ("大船渡", "620402100211"),  # homophone and missing 村
        ("西巩译镇", "621102106"),  # homophone (驿/译 yì)
        ("党赛镇", "620702107"),  # wrong character (寨/赛)
        ("平头山村", "620422115201"),  # wrong character (川/山)
        ("我在甘州区沙井镇那边", "620702103"),  # extra words
        ("我们村马泉村的事想找人说说", "620104101202"),
        ("ＭＹ家在 临潭县 冶力关镇！", "623021102"),  # full width, spaces, punctuation
        ("旧城", "623021100"),  # alias
        ("甘南州临潭县", "623021"),
    ],
)
def test_finds_the_place_meant(directory: CenterDirectory, text: str, code: str) -> None:
    assert top(directory, text) == code


def test_naming_the_county_picks_the_right_namesake(directory: CenterDirectory) -> None:
    # 中川镇 exists in 兰州新区 and in 会宁县
    assert top(directory, "会宁中川镇") == "620422113"
    assert top(directory, "兰州新区中川镇") == "620171101"
    assert top(directory, "武都城关") == "621202100"
    assert top(directory, "临潭城关镇") == "623021100"


def test_an_ambiguous_name_offers_both_places(directory: CenterDirectory) -> None:
    codes = [m.region.code for m in directory.search("中川镇")]
    assert {"620171101", "620422113"} <= set(codes)


def test_villages_and_townships_before_counties_when_equally_good(
    directory: CenterDirectory,
) -> None:
    codes = [m.region.code for m in directory.search("木耳")]
    assert codes[:2] == ["621223206200", "621223206"]  # 木耳村, 木耳乡


def test_match_reports_score_and_matched_name(directory: CenterDirectory) -> None:
    (best, *_) = directory.search("我在甘州区沙井镇那边")
    assert best.matched == "沙井镇"
    assert 90 < best.score <= 100
    assert directory.search("东沟")[0].matched == "东沟"


@pytest.mark.parametrize(
    "text",
    [
        "你好",
        "我要离婚",
        "邻居占了我家的地",
        "工资不给怎么办",
        "我妈劝我别去",
        "北京朝阳区",
        "马上就到",
        "",
        "村",
    ],
)
def test_nothing_when_no_place_is_meant(directory: CenterDirectory, text: str) -> None:
    assert directory.search(text) == []


def test_limit(directory: CenterDirectory) -> None:
    assert len(directory.search("中川", limit=1)) == 1
    assert directory.search("中川", limit=0) == []


def test_helpers() -> None:
    assert normalize_place_text("  沙井 镇，") == "沙井镇"
    assert normalize_place_text("ＡＢ１") == "ab1"
    assert short_name("沙井镇") == "沙井"
    assert short_name("吉石坝街道") == "吉石坝"
    assert short_name("甘南藏族自治州") == "甘南"
    assert short_name("兰州新区") is None
    assert short_name("张镇") is None
