"""``minshi faq check``'s findings: every kind of problem, with its file and line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from faq import check_faq, load_faq
from faq._model import FaqLoadError

from .conftest import SMALL_FAQ

# Enough variants for the content rules, the last three long stories (30+
# characters after normalisation); all on line 4 as one flow list.
VARIANTS = [
    "狗咬人谁赔",
    "狗把人咬了",
    "被狗咬了找谁赔",
    "狗主人该不该管",
    "让狗咬了打针谁出钱",
    "狗没拴住咬了人",
    "遛狗咬了路人",
    "俺家娃在村口让张家的大黄狗咬了一口，张家说是娃先拿石头打的狗，不肯赔钱",
    "放羊回来路过邻村，一条没拴的狗扑上来咬住我的腿，主人躲在屋里不出来",
    "狗咬伤了我家老人，打狂犬疫苗花了一千多块，狗主人只肯给两百块钱了事",
]


def good(
    entry_id: str = "dog-bite", question: str = "被狗咬了谁负责？", variants: list[str] = VARIANTS
) -> str:
    return f"""\
- id: {entry_id}
  category: injury
  question: {question}
  variants: [{", ".join(variants)}]
  answer: 饲养人负责。
  basis: [民法典 第一千二百四十五条]
  short_answer: 狗的主人负责赔。
