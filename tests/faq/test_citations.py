"""Citations as residents see them: grouped by law, short names, Arabic numbers."""

from __future__ import annotations

import pytest

from faq import Citation, LawLibrary, format_basis, short_title
from faq._citations import format_article


@pytest.fixture(scope="module")
def laws() -> LawLibrary:
    return LawLibrary.load()


def cite(laws: LawLibrary, *basis: str) -> list[Citation]:
    return [laws.citation(text) for text in basis]


def test_grouped_by_law_in_first_cited_order(laws: LawLibrary) -> None:
    citations = cite(
        laws,
        "民法典 第一千零七十九条",
        "人民调解法 第四条",
        "民法典 第一千零八十条第二款",
        "最高人民法院关于适用《中华人民共和国民法典》婚姻家庭编的解释（一） 第四十九条",
    )
    assert format_basis(citations) == (
        "《民法典》第1079条、第1080条第二款；《人民调解法》第4条；《婚姻家庭编解释（一）》第49条"
    )


def test_articles_of_a_law_go_by_number(laws: LawLibrary) -> None:
    citations = cite(
        laws,
        "民法典 第一千零八十三条",
        "婚姻登记条例 第四条",
        "民法典 第一千零四十九条",
        "民法典 第一千零四十九条第二款",
    )
    assert format_basis(citations) == (
        "《民法典》第1049条、第1049条第二款、第1083条；《婚姻登记条例》第4条"
    )


def test_an_inserted_article_follows_the_article_it_was_inserted_after(laws: LawLibrary) -> None:
    citations = cite(laws, "刑法 第二百八十七条之二", "刑法 第二百六十六条", "刑法 第二百八十七条")
    assert format_basis(citations) == "《刑法》第266条、第287条、第287条之二"


def test_a_repeated_article_is_shown_once(laws: LawLibrary) -> None:
    citations = cite(laws, "民法典 第二百九十一条", "中华人民共和国民法典 第二百九十一条")
    assert format_basis(citations) == "《民法典》第291条"


def test_no_citations_is_empty() -> None:
    assert format_basis([]) == ""


@pytest.mark.parametrize(
    ("title", "short"),
    [
        ("中华人民共和国民法典", "民法典"),
        ("中华人民共和国道路交通安全法实施条例", "道路交通安全法实施条例"),
        ("工伤保险条例", "工伤保险条例"),
        ("国务院关于职工工作时间的规定", "国务院关于职工工作时间的规定"),
        (
            "最高人民法院关于适用《中华人民共和国民法典》婚姻家庭编的解释（一）",
            "婚姻家庭编解释（一）",
        ),
        ("最高人民法院关于适用《中华人民共和国民法典》继承编的解释（一）", "继承编解释（一）"),
        ("最高人民法院关于适用《中华人民共和国民事诉讼法》的解释", "民事诉讼法解释"),
        (
            "最高人民法院关于适用《中华人民共和国民法典》时间效力的若干规定",
            "民法典时间效力规定",
        ),
        ("最高人民法院关于审理民间借贷案件适用法律若干问题的规定", "民间借贷规定"),
        ("最高人民法院关于审理人身损害赔偿案件适用法律若干问题的解释", "人身损害赔偿解释"),
        ("最高人民法院关于审理劳动争议案件适用法律问题的解释（一）", "劳动争议解释（一）"),
        (
            "最高人民法院关于审理商品房买卖合同纠纷案件适用法律若干问题的解释",
            "商品房买卖合同解释",
        ),
        ("最高人民法院关于审理民事案件适用诉讼时效制度若干问题的规定", "诉讼时效规定"),
        (
            "最高人民法院关于审理道路交通事故损害赔偿案件适用法律若干问题的解释（二）",
            "道路交通事故损害赔偿解释（二）",
        ),
        ("最高人民法院关于办理人身安全保护令案件适用法律若干问题的规定", "人身安全保护令规定"),
    ],
)
def test_short_titles(laws: LawLibrary, title: str, short: str) -> None:
    assert title in laws.laws  # a real law text, not a made-up title
    assert short_title(title) == short


def test_every_shipped_law_has_a_distinct_short_title(laws: LawLibrary) -> None:
    shorts = [short_title(title) for title in laws.laws]
    assert len(set(shorts)) == len(shorts)
    assert not any("中华人民共和国" in s or "最高人民法院" in s for s in shorts)


@pytest.mark.parametrize(
    ("article", "shown"),
    [
        ("第一千零七十九条", "第1079条"),
        ("第十条", "第10条"),
        ("第一百条", "第100条"),
        ("第二百零九条第一款", "第209条第一款"),
        ("第一千零七十九条第三款第(五)项", "第1079条第三款第（五）项"),
        ("第四十二条第（三）项", "第42条第（三）项"),
        ("序言", "序言"),  # not an article: shown as cited
    ],
)
def test_article_numbers_in_arabic_digits(article: str, shown: str) -> None:
    assert format_article(article) == shown


def test_paragraphs_and_items_of_real_citations(laws: LawLibrary) -> None:
    citations = cite(
        laws,
        "劳动合同法 第四十二条第（三）项",
        "最高人民法院关于审理民间借贷案件适用法律若干问题的规定 第二十五条",
        "工伤保险条例 第三十条第二款",
    )
    assert format_basis(citations) == (
        "《劳动合同法》第42条第（三）项；《民间借贷规定》第25条；《工伤保险条例》第30条第二款"
    )
