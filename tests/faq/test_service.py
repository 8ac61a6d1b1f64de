"""FaqService: what the dialog engine uses, and hot reload of edited files."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from faq import Citation, Decision, FaqLoadError, FaqService

from .conftest import SMALL_FAQ

NEW_ENTRY = """
- id: noise
  category: family
  question: 邻居半夜放音乐太吵怎么办？
  variants:
    - 隔壁噪音扰民
  answer: 可以先协商，再找物业或者调解。
  basis:
    - 民法典 第二百九十四条
"""


async def eventually(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def test_service_serves_the_loaded_faq(small_faq: Path) -> None:
    service = FaqService(small_faq)
    service.load()
    assert service.version == 1
    assert service.match("被狗咬了谁负责").candidates[0].entry.id == "dog-bite"
    entry = service.entry("wage-arrears")
    assert entry is not None and entry.handoff and entry.file.endswith("small.yaml")
    assert service.entry("nope") is None
    assert list(service.categories())[:2] == ["injury", "wages"]
    assert service.categories()["other"] == "其他问题"
    assert service.category_keywords()["injury"] == ("狗咬", "打伤")


def test_article_text_quotes_the_basis(small_faq: Path) -> None:
    service = FaqService(small_faq)
    service.load()
    entry = service.entry("dog-bite")
    assert entry is not None
    assert entry.basis == (Citation("中华人民共和国民法典", "第一千二百四十五条"),)
    text = service.article_text(entry.basis[0])
    assert text is not None and text.startswith("第一千二百四十五条 饲养的动物造成他人损害的")


def test_matching_before_loading_is_a_programming_error(small_faq: Path) -> None:
    with pytest.raises(RuntimeError, match="load"):
        FaqService(small_faq).match("你好")


def test_a_broken_faq_does_not_load(make_faq: Callable[..., Path]) -> None:
    broken = SMALL_FAQ.replace("category: land", "category: farm")
    folder = make_faq({"a.yaml": broken})
    with pytest.raises(FaqLoadError) as caught:
        FaqService(folder).load()
    line = broken.splitlines().index("  category: farm") + 1
    assert [str(p).split(": ")[0] for p in caught.value.problems] == [f"{folder / 'a.yaml'}:{line}"]


def test_shipped_defaults_load(shipped: FaqService) -> None:
    assert len(shipped.entries) >= 72
    assert shipped.match("你好").decision is Decision.NONE


async def test_hot_reload_picks_up_edits_and_survives_a_broken_one(
    small_faq: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="faq")
    service = FaqService(small_faq, reload_interval=0.05)
    await service.start()
    try:
        assert service.version == 1
        assert service.entry("noise") is None
        faq_file = small_faq / "small.yaml"

        # A good edit: a new entry is served without a restart.
        faq_file.write_text(SMALL_FAQ + NEW_ENTRY, encoding="utf-8")
        await eventually(lambda: service.version == 2)
        assert service.entry("noise") is not None
        assert service.match("邻居半夜放音乐太吵怎么办？").candidates[0].entry.id == "noise"

        # A broken edit: logged with file and line; the last good FAQ keeps serving.
        broken = SMALL_FAQ + NEW_ENTRY.replace("category: family", "category: nowhere")
        faq_file.write_text(broken, encoding="utf-8")
        line = broken.splitlines().index("  category: nowhere") + 1
        expected = f"{faq_file}:{line}: entry 'noise': unknown category 'nowhere'"
        await eventually(lambda: any(expected in r.getMessage() for r in caplog.records))
        assert service.version == 2
        assert service.entry("noise") is not None
        assert service.match("被狗咬了谁负责").candidates[0].entry.id == "dog-bite"

        # A new edit of the synonyms file is a change too; fixing the FAQ reloads.
        faq_file.write_text(SMALL_FAQ, encoding="utf-8")
        await eventually(lambda: service.version == 3)
        assert service.entry("noise") is None
    finally:
        await service.stop()


async def test_a_broken_edit_is_reported_once(
    small_faq: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = FaqService(small_faq, reload_interval=0.02)
    await service.start()
    try:
        (small_faq / "small.yaml").write_text("- id: [unclosed\n", encoding="utf-8")
        await eventually(lambda: any("YAML syntax" in r.getMessage() for r in caplog.records))
        await asyncio.sleep(0.2)  # several more polls
        assert sum("YAML syntax" in r.getMessage() for r in caplog.records) == 1
        assert service.version == 1
    finally:
        await service.stop()


def test_reload_without_the_watcher(small_faq: Path) -> None:
    service = FaqService(small_faq)
    service.load()
    assert service.reload() is True and service.version == 1  # nothing changed
    (small_faq / "extra.yaml").write_text(NEW_ENTRY, encoding="utf-8")
    assert service.reload() is True and service.version == 2
    (small_faq / "extra.yaml").write_text("not: [a list", encoding="utf-8")
    assert service.reload() is False and service.version == 2
    assert service.entry("noise") is not None


async def test_an_edited_synonyms_file_is_picked_up(small_faq: Path) -> None:
    service = FaqService(small_faq, reload_interval=0.05)
    await service.start()
    try:
        assert "工资" not in service.matcher.analyze("老板不给血汗钱").tokens
        synonyms = small_faq / "synonyms.yaml"
        synonyms.write_text(
            synonyms.read_text(encoding="utf-8").replace("[工钱, 薪水]", "[工钱, 薪水, 血汗钱]")
        )
        await eventually(lambda: service.version == 2)
        assert "工资" in service.matcher.analyze("老板不给血汗钱").tokens
        assert service.match("老板不给血汗钱").candidates[0].entry.id == "wage-arrears"
    finally:
        await service.stop()
