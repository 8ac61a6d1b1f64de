"""Each decision path, on a small FAQ of our own and on the shipped one."""

from __future__ import annotations

import pytest

from faq import Decision, FaqService, Matcher


def ids(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.entry.id for c in result.candidates]


def test_a_clear_question_is_answered(small_matcher: Matcher) -> None:
    result = small_matcher.match("被别人家的狗咬了，谁来负责？")
    assert result.decision is Decision.ANSWER
    assert ids(result)[0] == "dog-bite"
    assert result.candidates[0].matched == "被别人家的狗咬了，谁来负责？"
    assert 0.0 < result.candidates[0].score <= 1.0


def test_the_matched_phrasing_is_the_variant_that_fits(small_matcher: Matcher) -> None:
    result = small_matcher.match("老板不给工钱咋办")
    assert result.decision is Decision.ANSWER
    assert result.candidates[0].matched == "老板不给工钱"


@pytest.mark.parametrize(
    "typed",
    [
        "老闆不給工錢怎麼辦",  # traditional
        "老板　不给工钱？！",  # full-width space and punctuation
        "请问一下，老板不给工钱怎么办啊？谢谢",  # fillers
    ],
)
def test_how_it_is_typed_does_not_change_the_answer(small_matcher: Matcher, typed: str) -> None:
    result = small_matcher.match(typed)
    assert result.decision is Decision.ANSWER
    assert ids(result)[0] == "wage-arrears"


@pytest.mark.parametrize(
    ("typed", "entry"), [("离昏后孩子归谁", "divorce-custody"), ("宅机地能买卖吗", "homestead")]
)
def test_homophone_typos_find_their_entry(small_matcher: Matcher, typed: str, entry: str) -> None:
    assert ids(small_matcher.match(typed))[0] == entry


def test_a_long_story_still_finds_the_topic(small_matcher: Matcher) -> None:
    story = (
        "俺家那条街上有户人家养了条大狗，从来不拴，昨天我去地里干活路过他家门口，"
        "那狗冲出来把我腿咬伤了，打针花了好几百"
    )
    assert ids(small_matcher.match(story))[0] == "dog-bite"


def test_a_vague_question_gets_suggestions_not_an_answer(small_matcher: Matcher) -> None:
    result = small_matcher.match("狗")
    assert result.decision is Decision.SUGGEST
    assert ids(result)[0] == "dog-bite"
    assert len(result.candidates) <= 3


@pytest.mark.parametrize("text", ["你好", "谢谢", "明天下雨吗", "？？？", ""])
def test_nothing_related_gets_no_match(small_matcher: Matcher, text: str) -> None:
    result = small_matcher.match(text)
    assert result.decision is Decision.NONE
    assert result.query == text


def test_an_off_topic_word_blocks_a_confident_answer(small_matcher: Matcher) -> None:
    # Shares 狗咬 with an entry, but is about the weather too.
    result = small_matcher.match("明天会下雨吗 下雨天狗咬人谁赔")
    assert result.decision is not Decision.ANSWER


def test_a_question_mixing_two_entries_is_not_answered(small_matcher: Matcher) -> None:
    # 探望权 belongs to another entry than 抚养权: suggest both, answer neither.
    result = small_matcher.match("离婚后抚养权和探望权怎么判")
    assert result.decision is Decision.SUGGEST
    assert {"divorce-custody", "divorce-visitation"} <= set(ids(result))


def test_rank_lists_more_than_three(small_matcher: Matcher) -> None:
    assert len(small_matcher.rank("离婚后孩子和宅基地和工资和狗", 5)) >= 4


# -- the shipped FAQ -------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("邻居把路堵了不让我家通行怎么办", "neighbor-right-of-way"),
        ("離婚後孩子歸誰撫養", "divorce-custody"),
        ("老板拖千工资半年了", "wage-arrears"),
        ("被狗咬了谁负责", "injury-dog-bite"),
    ],
)
def test_shipped_faq_answers_plain_questions(
    shipped: FaqService, question: str, entry: str
) -> None:
    result = shipped.match(question)
    assert ids(result)[0] == entry
    assert result.decision is not Decision.NONE


@pytest.mark.parametrize(
    ("story", "entry"),
    [
        (
            "我在县城一个工地上干了大半年的活，包工头说年底一起结账，结果到了腊月人就找不着了，"
            "电话也打不通，我们十几个人的工钱都没拿到，这钱还能要回来吗",
            "wage-arrears-construction",
        ),
        (
            "前年我们家跟邻居因为院墙的事闹了好几回，他家新砌的墙往我家这边挪了快半米，"
            "村干部来量过也没个说法，这事到底该按啥来定",
            "neighbor-boundary",
        ),
    ],
)
def test_shipped_faq_finds_the_topic_of_a_long_story(
    shipped: FaqService, story: str, entry: str
) -> None:
    result = shipped.match(story)
    assert result.decision is not Decision.NONE
    assert ids(result)[0] == entry


@pytest.mark.parametrize(
    "question",
    [
        "你好",
        "明天会下雨吗",
        "身份证丢了怎么补办",
        "酒驾被抓了会判刑吗",
        "开公司注册资本最少多少",
        "个人所得税怎么退",
        "医疗事故怎么鉴定",
        "去日本打工签证怎么办",
    ],
)
def test_shipped_faq_never_answers_what_it_does_not_cover(
    shipped: FaqService, question: str
) -> None:
    assert shipped.match(question).decision is not Decision.ANSWER


def test_an_entrys_own_question_or_variant_is_answered_with_it(shipped: FaqService) -> None:
    """However close a neighbouring entry comes (借钱不还 / 欠钱多年): typed as written
    in the FAQ, with or without its question mark, it gets its own answer."""
    not_answered = []
    for entry in shipped.entries:
        for phrasing in entry.phrasings:
            for typed in (phrasing, phrasing.rstrip("？?")):
                result = shipped.match(typed)
                if result.decision is not Decision.ANSWER or ids(result)[0] != entry.id:
                    not_answered.append((entry.id, typed, result.decision))
    assert not_answered == []
