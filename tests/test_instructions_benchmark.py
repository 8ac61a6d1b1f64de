"""benchmarks/instructions.py counts a short run under valgrind and prints its row.

The count itself is not judged here (the benchmark's tables are for that); the
script exits 1 when a message is not answered as the conversation expects.
"""

from __future__ import annotations

from tests.bench_scripts import run_benchmark


def test_a_short_counted_run_prints_instructions_a_message() -> None:
    out = run_benchmark("instructions.py", "--messages", "20", timeout=600)
    (row,) = [line for line in out.splitlines() if line.startswith("| in process |")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2] == "20", out
    assert 100_000 < int(cells[3].replace(",", "")) < 100_000_000, out  # a count, not zero
