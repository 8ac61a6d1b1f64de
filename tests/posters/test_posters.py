"""The posters of a township: what they say, and that a phone reads their QR codes.

Rendered with the real font, read back with a real QR decoder (zxing-cpp) and
a real PDF engine (PDFium), as a camera and a printer would.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.posters import (
    NoPublicUrl,
    TownshipPosters,
    UnknownTownship,
    public_base,
    township_posters,
    unreachable_host,
)
from bot.posters.render import FontMissing, find_font, render_pdf, render_png
from handoff import CenterDirectory, DeadlinePolicy, Level, load_centers

from .decode import A4_POINTS, pdf_pages, png, qr_texts

BASE = "https://minshi.example.org"
TOWNSHIP = "620702103"  # 沙井镇: its center, 寺儿沟村 (own center), 东沟村 (none)
VILLAGE = "620702103203"
HOURS = DeadlinePolicy({Level.VILLAGE: 24, Level.TOWNSHIP: 48, Level.COUNTY: 48, Level.CITY: 48})


@cache
def directory() -> CenterDirectory:
    return load_centers()


def shajing() -> TownshipPosters:
    return township_posters(directory(), TOWNSHIP, BASE, HOURS)


def test_the_png_code_opens_the_chat_at_the_posters_place() -> None:
    poster = next(p for p in shajing().posters if p.region_code == VILLAGE)
    image = png(render_png(poster, find_font()))
    assert image.size == (1654, 2339)  # A4 at 200 dpi
    [link] = qr_texts(image)
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == BASE and parts.path == "/chat"
    [code] = parse_qs(parts.query)["loc"]
    place = directory().region(code)
    assert place is not None and place.name == "寺儿沟村"


def test_one_pdf_page_per_poster_with_the_place_the_steps_and_the_numbers() -> None:
    found = shajing()
    assert [p.title for p in found.posters] == ["沙井镇综治中心", "寺儿沟村", "东沟村"]
    pages = pdf_pages(render_pdf(found.posters, find_font()))
    assert len(pages) == 3
    for page, poster in zip(pages, found.posters, strict=True):
        assert page.size == A4_POINTS
        assert page.qr == [f"{BASE}/chat?loc={poster.region_code}"]
        for words in (poster.title, "① 扫码", "② 说事", "③ 调解员联系您", "便民联系卡", "12348"):
            assert words in page.text
        assert "示例号码" in page.text  # the shipped numbers are placeholders
    village, own_center = pages[1].text, found.posters[1]
    assert all(c.phone in village for c in own_center.contacts)  # 党支部书记, 民警, 网格员
    assert "由寺儿沟村综治中心受理" in village and "24 小时内回复" in village
    # A village without a center of its own is served by the township, which has 48 hours.
    assert "由沙井镇综治中心受理" in pages[2].text and "48 小时内回复" in pages[2].text


def test_posters_refuse_to_point_nowhere() -> None:
    for unset in (None, "", "  "):
        with pytest.raises(NoPublicUrl, match="MINSHI_PUBLIC_URL"):
            public_base(unset)
    with pytest.raises(NoPublicUrl, match="http"):
        public_base("minshi.example.org")
    assert public_base(f"{BASE}/") == BASE
    assert unreachable_host("http://127.0.0.1:8080") and unreachable_host("http://192.168.1.9")
    assert unreachable_host("http://localhost:8080") and not unreachable_host(BASE)


@pytest.mark.parametrize(
    ("typed", "listed", "why"),
    [
        ("62070210", "620702103 张掖市甘州区沙井镇", "没有乡镇代码"),
        (VILLAGE, "620702103 张掖市甘州区沙井镇", "是村/社区（寺儿沟村）"),
        ("中川镇", "620422113 白银市会宁县中川镇", "没有乡镇代码"),
    ],
)
def test_an_unknown_township_lists_the_codes_meant(typed: str, listed: str, why: str) -> None:
    with pytest.raises(UnknownTownship) as caught:
        township_posters(directory(), typed, BASE, HOURS)
    assert listed in str(caught.value) and why in str(caught.value)


def test_a_countys_own_center_gets_its_poster_too() -> None:
    found = township_posters(directory(), "620702", BASE, HOURS)
    [poster] = found.posters
    assert (poster.title, poster.region_code) == ("甘州区综治中心", "620702")
    assert poster.link == f"{BASE}/chat?loc=620702"
    assert qr_texts(png(render_png(poster, find_font()))) == [poster.link]


def test_a_missing_font_names_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match="apt-get install fonts-wqy-zenhei"):
        find_font([tmp_path / "wqy-zenhei.ttc"])
