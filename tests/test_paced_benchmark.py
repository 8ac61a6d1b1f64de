"""benchmarks/paced.py runs end to end and prints its table (a short, slow run).

What it prints is not judged here — speed belongs to the benchmark's own
tables — only that every message was answered as the conversation expects
(the script stops with an error otherwise) and a row was printed per run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_short_paced_run_answers_every_message_and_prints_a_row(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            *(sys.executable, ROOT / "benchmarks" / "paced.py"),
            *("--rate", "40", "--seconds", "1", "--repeat", "2", "--folder", str(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 40 |")]
    assert len(rows) == 2, done.stdout
    assert all(int(row.split("|")[2]) == 40 for row in rows), done.stdout
    assert "| 40 median |" in done.stdout