"""


GOOD = good()
VARIANTS_LINE = f"  variants: [{', '.join(VARIANTS)}]\n"


def one_per_line(variants: list[str]) -> str:
    """GOOD with its variants as a block list: variant i on line 5 + i."""
    return GOOD.replace(VARIANTS_LINE, "  variants:\n" + "".join(f"    - {v}\n" for v in variants))


def problems(folder: Path) -> list[str]:
    return [str(p) for p in check_faq(folder)]


def test_the_small_faq_has_no_problems(small_faq: Path) -> None:
    assert problems(small_faq) == []


def test_a_good_entry_has_no_problems(make_faq: Callable[..., Path]) -> None:
    assert problems(make_faq({"a.yaml": GOOD})) == []
    assert problems(make_faq({"a.yaml": one_per_line(VARIANTS)})) == []


def test_yaml_syntax_error_names_its_line(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": GOOD + "- id: broken\n  question: [不闭合\n"})
    [found] = problems(folder)
    assert found.startswith(f"{folder / 'a.yaml'}:")
    assert "YAML syntax" in found
    assert int(found.split(":")[1]) >= 7


def test_duplicate_id_points_at_the_second_and_names_the_first(
    make_faq: Callable[..., Path],
) -> None:
    folder = make_faq({"a.yaml": GOOD, "b.yaml": GOOD.replace("狗咬人谁赔", "狗把人咬了")})
    assert problems(folder) == [
        f"{folder / 'b.yaml'}:1: duplicate id 'dog-bite', first defined at {folder / 'a.yaml'}:1"
    ]


def test_missing_field(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": GOOD.replace("  answer: 饲养人负责。\n", "")})
    assert problems(folder) == [
        f"{folder / 'a.yaml'}:1: entry 'dog-bite' is missing field 'answer'"
    ]


def test_an_entry_missing_a_field_still_has_its_other_fields_checked(
    make_faq: Callable[..., Path],
) -> None:
    broken = (
        GOOD.replace(VARIANTS_LINE, "")
        .replace("category: injury", "category: pets")
        .replace("answer: 饲养人负责。", 'answer: ""')
        .replace("第一千二百四十五条", "第九千条")
    )
    file = make_faq({"a.yaml": broken}) / "a.yaml"
    found = problems(file.parent)
    assert [p.split(": ")[0] for p in found] == [f"{file}:1", f"{file}:2", f"{file}:4", f"{file}:5"]
    assert "missing field 'variants'" in found[0] and "unknown category 'pets'" in found[1]
    assert "answer is empty" in found[2] and "has no article 9000" in found[3]


def test_unknown_category_lists_the_known_ones(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": GOOD.replace("category: injury", "category: pets")})
    [found] = problems(folder)
    assert found.startswith(
        f"{folder / 'a.yaml'}:2: entry 'dog-bite': unknown category 'pets' (known: injury,"
    )


def test_empty_answer(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": GOOD.replace("answer: 饲养人负责。", 'answer: "  "')})
    assert problems(folder) == [f"{folder / 'a.yaml'}:5: entry 'dog-bite': answer is empty"]


def test_basis_article_that_does_not_exist(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": GOOD.replace("第一千二百四十五条", "第一千九百条")})
    [found] = problems(folder)
    assert found.startswith(
        f"{folder / 'a.yaml'}:6: entry 'dog-bite': basis '民法典 第一千九百条': "
    )
    assert "has no article 1900" in found


def test_basis_naming_no_law_text_or_badly_written(make_faq: Callable[..., Path]) -> None:
    text = GOOD.replace(
        "basis: [民法典 第一千二百四十五条]", "basis:\n    - 公司法 第二十条\n    - 民法典"
    )
    folder = make_faq({"a.yaml": text})
    assert problems(folder) == [
        f"{folder / 'a.yaml'}:7: entry 'dog-bite': basis '公司法 第二十条': "
        "no law text titled '公司法'",
        f"{folder / 'a.yaml'}:8: entry 'dog-bite': basis '民法典' "
        "is not '<law title> 第X条' (or 第X条之一)",
    ]


def test_variant_identical_to_another_entrys_variant(make_faq: Callable[..., Path]) -> None:
    variants = [
        "狗咬了打几针",
        "狂犬疫苗在哪打",
        "被狗抓了要不要打针",
        "狗咬人 谁赔！",
        "疫苗要打几天",
        "狗咬了多久内打针",
        "打了疫苗还能喝酒吗",
        "前天被邻居的小狗咬破了手指头，只出了一点血，现在还用不用去打狂犬疫苗",
        "去年打过一次狂犬疫苗，今年又让狗咬了，医生说要看情况，到底要不要全程再打",
        "孩子让野狗咬了一口，村卫生所说没有疫苗，要跑到县防疫站去，最晚多久得打上",
    ]
    other = good("dog-bite-2", "狗咬了要打疫苗吗？", variants)
    folder = make_faq({"a.yaml": GOOD, "b.yaml": other})
    assert problems(folder) == [
        f"{folder / 'b.yaml'}:4: entry 'dog-bite-2': "
        "variant '狗咬人 谁赔！' is the same as '狗咬人谁赔' "
        f"of entry 'dog-bite' ({folder / 'a.yaml'}:4)"
    ]


def test_unknown_field_and_bad_handoff(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": GOOD + "  varaints: [x]\n  handoff: maybe\n"})
    assert problems(folder) == [
        f"{folder / 'a.yaml'}:8: entry 'dog-bite': unknown field 'varaints'",
        f"{folder / 'a.yaml'}:9: entry 'dog-bite': handoff must be true or false, not 'maybe'",
    ]


def test_a_file_that_is_not_a_list(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": "id: x\n"})
    assert problems(folder) == [
        f"{folder / 'a.yaml'}:1: an FAQ file must be a list of entries ('- id: ...')"
    ]


def test_synonyms_file_problems_have_lines(make_faq: Callable[..., Path]) -> None:
    folder = make_faq(synonyms="工资: [工钱]\n欠薪: [工钱]\n孩子:\n  nested: x\n")
    assert problems(folder) == [
        f"{folder / 'synonyms.yaml'}:2: '工钱' is listed under both '工资' (line 1) and '欠薪'",
        f"{folder / 'synonyms.yaml'}:3: '孩子' must have a list of words, not {{'nested': 'x'}}",
    ]


def test_every_problem_is_reported_at_once(make_faq: Callable[..., Path]) -> None:
    broken = SMALL_FAQ.replace("category: wages", "category: salary").replace(
        "第六十二条", "第九百条"
    )
    folder = make_faq({"small.yaml": broken})
    found = problems(folder)
    assert len(found) == 2
    assert all(p.startswith(f"{folder / 'small.yaml'}:") for p in found)


def test_load_refuses_a_broken_faq_with_every_problem(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": GOOD.replace("category: injury", "category: pets")})
    try:
        load_faq(folder)
    except FaqLoadError as exc:
        assert [p.line for p in exc.problems] == [2]
    else:
        raise AssertionError("a broken FAQ loaded")


# -- content rules: checked by `minshi faq check`, never refused at loading --

LIMITS = "(at most 2 sentences and 100 characters)"


def test_variants_that_normalise_equal_name_both_lines(make_faq: Callable[..., Path]) -> None:
    # Punctuation, spacing and width are not what a question says.
    folder = make_faq({"a.yaml": one_per_line([*VARIANTS, "狗咬人，谁赔？？"])})
    assert problems(folder) == [
        f"{folder / 'a.yaml'}:15: entry 'dog-bite': variant '狗咬人，谁赔？？' "
        "is the same as '狗咬人谁赔' (line 5) after normalisation"
    ]


def test_a_variant_that_normalises_to_the_question(make_faq: Callable[..., Path]) -> None:
    # Traditional characters and fillers are normalised away too.
    folder = make_faq({"a.yaml": one_per_line([*VARIANTS, "請問被狗咬了誰負責"])})
    assert problems(folder) == [
        f"{folder / 'a.yaml'}:15: entry 'dog-bite': variant '請問被狗咬了誰負責' "
        "is the same as '被狗咬了谁负责？' (line 3) after normalisation"
    ]


def test_fewer_than_ten_distinct_variants(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": good(variants=VARIANTS[1:])})
    assert problems(folder) == [
        f"{folder / 'a.yaml'}:4: entry 'dog-bite' has 9 distinct variants "
        "(at least 10: residents' own words, dialect, typos)"
    ]


def test_fewer_than_three_long_variants(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": good(variants=[*VARIANTS[:-1], "狗咬了人主人跑了"])})
    assert problems(folder) == [
        f"{folder / 'a.yaml'}:4: entry 'dog-bite' has 2 long variants "
        "(at least 3 told as a story, each 30+ characters after normalisation)"
    ]


def test_a_long_variant_is_measured_after_normalisation(make_faq: Callable[..., Path]) -> None:
    # 27 characters of story: fillers and punctuation do not make it long.
    padded = "请问一下，狗咬伤了我家老人，打疫苗花了一千多，狗主人只肯给两百块钱？？？谢谢"
    assert len(padded) >= 30
    folder = make_faq({"a.yaml": good(variants=[*VARIANTS[:-1], padded])})
    [found] = problems(folder)
    assert found.startswith(f"{folder / 'a.yaml'}:4: entry 'dog-bite' has 2 long variants")


def test_short_answer_is_required(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": GOOD.replace("  short_answer: 狗的主人负责赔。\n", "")})
    assert problems(folder) == [
        f"{folder / 'a.yaml'}:1: entry 'dog-bite': short_answer is missing; "
        f"residents see it before the answer {LIMITS}"
    ]


def test_short_answer_is_not_empty(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": GOOD.replace("狗的主人负责赔。", '"  "')})
    assert problems(folder) == [
        f"{folder / 'a.yaml'}:7: entry 'dog-bite': short_answer is empty; "
        f"residents see it before the answer {LIMITS}"
    ]


def test_short_answer_of_three_sentences(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": GOOD.replace("狗的主人负责赔。", "主人赔。先协商！不行就起诉")})
    assert problems(folder) == [
        f"{folder / 'a.yaml'}:7: entry 'dog-bite': short_answer has 3 sentences {LIMITS}"
    ]


def test_short_answer_over_100_characters(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": GOOD.replace("狗的主人负责赔。", "赔" * 100 + "。")})
    assert problems(folder) == [
        f"{folder / 'a.yaml'}:7: entry 'dog-bite': short_answer is 101 characters long {LIMITS}"
    ]


def test_short_answer_at_the_limits_passes(make_faq: Callable[..., Path]) -> None:
    two = "主人赔；" + "赔" * 44 + "。再" + "说" * 49 + "。"
    assert len(two) == 100
    assert problems(make_faq({"a.yaml": GOOD.replace("狗的主人负责赔。", two)})) == []


def test_short_answer_that_is_not_text_stops_loading(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": GOOD.replace("狗的主人负责赔。", "[主人赔, 先协商]")})
    assert problems(folder) == [
        f"{folder / 'a.yaml'}:7: entry 'dog-bite': short_answer is not text: ['主人赔', '先协商']"
    ]
    try:
        load_faq(folder)
    except FaqLoadError:
        pass
    else:
        raise AssertionError("an entry with a list as short_answer loaded")


def test_content_rules_do_not_stop_loading(make_faq: Callable[..., Path]) -> None:
    # An admin's quick edit (one variant, no short answer) is served at once
    # while `minshi faq check` keeps listing what it still lacks.
    draft = good(variants=["狗咬人谁赔"]).replace("  short_answer: 狗的主人负责赔。\n", "")
    file = make_faq({"a.yaml": draft}) / "a.yaml"
    assert [e.id for e in load_faq(file.parent).entries] == ["dog-bite"]
    found = problems(file.parent)
    assert [p.split(": ")[0] for p in found] == [f"{file}:1", f"{file}:4", f"{file}:4"]
    assert "short_answer is missing" in found[0]
    assert "has 0 long variants" in found[1] and "has 1 distinct variants" in found[2]


def labels(name: str) -> set[str | None]:
    path = Path(__file__).parents[2] / "benchmarks" / "data" / name
    return {json.loads(line)["expected"] for line in path.read_text(encoding="utf-8").splitlines()}


def test_the_shipped_faq_passes_and_covers_every_labelled_topic() -> None:
    assert check_faq() == []
    ids = {e.id for e in load_faq().entries}
    assert labels("dev-queries.jsonl") - {None} <= ids
    assert labels("extra-inscope.jsonl") <= ids


def test_the_extra_out_of_scope_set_is_all_null() -> None:
    # Questions a new topic came to cover moved to extra-inscope.jsonl with its id.
    assert labels("extra-oos.jsonl") == {None}


def test_a_referral_to_an_unknown_topic_names_its_line(make_faq: Callable[..., Path]) -> None:
    folder = make_faq()
    (folder / "referrals.yaml").write_text(
        "farming:\n  name: 农业生产\n  topics:\n    - '@天气'\n    - '@种地'\n  say: 问农技站。\n"
        "medical:\n  name: 看病\n  say: 问医生。\n",
        encoding="utf-8",
    )
    found = problems(folder)
    assert any(p.startswith(f"{folder / 'referrals.yaml'}:5: ") and "@种地" in p for p in found)
    assert any(":7: " in p and "missing topics" in p for p in found)
