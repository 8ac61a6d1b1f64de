"""Lookups and routing over a loaded centers file.

Routing follows "小事不出村、大事不出镇": a case goes to the lowest center on
the way up from the resident's place, unless the county has a specialised
committee for the case's category. A complaint about the village committee
or its cadres (category ``village``) starts at the township: the village's own
center sits in the committee it is about. Escalation climbs one center at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from ._model import Center, Contact, PlaceMatch, Region, Route, level_rank
from ._placesearch import PlaceIndex

__all__ = ["LOWEST_LEVEL", "CenterDirectory"]

MAX_NEAREST_KM = 50.0  # farther than this from every place: outside the service area
# Prefer the most local place: a township must be this much nearer than a
# village to win, a county nearer than a township, a city nearer than a county
# (a resident in a city district this file does not list goes to the city).
_LEVEL_DETOUR_KM = {"village": 0.0, "township": 2.0, "county": 8.0, "city": 15.0}
_EARTH_RADIUS_KM = 6371.0

# The lowest level of center a category may go to, when it is not the village
# level. Village affairs (村务与集体: cadres, elections, collective money) are
# complaints about the 村委会, which runs the village's own center: they go to
# the township at least, so nobody judges a complaint about themselves.
LOWEST_LEVEL: dict[str, str] = {"village": "township"}


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class CenterDirectory:
    """The region tree with its centers and committees; read-only once built.

    >>> directory = load_centers()
    >>> directory.route("621202100", "traffic").center.name
    '武都区道路交通事故纠纷人民调解委员会'
    """

    def __init__(
        self,
        *,
        regions: Iterable[Region],
        committees: Mapping[str, Iterable[Center]],
        national: Iterable[Contact] = (),
        demo: bool = False,
        categories: Iterable[str] = (),
    ) -> None:
        self.demo = demo
        self.national: tuple[Contact, ...] = tuple(national)
        self.categories: frozenset[str] = frozenset(categories)
        self._regions: dict[str, Region] = {r.code: r for r in regions}
        self._committees: dict[str, tuple[Center, ...]] = {
            code: tuple(found) for code, found in committees.items()
        }
        self._centers: dict[str, Center] = {}
        for region in self._regions.values():
            if region.center:
                self._centers[region.center.id] = region.center
        for found in self._committees.values():
            for committee in found:
                self._centers[committee.id] = committee
        parents = {code: self._path(code)[1:] for code in self._regions}
        self._index = PlaceIndex(
            self._regions.values(),
            {
                code: tuple(p for p in path if p.level != "province")
                for code, path in parents.items()
            },
        )

    # -- lookups --------------------------------------------------------------

    def region(self, code: str) -> Region | None:
        return self._regions.get(code)

    def center(self, center_id: str) -> Center | None:
        return self._centers.get(center_id)

    def regions(self) -> list[Region]:
        """Every region, in file order."""
        return list(self._regions.values())

    def centers(self) -> list[Center]:
        """Every center and committee."""
        return list(self._centers.values())

    def committees(self, county_code: str) -> tuple[Center, ...]:
        return self._committees.get(county_code, ())

    def children(self, code: str | None) -> list[Region]:
        """The regions under ``code``; ``None`` gives the counties (where a resident starts)."""
        if code is None:
            return self.counties()
        return [self._regions[child] for child in self._require(code).children]

    def counties(self) -> list[Region]:
        return [r for r in self._regions.values() if r.level == "county"]

    def full_name(self, code: str) -> str:
        """Names from the city down, e.g. "张掖市甘州区沙井镇东沟村" (the province is implied)."""
        path = self._path(code)
        return "".join(r.name for r in reversed(path) if r.level != "province")

    # -- finding a place ------------------------------------------------------

    def warm_up(self) -> None:
        """Build the place-search index ahead of the first search (call from a thread)."""
        self._index.warm_up()

    def search(self, text: str, limit: int = 3) -> list[PlaceMatch]:
        """Places the resident plausibly meant, best first; empty when none is plausible."""
        return self._index.search(text, limit)

    def nearest(self, lat: float, lon: float) -> Region | None:
        """The most local routable place near a shared location; None outside the service area."""
        best: tuple[float, Region] | None = None
        for region in self._regions.values():
            detour = _LEVEL_DETOUR_KM.get(region.level)
            if detour is None or region.lat is None or region.lon is None:
                continue
            if self._lowest_center(self._path(region.code)) is None:
                continue
            distance = _distance_km(lat, lon, region.lat, region.lon)
            if distance > MAX_NEAREST_KM:
                continue
            if best is None or distance + detour < best[0]:
                best = (distance + detour, region)
        return best[1] if best else None

    # -- routing --------------------------------------------------------------

    def route(self, code: str, category: str) -> Route:
        """Who takes a case of ``category`` from region ``code``."""
        if self.categories and category not in self.categories:
            msg = f"unknown category {category!r}; expected one of {sorted(self.categories)}"
            raise ValueError(msg)
        path = self._path(code)
        for region in path:
            if region.level == "county":
                for committee in self._committees.get(region.code, ()):
                    if category in committee.categories:
                        return Route(
                            center=committee, region=region, level="county", committee=True
                        )
        found = self._lowest_center(self._at_or_above(path, LOWEST_LEVEL.get(category)))
        if found is None:
            msg = f"no center on the way up from region {code!r} for category {category!r}"
            raise LookupError(msg)
        center, region = found
        return Route(center=center, region=region, level=region.level, committee=False)

    def parent_center(self, center_id: str) -> Center | None:
        """The next center up for escalation; a committee escalates above its county."""
        center = self._centers.get(center_id)
        if center is None:
            raise KeyError(center_id)
        owner = self._regions[center.region_code]
        if owner.parent_code is None:
            return None
        found = self._lowest_center(self._path(owner.parent_code))
        return found[0] if found else None

    def contact_card(self, code: str) -> tuple[Region, tuple[Contact, ...], Center | None]:
        """The 便民联系卡: nearest contacts upwards, and the center in charge."""
        path = self._path(code)
        holder = next((r for r in path if r.contacts), path[0])
        found = self._lowest_center(path)
        return holder, holder.contacts, found[0] if found else None

    # -- internals ------------------------------------------------------------

    def _require(self, code: str) -> Region:
        region = self._regions.get(code)
        if region is None:
            raise KeyError(code)
        return region

    def _path(self, code: str) -> list[Region]:
        """``code`` and its ancestors, nearest first."""
        path = [self._require(code)]
        while path[-1].parent_code is not None:
            path.append(self._regions[path[-1].parent_code])
        return path

    @staticmethod
    def _at_or_above(path: list[Region], level: str | None) -> list[Region]:
        """The regions of ``path`` at ``level`` or higher (all of them for None)."""
        if level is None:
            return path
        return [r for r in path if level_rank(r.level) <= level_rank(level)]

    @staticmethod
    def _lowest_center(path: list[Region]) -> tuple[Center, Region] | None:
        for region in path:
            if region.center is not None:
                return region.center, region
        return None
