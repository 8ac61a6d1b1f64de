"""The ``minshi`` command: serve, chat, and the admin checks."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path

from common.unavailable import StorageProblem

from .config import Settings

__all__ = ["main"]


def _setup_logging(level: str, fmt: str = "text") -> None:
    from .ops.logs import setup_logging

    setup_logging(level, fmt)  # phone and ID numbers masked; json: one object per line


def _settings(args: argparse.Namespace) -> Settings:
    given = {key: getattr(args, key, None) for key in ("host", "port", "db")}
    overrides = {key: value for key, value in given.items() if value is not None}
    return Settings(**overrides)


def _run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .db_cli import preflight
    from .http_protocol import OneWriteHttpProtocol
    from .storage._database import url_for_display

    settings = _settings(args)
    _setup_logging(settings.log_level, settings.log_format)
    asyncio.run(preflight(settings))
    app = create_app(settings)
    base = f"http://{settings.host}:{settings.port}"
    print(f"民事直说 正在启动：居民聊天页 {base}/chat  健康检查 {base}/healthz", flush=True)
    print(f"数据库：{url_for_display(settings.database)}（按 Ctrl+C 停止）", flush=True)
    config = uvicorn.Config(
        app,
        http=OneWriteHttpProtocol,  # a response in one write, not two
        host=settings.host,
        port=settings.port,
        timeout_graceful_shutdown=3,  # web chat event streams stay open until closed
        log_level=settings.log_level.lower(),
        log_config=None,
    )
    uvicorn.Server(config).run()
    return 0


def _run_chat(args: argparse.Namespace) -> int:
    from .channels.terminal import TerminalChannel
    from .runtime import open_runtime

    # One resident at a terminal: questions are matched in this process.
    settings = _settings(args).model_copy(update={"faq_match_process": False})
    _setup_logging("WARNING")
    user = args.user or getpass.getuser()

    async def session() -> None:
        async with open_runtime(settings) as rt:
            await TerminalChannel(user).run(rt)

    asyncio.run(session())
    return 0


_STORAGE_PROBLEMS = {
    StorageProblem.FULL: "the disk is full",
    StorageProblem.READ_ONLY: "it is read-only: the file, its folder or the server",
    StorageProblem.IO: "the file or its folder cannot be opened, or the disk reported an error",
    StorageProblem.DOWN: "the database server is not reachable or not serving",
}

_MISS_REASONS = {"no_match": "答不了", "none_of_these": "都不是", "not_helpful": "没用"}


def _run_faq_misses(args: argparse.Namespace) -> int:
    from .storage import SqlStore, migrate, open_database

    settings = _settings(args)

    async def read() -> list[str]:
        async with open_database(settings.database) as db:
            await migrate(db)
            misses = await SqlStore(db).faq_misses(args.limit)
        return [
            f"{m.count:>5}  {_MISS_REASONS.get(m.reason, m.reason)}  "
            f"{m.best_id or '-'}"
            + (f" ({m.best_score:.2f})" if m.best_score is not None else "")
            + f"  {m.query}"
            for m in misses
        ]

    lines = asyncio.run(read())
    print("次数  原因  最接近的条目  问题" if lines else "还没有答不了的问题。")
    print("\n".join(lines))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from faq.cli import register as register_faq
    from handoff.cli import register as register_centers

    from .channels._telegram_cli import register as register_telegram
    from .channels._wechat_cli import register as register_wechat

    parser = argparse.ArgumentParser(prog="minshi", description="民事直说 — 群众说事，调解到家")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="run the service (web chat on http://127.0.0.1:8080/chat)"
    )
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080)")
    serve.add_argument("--db", type=Path, help="SQLite database file (default data/minshi.db)")
    serve.set_defaults(run=_run_serve)

    chat = commands.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--db", type=Path, help="SQLite database file (default data/minshi.db)")
    chat.add_argument("--user", help="resident id for this terminal (default: your login name)")
    chat.set_defaults(run=_run_chat)

    faq_commands = register_faq(commands)
    misses = faq_commands.add_parser(
        "misses", help="questions the FAQ could not answer or residents marked 没用, counted"
    )
    misses.add_argument("--db", type=Path, help="SQLite database file (default data/minshi.db)")
    misses.add_argument("--limit", type=int, default=50, help="how many rows (default 50)")
    misses.set_defaults(run=_run_faq_misses)
    register_centers(commands)
    from .console.cli import register as register_mediators

    register_mediators(commands)
    register_wechat(commands)
    register_telegram(commands)
    from .ops.cli import register as register_ops

    register_ops(commands)
    from .db_cli import register as register_database

    register_database(commands)
    from .posters.cli import register as register_posters

    register_posters(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import socket

    import asyncpg
    from pydantic import ValidationError

    from common.unavailable import StorageUnavailable
    from common.yamlsource import YamlSourceError
    from faq import FaqLoadError

    from .pg_jobs import RefusedHere

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the output was piped into `head` or a pager that quit
        sys.stderr.close()
        return 0
    except (FaqLoadError, YamlSourceError) as exc:
        # A broken admin-edited file at start-up: say where, not a traceback.
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("minshi: cannot start until these problems are fixed", file=sys.stderr)
        return 1
    except ValidationError as exc:
        for error in exc.errors():
            if not error["loc"]:  # a rule over several settings names them itself
                print(f"minshi: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
                continue
            name = "MINSHI_" + "_".join(str(part) for part in error["loc"]).upper()
            print(f"minshi: setting {name}: {error['msg']}", file=sys.stderr)
        return 1
    except RefusedHere as exc:
        print(f"minshi: cannot start: {exc}", file=sys.stderr)
        return 1
    except (ConnectionError, socket.gaierror, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        print(f"minshi: cannot use the database: {exc}", file=sys.stderr)
        return 1
    except StorageUnavailable as exc:
        why = _STORAGE_PROBLEMS.get(exc.problem, exc.problem.value)
        print(f"minshi: cannot use the database: {why} ({exc.detail})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
