"""``minshi serve`` on a database it cannot write: one clear line and exit 1.

Not uvicorn's "Application startup failed" with a traceback. The file (or
folder) is made unwritable for real: with file modes for an ordinary user,
with the immutable attribute for root (which ignores file modes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.crowd import free_port

ROOT = Path(__file__).parents[2]
MINSHI = (sys.executable, "-m", "bot.cli")


@contextmanager
def unwritable(path: Path) -> Iterator[None]:
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.fail("running as root and no chattr (Debian: e2fsprogs) to make a file read-only")
    made = subprocess.run([chattr, "+i", str(path)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.fail(f"cannot make {path} immutable: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def minshi(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINSHI_")}
    return subprocess.run(
        [*MINSHI, *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT), "MINSHI_ATTACHMENTS_DIR": str(cwd / "files")},
        capture_output=True,
        text=True,
        timeout=120,
    )


def serve(workdir: Path, db: Path) -> subprocess.CompletedProcess[str]:
    return minshi("serve", "--port", str(free_port()), "--db", str(db), cwd=workdir)


def migrated(folder: Path) -> Path:
    db = folder / "minshi.db"
    done = minshi("migrate", "--db", str(db), cwd=folder)
    assert done.returncode == 0, done.stderr
    return db


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr and "startup failed" not in stderr, stderr
    (line,) = stderr.strip().splitlines()
    assert line.startswith("minshi: cannot use the database: "), line
    return line


def test_a_read_only_database_file_stops_the_start_with_one_line(tmp_path: Path) -> None:
    db = migrated(tmp_path)
    before = db.read_bytes()
    with unwritable(db):
        ran = serve(tmp_path, db)
    assert ran.returncode == 1
    assert "read-only" in one_line(ran.stderr)
    assert db.read_bytes() == before


def test_a_folder_that_cannot_be_written_stops_the_start_with_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    with unwritable(folder):
        ran = serve(tmp_path, folder / "minshi.db")
    assert ran.returncode == 1
    assert "cannot be opened" in one_line(ran.stderr)
    assert list(folder.iterdir()) == []
