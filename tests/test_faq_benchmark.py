"""benchmarks/faq_bench.py runs and prints its tables (a small run: one set, one size)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_faq_benchmark_prints_its_tables() -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "faq_bench.py"),
            *("--sets", "extra-inscope.jsonl", "--sizes", "300", "--no-startup"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    rows = run.stdout.splitlines()
    ours = next(r for r in rows if r.startswith("| extra-inscope.jsonl") and "| ours |" in r)
    top1 = float(ours.split("|")[5])
    assert 0.8 <= top1 <= 1.0
    assert any("BM25 (bm25s, jieba)" in r for r in rows)
    assert any("rapidfuzz WRatio" in r for r in rows)
    latency = next(r for r in rows if r.startswith("| 300 |"))
    assert float(latency.split("|")[6]) > 0  # p50 ms
