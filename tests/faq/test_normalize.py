"""What residents type, and what the matcher understands of it."""

from __future__ import annotations

import pytest

from faq import Analyzer, Synonyms, normalize
from faq._pinyin import fuzzy_pinyin


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("ＡＢＣ１２３", "abc123"),  # full-width letters and digits
        ("邻居太吵了！！！", "邻居太吵了"),  # full-width punctuation
        ("離了婚不讓我看孩子咋辦", "离了婚不让我看孩子咋办"),  # traditional characters
        ("请问一下，加班费怎么算呢？谢谢", "加班费怎么算"),  # fillers and a final particle
        ("你好", ""),
        ("我想问一下 邻居  堵路", "邻居 堵路"),  # whitespace collapses, clause breaks stay
    ],
)
def test_normalize(typed: str, normalised: str) -> None:
    assert normalize(typed) == normalised


def test_fuzzy_pinyin_merges_what_dialects_and_input_methods_confuse() -> None:
    assert fuzzy_pinyin("光")[0] == fuzzy_pinyin("关")[0]  # guang / guan
    assert fuzzy_pinyin("仲")[0] == "zong"  # zh → z
    assert fuzzy_pinyin("a") == ()


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    synonyms = Synonyms(
        {"工钱": ("工资",), "欠薪": ("拖欠", "工资"), "俺娃": ("孩子",), "判刑": ("@刑事",)}
    )
    analyzer = Analyzer(synonyms, ["宅基地", "采光", "离婚", "抚养权"])
    analyzer.learn(["宅基地", "采光", "离婚", "抚养权"])
    return analyzer


def test_synonyms_map_to_canonical_words(analyzer: Analyzer) -> None:
    assert analyzer.analyze("老板欠薪").tokens[:3] == ("老板", "拖欠", "工资")
    assert "工资" in analyzer.analyze("工钱不给").tokens


def test_function_words_carry_no_content(analyzer: Analyzer) -> None:
    assert analyzer.analyze("我想问一下这个咋办啊").tokens == ()


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("邻居盖房挡了我家采关", "采光"),
        ("宅机地能卖吗", "宅基地"),
        ("离昏后房子归谁", "离婚"),
        ("府养权咋判", "抚养权"),
    ],
)
def test_homophone_typos_are_repaired(analyzer: Analyzer, typed: str, meant: str) -> None:
    analysis = analyzer.analyze(typed)
    assert meant in analysis.tokens
    assert any(fixed == meant for _, fixed in analysis.repairs)


def test_correct_text_is_not_repaired(analyzer: Analyzer) -> None:
    assert analyzer.analyze("我把老房子卖了 欠了别人的钱").repairs == ()


def test_off_topic_words_are_marked(analyzer: Analyzer) -> None:
    assert analyzer.analyze("酒驾会判刑吗").off_topic == ("@刑事",)
