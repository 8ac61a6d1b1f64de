"""The learned signals: character n-gram centroids built from the FAQ's own
phrasings, the weight of a story's asking clauses, and referral kinds learned
from their example questions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from faq import FaqService, Matcher, load_faq
from faq._centroids import Centroids, question_part

STORY = (
    "俺家在村东头，去年秋收以后，张家把玉米秸秆全堆在巷子口，拖拉机进不来，"
    "俺爹腿脚不好，绕一圈得走半个钟头，说了好几回他都不搬。他这么堵着合法吗？"
)


def test_the_model_is_the_same_whenever_it_is_built(shipped: FaqService) -> None:
    phrasings = [e.phrasings for e in shipped.entries]
    first, second = Centroids(phrasings), Centroids(phrasings)
    everyone = list(range(len(phrasings)))
    for text in (STORY, "老板拖欠工资不给", "离婚后孩子归谁"):
        a = first.similarities(first.query(text), everyone)
        b = second.similarities(second.query(text), everyone)
        assert np.array_equal(a, b)


def test_the_served_model_from_the_cache_ranks_like_a_fresh_one(shipped: FaqService) -> None:
    fresh = Matcher.for_faq(load_faq())
    served = shipped.matcher  # built with its analyses and centroids cached on disk
    for text in (STORY, "工地包工头跑了工钱找谁要", "邻居家的狗把我娃咬了"):
        assert [c.entry.id for c in fresh.rank(text, 5)] == [
            c.entry.id for c in served.rank(text, 5)
        ]
        assert fresh.match(text).decision == served.match(text).decision


def test_a_story_is_matched_by_its_question(shipped: FaqService) -> None:
    assert question_part(STORY) == "他这么堵着合法吗"
    best = shipped.match(STORY).candidates[0]
    assert best.entry.id == "neighbor-right-of-way"


async def test_an_edited_faq_is_learned_after_a_reload(small_faq: Path) -> None:
    service = FaqService(small_faq)
    service.load()
    story = "村口那户人家养的鹅天天追着人拧，俺闺女的腿被拧青了好几块，鹅的主人该不该赔钱"
    before = service.matcher.rank(story, 1)[0]
    faq = small_faq / "small.yaml"
    text = faq.read_text(encoding="utf-8")
    faq.write_text(
        text.replace(
            "    - 狗咬了人谁来赔\n",
            "    - 狗咬了人谁来赔\n    - 别人家养的鹅追着人拧 腿被拧青了 鹅的主人该不该赔钱\n",
        ),
        encoding="utf-8",
    )
    assert service.reload() and service.version == 2
    after = service.matcher.rank(story, 1)[0]
    assert after.entry.id == "dog-bite"
    assert after.matched.startswith("别人家养的鹅")  # the new phrasing is known...
    assert after.score > before.score + 0.05  # ...and counts


def test_referral_examples_are_learned_like_variants(make_faq: Callable[..., Path]) -> None:
    folder = make_faq()
    (folder / "referrals.yaml").write_text(
        "farming:\n  name: 农业生产\n  topics: ['@天气']\n  say: 天气请看天气预报。\n"
        "  examples:\n    - 玉米叶子发黄打什么药\n    - 小麦什么时候追肥好\n"
        "    - 猪不吃食还发烧咋办\n",
        encoding="utf-8",
    )
    matcher = Matcher.for_faq(load_faq(folder))
    result = matcher.match("玉米叶子上长了黄斑，该打什么药")
    assert result.referral is not None and result.referral.kind == "farming"
    assert result.decision == "none"  # no entry merely sharing a word is offered


def test_a_variant_moved_to_another_entry_is_learned_there(small_faq: Path) -> None:
    Matcher.for_faq(load_faq(small_faq), cache_analyses=True)  # caches the models
    story = "村口那户人家的狗天天追着人咬，俺娃的工钱不够打针的"
    faq = small_faq / "small.yaml"
    text = faq.read_text(encoding="utf-8")
    # The same texts, one variant moved: the cached model must not be reused.
    moved = text.replace("    - 狗咬了人谁来赔\n", "").replace(
        "    - 老板不给工钱\n", "    - 老板不给工钱\n    - 狗咬了人谁来赔\n"
    )
    assert moved != text
    faq.write_text(moved, encoding="utf-8")
    cached = Matcher.for_faq(load_faq(small_faq), cache_analyses=True)
    fresh = Matcher.for_faq(load_faq(small_faq))
    assert [(c.entry.id, c.score) for c in cached.rank(story, 3)] == [
        (c.entry.id, c.score) for c in fresh.rank(story, 3)
    ]
