"""A throwaway PostgreSQL cluster on 127.0.0.1 for the tests, and fresh databases in it.

``MINSHI_TEST_POSTGRES_URL`` (a role allowed to create databases) points the
tests at a server that is already running; otherwise Debian's PostgreSQL
binaries (package ``postgresql``, which ``scripts/test`` installs) start a
cluster in a temporary folder on a free port, as the ``postgres`` user when
the tests run as root (PostgreSQL refuses to run as root). When neither
works the tests fail and say why: they are never skipped.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

__all__ = ["Cluster", "PostgresUnavailable", "throwaway_cluster"]

ENV = "MINSHI_TEST_POSTGRES_URL"
_HINT = (
    "install it (Debian: apt-get install postgresql; scripts/test does this) "
    f"or point {ENV} at a server where this role may create databases"
)


class PostgresUnavailable(RuntimeError):
    pass


@dataclass
class Cluster:
    url: str  # a role that may create databases, on its maintenance database
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url_of(self, database: str) -> str:
        base, _, _ = self.url.rpartition("/")
        return f"{base}/{database}"

    async def fresh_database(self) -> str:
        """An empty database of its own, for one test; its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url_of(name)


def _binaries() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not versions:
        raise PostgresUnavailable(f"PostgreSQL is not installed (no initdb found); {_HINT}")
    return Path(versions[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """The server named by ``MINSHI_TEST_POSTGRES_URL``, or a new cluster until the end."""
    given = os.environ.get(ENV)
    if given:
        yield Cluster(given)
        return
    bindir = _binaries()
    folder = Path(tempfile.mkdtemp(prefix="minshi-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # postgres refuses root: run it as the postgres user
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root, and no runuser to start postgres with")
        shutil.chown(folder, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data, log = folder / "data", folder / "server.log"
    port = _free_port()

    def run(*command: str) -> None:
        done = subprocess.run([*run_as, *command], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{' '.join(command[:2])} failed ({done.returncode}): "
                f"{done.stderr.strip() or done.stdout.strip()}\n{tail}"
            )

    try:
        run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "minshi",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        )
        # Durability is not under test here: no fsync makes databases quick to create.
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=300"
        )
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        try:
            yield Cluster(f"postgresql://minshi@127.0.0.1:{port}/postgres")
        finally:
            subprocess.run(
                [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                check=False,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
