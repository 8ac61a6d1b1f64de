"""benchmarks/http_path.py runs end to end and prints its table (a short run).

What it prints is not judged here (speed belongs to the benchmark's own table),
only that every request was answered (the script exits otherwise) and a row
was printed per run.
"""

from __future__ import annotations

from tests.bench_scripts import run_benchmark


def test_a_short_run_answers_every_request_and_prints_a_row_per_run() -> None:
    out = run_benchmark("http_path.py", "--seconds", "0.5", "--repeat", "2", timeout=120)
    rows = [line for line in out.splitlines() if line.startswith(("| 1 |", "| 2 |"))]
    assert len(rows) == 2, out
    assert all(float(row.split("|")[2]) > 0 for row in rows), out
    assert "| median |" in out
