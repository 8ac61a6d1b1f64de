"""``minshi posters --township CODE --out DIR``: a township's QR-code posters as files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(commands: Any) -> None:
    posters = commands.add_parser(
        "posters",
        help="QR-code posters (A4 PNG and PDF) for the villages and center of a township",
        description=(
            "Writes one PNG and one PDF per village or community and for the township's "
            "center, and one PDF with all of them. The QR codes open the web chat at "
            "MINSHI_PUBLIC_URL with the place filled in."
        ),
    )
    posters.add_argument(
        "--township",
        required=True,
        help="the township's region code (9 digits); a county's or city's code gives its "
        "center's poster",
    )
    posters.add_argument("--out", required=True, type=Path, help="folder to write the files to")
    posters.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from handoff import load_centers

    from ..config import Settings
    from . import (
        PosterError,
        public_base,
        township_posters,
        unreachable_host,
        write_township,
    )
    from .render import find_font

    settings = Settings()  # type: ignore[call-arg]  # from the environment and .env
    try:
        base = public_base(settings.public_url)
        found = township_posters(
            load_centers(settings.centers_file),
            args.township,
            base,
            settings.deadline_policy(),
        )
        font = find_font()
    except PosterError as exc:
        print(f"minshi posters: {exc}", file=sys.stderr)
        return 1
    if unreachable_host(base):
        print(
            f"minshi posters: 注意：{base} 是本机或内网地址，居民的手机扫码打不开；"
            "正式张贴前请把 MINSHI_PUBLIC_URL 设成公网网址",
            file=sys.stderr,
        )
    written = write_township(found, args.out, font)
    print(f"{found.place}：{len(found.posters)} 张海报，写到 {args.out}")
    for path in written:
        print(f"  {path.name}")
    return 0
