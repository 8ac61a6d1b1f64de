"""The centers directory as plain values: regions, their centers, routes.

Everything here is frozen: the directory is loaded once from the admin's
YAML file and shared by every conversation, so nothing may change it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "LEVELS",
    "Center",
    "Contact",
    "PlaceMatch",
    "Region",
    "Route",
    "Webhook",
    "level_rank",
]

# Highest first. A region's children must sit on a lower level (a larger rank);
# levels may be skipped, e.g. a county directly under the province.
LEVELS: tuple[str, ...] = ("province", "city", "county", "township", "village")


def level_rank(level: str) -> int:
    """Position of ``level`` in ``LEVELS`` (0 = province)."""
    return LEVELS.index(level)


@dataclass(frozen=True)
class Webhook:
    """An outside system (a 12345 hotline, a county platform) told of the center's cases.

    ``trusted`` endpoints receive the resident's phone in full; others masked.
    """

    url: str
    secret: str = field(repr=False)
    trusted: bool = False


@dataclass(frozen=True)
class Center:
    """A 综治中心 or a specialised mediation committee that takes cases.

    ``id`` is the region code for a region's center and the committee id for
    a committee; ``categories`` is non-empty only for committees.
    """

    id: str
    name: str
    level: str
    phone: str
    address: str
    lat: float | None
    lon: float | None
    region_code: str
    categories: tuple[str, ...] = ()
    webhooks: tuple[Webhook, ...] = ()
    # The center's Telegram forum supergroup (chat id): a topic there per case.
    telegram_group: int | None = None

    @property
    def is_committee(self) -> bool:
        return bool(self.categories)


@dataclass(frozen=True)
class Contact:
    """One line of a 便民联系卡 (or a national hotline: role and name alike)."""

    role: str
    name: str
    phone: str


@dataclass(frozen=True)
class Region:
    """A place of the administrative tree; ``children`` are region codes."""

    code: str
    name: str
    level: str
    parent_code: str | None
    center: Center | None
    children: tuple[str, ...]
    aliases: tuple[str, ...]
    lat: float | None
    lon: float | None
    contacts: tuple[Contact, ...]


@dataclass(frozen=True)
class Route:
    """Where a case goes: ``level`` is the level of the center that takes it."""

    center: Center
    region: Region
    level: str
    committee: bool


@dataclass(frozen=True)
class PlaceMatch:
    """A place a resident probably meant; ``score`` is 0–100, ``matched`` the name hit."""

    region: Region
    score: float
    matched: str
