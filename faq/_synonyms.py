"""The synonyms file: residents' words mapped to the FAQ's canonical terms.

Admins edit it as YAML, one canonical term per key with the words residents
use for it::

    配偶: [老公, 老婆, 男人, 婆姨]
    拖欠 工资: [欠薪, 不给工钱]      # a canonical phrase of several words
    "@刑事": [判刑, 坐牢]            # @: a topic the FAQ does not answer

Matching replaces each listed word by its canonical term(s) in both the FAQ
and the query, so 不给工钱 and 欠薪 meet. A canonical starting with ``@``
marks a topic outside the FAQ: the word stays and gets the mark too; a
question with a marked word is never answered with confidence, and gets no
suggestions unless the rest of it is clearly about an entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from common.yamlsource import Problem, YamlList, YamlMap, YamlSourceError, line_of, load_yaml
from faq._normalize import fold

__all__ = ["OFF_TOPIC_MARK", "Synonyms", "read_synonyms"]

OFF_TOPIC_MARK = "@"


@dataclass(frozen=True)
class Synonyms:
    """word → canonical tokens; ``canonical`` keeps each canonical term's words."""

    mapping: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def words(self) -> set[str]:
        """Every word on either side, to keep whole when segmenting."""
        words = set(self.mapping)
        for tokens in self.mapping.values():
            words.update(t for t in tokens if not t.startswith(OFF_TOPIC_MARK))
        return words


def read_synonyms(path: Path) -> tuple[Synonyms, list[Problem]]:
    """Parse the synonyms file; problems name file:line, good lines still load."""
    file = str(path)
    try:
        data = load_yaml(path)
    except YamlSourceError as exc:
        return Synonyms(), list(exc.problems)
    if data is None:
        return Synonyms(), []
    if not isinstance(data, YamlMap):
        return Synonyms(), [
            Problem(file, line_of(data), "synonyms file must map canonical terms to lists of words")
        ]
    problems: list[Problem] = []
    mapping: dict[str, tuple[str, ...]] = {}
    where: dict[str, tuple[str, int]] = {}
    for canonical, words in data.items():
        key_line = line_of(data, canonical)
        tokens = tuple(
            fold(t) if not t.startswith(OFF_TOPIC_MARK) else t for t in str(canonical).split()
        )
        if not tokens or not all(tokens):
            problems.append(Problem(file, key_line, f"canonical term {canonical!r} is empty"))
            continue
        if isinstance(words, str):
            words = YamlList([words])
            words.line, words.item_lines = key_line, [key_line]
        if not isinstance(words, YamlList):
            problems.append(
                Problem(file, key_line, f"{canonical!r} must have a list of words, not {words!r}")
            )
            continue
        for i, word in enumerate(words):
            line = line_of(words, i)
            if not isinstance(word, str) or not fold(word):
                problems.append(Problem(file, line, f"{canonical!r}: {word!r} is not a word"))
                continue
            norm = fold(word).replace(" ", "")
            if norm in where and mapping[norm] != tokens:
                other, other_line = where[norm]
                problems.append(
                    Problem(
                        file,
                        line,
                        f"{word!r} is listed under both {other!r} (line {other_line})"
                        f" and {canonical!r}",
                    )
                )
                continue
            if (norm,) != tokens:
                mapping[norm] = tokens
                where[norm] = (str(canonical), line)
    return Synonyms(mapping), problems
