"""benchmarks/faq_bench.py runs and prints its tables (a small run: one set, one size)."""

from __future__ import annotations

from tests.bench_scripts import run_benchmark


def test_the_faq_benchmark_prints_its_tables() -> None:
    out = run_benchmark(
        "faq_bench.py",
        *("--sets", "extra-inscope.jsonl", "--sizes", "300", "--no-startup"),
        timeout=300,
    )
    rows = out.splitlines()
    ours = next(r for r in rows if r.startswith("| extra-inscope.jsonl") and "| ours |" in r)
    top1 = float(ours.split("|")[5])
    assert 0.8 <= top1 <= 1.0
    assert any("BM25 (bm25s, jieba)" in r for r in rows)
    assert any("rapidfuzz WRatio" in r for r in rows)
    latency = next(r for r in rows if r.startswith("| 300 |"))
    assert float(latency.split("|")[6]) > 0  # p50 ms
