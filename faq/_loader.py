"""Reading the FAQ folder: entries, categories, synonyms and the legal word list.

One pass reads everything and collects every problem as file:line, so
``minshi faq check`` can list them all at once and the service can refuse a
broken edit while the last good FAQ keeps serving. The FAQ folder holds one
YAML list of entries per file; categories.yaml, synonyms.yaml and
legal_dict.txt sit beside them, and the shipped ones are used when an
admin's folder has none of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.yamlsource import Problem, YamlList, YamlMap, YamlSourceError, line_of, load_yaml
from faq._laws import CitationError, LawLibrary
from faq._model import Citation, FaqEntry, FaqLoadError, Referral
from faq._normalize import fold
from faq._referrals import read_referrals
from faq._rules import EntryLines, content_problems, phrasing_key
from faq._synonyms import Synonyms, read_synonyms

__all__ = [
    "DEFAULT_FAQ_DIR",
    "Category",
    "FaqData",
    "check_faq",
    "entry_files",
    "faq_sources",
    "load_faq",
    "read_faq",
]

DEFAULT_FAQ_DIR = Path(__file__).parent / "data"
CATEGORIES_FILE = "categories.yaml"
SYNONYMS_FILE = "synonyms.yaml"
LEGAL_DICT_FILE = "legal_dict.txt"
REFERRALS_FILE = "referrals.yaml"
_NOT_ENTRIES = {CATEGORIES_FILE, SYNONYMS_FILE, REFERRALS_FILE}

_REQUIRED = ("id", "category", "question", "variants", "answer", "basis")
_OPTIONAL = ("keywords", "handoff", "short_answer")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_BOOLEANS = {"true": True, "yes": True, "false": False, "no": False}


@dataclass(frozen=True)
class Category:
    slug: str
    name: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class FaqData:
    """Everything the matcher is built from."""

    entries: tuple[FaqEntry, ...] = ()
    categories: dict[str, Category] = field(default_factory=dict)
    synonyms: Synonyms = field(default_factory=Synonyms)
    legal_words: tuple[str, ...] = ()
    referrals: tuple[Referral, ...] = ()


def _support_file(faq_dir: Path, name: str) -> Path:
    own = faq_dir / name
    return own if own.exists() else DEFAULT_FAQ_DIR / name


def entry_files(faq_dir: Path) -> list[Path]:
    """The FAQ's entry files: every *.yaml in the folder but the support files."""
    return sorted(p for p in faq_dir.glob("*.yaml") if p.name not in _NOT_ENTRIES)


def faq_sources(faq_dir: Path) -> list[Path]:
    """Every file the FAQ is read from: entry files, then the support files."""
    support = [
        _support_file(faq_dir, n)
        for n in (CATEGORIES_FILE, SYNONYMS_FILE, LEGAL_DICT_FILE, REFERRALS_FILE)
    ]
    return entry_files(faq_dir) + support


def _read_categories(path: Path) -> tuple[dict[str, Category], list[Problem]]:
    file = str(path)
    try:
        data = load_yaml(path)
    except YamlSourceError as exc:
        return {}, list(exc.problems)
    if not isinstance(data, YamlMap):
        return {}, [
            Problem(file, line_of(data), "categories file must map slugs to {name, keywords}")
        ]
    categories, problems = {}, []
    for slug, body in data.items():
        line = line_of(data, slug)
        if (
            not isinstance(body, YamlMap)
            or not isinstance(body.get("name"), str)
            or not body["name"].strip()
        ):
            problems.append(Problem(file, line, f"category {slug!r} needs a non-empty 'name'"))
            continue
        keywords = body.get("keywords", [])
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            problems.append(
                Problem(
                    file,
                    line_of(body, "keywords"),
                    f"category {slug!r}: keywords must be a list of words",
                )
            )
            keywords = []
        categories[slug] = Category(slug, body["name"].strip(), tuple(keywords))
    return categories, problems


def _read_legal_words(path: Path) -> tuple[tuple[str, ...], list[Problem]]:
    # jieba's user-dictionary format: "word [frequency] [tag]", # for comments.
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return (), [Problem(str(path), 0, f"cannot read file: {exc}")]
    words, problems = [], []
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        if len(parts) > 1 and not parts[1].isdigit():
            problems.append(
                Problem(
                    str(path), number, f"frequency {parts[1]!r} of {parts[0]!r} is not a number"
                )
            )
            continue
        words.append(fold(parts[0]))
    return tuple(w for w in words if w), problems


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


