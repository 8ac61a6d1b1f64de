from __future__ import annotations

from pathlib import Path

import pytest

from faq import DEFAULT_LAW_DIR, Citation, CitationError, LawLibrary
from faq._laws import chinese_number


@pytest.fixture(scope="module")
def laws() -> LawLibrary:
    return LawLibrary.load()


@pytest.mark.parametrize(
    ("numeral", "value"),
    [
        ("十", 10),
        ("十一", 11),
        ("二十", 20),
        ("一百一十", 110),
        ("二百零五", 205),
        ("一千零七十九", 1079),
        ("291", 291),
    ],
)
def test_chinese_numerals(numeral: str, value: int) -> None:
    assert chinese_number(numeral) == value


@pytest.mark.parametrize(
    "basis",
    [
        "中华人民共和国民法典 第二百九十一条",
        "民法典 第二百九十一条",
        "《民法典》第二百九十一条",
        "民法典第291条",
    ],
)
def test_citations_accept_titles_and_short_aliases(laws: LawLibrary, basis: str) -> None:
    assert laws.citation(basis) == Citation("中华人民共和国民法典", "第二百九十一条")


def test_judicial_interpretations_resolve_with_or_without_the_prefix(laws: LawLibrary) -> None:
    full = laws.citation(
        "最高人民法院关于适用《中华人民共和国民法典》婚姻家庭编的解释（一） 第五条"
    )
    short = laws.citation("最高人民法院关于适用《民法典》婚姻家庭编的解释(一) 第五条")
    assert full == short
    assert (
        str(full) == "《最高人民法院关于适用〈中华人民共和国民法典〉婚姻家庭编的解释（一）》第五条"
    )


def test_a_paragraph_stays_in_the_citation(laws: LawLibrary) -> None:
    citation = laws.citation("民法典 第一千零七十九条第三款")
    assert str(citation) == "《中华人民共和国民法典》第一千零七十九条第三款"


@pytest.mark.parametrize(
    ("basis", "message"),
    [
        ("民法典 第一千三百条", "has no article 1300"),
        ("公司法 第一条", "no law text titled '公司法'"),
        ("民法典", "is not '<law title> 第X条'"),
        ("刑法 第二百八十七条之九", "has no article 287之9"),
        ("刑法 第二百八十七条之", "is not '<law title> 第X条'"),
    ],
)
def test_bad_citations_say_what_is_wrong(laws: LawLibrary, basis: str, message: str) -> None:
    with pytest.raises(CitationError, match=message):
        laws.citation(basis)


def test_article_text_quotes_every_paragraph(laws: LawLibrary) -> None:
    text = laws.article_text(Citation("中华人民共和国民法典", "第一千零七十九条"))
    assert text is not None
    assert text.startswith("第一千零七十九条 夫妻一方要求离婚的")
    assert "（一）重婚或者与他人同居" in text  # a later line of the same article
    assert "第一千零八十条" not in text


def test_article_text_of_an_unknown_article_is_none(laws: LawLibrary) -> None:
    assert laws.article_text(Citation("中华人民共和国民法典", "第九千条")) is None
    assert laws.article_text(Citation("不存在的法", "第一条")) is None


def test_the_readme_is_not_a_law(laws: LawLibrary) -> None:
    assert all(law.path.name != "README.md" for law in laws.laws.values())
    assert "中华人民共和国民法典" in laws.laws


def test_a_law_folder_of_our_own(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.md").write_text(
        "# 测试条例\n\n## 第一章\n\n第一条 第一句。\n\n第二句。\n\n第二条 另一条。\n"
    )
    laws = LawLibrary.load(tmp_path)
    assert laws.article_text(laws.citation("测试条例 第一条")) == "第一条 第一句。\n第二句。"
    assert DEFAULT_LAW_DIR.name == "law"


def test_an_article_an_amendment_inserted_is_cited_by_its_own_text(laws: LawLibrary) -> None:
    """第一百三十三条之一 (危险驾驶) is an article of its own, not a part of 第一百三十三条."""
    inserted = laws.citation("刑法 第一百三十三条之一第一款")
    assert str(inserted) == "《中华人民共和国刑法》第一百三十三条之一第一款"
    text = laws.article_text(inserted)
    assert text is not None and text.startswith("第一百三十三条之一 在道路上驾驶机动车")
    assert "第一百三十三条之二" not in text
    before = laws.article_text(laws.citation("刑法 第一百三十三条"))
    assert before is not None and before.startswith("第一百三十三条 违反交通运输管理法规")
    assert "醉酒" not in before  # 之一's text is not appended to it
    fraud = laws.article_text(laws.citation("中华人民共和国刑法 第二百八十七条之二"))
    assert fraud is not None and "支付结算" in fraud


def test_a_line_that_merely_starts_with_an_article_name_is_not_an_article(tmp_path: Path) -> None:
    (tmp_path / "x.md").write_text(
        "# 测试条例\n\n第一条 第一句。\n\n第二条之一规定的情形除外。\n\n第二条 另一条。\n\n"
        "第二条之一 插入的一条。\n"
    )
    laws = LawLibrary.load(tmp_path)
    first = laws.article_text(laws.citation("测试条例 第一条"))
    assert first == "第一条 第一句。\n第二条之一规定的情形除外。"
    assert laws.article_text(laws.citation("测试条例 第二条之一")) == "第二条之一 插入的一条。"
