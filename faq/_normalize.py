"""Text normalisation: what residents type, reduced to what it says.

Residents type on phones with full-width input, traditional characters,
stray punctuation and polite fillers (请问, 我想问一下, …啊). None of these
change what a question is about, so FAQ phrasings and queries both pass
through ``normalize`` before they are compared.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import opencc

__all__ = ["FUNCTION_WORDS", "fold", "normalize", "to_simplified"]

_CONVERTER = opencc.OpenCC("t2s")


def _traditional_characters() -> frozenset[str]:
    # OpenCC converts in pure Python (~50 µs a text); most texts have no
    # traditional character at all, and this set says so in a microsecond.
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    chars = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        trad, _, simplified = line.partition("\t")
        if len(trad) == 1 and trad not in simplified.split():
            chars.add(trad)
    return frozenset(chars)


_TRADITIONAL = _traditional_characters()
_CONVERTER.convert("臺")  # OpenCC reads its dictionaries on first use: do it now, not mid-query

# Politeness and framing around a question; removed wherever they stand.
_FILLERS = re.compile(
    "|".join(
        [
            r"(我|俺)?(想|要)?(请问|问一下|问下|问问|问个事|问一问)(一下|下)?",
            r"(我|俺)?(想|要)?(咨询|请教)(一下|下)?",
            r"(你|您|大家)好+",
            r"在吗|在不在|有人吗|有人没",
            r"麻烦(你|您|问一下)|谢谢(你|您|了)?|多谢|急急急|求助|求解答",
        ]
    )
)
# Sentence-final particles carry mood, not content; only dropped at a clause end.
_FINAL_PARTICLES = re.compile(r"[啊呀呢吧哈嘛啦哦噢呗咧嘞哇]+(?=\s|$)")
_NOT_TEXT = re.compile(r"[^\w]+|_+")

# Words that say how a question is asked rather than what it is about; they
# are dropped after segmentation (咋/俺 are mapped by the synonyms file first).
FUNCTION_WORDS = frozenset(
    " ".join(
        [
            # units (the figure is dropped with them) and times: the story, not the topic
            "月 年 天 日 号 周 次 回 块 元 万 岁 斤 亩 米 个 半 多",
            "上个月 下个月 这个月 今年 去年 前年 明年 今天 昨天 前天 明天",
            "最近 当时 后来 以前 之前",
            "的 了 吗 呢 吧 啊 呀 么 嘛 哦 着 过 得 之 所 么样 我 你 您 他 她 它 我们 你们",
            "他们 她们 咱 咱们 自己 人家 别人 大家 谁 谁家 我家 我们家 他家 她家 家里 俺家 是",
            "在 有 和 跟 与 及 或 或者 还是 把 被 让 给 对 向 从 到 于 为 为了 以 用 由 这 那",
            "这个 那个 这些 那些 这样 那样 这种 那种 这么 那么 这事 这件 此 其 该 个 些 点 一",
            "一个 一下 一点 一些 一直 都 也 还 就 才 又 再 很 太 最 更 挺 真 非常 特别 怎么",
            "怎么办 怎么样 怎样 如何 什么 啥 哪 哪里 哪儿 哪个 为什么 为啥 多少 几 多久 多长",
            "怎么弄 怎么处理 如何处理 该怎么办 咋办 咋弄 咋整 咋样 咋 怎办 怎么整 能 能够",
            "可以 可不可以 能不能 会 会不会 要 要不要 想 应该 应当 需要 得 必须 该 是不是",
            "有没有 是否 行 行不行 可否 吗 不行 合不合法 合法吗 对吗 对不对 算不算 算 请问 问",
            "问问 咨询 请教 知道 告诉 说 说明 一下 现在 已经 然后 但是 可是 而且 因为 所以",
            "如果 要是 俺 俺们 咱家 额滴 咋 咋个 咋回事 啥子 甚 为啥 干啥 弄啥 咋搞 怎么搞",
            "能行 行不 成不 中不 吧 么 嘛 呗 哈 呵呵 哈哈 嗯 哦 噢 了吗 没有吗 有吗 事 事情",
            "情况 问题 办法 方法",
        ]
    ).split()
)


@lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (identity for simplified text)."""
    if _TRADITIONAL.isdisjoint(text):
        return text
    return str(_CONVERTER.convert(text))


def fold(text: str) -> str:
    """NFKC, lower case and simplified: the form a listed word is compared in."""
    return to_simplified(unicodedata.normalize("NFKC", text).lower()).strip()


def normalize(text: str) -> str:
    """NFKC, lower case, simplified, fillers and punctuation removed.

    Punctuation and whitespace become single spaces: they still separate
    clauses for segmentation, but never count as content.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = to_simplified(text)
    text = _NOT_TEXT.sub(" ", text)
    text = _FILLERS.sub(" ", text)
    text = _FINAL_PARTICLES.sub("", text)
    return " ".join(text.split())
