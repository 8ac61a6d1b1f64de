"""benchmarks/paced.py runs end to end and prints its table (a short, slow run).

What it prints is not judged here — speed belongs to the benchmark's own
tables — only that every message was answered as the conversation expects
(the script exits 1 otherwise) and a row was printed per run.
"""

from __future__ import annotations

from pathlib import Path

from tests.bench_scripts import run_benchmark


def test_a_short_paced_run_answers_every_message_and_prints_a_row(tmp_path: Path) -> None:
    out = run_benchmark(
        "paced.py",
        *("--rate", "40", "--seconds", "1", "--repeat", "2", "--folder", str(tmp_path)),
        timeout=120,
    )
    rows = [line for line in out.splitlines() if line.startswith("| 40 |")]
    assert len(rows) == 2, out
    assert all(int(row.split("|")[2]) == 40 for row in rows), out
    assert "| 40 median |" in out
