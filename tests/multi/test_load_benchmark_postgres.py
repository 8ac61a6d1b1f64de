"""The load benchmark against two instances on one PostgreSQL database runs end to end:
the round robin reaches both, and after kill -9 of both every acknowledged message,
case and mediator reply is found in PostgreSQL. What it prints is not judged here."""

from __future__ import annotations

import asyncio

from tests.bench_scripts import run_benchmark


async def test_a_short_load_run_on_two_instances_verifies_postgresql(postgres_url: str) -> None:
    out = await asyncio.to_thread(
        run_benchmark,
        "load.py",
        *("--quick", "--duration", "1", "--warm-up", "0.5", "--storage", "0.5"),
        *("--residents", "10", "--rate", "40", "--mediator-rate", "20"),
        *("--database", postgres_url, "--instances", "2"),
    )
    assert "PostgreSQL, 2 instance(s)" in out and "raw asyncpg" in out, out
    checks = [line for line in out.splitlines() if line.startswith("| ") and "| ok |" in line]
    assert len(checks) == 5 and "FAILED" not in out, out
    acknowledged = {line.split("|")[1].strip(): int(line.split("|")[2]) for line in checks}
    assert acknowledged["messages stored exactly once"] > 0
    assert acknowledged["submitted cases exist"] > 0
    assert acknowledged["mediator replies stored once"] > 0
