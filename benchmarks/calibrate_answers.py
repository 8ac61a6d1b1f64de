"""Fit the matcher's answer and scope models on the tuning sets and print them.

The matcher answers directly only when a small logistic model over its own
signals (``Matcher.answer_signals``: rank, lead over the runner-up, coverage,
the n-gram similarity, …) is confident that the best entry is right. This
script fits that model with scikit-learn on the tuning sets — never on the
held-out sets (``long-heldout*.jsonl``, ``long-fresh.jsonl``) — and prints
the weights to paste into ``faq/_matcher.py`` (``_ANSWER_MODEL``), and, for
several confidence thresholds, the answer rate and the confident wrong
answers per set.

An in-sample table flatters a model with more signals; ``--folds K`` judges
signals out of fold instead: every row is scored by a model fitted on the
other folds of the pooled tuning rows (K-fold, repeated with several
shuffles and averaged), and answers count as the matcher gives them — a
plainly asked question, or the model's probability at the threshold.

    .venv/bin/python benchmarks/calibrate_answers.py
    .venv/bin/python benchmarks/calibrate_answers.py --folds 5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faq import Matcher, load_faq, read_cases
from faq._matcher import Thresholds

DATA = Path(__file__).parent / "data"
TUNING = ("long-tune", "dev-queries", "extra-inscope", "extra-oos")
REGULARISATION = 3.0  # sklearn's C: chosen among 0.1, 0.5, 3 and 20 on the tuning sets
ANSWER_AT = (0.9, 0.93, 0.95, 0.97)
SCOPE_AT = (0.2, 0.3, 0.4, 0.5)
REPEATS = 20  # shuffles of the out-of-fold estimate, averaged
ANSWER_RATE = 0.60  # in-scope answer rate the out-of-fold comparison holds fixed
RATE_SETS = ("long-tune", "dev-queries")  # ...on each of these sets


class Row(NamedTuple):
    file: str
    answer: dict[str, float]
    scope: dict[str, float]
    right: bool
    in_scope: bool
    plain: bool  # answered whatever the model says: a plainly asked question


def signals(matcher: Matcher, files: tuple[str, ...]) -> list[Row]:
    """One row for every query whose best entry exists."""
    rows = []
    for name in files:
        for case in read_cases(DATA / f"{name}.jsonl"):
            analysis, docs = matcher._score(case.query, 3)
            scored = [d for d in docs if d.index not in matcher._referral_at]
            if not scored:
                continue
            best = matcher.entries[scored[0].index].id
            rows.append(
                Row(
                    name,
                    matcher.answer_signals(analysis, scored, docs),
                    matcher.scope_signals(analysis, scored, docs),
                    best == case.expected,
                    case.expected is not None,
                    matcher._plainly_asked(analysis, scored, docs),
                )
            )
    return rows


def train(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """A logistic model fitted on standardised signals, as weights and bias in raw units."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=REGULARISATION, max_iter=10_000).fit((x - mean) / scale, y)
    weights = model.coef_[0] / scale
    return weights, float(model.intercept_[0] - np.sum(model.coef_[0] * mean / scale))


def predict(x: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-np.clip(x @ weights + bias, -30, 30))))


def fit(name: str, x: np.ndarray, y: np.ndarray, names: list[str]) -> np.ndarray:
    """Fit on all rows, print the model to paste, and return its probabilities."""
    weights, bias = train(x, y)
    print(f"{name}: dict[str, float] = {{")
    print(f'    "": {bias:.4f},')
    for key, w in zip(names, weights, strict=True):
        print(f'    "{key}": {w:.4f},')
    print("}")
    return predict(x, weights, bias)


def out_of_fold(
    x: np.ndarray, y: np.ndarray, strata: np.ndarray, folds: int, seed: int
) -> np.ndarray:
    """Every row's probability from a model fitted without its fold."""
    out = np.zeros(len(y))
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_at, test_at in split.split(x, strata):
        weights, bias = train(x[train_at], y[train_at])
        out[test_at] = predict(x[test_at], weights, bias)
    return out


