"""Where to send a question the FAQ does not answer: the referrals file.

A person at a legal help desk who hears "my son was arrested" does not offer
three unrelated leaflets; they say who handles it. Admins write, per kind of
matter, which of the synonyms file's ``@`` topics mark it and what to say::

    criminal:
      name: 刑事案件
      topics: ["@刑事"]
      say: 这类事要由公安机关处理……

The words stay in one place (the synonyms file); this file only says where
each topic leads. A question whose off-topic words point at a kind gets that
kind's referral instead of suggestions that do not share its subject.
"""

from __future__ import annotations

from pathlib import Path

from common.yamlsource import Problem, YamlMap, YamlSourceError, line_of, load_yaml
from faq._model import Referral
from faq._synonyms import OFF_TOPIC_MARK, Synonyms

__all__ = ["read_referrals"]


_KEYS = {"name", "topics", "say"}
_OPTIONAL = {"examples"}


def read_referrals(path: Path, synonyms: Synonyms) -> tuple[tuple[Referral, ...], list[Problem]]:
    """Parse the referrals file; every topic must be an ``@`` topic of ``synonyms``."""
    file = str(path)
    if not path.exists():
        return (), []
    try:
        data = load_yaml(path)
    except YamlSourceError as exc:
        return (), list(exc.problems)
    if data is None:
        return (), []
    if not isinstance(data, YamlMap):
        return (), [
            Problem(file, line_of(data), "referrals file must map kinds to {name, topics, say}")
        ]
    known = {
        t for tokens in synonyms.mapping.values() for t in tokens if t.startswith(OFF_TOPIC_MARK)
    }
    referrals: list[Referral] = []
    problems: list[Problem] = []
    owner: dict[str, str] = {}
    for kind, body in data.items():
        line = line_of(data, kind)
        if not isinstance(body, YamlMap):
            problems.append(Problem(file, line, f"{kind!r} must have name, topics and say"))
            continue
        unknown = sorted(set(body) - _KEYS - _OPTIONAL)
        missing = sorted(_KEYS - set(body))
        if unknown or missing:
            what = [f"unknown key(s) {', '.join(unknown)}"] if unknown else []
            what += [f"missing {', '.join(missing)}"] if missing else []
            problems.append(Problem(file, line, f"{kind!r}: " + "; ".join(what)))
            continue
        name, topics, say = body["name"], body["topics"], body["say"]
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(file, line_of(body, "name"), f"{kind!r}: name must be text"))
            continue
        if not isinstance(say, str) or not say.strip():
            problems.append(Problem(file, line_of(body, "say"), f"{kind!r}: say must be text"))
            continue
        if not isinstance(topics, list) or not topics:
            problems.append(
                Problem(file, line_of(body, "topics"), f"{kind!r}: topics must list @ topics")
            )
            continue
        good = []
        for i, topic in enumerate(topics):
            where = line_of(topics, i) or line_of(body, "topics")
            if not isinstance(topic, str) or topic not in known:
                problems.append(
                    Problem(
                        file,
                        where,
                        f"{kind!r}: {topic!r} is not an @ topic of the synonyms file"
                        f" (known: {', '.join(sorted(known))})",
                    )
                )
            elif topic in owner:
                problems.append(
                    Problem(file, where, f"{topic!r} already leads to {owner[topic]!r}")
                )
            else:
                owner[topic] = str(kind)
                good.append(topic)
        examples = body.get("examples") or []
        if not isinstance(examples, list) or not all(
            isinstance(e, str) and e.strip() for e in examples
        ):
            problems.append(
                Problem(file, line_of(body, "examples"), f"{kind!r}: examples must list questions")
            )
            examples = []
        referrals.append(
            Referral(
                str(kind),
                name.strip(),
                tuple(good),
                say.strip(),
                tuple(dict.fromkeys(e.strip() for e in examples)),
            )
        )
    return tuple(referrals), problems
