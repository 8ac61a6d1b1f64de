"""The files admins edit (FAQ, centers, bot texts), broken in every way hypothesis finds:
garbage, wrong types, bytes that are no UTF-8, huge files, alias bombs, deep nesting.
Each loader answers with ``file:line: message`` problems, never a traceback."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.yamlsource import MAX_FILE_BYTES, Problem, YamlSourceError
from dialogs import Texts
from dialogs._texts import DEFAULT_TEXTS_PATH
from faq import LawLibrary
from faq._loader import read_faq
from handoff import DEFAULT_CENTERS_PATH, check_centers

FAQ_SAMPLE = Path(next(iter(__import__("faq").__path__))) / "data" / "village.yaml"
EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def _laws() -> LawLibrary:
    return LawLibrary.load()


def _check_faq(path: Path) -> list[Problem]:
    return read_faq(path.parent, _laws())[1]


def _check_centers(path: Path) -> list[Problem]:
    return check_centers(path)


def _check_texts(path: Path) -> list[Problem]:
    try:
        Texts(path)
    except YamlSourceError as exc:
        return list(exc.problems)
    return []


LOADERS: dict[str, tuple[Callable[[Path], list[Problem]], Path, str]] = {
    "faq": (_check_faq, FAQ_SAMPLE, "village.yaml"),
    "centers": (_check_centers, DEFAULT_CENTERS_PATH, "centers.yaml"),
    "texts": (_check_texts, DEFAULT_TEXTS_PATH, "texts.yaml"),
}


def _problems(kind: str, content: bytes) -> list[Problem]:
    """Write ``content`` as the admin's file and load it; only problems may come back."""
    check, _, name = LOADERS[kind]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        problems = check(path)
    for problem in problems:
        assert problem.file == str(path), problem
        assert problem.line >= 0 and problem.message.strip()
        assert "Traceback" not in problem.message
    return problems


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=15,
)


@pytest.mark.parametrize("kind", sorted(LOADERS))
@EXAMPLES
@given(data=st.data())
def test_any_bytes_any_yaml_and_any_edit_give_problems_not_tracebacks(
    kind: str, data: st.DataObject
) -> None:
    original = LOADERS[kind][1].read_bytes()
    content = data.draw(
        st.one_of(
            st.binary(max_size=200),  # not even UTF-8
            st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
            values.map(lambda v: yaml.safe_dump(v, allow_unicode=True).encode()),
            # The real file with something typed into it somewhere, or cut short.
            st.tuples(st.integers(0, len(original)), st.text(max_size=30)).map(
                lambda cut: original[: cut[0]] + cut[1].encode("utf-8", "surrogatepass")
            ),
            st.tuples(st.integers(0, len(original)), st.text(min_size=1, max_size=30)).map(
                lambda cut: (
                    original[: cut[0]]
                    + cut[1].encode("utf-8", "surrogatepass")
                    + original[cut[0] :]
                )
            ),
        ),
        label="file",
    )
    _problems(kind, content)


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_the_shipped_files_load(kind: str) -> None:
    assert _problems(kind, LOADERS[kind][1].read_bytes()) == []


BOMB = b"a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + b"".join(
    f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 9)}]\n".encode()
    for n in range(8)
)


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_an_alias_bomb_is_refused_with_its_line(kind: str) -> None:
    (problem,) = _problems(kind, BOMB)
    assert problem.line == 2 and "aliases" in problem.message


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_a_huge_file_is_refused_unread(kind: str) -> None:
    (problem,) = _problems(kind, b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    assert "larger than 5 MB" in problem.message


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_deep_nesting_is_a_problem(kind: str) -> None:
    (problem,) = _problems(kind, b"[" * 50_000 + b"]" * 50_000)
    assert "nest" in problem.message


def test_texts_with_a_wrong_kind_or_an_unknown_placeholder_name_their_lines() -> None:
    original = DEFAULT_TEXTS_PATH.read_text(encoding="utf-8")
    edited = original.replace("已提交", "已提交{编号", 1).replace(
        "\nunavailable: ", "\nunavailable:\n  - ", 1
    )
    problems = _problems("texts", edited.encode())
    lines = edited.splitlines()
    assert [(lines[p.line - 1].split(":")[0].strip(), p.message) for p in problems] == [
        ("unavailable", "'unavailable' must be a text"),
        ("submitted", "'report.submitted': a '{' or '}' without its pair"),
    ]
