from __future__ import annotations

import faq


def _kind(name: str) -> tuple[int, str]:
    # ruff's order (RUF022): CONSTANTS, then Classes, then functions.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_complete() -> None:
    assert faq.__all__ == sorted(faq.__all__, key=_kind)
    for name in faq.__all__:
        assert hasattr(faq, name), name


def test_the_dialog_engine_api_is_there() -> None:
    for name in (
        "Decision",
        "Citation",
        "FaqEntry",
        "Candidate",
        "MatchResult",
        "FaqService",
        "FaqLoadError",
    ):
        assert name in faq.__all__
    assert [d.value for d in faq.Decision] == ["answer", "suggest", "none"]
