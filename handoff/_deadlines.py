"""四级七天: how long each level of center has before a case moves up.

Village, township, county and city centers each have their own deadline;
there are no silent defaults. A specialised committee works with its
county's deadline and hands an overdue case to its county's center. A
province center never receives cases: its admins oversee overdue city
cases instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ._directory import CenterDirectory
from ._model import Center

__all__ = ["DeadlinePolicy", "Level", "NoHigherCenter"]


class Level(StrEnum):
    """The levels of centers that take cases, lowest first."""

    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"
    CITY = "city"


class NoHigherCenter(Exception):
    """A case is already at the top of the ladder (a city center)."""


@dataclass(frozen=True)
class DeadlinePolicy:
    """Hours per level; built once from the settings and shared."""

    hours: Mapping[Level, int]

    def __post_init__(self) -> None:
        missing = [level.value for level in Level if level not in self.hours]
        assert not missing, f"deadline hours missing for {missing}"
        bad = {level.value: h for level, h in self.hours.items() if h <= 0}
        assert not bad, f"deadline hours must be positive: {bad}"

    def level_of(self, center: Center, directory: CenterDirectory) -> Level:
        """The level whose deadline applies to ``center`` (a committee: its county)."""
        if center.is_committee:
            return Level.COUNTY
        if center.level == "province":
            msg = f"{center.name} is a province center: it oversees, it does not take cases"
            raise ValueError(msg)
        return Level(center.level)

    def due(self, center: Center, directory: CenterDirectory, start: datetime) -> datetime:
        return start + timedelta(hours=self.hours[self.level_of(center, directory)])

    def next_center(self, center: Center, directory: CenterDirectory) -> Center:
        """Where an overdue case goes; raises ``NoHigherCenter`` at the city level."""
        region = directory.region(center.region_code)
        if center.is_committee and region is not None and region.center is not None:
            return region.center  # a committee escalates to its county's center
        parent = directory.parent_center(center.id)
        if parent is None or parent.level == "province":
            msg = f"{center.name} is the highest center that takes cases"
            raise NoHigherCenter(msg)
        return parent