def report_out_of_fold(rows: list[Row], x: np.ndarray, z: np.ndarray, folds: int) -> None:
    """Answer rate, confident wrong answers and suggestions per set, out of fold.

    Averaged over ``REPEATS`` shuffles. Besides fixed thresholds, the answer
    table has a line per set at the highest threshold that still answers
    ``ANSWER_RATE`` of the in-scope questions of every ``RATE_SETS`` set, and
    the wrong answers of all sets at pooled in-scope answer rates, so that
    models are compared at the same answer rate. Suggestions count among the
    questions not answered at the matcher's confidence threshold.
    """
    files = np.asarray([r.file for r in rows])
    right = np.asarray([r.right for r in rows])
    inside = np.asarray([r.in_scope for r in rows])
    plain = np.asarray([r.plain for r in rows])
    grid = np.round(np.arange(0.80, 0.995, 0.005), 3)
    levels = (*ANSWER_AT, None)
    pooled_at = (0.60, 0.65, 0.70)
    tally: dict[tuple[str, object, str], float] = {}

    def add(key: tuple[str, object, str], value: float) -> None:
        tally[key] = tally.get(key, 0.0) + value / REPEATS

    chosen = []
    for seed in range(REPEATS):
        p = np.where(
            plain, 1.0, out_of_fold(x, right, files + ":" + right.astype(str), folds, seed)
        )
        q = out_of_fold(z, inside, files + ":" + inside.astype(str), folds, seed)

        def in_scope_rate(name: str, at: float, p: np.ndarray = p) -> float:
            return float((p >= at)[(files == name) & inside].mean())

        fixed = [t for t in grid if all(in_scope_rate(n, t) >= ANSWER_RATE for n in RATE_SETS)]
        chosen.append(float(max(fixed)) if fixed else float(grid[0]))
        ordered = np.sort(p[inside])[::-1]
        for rate in pooled_at:
            at = ordered[max(0, int(rate * inside.sum()) - 1)]
            add(("pooled", rate, "wrong"), float(((p >= at) & ~right).sum()))
        unanswered = p < Thresholds().confidence
        for name in TUNING:
            mask = files == name
            for a in levels:
                given = p >= (chosen[-1] if a is None else a)
                if inside[mask].any():
                    add((name, a, "rate"), float(given[mask & inside].mean()))
                add((name, a, "wrong"), float((given & mask & ~right).sum()))
            for s in SCOPE_AT:
                kept = q >= s
                add((name, s, "lost"), float((unanswered & ~kept & mask & inside).sum()))
                add((name, s, "suggested"), float((unanswered & kept & mask & ~inside).sum()))
    print(f"\nout of fold ({folds} folds, {REPEATS} shuffles averaged; answers include plain ones)")
    print(
        f"{'set':<16}{'answer at':>10}{'answered':>10}{'wrong':>7}"
        f"{'scope at':>10}{'in-scope lost':>15}{'oos suggested':>15}"
    )
    for name in TUNING:
        inside_n, outside_n = (inside & (files == name)).sum(), (~inside & (files == name)).sum()
        for a, at_scope in zip(levels, (*SCOPE_AT, None), strict=True):
            label = f"{np.mean(chosen):.3f}*" if a is None else f"{a:.2f}"
            scope = (
                f"{at_scope:>10.2f}{tally[name, at_scope, 'lost']:>9.1f} / {inside_n:<4d}"
                f"{tally[name, at_scope, 'suggested']:>9.1f} / {outside_n}"
                if at_scope is not None
                else ""
            )
            print(
                f"{name:<16}{label:>10}{tally.get((name, a, 'rate'), 0.0):>10.3f}"
                f"{tally[name, a, 'wrong']:>7.1f}{scope}"
            )
    print(f"* the threshold answering {ANSWER_RATE:.2f} in scope on {', '.join(RATE_SETS)}")
    print(f"wrong answers, all {len(rows)} questions, at pooled in-scope answer rates:")
    print("  " + "  ".join(f"{r:.2f}: {tally['pooled', r, 'wrong']:.1f}" for r in pooled_at))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=0, help="also judge out of fold, K folds")
    args = parser.parse_args()
    matcher = Matcher.for_faq(load_faq())
    rows = signals(matcher, TUNING)
    answer_names, scope_names = list(rows[0].answer), list(rows[0].scope)
    right = np.asarray([r.right for r in rows])
    in_scope = np.asarray([r.in_scope for r in rows])
    x_answer = np.asarray([[r.answer[k] for k in answer_names] for r in rows])
    answer = fit("_ANSWER_MODEL", x_answer, right, answer_names)
    x_scope = np.asarray([[r.scope[k] for k in scope_names] for r in rows])
    scope = fit("_SCOPE_MODEL", x_scope, in_scope, scope_names)
    print()
    print(
        f"{'set':<16}{'answer at':>10}{'answered':>10}{'wrong':>7}"
        f"{'scope at':>10}{'in-scope lost':>15}{'oos suggested':>15}"
    )
    for name in TUNING:
        mask = np.asarray([r.file == name for r in rows])
        inside = in_scope[mask]
        for a, s in zip(ANSWER_AT, SCOPE_AT, strict=True):
            answered = answer[mask] >= a
            kept = scope[mask] >= s
            rate = (answered & inside).sum() / max(1, inside.sum())
            wrong = (answered & ~right[mask]).sum()
            lost = (~answered & ~kept & inside).sum()
            suggested = (~answered & kept & ~inside).sum()
            print(
                f"{name:<16}{a:>10.2f}{rate:>10.3f}{wrong:>7d}{s:>10.2f}"
                f"{lost:>9d} / {inside.sum():<4d}{suggested:>9d} / {(~inside).sum()}"
            )
    if args.folds:
        report_out_of_fold(rows, x_answer, x_scope, args.folds)


if __name__ == "__main__":
    main()
