"""What goes on the QR-code posters of a township, and writing them to files.

Every village or community, the township's own center, and every county's
or city's center gets an A4 poster for the notice board: the place and the
center that takes its cases,
a QR code opening the web chat with the place pre-filled (``/chat?loc=<region
code>``, so a resident never has to pick the village), three steps in large
characters and the 便民联系卡 numbers. Links use ``MINSHI_PUBLIC_URL``: a poster
must point at the address residents' phones reach, never at this machine.
Drawing is ``bot.posters.render``'s job; nothing here draws.

    PosterError            cannot make posters; the message says what to do
    ├── NoPublicUrl        MINSHI_PUBLIC_URL is not set (or not http/https)
    └── UnknownTownship    the code is not a township; lists the codes meant
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from handoff import CenterDirectory, Contact, DeadlinePolicy, Region

__all__ = [
    "NoPublicUrl",
    "Poster",
    "PosterError",
    "TownshipPosters",
    "UnknownTownship",
    "chat_link",
    "poster_file_name",
    "public_base",
    "township_file_name",
    "township_posters",
    "townships",
    "townships_under",
    "unreachable_host",
    "write_township",
]

_MAX_SUGGESTIONS = 8


class PosterError(Exception):
    """Posters cannot be made; ``str(exc)`` tells the admin what to do."""


class NoPublicUrl(PosterError):
    pass


class UnknownTownship(PosterError):
    pass


@dataclass(frozen=True)
class Poster:
    """One A4 poster: a village or community, or a township's own center."""

    region_code: str  # what the QR code pre-fills
    title: str  # 寺儿沟村, or 沙井镇综治中心 on a center's poster
    place: str  # the full name, 张掖市甘州区沙井镇寺儿沟村
    center: str  # the center that takes the place's cases
    center_phone: str
    link: str  # what the QR code opens
    contacts: tuple[Contact, ...]  # the place's own people (党支部书记, 民警, 网格员)
    national: tuple[Contact, ...]  # 110, 120, 119, 12348 …
    reply_hours: int  # the deadline of the center that takes the cases
    demo: bool  # the numbers are placeholders: say so on the poster


@dataclass(frozen=True)
class TownshipPosters:
    township: Region
    place: str  # the township's full name
    posters: tuple[Poster, ...]  # the township center first, then villages in file order


def public_base(public_url: str | None) -> str:
    """The address posters link to, without a trailing slash; refuses when unset."""
    url = (public_url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if not url:
        msg = (
            "请先设置 MINSHI_PUBLIC_URL（居民手机能打开的本服务网址，例如 "
            "https://minshi.example.org），海报上的二维码要用它"
        )
        raise NoPublicUrl(msg)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"MINSHI_PUBLIC_URL={url!r} 不是 http:// 或 https:// 开头的网址"
        raise NoPublicUrl(msg)
    return url


def unreachable_host(base: str) -> bool:
    """Whether residents' phones surely cannot reach ``base`` (this machine, a LAN address)."""
    host = urlsplit(base).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def chat_link(base: str, region_code: str) -> str:
    """The web chat opened at a place: what a poster's QR code holds."""
    return f"{base}/chat?loc={region_code}"


def _printable_area(region: Region) -> bool:
    """A township (its center and villages), or a county or city with a center of its own."""
    # A province's center oversees and takes no cases: residents are not sent there.
    return region.level == "township" or (
        region.level in ("county", "city") and region.center is not None
    )


def townships(directory: CenterDirectory) -> list[Region]:
    """Every area with posters, in file order: each township (乡镇、街道), and each
    county or city whose own center gets a poster too."""
    return [r for r in directory.regions() if _printable_area(r)]


def townships_under(directory: CenterDirectory, code: str) -> list[Region]:
    """The areas with posters at or below region ``code`` (a county's, a city's, or itself)."""
    region = directory.region(code)
    if region is None:
        return []
    if region.level == "township":
        return [region]
    own = [region] if _printable_area(region) else []
    return own + [t for child in region.children for t in townships_under(directory, child)]


def township_posters(
    directory: CenterDirectory, code: str, base: str, deadlines: DeadlinePolicy
) -> TownshipPosters:
    """The posters of township ``code``: its center's, then one per village. For a
    county or city with a center of its own: that center's poster."""
    township = directory.region(code.strip())
    if township is None or not _printable_area(township):
        raise UnknownTownship(_unknown_township_message(directory, code.strip()))
    places = [township] if township.center is not None else []
    if township.level == "township":
        places += [r for r in (directory.region(c) for c in township.children) if r is not None]
    posters = tuple(_poster(directory, r, base, deadlines) for r in places)
    return TownshipPosters(township, directory.full_name(township.code), posters)


def _poster(
    directory: CenterDirectory, region: Region, base: str, deadlines: DeadlinePolicy
) -> Poster:
    holder, contacts, _ = directory.contact_card(region.code)
    route = directory.route(region.code, "other")
    own_center = region.level != "village" and region.center is not None
    return Poster(
        region_code=region.code,
        title=region.center.name if own_center and region.center else region.name,
        place=directory.full_name(region.code),
        center=route.center.name,
        center_phone=route.center.phone,
        link=chat_link(base, region.code),
        # A center's poster lists the township's own people only, not a county's.
        contacts=contacts if region.level == "village" or holder.code == region.code else (),
        national=directory.national,
        reply_hours=deadlines.hours[deadlines.level_of(route.center, directory)],
        demo=directory.demo,
    )


def _unknown_township_message(directory: CenterDirectory, code: str) -> str:
    region = directory.region(code)
    all_townships = [t for t in townships(directory) if t.level == "township"]
    if region is not None and region.level == "village" and region.parent_code:
        near = [t for t in all_townships if t.code == region.parent_code]
        why = f"{code} 是村/社区（{region.name}），不是乡镇"
    elif region is not None:
        near = [t for t in townships_under(directory, region.code) if t.level == "township"]
        why = f"{code} 是{region.name}，不是乡镇，也没有自己的综治中心"
    else:
        # The townships whose codes share the longest start with what was typed.
        shared = max((_common_prefix(t.code, code) for t in all_townships), default=0)
        near = [t for t in all_townships if _common_prefix(t.code, code) == shared]
        why = f"没有乡镇代码 {code!r}"
        by_name = [t for t in all_townships if code and code in t.name]
        near = by_name or near
    near = near or all_townships
    listed = "；".join(f"{t.code} {directory.full_name(t.code)}" for t in near[:_MAX_SUGGESTIONS])
    more = f" 等 {len(near)} 个" if len(near) > _MAX_SUGGESTIONS else ""
    return f"{why}。可以用的乡镇代码：{listed}{more}"


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def poster_file_name(poster: Poster, suffix: str) -> str:
    """``620702103203-寺儿沟村.png``: sorts by code, readable by name."""
    return f"{poster.region_code}-{poster.title}.{suffix}"


def township_file_name(found: TownshipPosters) -> str:
    return f"{found.township.code}-{found.township.name}-全部海报.pdf"


def write_township(found: TownshipPosters, out: Path, font: Path) -> list[Path]:
    """One PNG and one PDF per poster and the township's combined PDF; the files written."""
    from .render import render_pdf, render_png

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def write(name: str, data: bytes) -> None:
        path = out / name
        path.write_bytes(data)
        written.append(path)

    for poster in found.posters:
        write(poster_file_name(poster, "png"), render_png(poster, font))
        write(poster_file_name(poster, "pdf"), render_pdf([poster], font))
    write(township_file_name(found), render_pdf(found.posters, font))
    return written
