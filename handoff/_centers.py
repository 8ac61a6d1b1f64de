"""Read and check the admin-edited centers file.

One pass over the YAML collects every problem with its line (an admin fixes
them all at once); only a file without problems becomes a directory.

    CentersError(YamlSourceError)   the file cannot be used; .problems says why
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from common.yamlsource import Problem, YamlList, YamlMap, YamlSourceError, line_of, load_yaml

from ._directory import LOWEST_LEVEL, CenterDirectory
from ._model import LEVELS, Center, Contact, Region, Webhook, level_rank

__all__ = [
    "DEFAULT_CENTERS_PATH",
    "CentersError",
    "check_centers",
    "default_categories",
    "load_centers",
]

DEFAULT_CENTERS_PATH = Path(__file__).parent / "data" / "centers.yaml"

_CODE_LENGTH = {"province": 6, "city": 6, "county": 6, "township": 9, "village": 12}
# How much of a parent's code its children share: 62|1202 → 6212|02 → 621202|100 …
_PREFIX_LENGTH = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}
# Landline with area code, mainland mobile, or a short national service number.
_PHONE = re.compile(r"^(0\d{2,3}-\d{7,8}|1[3-9]\d{9}|1\d{2,4})$")
_CHINA_LAT = (18.0, 54.0)
_CHINA_LON = (73.0, 136.0)

_TOP_KEYS = {"demo", "national", "regions"}
_REGION_KEYS = {
    "code",
    "name",
    "level",
    "aliases",
    "lat",
    "lon",
    "center",
    "committees",
    "contacts",
    "children",
}
_CENTER_KEYS = {"name", "phone", "address", "lat", "lon", "webhooks", "telegram_group"}
_COMMITTEE_KEYS = {
    "id",
    "name",
    "categories",
    "phone",
    "address",
    "lat",
    "lon",
    "webhooks",
    "telegram_group",
}
# A supergroup's chat id as the Bot API gives it: -100 followed by the group's own id.
_SUPERGROUP = re.compile(r"^-100\d{5,}$")
_WEBHOOK_KEYS = {"url", "secret", "trusted"}
_MIN_SECRET = 16
_CONTACT_KEYS = {"role", "name", "phone"}
_NATIONAL_KEYS = {"name", "phone", "role"}


class CentersError(YamlSourceError):
    """The centers file has problems; ``problems`` lists every one with its line."""

    def __repr__(self) -> str:
        return f"CentersError({len(self.problems)} problems)"


def default_categories() -> frozenset[str]:
    """The category slugs of the shipped FAQ (faq/data/categories.yaml)."""
    import faq

    # __path__ rather than __file__: an editable install may load faq as a namespace package.
    data = load_yaml(Path(next(iter(faq.__path__))) / "data" / "categories.yaml")
    return frozenset(data) if isinstance(data, dict) else frozenset()


def check_centers(path: Path | str, categories: Iterable[str] | None = None) -> list[Problem]:
    """Every problem of the centers file at ``path`` (empty when it is fine)."""
    return _read(Path(path), categories)[1]


def load_centers(
    path: Path | str | None = None, categories: Iterable[str] | None = None
) -> CenterDirectory:
    """Load the centers file (the shipped demo file by default); raise CentersError if broken."""
    directory, problems = _read(
        Path(path) if path is not None else DEFAULT_CENTERS_PATH, categories
    )
    if problems or directory is None:
        raise CentersError(problems)
    return directory


# -- parsing --------------------------------------------------------------------


@dataclass
class _Draft:
    code: str
    name: str
    level: str
    line: int
    parent: _Draft | None
    aliases: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None
    center: dict[str, Any] | None = None
    has_center: bool = False  # even a broken center counts, so one typo is one problem
    contacts: tuple[Contact, ...] = ()
    children: list[_Draft] = field(default_factory=list)


def _read(
    path: Path, categories: Iterable[str] | None
) -> tuple[CenterDirectory | None, list[Problem]]:
    try:
        data = load_yaml(path)
    except YamlSourceError as exc:
        return None, list(exc.problems)
    parser = _Parser(
        str(path), frozenset(categories) if categories is not None else default_categories()
    )
    directory = parser.parse(data)
    return directory, sorted(parser.problems, key=lambda p: p.line)


class _Parser:
    def __init__(self, file: str, categories: frozenset[str]) -> None:
        self.file = file
        self.categories = categories
        self.problems: list[Problem] = []
        self.drafts: list[_Draft] = []  # file order
        self.codes: dict[str, int] = {}  # code -> line, for duplicates
        self.committee_ids: dict[str, int] = {}
        self.committees: dict[str, list[Center]] = {}
        self.groups: dict[int, tuple[str, int]] = {}  # telegram group → (owner, line)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    # -- top level --

    def parse(self, data: Any) -> CenterDirectory | None:
        if not isinstance(data, YamlMap):
            self.problem(
                line_of(data),
                "the centers file must be a mapping with 'regions' (and 'demo', 'national')",
            )
            return None
        self.unknown_keys(data, _TOP_KEYS, "the centers file")
        demo = self.parse_demo(data)
        national = self.parse_national(data)
        regions = data.get("regions")
        if not isinstance(regions, YamlList) or not regions:
            self.problem(
                line_of(data, "regions") if "regions" in data else 1,
                "'regions' must be a non-empty list",
            )
        else:
            for i, item in enumerate(regions):
                self.parse_region(item, line_of(regions, i), parent=None)
        self.check_routable()
        if self.problems:
            return None
        return CenterDirectory(
            regions=self.build_regions(),
            committees=self.committees,
            national=national,
            demo=demo,
            categories=self.categories,
        )

    def parse_demo(self, data: YamlMap) -> bool:
        value = data.get("demo", "false")
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        self.problem(line_of(data, "demo"), f"demo must be true or false, not {value!r}")
        return False

    def parse_national(self, data: YamlMap) -> list[Contact]:
        items = data.get("national") or []  # an empty `national:` is an empty list
        if not isinstance(items, list):
            self.problem(line_of(data, "national"), "'national' must be a list of {name, phone}")
            return []
        found = []
        for i, item in enumerate(items):
            line = line_of(items, i)
            if not self.expect_map(item, line, "a national number"):
                continue
            self.unknown_keys(item, _NATIONAL_KEYS, "a national number")
            name = self.text(item, "name", line, "a national number")
            phone = self.phone(item, line, f"national number {name!r}")
            role = self.optional_text(item, "role") or name
            if name and phone:
                found.append(Contact(role=role, name=name, phone=phone))
        return found

    # -- regions --

    def parse_region(self, item: Any, line: int, parent: _Draft | None) -> None:
        if not self.expect_map(item, line, "a region"):
            return
        name = self.text(item, "name", item.line, "a region")
        what = f"region {name!r}" if name else "a region"
        self.unknown_keys(item, _REGION_KEYS, what)
        level = self.text(item, "level", item.line, what)
        if level and level not in LEVELS:
            self.problem(
                line_of(item, "level"),
                f"unknown level {level!r} of {what}; expected one of {', '.join(LEVELS)}",
            )
            level = ""
        if level and parent and parent.level and level_rank(level) <= level_rank(parent.level):
            self.problem(
                line_of(item, "level"),
                f"level {level!r} of {what} is not below level {parent.level!r} "
                f"of its parent {parent.name!r}",
            )
        code = self.parse_code(item, what, level, parent)
        draft = _Draft(code=code, name=name, level=level, line=item.line, parent=parent)
        draft.aliases = self.text_list(item, "aliases", what)
        draft.lat, draft.lon = self.coordinates(item, what)
        if parent is not None:
            parent.children.append(draft)
        self.drafts.append(draft)

        if "center" in item:
            draft.has_center = True
            draft.center = self.parse_center(item["center"], line_of(item, "center"), what)
        if "committees" in item:
            self.parse_committees(item, draft, what)
        if "contacts" in item:
            draft.contacts = self.parse_contacts(item, what)
        children = item.get("children") or []
        if not isinstance(children, list):
            self.problem(
                line_of(item, "children"), f"'children' of {what} must be a list of regions"
            )
            return
        for i, child in enumerate(children):
            self.parse_region(child, line_of(children, i), parent=draft)

    def parse_code(self, item: YamlMap, what: str, level: str, parent: _Draft | None) -> str:
        code = self.text(item, "code", item.line, what)
        if not code:
            return ""
        line = line_of(item, "code")
        if not code.isdigit():
            self.problem(line, f"code {code!r} of {what} must be digits only")
            return code
        if level and len(code) != _CODE_LENGTH[level]:
            self.problem(
                line,
                f"code {code!r} of {what} must have {_CODE_LENGTH[level]} digits "
                f"for level {level!r}",
            )
        elif parent and parent.code and parent.level:
            prefix = parent.code[: _PREFIX_LENGTH[parent.level]]
            if not code.startswith(prefix):
                self.problem(
                    line,
                    f"code {code!r} of {what} does not start with {prefix!r} "
                    f"of its parent {parent.name!r}",
                )
        if code in self.codes:
            self.problem(line, f"duplicate code {code!r} (first used on line {self.codes[code]})")
        else:
            self.codes[code] = line
        return code

    def parse_center(self, item: Any, line: int, what: str) -> dict[str, Any] | None:
        if not self.expect_map(item, line, f"the center of {what}"):
            return None
        owner = f"the center of {what}"
        self.unknown_keys(item, _CENTER_KEYS, owner)
        name = self.text(item, "name", item.line, owner)
        phone = self.phone(item, item.line, owner)
        lat, lon = self.coordinates(item, owner)
        if not (name and phone):
            return None
        return {
            "name": name,
            "phone": phone,
            "address": self.optional_text(item, "address"),
            "lat": lat,
            "lon": lon,
            "webhooks": self.parse_webhooks(item, owner),
            "telegram_group": self.parse_telegram_group(item, owner),
        }

    def parse_committees(self, item: YamlMap, county: _Draft, what: str) -> None:
        items = item["committees"] or []
        line = line_of(item, "committees")
        if county.level and county.level != "county":
            self.problem(
                line,
                f"committees are only allowed at county level, "
                f"not on {county.level} {county.name!r}",
            )
        if not isinstance(items, list):
            self.problem(line, f"'committees' of {what} must be a list")
            return
        taken: dict[str, str] = {}
        for i, entry in enumerate(items):
            entry_line = line_of(items, i)
            if not self.expect_map(entry, entry_line, f"a committee of {what}"):
                continue
            self.unknown_keys(entry, _COMMITTEE_KEYS, f"a committee of {what}")
            committee_id = self.text(entry, "id", entry.line, f"a committee of {what}")
            owner = f"committee {committee_id!r}" if committee_id else f"a committee of {what}"
            name = self.text(entry, "name", entry.line, owner)
            phone = self.phone(entry, entry.line, owner)
            lat, lon = self.coordinates(entry, owner)
            cats = self.parse_categories(entry, owner, taken, committee_id)
            webhooks = self.parse_webhooks(entry, owner)
            group = self.parse_telegram_group(entry, owner)
            if committee_id:
                if committee_id in self.committee_ids or committee_id in self.codes:
                    first = self.committee_ids.get(committee_id) or self.codes.get(committee_id)
                    self.problem(
                        line_of(entry, "id"),
                        f"duplicate committee id {committee_id!r} (first used on line {first})",
                    )
                else:
                    self.committee_ids[committee_id] = line_of(entry, "id")
            if committee_id and name and phone and cats and county.code:
                self.committees.setdefault(county.code, []).append(
                    Center(
                        id=committee_id,
                        name=name,
                        level="county",
                        phone=phone,
                        address=self.optional_text(entry, "address"),
                        lat=lat if lat is not None else county.lat,
                        lon=lon if lon is not None else county.lon,
                        region_code=county.code,
                        categories=cats,
                        webhooks=webhooks,
                        telegram_group=group,
                    )
                )

    def parse_categories(
        self, entry: YamlMap, owner: str, taken: dict[str, str], committee_id: str
    ) -> tuple[str, ...]:
        cats = self.text_list(entry, "categories", owner)
        line = line_of(entry, "categories")
        if "categories" not in entry or not cats:
            self.problem(line, f"{owner} must list the categories it handles")
            return ()
        for cat in cats:
            if self.categories and cat not in self.categories:
                self.problem(
                    line,
                    f"unknown category {cat!r} in {owner}; "
                    f"expected one of {', '.join(sorted(self.categories))}",
                )
            elif cat in taken:
                self.problem(
                    line,
                    f"category {cat!r} of {owner} is already handled by committee {taken[cat]!r}",
                )
            else:
                taken[cat] = committee_id
        return cats

    def parse_contacts(self, item: YamlMap, what: str) -> tuple[Contact, ...]:
        items = item["contacts"] or []
        if not isinstance(items, list):
            self.problem(
                line_of(item, "contacts"),
                f"'contacts' of {what} must be a list of {{role, name, phone}}",
            )
            return ()
        found = []
        for i, entry in enumerate(items):
            line = line_of(items, i)
            if not self.expect_map(entry, line, f"a contact of {what}"):
                continue
            self.unknown_keys(entry, _CONTACT_KEYS, f"a contact of {what}")
            role = self.text(entry, "role", line, f"a contact of {what}")
            name = self.text(entry, "name", line, f"contact {role!r} of {what}")
            phone = self.phone(entry, line, f"contact {role!r} of {what}")
            if role and name and phone:
                found.append(Contact(role=role, name=name, phone=phone))
        return tuple(found)

    def check_routable(self) -> None:
        for draft in self.drafts:
            if draft.level != "village":
                continue
            node = self.center_at_or_above(draft, "village")
            if node is None:
                self.problem(
                    draft.line,
                    f"village {draft.name!r} ({draft.code}) has no center and none above it: "
                    "its cases cannot be routed",
                )
                continue
            for category, level in LOWEST_LEVEL.items():
                if category in self.categories and self.center_at_or_above(draft, level) is None:
                    self.problem(
                        draft.line,
                        f"village {draft.name!r} ({draft.code}) has no center at {level} level "
                        f"or above: its {category!r} cases (complaints about its own committee) "
                        "cannot be routed",
                    )

    @staticmethod
    def center_at_or_above(draft: _Draft, level: str) -> _Draft | None:
        """The nearest region with a center on the way up from ``draft``, at ``level`` or higher."""
        # A region whose level is broken was reported already: its center counts.
        node: _Draft | None = draft
        while node is not None and not (
            node.has_center and (not node.level or level_rank(node.level) <= level_rank(level))
        ):
            node = node.parent
        return node

    # -- building --

    def build_regions(self) -> list[Region]:
        regions = []
        for d in self.drafts:
            center = None
            if d.center is not None:
                center = Center(
                    id=d.code,
                    name=d.center["name"],
                    level=d.level,
                    phone=d.center["phone"],
                    address=d.center["address"],
                    lat=d.center["lat"] if d.center["lat"] is not None else d.lat,
                    lon=d.center["lon"] if d.center["lon"] is not None else d.lon,
                    region_code=d.code,
                    webhooks=d.center["webhooks"],
                    telegram_group=d.center["telegram_group"],
                )
            regions.append(
                Region(
                    code=d.code,
                    name=d.name,
                    level=d.level,
                    parent_code=d.parent.code if d.parent else None,
                    center=center,
                    children=tuple(c.code for c in d.children),
                    aliases=d.aliases,
                    lat=d.lat if d.lat is not None else (center.lat if center else None),
                    lon=d.lon if d.lon is not None else (center.lon if center else None),
                    contacts=d.contacts,
                )
            )
        return regions

    def parse_webhooks(self, item: YamlMap, owner: str) -> tuple[Webhook, ...]:
        """``webhooks: [{url, secret, trusted}]``: where the center's case events go."""
        if "webhooks" not in item or item["webhooks"] is None:
            return ()
        items = item["webhooks"]
        if not isinstance(items, YamlList):
            self.problem(line_of(item, "webhooks"), f"'webhooks' of {owner} must be a list")
            return ()
        hooks = []
        for i, entry in enumerate(items):
            what = f"a webhook of {owner}"
            if not self.expect_map(entry, line_of(items, i), what):
                continue
            self.unknown_keys(entry, _WEBHOOK_KEYS, what)
            url = self.text(entry, "url", entry.line, what)
            parts = urlsplit(url)
            if url and (parts.scheme not in ("http", "https") or not parts.hostname):
                self.problem(line_of(entry, "url"), f"url {url!r} of {what} is not an http(s) URL")
                url = ""
            secret = self.text(entry, "secret", entry.line, what)
            if secret and len(secret) < _MIN_SECRET:
                self.problem(
                    line_of(entry, "secret"),
                    f"secret of {what} is too short (at least {_MIN_SECRET} characters)",
                )
                secret = ""
            trusted = entry.get("trusted", "false")
            if isinstance(trusted, str) and trusted.strip().lower() in ("true", "false"):
                trusted_flag = trusted.strip().lower() == "true"
            elif isinstance(trusted, bool):
                trusted_flag = trusted
            else:
                self.problem(
                    line_of(entry, "trusted"),
                    f"trusted of {what} must be true or false, not {trusted!r}",
                )
                continue
            if url and secret:
                hooks.append(Webhook(url, secret, trusted_flag))
        return tuple(hooks)

    def parse_telegram_group(self, item: YamlMap, owner: str) -> int | None:
        """``telegram_group: <chat id>``: the center's forum supergroup, one per center."""
        if "telegram_group" not in item or item["telegram_group"] is None:
            return None
        raw = item["telegram_group"]
        line = line_of(item, "telegram_group")
        text = raw.strip() if isinstance(raw, str) else ""
        if not _SUPERGROUP.match(text):
            self.problem(
                line,
                f"telegram_group of {owner} must be the chat id of a forum supergroup "
                f"(-100 followed by digits, e.g. -1001234567890), not {raw!r}",
            )
            return None
        group = int(text)
        if group in self.groups:
            first, first_line = self.groups[group]
            self.problem(
                line,
                f"telegram_group {text} of {owner} is already the group of {first} "
                f"(line {first_line}); each center needs a group of its own",
            )
            return None
        self.groups[group] = (owner, line)
        return group

    # -- field helpers --

    def expect_map(self, item: Any, line: int, what: str) -> bool:
        if isinstance(item, YamlMap):
            return True
        self.problem(line, f"{what} must be a mapping of keys, not {item!r}")
        return False

    def unknown_keys(self, item: YamlMap, allowed: set[str], what: str) -> None:
        for key in item:
            if key not in allowed:
                self.problem(
                    line_of(item, key),
                    f"unknown key {key!r} in {what}; expected {', '.join(sorted(allowed))}",
                )

    def text(self, item: YamlMap, key: str, line: int, what: str) -> str:
        value = item.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.problem(line_of(item, key) if key in item else line, f"missing {key!r} in {what}")
            return ""
        if not isinstance(value, str):
            self.problem(line_of(item, key), f"{key!r} of {what} must be text, not {value!r}")
            return ""
        return value.strip()

    def optional_text(self, item: YamlMap, key: str) -> str:
        value = item.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.problem(line_of(item, key), f"{key!r} must be text, not {value!r}")
            return ""
        return value.strip()

    def text_list(self, item: YamlMap, key: str, what: str) -> tuple[str, ...]:
        value = item.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.problem(
                line_of(item, key), f"{key!r} of {what} must be a list of names, not {value!r}"
            )
            return ()
        return tuple(v.strip() for v in value)

    def phone(self, item: YamlMap, line: int, what: str) -> str:
        phone = self.text(item, "phone", line, what)
        if phone and not _PHONE.match(phone):
            self.problem(
                line_of(item, "phone"),
                f"phone {phone!r} of {what} is not a phone number "
                "(0xxx-xxxxxxx, 1xxxxxxxxxx or a short national number)",
            )
            return ""
        return phone

    def coordinates(self, item: YamlMap, what: str) -> tuple[float | None, float | None]:
        if "lat" not in item and "lon" not in item:
            return None, None
        if "lat" not in item or "lon" not in item:
            missing = "lat" if "lat" not in item else "lon"
            self.problem(
                item.line, f"{what} has {'lon' if missing == 'lat' else 'lat'} but no {missing}"
            )
            return None, None
        lat = self.number(item, "lat", what, _CHINA_LAT)
        lon = self.number(item, "lon", what, _CHINA_LON)
        return (lat, lon) if lat is not None and lon is not None else (None, None)

    def number(
        self, item: YamlMap, key: str, what: str, bounds: tuple[float, float]
    ) -> float | None:
        raw = item[key]
        try:
            value = float(raw) if isinstance(raw, str) else None
        except ValueError:
            value = None
        if value is None or value != value:  # NaN
            self.problem(line_of(item, key), f"{key} of {what} must be a number, not {raw!r}")
            return None
        low, high = bounds
        if not low <= value <= high:
            self.problem(
                line_of(item, key), f"{key} {raw} of {what} is outside China ({low}–{high})"
            )
            return None
        return value
