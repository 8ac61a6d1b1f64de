"""The load benchmark runs end to end: service, residents, mediator, kill -9, the check.

A short run (a few seconds, low load): what it prints is not judged here — speed
targets belong to the benchmark's own tables — only that it printed them and that
everything acknowledged was found in the database after kill -9.
"""

from __future__ import annotations

import re

from tests.bench_scripts import run_benchmark


def test_a_short_load_run_prints_its_tables_and_verifies_the_database() -> None:
    out = run_benchmark(
        "load.py",
        *("--quick", "--duration", "1", "--warm-up", "0.5", "--storage", "0.5"),
        *("--residents", "10", "--rate", "40", "--mediator-rate", "20"),
        timeout=120,
    )
    for heading in (
        "Capacity",
        "Latency at load",
        "The disk in the same phase",
        "Storage limit",
        "CPU",
        "Verification",
    ):
        assert f"### {heading}" in out, out
    checks = [line for line in out.splitlines() if line.startswith("| ") and "| ok |" in line]
    assert len(checks) == 5 and "FAILED" not in out, out
    acknowledged = {line.split("|")[1].strip(): int(line.split("|")[2]) for line in checks}
    assert acknowledged["messages stored exactly once"] > 0
    assert acknowledged["submitted cases exist"] > 0  # residents got through a whole report
    assert acknowledged["mediator replies stored once"] > 0
    # The latency split: the service's own histogram saw every message of the phase
    # (and the new residents' sessions), read from /metrics before and after it.
    answered = re.search(
        r"^\| \d+ \| (\d+) \| [\d.]+ \|", out.split("### Latency at load")[1], re.M
    )
    in_app = re.search(r"inside the app \((\d+) web requests", out)
    assert answered and in_app, out
    assert int(in_app.group(1)) >= int(answered.group(1)) > 0, out
    # The event loop's lag in the same phase: ten looks a second (a few may be pending).
    looks = re.search(r"event loop lag \((\d+) looks", out)
    seconds = re.search(r"Latency at load: .*, (\d+) s", out)
    assert looks and seconds, out
    assert int(looks.group(1)) >= 5 * int(seconds.group(1)), out
