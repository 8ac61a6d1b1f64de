"""The law texts the FAQ cites, shipped as data so citations can be checked anywhere.

A law file is Markdown: its first ``# `` line is the title, and every article
starts a line as ``第X条 text``; an article goes on over the following lines
until the next article or heading. Citations name a law by its title or a
short alias (民法典, 劳动合同法, without 《》 or the 中华人民共和国 prefix).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from faq._model import Citation

__all__ = [
    "DEFAULT_LAW_DIR",
    "ArticleKey",
    "CitationError",
    "LawLibrary",
    "LawText",
    "article_key",
    "chinese_number",
    "parse_citation",
]

DEFAULT_LAW_DIR = Path(__file__).parent / "law"

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
           "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMERAL = "零〇一二两三四五六七八九十百千"
# 第一百三十三条之一: an article inserted by an amendment keeps its neighbour's number.
_INSERTED = r"之[一二三四五六七八九十]+"
_ARTICLE_LINE = re.compile(rf"^第([{_NUMERAL}]+)条({_INSERTED})?(?=[\s\u3000]|$)[\s\u3000]*(.*)$")
_ARTICLE_LABEL = re.compile(rf"第([{_NUMERAL}]+)条({_INSERTED})?")
_CITATION = re.compile(
    rf"^(?P<law>.+?)\s*第\s*(?P<num>[{_NUMERAL}]+|\d+)\s*条\s*(?P<inserted>{_INSERTED})?(?P<rest>.*)$"
)
_REST = re.compile(rf"^(第[{_NUMERAL}\d]+款)?(第[(（]?[{_NUMERAL}\d]+[)）]?项)?$")

ArticleKey = tuple[int, int]  # (number, 0) or, for 第X条之N, (number, N)


def chinese_number(text: str) -> int:
    """Value of a Chinese numeral as law texts write them (一千零七十九, 十一)."""
    if text.isdigit():
        return int(text)
    total, digit = 0, None
    for char in text:
        if char in _DIGITS:
            digit = _DIGITS[char]
        elif char in _UNITS:
            total += (1 if digit is None else digit) * _UNITS[char]
            digit = None
        else:
            msg = f"not a Chinese numeral: {text!r}"
            raise ValueError(msg)
    return total + (digit or 0)


class CitationError(ValueError):
    """A basis item that names no law text or no article in it."""


@dataclass
class LawText:
    """One law: its title, file, and articles by number (each article's lines)."""

    title: str
    path: Path
    labels: dict[ArticleKey, str] = field(default_factory=dict)  # (291, 0) -> "第二百九十一条"
    articles: dict[ArticleKey, list[str]] = field(default_factory=dict)


def _alias_key(name: str) -> str:
    # Residents' and admins' spellings differ in width, brackets and the
    # 中华人民共和国 prefix, never in the words that tell two laws apart.
    name = unicodedata.normalize("NFKC", name)
    name = re.sub(r"[\s《》<>\"'“”]", "", name)
    return name.replace("中华人民共和国", "")


def _parse_law(path: Path) -> LawText | None:
    text = path.read_text(encoding="utf-8")
    law: LawText | None = None
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if law is None:
            if line.startswith("# "):
                law = LawText(title=line[2:].strip(), path=path)
            continue
        if line.startswith("#") or line.startswith("<!--"):
            current = None
            continue
        match = _ARTICLE_LINE.match(line)
        if match:
            key = _key(match.group(1), match.group(2))
            current = [line]
            # Keep the first text of a number: a law states each article once.
            if key not in law.articles:
                law.articles[key] = current
                law.labels[key] = f"第{match.group(1)}条{match.group(2) or ''}"
        elif current is not None and line:
            current.append(line)
    return law


def _key(number: str, inserted: str | None) -> ArticleKey:
    return chinese_number(number), chinese_number(inserted[1:]) if inserted else 0


def article_key(article: str) -> ArticleKey | None:
    """The article a citation's article part names: ``第二百八十七条之二第一款`` → (287, 2)."""
    match = _ARTICLE_LABEL.match(article)
    return _key(match.group(1), match.group(2)) if match else None


def parse_citation(text: str) -> tuple[str, ArticleKey, str]:
    """Split ``民法典 第二百九十一条第一款`` into (law name, (291, 0), "第一款");
    ``刑法 第一百三十三条之一`` gives (刑法, (133, 1), "")."""
    cleaned = unicodedata.normalize("NFKC", text).strip()
    match = _CITATION.match(cleaned)
    rest = re.sub(r"\s", "", match.group("rest")) if match else ""
    if not match or not _REST.match(rest):
        msg = f"basis {text!r} is not '<law title> 第X条' (or 第X条之一)"
        raise CitationError(msg)
    law = match.group("law").strip().strip("《》").strip()
    return law, _key(match.group("num"), match.group("inserted")), rest


class LawLibrary:
    """All law texts under a folder (recursively), looked up by title or alias."""

    def __init__(self, laws: list[LawText]) -> None:
        self.laws = {law.title: law for law in laws}
        self._aliases = {_alias_key(law.title): law.title for law in laws}

    @classmethod
    def load(cls, law_dir: Path | None = None) -> LawLibrary:
        law_dir = Path(law_dir) if law_dir is not None else DEFAULT_LAW_DIR
        if not law_dir.is_dir():
            msg = f"law folder {str(law_dir)!r} does not exist"
            raise FileNotFoundError(msg)
        laws = []
        for path in sorted(law_dir.rglob("*.md")):
            if path.name.lower() == "readme.md":
                continue
            law = _parse_law(path)
            if law is not None and law.articles:
                laws.append(law)
        return cls(laws)

    def resolve(self, name: str) -> str | None:
        """Full title for a law name or alias; None when no law text has it."""
        return self._aliases.get(_alias_key(name))

    def citation(self, text: str) -> Citation:
        """Parse and verify a basis item; raise CitationError naming what is wrong."""
        name, key, rest = parse_citation(text)
        title = self.resolve(name)
        if title is None:
            msg = f"basis {text!r}: no law text titled {name!r}"
            raise CitationError(msg)
        law = self.laws[title]
        if key not in law.articles:
            number = f"{key[0]}" + (f"之{key[1]}" if key[1] else "")
            msg = f"basis {text!r}: {title} has no article {number} (it has {len(law.articles)})"
            raise CitationError(msg)
        return Citation(law=title, article=law.labels[key] + rest)

    def article_text(self, citation: Citation) -> str | None:
        """The article's text, paragraphs joined by newlines; None if unknown."""
        law = self.laws.get(citation.law)
        key = article_key(citation.article)
        if law is None or key is None:
            return None
        lines = law.articles.get(key)
        return "\n".join(lines) if lines else None