class _EntryReader:
    """Turns one YAML mapping into a FaqEntry, noting each problem with its line."""

    def __init__(self, laws: LawLibrary, categories: dict[str, Category]) -> None:
        self.laws = laws
        self.categories = categories
        self.problems: list[Problem] = []

    def problem(self, file: str, line: int, message: str) -> None:
        self.problems.append(Problem(file, line, message))

    def entry(self, file: str, item: Any, line: int) -> FaqEntry | None:
        if not isinstance(item, YamlMap):
            self.problem(
                file, line, f"an entry must be a mapping with {', '.join(_REQUIRED)}, not {item!r}"
            )
            return None
        name = item.get("id") if isinstance(item.get("id"), str) else None
        label = f"entry {name!r}" if name else "entry"
        ok = True
        for key in _REQUIRED:
            if key not in item:
                self.problem(file, item.line, f"{label} is missing field {key!r}")
                ok = False
        for key in item:
            if key not in _REQUIRED and key not in _OPTIONAL:
                self.problem(file, line_of(item, key), f"{label}: unknown field {key!r}")
        # Check what is there even when a field is missing: every problem at once.
        for key in ("id", "category", "question", "answer"):
            if key not in item:
                continue
            value = item[key]
            if isinstance(value, str) and value.strip():
                continue
            what = "empty" if isinstance(value, str) or not value else f"not text: {value!r}"
            self.problem(file, line_of(item, key), f"{label}: {key} is {what}")
            ok = False
        if isinstance(item.get("id"), str) and item["id"].strip() and not _ID.match(item["id"]):
            self.problem(
                file,
                line_of(item, "id"),
                f"id {item['id']!r} must be lower-case letters, digits and '-'",
            )
            ok = False
        category = item.get("category")
        if isinstance(category, str) and category.strip() and category not in self.categories:
            known = ", ".join(self.categories)
            self.problem(
                file,
                line_of(item, "category"),
                f"{label}: unknown category {item['category']!r} (known: {known})",
            )
            ok = False
        short = item.get("short_answer") or ""  # `short_answer:` with nothing is empty
        if not isinstance(short, str):
            self.problem(
                file, line_of(item, "short_answer"), f"{label}: short_answer is not text: {short!r}"
            )
            ok = False
        for key in ("variants", "keywords"):
            if key in item and not _strings(item[key]):
                self.problem(
                    file, line_of(item, key), f"{label}: {key} must be a list of non-empty texts"
                )
                ok = False
        basis = self.basis(file, item, label) if "basis" in item else None
        handoff = item.get("handoff", "false")
        if not isinstance(handoff, str) or handoff.lower() not in _BOOLEANS:
            self.problem(
                file,
                line_of(item, "handoff"),
                f"{label}: handoff must be true or false, not {handoff!r}",
            )
            ok = False
        if not ok or basis is None:
            return None
        return FaqEntry(
            id=item["id"],
            category=item["category"],
            question=item["question"].strip(),
            variants=tuple(v.strip() for v in item["variants"]),
            answer=item["answer"].strip(),
            basis=basis,
            keywords=tuple(k.strip() for k in item.get("keywords", [])),
            handoff=_BOOLEANS[handoff.lower()],
            file=file,
            line=item.line,
            short_answer=short.strip(),
        )

    def basis(self, file: str, item: YamlMap, label: str) -> tuple[Citation, ...] | None:
        value = item["basis"]
        if not isinstance(value, YamlList):
            self.problem(
                file,
                line_of(item, "basis"),
                f"{label}: basis must be a list of '<law title> 第X条'",
            )
            return None
        citations, ok = [], True
        for i, text in enumerate(value):
            try:
                if not isinstance(text, str):
                    msg = f"basis {text!r} is not '<law title> 第X条'"
                    raise CitationError(msg)
                citations.append(self.laws.citation(text))
            except CitationError as exc:
                self.problem(file, line_of(value, i), f"{label}: {exc}")
                ok = False
        return tuple(citations) if ok else None


def _entry_lines(item: YamlMap) -> EntryLines:
    variants = item["variants"]
    return EntryLines(
        entry=item.line,
        short_answer=line_of(item, "short_answer") if "short_answer" in item else None,
        variants=line_of(item, "variants"),
        phrasings=(
            line_of(item, "question"),
            *(line_of(variants, j) for j in range(len(variants))),
        ),
    )


