"""The ``minshi`` command: serve, chat, and the admin checks."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    from faq.cli import register as register_faq
    from handoff.cli import register as register_centers

    parser = argparse.ArgumentParser(prog="minshi", description="民事直说 — 群众说事，调解到家")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register_faq(commands)
    register_centers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code = args.run(args)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
