"""Danger detector benchmark: recall per kind of danger and false alarms on near misses.

Run from the project root:

    .venv/bin/python benchmarks/danger_bench.py
    .venv/bin/python benchmarks/danger_bench.py --errors tune   # list the tune set's mistakes

Data: benchmarks/data/danger-*.jsonl, one {"text": ..., "kind": <kind> | null}
a line; null marks a near miss (a past event, a figure of speech, a legal
question about an old injury ...). tune and heldout are a random split of one
labelled set, committed before the detector was written; the detector was
tuned on the tune half. fresh and fresh-2 to fresh-8 were written later, each
scored once as it stood before anything was changed for it (the figures in
the README), then looked at to improve the detector; a set no
version has seen yet is the one to quote (targets: recall >= 0.98, false
alarms <= 3%).

"recall" counts a danger sentence as found when the detector reports any
danger (the resident sees the emergency numbers); "kind" is the share found
with the labelled kind (which decides the words that follow the warning).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dialogs.danger import DangerKind, detect  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
FILES = {
    "tune": DATA / "danger-tune.jsonl",
    "heldout": DATA / "danger-heldout.jsonl",
    # fresh, fresh-2, fresh-3 ... in the order they were written
    **{
        path.stem.removeprefix("danger-"): path
        for path in sorted(DATA.glob("danger-fresh*.jsonl"), key=lambda p: (len(p.name), p.name))
    },
}


@dataclass(frozen=True)
class Case:
    text: str
    kind: DangerKind | None


@dataclass(frozen=True)
class Scores:
    danger: int
    found: int
    right_kind: int
    near: int
    alarms: int

    @property
    def recall(self) -> float:
        return self.found / self.danger if self.danger else 1.0

    @property
    def false_alarms(self) -> float:
        return self.alarms / self.near if self.near else 0.0


def load(path: Path) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            kind = row["kind"]
            cases.append(Case(row["text"], DangerKind(kind) if kind else None))
    return cases


def score(cases: Sequence[Case]) -> Scores:
    danger = found = right = near = alarms = 0
    for case in cases:
        got = detect(case.text)
        if case.kind is None:
            near += 1
            alarms += got is not None
        else:
            danger += 1
            found += got is not None
            right += got is not None and got.kind == case.kind
    return Scores(danger, found, right, near, alarms)


def table(name: str, cases: Sequence[Case]) -> Scores:
    print(f"\n{name} ({len(cases)} sentences)")
    print(f"  {'kind':<14}{'n':>5}{'found':>7}{'recall':>8}{'kind ok':>9}")
    for kind in DangerKind:
        part = [c for c in cases if c.kind == kind]
        s = score(part)
        print(
            f"  {kind.value:<14}{s.danger:>5}{s.found:>7}{s.recall:>8.3f}"
            f"{s.right_kind / s.danger if s.danger else 1.0:>9.3f}"
        )
    total = score(cases)
    print(
        f"  {'all danger':<14}{total.danger:>5}{total.found:>7}{total.recall:>8.3f}"
        f"{total.right_kind / total.danger if total.danger else 1.0:>9.3f}"
    )
    print(
        f"  {'near misses':<14}{total.near:>5}   false alarms {total.alarms}"
        f" ({total.false_alarms:.1%})"
    )
    return total


def errors(cases: Sequence[Case]) -> None:
    print("\nmistakes:")
    for case in cases:
        got = detect(case.text)
        want = case.kind.value if case.kind else None
        have = got.kind.value if got else None
        if want != have:
            matched = f" [{got.matched}]" if got else ""
            print(f"  want {want!s:<14} got {have!s:<14}{matched}  {case.text}")


def timing(cases: Sequence[Case], rounds: int = 20) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        for case in cases:
            detect(case.text)
    return (time.perf_counter() - start) / (rounds * len(cases)) * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", choices=sorted(FILES), help="list the mistakes on one half")
    args = parser.parse_args(argv)

    sets = {name: load(path) for name, path in FILES.items()}
    scores = {name: table(name, cases) for name, cases in sets.items()}
    everything = [c for cases in sets.values() for c in cases]
    print("\n[targets: recall >= 0.98, false alarms <= 3%]")
    for name, s in scores.items():
        print(
            f"{name}: recall {s.recall:.3f} ({s.found}/{s.danger}), "
            f"right kind {s.right_kind / s.danger:.3f}, "
            f"false alarms {s.false_alarms:.1%} ({s.alarms}/{s.near})"
        )
    print(f"speed: {timing(everything):.0f} µs a message (mean over {len(everything)} sentences)")
    if args.errors:
        errors(sets[args.errors])
    return 0


if __name__ == "__main__":
    sys.exit(main())
