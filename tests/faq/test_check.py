"""``minshi faq check``'s findings: every kind of problem, with its file and line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from faq import check_faq, load_faq
from faq._model import FaqLoadError

from .conftest import SMALL_FAQ

GOOD = """\
- id: dog-bite
  category: injury
  question: 被狗咬了谁负责？
  variants: [狗咬人谁赔]
  answer: 饲养人负责。
  basis: [民法典 第一千二百四十五条]
"""


def problems(folder: Path) -> list[str]:
    return [str(p) for p in check_faq(folder)]


def test_the_small_faq_has_no_problems(small_faq: Path) -> None:
    assert problems(small_faq) == []


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
        GOOD.replace("  variants: [狗咬人谁赔]\n", "")
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
        "basis: [民法典 第一千二百四十五条]", "basis:\n    - 刑法 第二十条\n    - 民法典"
    )
    folder = make_faq({"a.yaml": text})
    assert problems(folder) == [
        f"{folder / 'a.yaml'}:7: entry 'dog-bite': basis '刑法 第二十条': "
        "no law text titled '刑法'",
        f"{folder / 'a.yaml'}:8: entry 'dog-bite': basis '民法典' is not '<law title> 第X条'",
    ]


def test_variant_identical_to_another_entrys_variant(make_faq: Callable[..., Path]) -> None:
    other = GOOD.replace("dog-bite", "dog-bite-2").replace("被狗咬了谁负责？", "狗咬了要打疫苗吗？")
    other = other.replace("[狗咬人谁赔]", "[别的说法, 狗咬人 谁赔！]")
    folder = make_faq({"a.yaml": GOOD, "b.yaml": other})
    assert problems(folder) == [
        f"{folder / 'b.yaml'}:4: entry 'dog-bite-2': "
        "variant '狗咬人 谁赔！' is the same as '狗咬人谁赔' "
        f"of entry 'dog-bite' ({folder / 'a.yaml'}:1)"
    ]


def test_unknown_field_and_bad_handoff(make_faq: Callable[..., Path]) -> None:
    folder = make_faq({"a.yaml": GOOD + "  varaints: [x]\n  handoff: maybe\n"})
    assert problems(folder) == [
        f"{folder / 'a.yaml'}:7: entry 'dog-bite': unknown field 'varaints'",
        f"{folder / 'a.yaml'}:8: entry 'dog-bite': handoff must be true or false, not 'maybe'",
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


def test_the_shipped_faq_passes_and_covers_every_labelled_topic() -> None:
    import json

    assert check_faq() == []
    ids = {e.id for e in load_faq().entries}
    dev = Path(__file__).parents[2] / "benchmarks" / "data" / "dev-queries.jsonl"
    labelled = {
        json.loads(line)["expected"] for line in dev.read_text(encoding="utf-8").splitlines()
    }
    assert labelled - {None} <= ids