def _check_phrasings(entries: list[FaqEntry], lines: dict[str, EntryLines]) -> list[Problem]:
    # Two phrasings the matcher cannot tell apart: within an entry one of them
    # is dead weight, across entries the matcher would toss a coin.
    problems: list[Problem] = []
    owner: dict[str, tuple[FaqEntry, str, int]] = {}
    for entry in entries:
        seen: dict[str, tuple[str, int]] = {}
        for text, line in zip(entry.phrasings, lines[entry.id].phrasings, strict=True):
            key = phrasing_key(text)
            if key in seen:
                first, first_line = seen[key]
                problems.append(
                    Problem(
                        entry.file,
                        line,
                        f"entry {entry.id!r}: variant {text!r} is the same as {first!r} "
                        f"(line {first_line}) after normalisation",
                    )
                )
                continue
            seen[key] = (text, line)
            if key in owner and owner[key][0].id != entry.id:
                other, other_text, other_line = owner[key]
                problems.append(
                    Problem(
                        entry.file,
                        line,
                        f"entry {entry.id!r}: variant {text!r} is the same as {other_text!r} "
                        f"of entry {other.id!r} ({other.file}:{other_line})",
                    )
                )
            else:
                owner[key] = (entry, text, line)
    return problems


def read_faq(
    faq_dir: Path | None = None, laws: LawLibrary | None = None, *, strict: bool = False
) -> tuple[FaqData, list[Problem]]:
    """Read the FAQ folder; return what loaded and every problem found.

    ``strict`` adds the content rules of ``faq._rules`` (short answer, enough
    distinct and long variants): ``minshi faq check`` applies them, loading
    does not, so an entry still being written never stops the service.
    """
    faq_dir = Path(faq_dir) if faq_dir is not None else DEFAULT_FAQ_DIR
    laws = laws if laws is not None else LawLibrary.load()
    if not faq_dir.is_dir():
        return FaqData(), [Problem(str(faq_dir), 0, "FAQ folder does not exist")]
    problems: list[Problem] = []
    categories, found = _read_categories(_support_file(faq_dir, CATEGORIES_FILE))
    problems += found
    synonyms, found = read_synonyms(_support_file(faq_dir, SYNONYMS_FILE))
    problems += found
    legal_words, found = _read_legal_words(_support_file(faq_dir, LEGAL_DICT_FILE))
    problems += found
    # The shipped referrals name the shipped synonyms' topics: a folder with its
    # own synonyms file gets referrals only from its own referrals file.
    own_synonyms = (faq_dir / SYNONYMS_FILE).exists()
    referrals_file = (
        faq_dir / REFERRALS_FILE if own_synonyms else _support_file(faq_dir, REFERRALS_FILE)
    )
    referrals, found = read_referrals(referrals_file, synonyms)
    problems += found

    reader = _EntryReader(laws, categories)
    entries: list[FaqEntry] = []
    first_seen: dict[str, FaqEntry] = {}
    entry_lines: dict[str, EntryLines] = {}
    files = entry_files(faq_dir)
    if not files:
        problems.append(Problem(str(faq_dir), 0, "no FAQ files (*.yaml) in this folder"))
    for path in files:
        file = str(path)
        try:
            data = load_yaml(path)
        except YamlSourceError as exc:
            problems += exc.problems
            continue
        if data is None:
            continue
        if not isinstance(data, YamlList):
            problems.append(
                Problem(file, line_of(data), "an FAQ file must be a list of entries ('- id: ...')")
            )
            continue
        for i, item in enumerate(data):
            entry = reader.entry(file, item, line_of(data, i))
            if entry is None:
                continue
            if entry.id in first_seen:
                first = first_seen[entry.id]
                problems.append(
                    Problem(
                        file,
                        entry.line,
                        f"duplicate id {entry.id!r}, first defined at {first.file}:{first.line}",
                    )
                )
                continue
            first_seen[entry.id] = entry
            entries.append(entry)
            entry_lines[entry.id] = _entry_lines(item)
    problems += reader.problems
    problems += _check_phrasings(entries, entry_lines)
    if strict:
        for entry in entries:
            problems += content_problems(entry, entry_lines[entry.id])
    data = FaqData(tuple(entries), categories, synonyms, legal_words, referrals)
    return data, sorted(set(problems))


def load_faq(faq_dir: Path | None = None, laws: LawLibrary | None = None) -> FaqData:
    """Read the FAQ folder; raise FaqLoadError listing every problem if any."""
    data, problems = read_faq(faq_dir, laws)
    if problems:
        raise FaqLoadError(problems)
    return data


def check_faq(faq_dir: Path | None = None, law_dir: Path | None = None) -> list[Problem]:
    """Every problem in the FAQ folder, content rules included, as file:line, sorted."""
    return read_faq(faq_dir, LawLibrary.load(law_dir), strict=True)[1]
