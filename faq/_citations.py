"""Citations as residents read them: short law names, Arabic article numbers, grouped.

A basis lists full titles and Chinese numerals because that is how the
checker finds the article in the law text. Shown on a phone, five repeats of
《中华人民共和国民法典》第一千零七十九条 bury the answer, so the bot shows
``《民法典》第1079条、第1080条第二款；《人民调解法》第4条`` instead: each law once,
in the order the entry first cites it, by the short name lawyers and courts use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from faq._laws import article_key, chinese_number
from faq._model import Citation

__all__ = ["format_article", "format_basis", "short_title"]

_PRC = "中华人民共和国"
_SPC = "最高人民法院关于"
_NUMERAL = "零〇一二两三四五六七八九十百千"
_ARTICLE = re.compile(rf"^第([{_NUMERAL}\d]+)条(.*)$")
# 最高人民法院关于适用《中华人民共和国民法典》婚姻家庭编的解释（一）
_APPLYING = re.compile(
    r"^适用《(?P<law>[^》]+)》(?P<part>.*?)的(若干)?(?P<kind>解释|规定)(?P<n>（.+）)?$"
)
# 最高人民法院关于审理民间借贷案件适用法律若干问题的规定
_HEARING = re.compile(
    r"^(审理|办理)(?P<cases>.+?)案件(适用(?P<what>.+?))?(若干)?问题的(?P<kind>解释|规定)(?P<n>（.+）)?$"
)


def _applying(match: re.Match[str]) -> str:
    # 婚姻家庭编的解释（一） → 婚姻家庭编解释（一）; 《民事诉讼法》的解释 → 民事诉讼法解释;
    # 《民法典》时间效力的若干规定 → 民法典时间效力规定.
    part = match["part"]
    law = match["law"].removeprefix(_PRC)
    name = part if part.endswith("编") else law + part
    return f"{name}{match['kind']}{match['n'] or ''}"


def _hearing(match: re.Match[str]) -> str:
    # 审理民间借贷案件适用法律若干问题的规定 → 民间借贷规定; 审理民事案件适用诉讼
    # 时效制度若干问题的规定 → 诉讼时效规定 (the rule, not "civil cases", tells it
    # apart); 审理工伤保险行政案件若干问题的规定 → 工伤保险行政案件规定.
    what = match["what"]
    if what is None:
        subject = match["cases"] + "案件"
    elif what == "法律":
        subject = match["cases"]
    else:
        subject = what.removesuffix("制度")
    if subject.endswith("合同纠纷"):  # 商品房买卖合同解释, as courts cite it
        subject = subject.removesuffix("纠纷")
    return f"{subject}{match['kind']}{match['n'] or ''}"


def short_title(law: str) -> str:
    """The name a law is usually cited by: 民法典, 婚姻家庭编解释（一）, 民间借贷规定.

    Laws drop 中华人民共和国; the Supreme People's Court's interpretations keep
    what they are about and whether they are a 解释 or a 规定; State Council
    regulations (工伤保险条例, 物业管理条例) are short already and stay as they are.
    """
    if law.startswith(_PRC):
        return law.removeprefix(_PRC)
    if not law.startswith(_SPC):
        return law
    rest = law.removeprefix(_SPC)
    if match := _APPLYING.match(rest):
        return _applying(match)
    if match := _HEARING.match(rest):
        return _hearing(match)
    return rest.replace(_PRC, "")


def _parse(article: str) -> tuple[int, str] | None:
    """第一千零七十九条第二款 → (1079, "第二款"); None for what is not an article."""
    match = _ARTICLE.match(article)
    if match is None:
        return None
    try:
        return chinese_number(match[1]), match[2]
    except ValueError:
        return None


def format_article(article: str) -> str:
    """第一千零七十九条第二款 → 第1079条第二款; a paragraph or item stays as cited."""
    parsed = _parse(article)
    if parsed is None:
        return article
    number, rest = parsed
    return f"第{number}条" + rest.replace("(", "（").replace(")", "）")


def format_basis(citations: Iterable[Citation]) -> str:
    """《民法典》第1079条、第1080条第二款；《人民调解法》第4条.

    Laws keep the order the entry first cites them in (the main law first);
    within a law, articles go by number as in any list of legal grounds, and a
    repeated one is shown once.
    """
    by_law: dict[str, list[Citation]] = {}  # a dict keeps the first-cited order
    for citation in citations:
        by_law.setdefault(citation.law, []).append(citation)
    return "；".join(f"《{_title(law)}》{_articles(cited)}" for law, cited in by_law.items())


def _articles(cited: list[Citation]) -> str:
    shown = [format_article(c.article) for c in sorted(cited, key=_article_number)]
    return "、".join(dict.fromkeys(shown))


def _article_number(citation: Citation) -> tuple[int, int]:
    # 第二百八十七条之二 comes after 第二百八十七条; unreadable: last, as cited
    return article_key(citation.article) or (1 << 30, 0)


def _title(law: str) -> str:
    # A title quoting another law nests its brackets as 〈〉 inside 《》.
    return short_title(law).replace("《", "〈").replace("》", "〉")
