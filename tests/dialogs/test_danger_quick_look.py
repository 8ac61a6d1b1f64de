"""The quick look before danger detection's long patterns never changes an answer.

Each long pattern is tried only when the message holds a character every match
of it must contain. The classes are derived from the patterns themselves; a
mistake in that derivation would silently miss an emergency, so the detector
is compared with and without them on every labelled sentence and on sentences
spliced from them.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs import danger
from dialogs.danger import Danger, detect

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data"


def _sentences() -> list[str]:
    found: list[str] = []
    for path in sorted(DATA.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            text = record.get("text") or record.get("query")
            if text:
                found.append(text)
    return found


SENTENCES = _sentences()


def _answer(found: Danger | None) -> tuple[str, str] | None:
    return (found.kind.value, found.matched) if found else None


def _without_quick_look(text: str) -> tuple[str, str] | None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(danger, "_ORDER", tuple((k, p, None) for k, p, _ in danger._ORDER))
        patch.setattr(danger, "_SELF_HARM_WISH_CHARS", None)
        patch.setattr(danger, "_FIGURES_CHARS", None)
        return _answer(detect(text))


def test_every_long_pattern_has_its_quick_look() -> None:
    assert all(chars is not None for _, _, chars in danger._ORDER)
    assert danger._SELF_HARM_WISH_CHARS is not None and danger._FIGURES_CHARS is not None


def test_the_labelled_sentences_get_the_same_answers() -> None:
    assert len(SENTENCES) > 3000
    different = [t for t in SENTENCES if _answer(detect(t)) != _without_quick_look(t)]
    assert different == []
    warned = sum(1 for t in SENTENCES if detect(t) is not None)
    assert warned > 1000  # the sentences do reach the long patterns


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(SENTENCES),
    st.sampled_from(SENTENCES),
    st.integers(0, 80),
    st.integers(0, 80),
    st.text(alphabet="".join(sorted(set("".join(SENTENCES)))), max_size=4),
)
def test_spliced_sentences_get_the_same_answers(
    first: str, second: str, cut: int, resume: int, middle: str
) -> None:
    text = first[:cut] + middle + second[resume:]
    assert _answer(detect(text)) == _without_quick_look(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="羊掉进井河里了我他着刀拿", max_size=12))
def test_a_match_always_holds_a_required_character(text: str) -> None:
    pattern = re.compile(r"(?<!羊)(?:我|他)?掉(?:进|到)?(?:井|河)里?|拿着?刀")
    chars = danger._must_contain(pattern)
    assert chars is not None
    if pattern.search(text):
        assert chars.search(text)


def test_no_class_when_a_match_needs_no_particular_character() -> None:
    assert danger._must_contain(re.compile(r"救命|.{2}")) is None
    assert danger._must_contain(re.compile(r"[^刀]+")) is None


def test_a_pattern_that_ignores_case_gets_a_class_that_does_too() -> None:
    chars = danger._must_contain(re.compile("sos|help", re.IGNORECASE))
    assert chars is not None and chars.search("SOS")


def test_normalising_keeps_exactly_the_letters_and_digits_of_every_character() -> None:
    """``_normalise`` keeps a character when Unicode calls it a letter or a digit
    (category L* or N*), for each of the 1,114,112 code points."""
    kept = danger._normalise("".join(map(chr, range(sys.maxunicode + 1))))
    wanted = "".join(
        ch
        for ch in unicodedata.normalize(
            "NFKC", "".join(map(chr, range(sys.maxunicode + 1)))
        ).lower()
        if unicodedata.category(ch)[0] in "LN"
    )
    assert kept == wanted
