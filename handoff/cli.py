"""``minshi centers …``: admin commands for the centers file."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from ._centers import DEFAULT_CENTERS_PATH, CentersError, load_centers

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add ``centers`` (with ``check``) to the ``minshi`` sub-commands."""
    centers = commands.add_parser("centers", help="check the 综治中心 directory (centers file)")
    centers.set_defaults(run=lambda args: _usage(centers))
    actions = centers.add_subparsers(dest="centers_action", metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="report every problem of a centers file as file:line: message",
        description="Exit 0 with a summary when the file is fine; list every problem and exit 1.",
    )
    check.add_argument(
        "file", nargs="?", type=Path, help="centers YAML file (default: the shipped demo file)"
    )
    check.set_defaults(run=_check)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _check(args: argparse.Namespace) -> int:
    path = args.file or DEFAULT_CENTERS_PATH
    try:
        directory = load_centers(path)
    except CentersError as exc:
        for problem in exc.problems:
            print(problem)
        return 1
    levels = Counter(region.level for region in directory.regions())
    committees = sum(1 for center in directory.centers() if center.is_committee)
    print(
        f"ok: {levels['county']} counties, {levels['township']} townships, "
        f"{levels['village']} villages, {committees} committees"
    )
    return 0
