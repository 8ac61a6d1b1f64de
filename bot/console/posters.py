"""QR-code posters in the console: which townships an admin may print, and the files.

System admins print any township; a center admin prints the places inside
their center's region (a township center: its township; a county center:
every township of the county; a village center: its own village). Posters
are drawn on request, in a worker thread, from the centers file as it is
now; links use ``MINSHI_PUBLIC_URL``, and without it the page says to set
it instead of offering posters that point nowhere.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from bot.posters import (
    Poster,
    PosterError,
    TownshipPosters,
    poster_file_name,
    public_base,
    township_file_name,
    township_posters,
    townships,
    townships_under,
    unreachable_host,
)
from bot.posters.render import find_font, render_pdf, render_png
from bot.runtime import Runtime

from .access import Staff
from .actions import ActionError

__all__ = ["poster_download", "posters_page", "require_posters", "township_download"]

_MEDIA = {"png": "image/png", "pdf": "application/pdf"}


def require_posters(staff: Staff) -> None:
    if staff.role not in ("admin", "center-admin"):
        raise ActionError(403, "只有系统管理员和中心管理员能下载二维码海报")


def _printable(rt: Runtime, staff: Staff) -> list[tuple[TownshipPosters, bool]]:
    """Each township this user may print from, with its posters they may have, and
    whether the whole township is theirs (the combined PDF)."""
    base = public_base(rt.settings.public_url)
    directory, policy = rt.centers, rt.settings.deadline_policy()
    if staff.is_admin:
        whole = townships(directory)
    elif staff.center is None:
        whole = []
    else:
        whole = townships_under(directory, staff.center.region_code)
    found = [(township_posters(directory, t.code, base, policy), True) for t in whole]
    own = directory.region(staff.center.region_code) if staff.center and not whole else None
    if own is not None and own.level == "village" and own.parent_code:
        township = township_posters(directory, own.parent_code, base, policy)
        mine = tuple(p for p in township.posters if p.region_code == own.code)
        found.append((TownshipPosters(township.township, township.place, mine), False))
    return found


def posters_page(rt: Runtime, staff: Staff) -> dict[str, Any]:
    """The page's content: the townships with their posters, or why there are none."""
    require_posters(staff)
    try:
        base = public_base(rt.settings.public_url)
        find_font()
        listed = _printable(rt, staff)
    except PosterError as exc:
        return {"problem": str(exc), "townships": [], "base": ""}
    return {
        "problem": "",
        "base": base,
        "unreachable": unreachable_host(base),
        "demo": rt.centers.demo,
        "townships": [
            {
                "code": found.township.code,
                "place": found.place,
                "whole": whole,
                "posters": [
                    {"code": p.region_code, "title": p.title, "place": p.place, "center": p.center}
                    for p in found.posters
                ],
            }
            for found, whole in listed
        ],
    }


def _find(rt: Runtime, staff: Staff, code: str) -> Poster:
    for found, _ in _printable(rt, staff):
        for poster in found.posters:
            if poster.region_code == code:
                return poster
    raise ActionError(404, "没有这张海报，或者它不在您中心的辖区里")


async def poster_download(rt: Runtime, staff: Staff, code: str, kind: str) -> Response:
    """One place's poster as PNG or PDF."""
    require_posters(staff)
    if kind not in _MEDIA:
        raise ActionError(404, "海报只有 PNG 和 PDF 两种")
    try:
        poster = _find(rt, staff, code)
        font = find_font()
    except PosterError as exc:
        raise ActionError(409, str(exc)) from None
    if kind == "png":
        data = await asyncio.to_thread(render_png, poster, font)
    else:
        data = await asyncio.to_thread(render_pdf, [poster], font)
    return _file(data, kind, poster_file_name(poster, kind))


async def township_download(rt: Runtime, staff: Staff, code: str) -> Response:
    """All posters of a township in one PDF, one page each."""
    require_posters(staff)
    try:
        found = next(
            (f for f, whole in _printable(rt, staff) if f.township.code == code and whole), None
        )
        font = find_font()
    except PosterError as exc:
        raise ActionError(409, str(exc)) from None
    if found is None:
        raise ActionError(404, "没有这个乡镇，或者它不在您中心的辖区里")
    data = await asyncio.to_thread(render_pdf, found.posters, font)
    return _file(data, "pdf", township_file_name(found))


def _file(data: bytes, kind: str, name: str) -> Response:
    ascii_name = name.split("-", 1)[0] + "." + kind  # the code: for clients without RFC 5987
    return Response(
        data,
        media_type=_MEDIA[kind],
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
            ),
            "Cache-Control": "no-store",
        },
    )
