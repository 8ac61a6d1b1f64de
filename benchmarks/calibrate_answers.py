"""Fit the matcher's answer model on the tuning sets and print it.

The matcher answers directly only when a small logistic model over its own
signals (``Matcher.answer_signals``: rank, lead over the runner-up, coverage,
the n-gram similarity, …) is confident that the best entry is right. This
script fits that model with scikit-learn on the tuning sets — never on
``long-heldout.jsonl`` — and prints the weights to paste into
``faq/_matcher.py`` (``_ANSWER_MODEL``), and, for several confidence
thresholds, the answer rate and the confident wrong answers per set.

    .venv/bin/python benchmarks/calibrate_answers.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faq import Matcher, load_faq, read_cases

DATA = Path(__file__).parent / "data"
TUNING = ("long-tune", "dev-queries", "extra-inscope", "extra-oos")
REGULARISATION = 3.0  # sklearn's C: chosen among 0.1, 0.5, 3 and 20 on the tuning sets
ANSWER_AT = (0.9, 0.93, 0.95, 0.97)
SCOPE_AT = (0.2, 0.3, 0.4, 0.5)


def signals(
    matcher: Matcher, files: tuple[str, ...]
) -> list[tuple[str, dict[str, float], bool, bool]]:
    """(file, signals, right, in scope) for every query whose best entry exists."""
    rows = []
    for name in files:
        for case in read_cases(DATA / f"{name}.jsonl"):
            analysis, docs = matcher._score(case.query, 3)
            scored = [d for d in docs if d.index not in matcher._referral_at]
            if not scored:
                continue
            best = matcher.entries[scored[0].index].id
            rows.append(
                (
                    name,
                    matcher.answer_signals(analysis, scored, docs),
                    matcher.scope_signals(analysis, scored, docs),
                    best == case.expected,
                    case.expected is not None,
                )
            )
    return rows


def fit(name: str, x: np.ndarray, y: np.ndarray, names: list[str]) -> np.ndarray:
    """Fit a logistic model on standardised signals; print it in raw units; probabilities."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=REGULARISATION, max_iter=10_000).fit((x - mean) / scale, y)
    weights = model.coef_[0] / scale
    bias = float(model.intercept_[0] - np.sum(model.coef_[0] * mean / scale))
    print(f"{name}: dict[str, float] = {{")
    print(f'    "": {bias:.4f},')
    for key, w in zip(names, weights, strict=True):
        print(f'    "{key}": {w:.4f},')
    print("}")
    return np.asarray(1 / (1 + np.exp(-(x @ weights + bias))))


def main() -> None:
    matcher = Matcher.for_faq(load_faq())
    rows = signals(matcher, TUNING)
    answer_names, scope_names = list(rows[0][1]), list(rows[0][2])
    right = np.asarray([r[3] for r in rows])
    in_scope = np.asarray([r[4] for r in rows])
    answer = fit(
        "_ANSWER_MODEL",
        np.asarray([[r[1][k] for k in answer_names] for r in rows]),
        right,
        answer_names,
    )
    scope = fit(
        "_SCOPE_MODEL",
        np.asarray([[r[2][k] for k in scope_names] for r in rows]),
        in_scope,
        scope_names,
    )
    print()
    print(
        f"{'set':<16}{'answer at':>10}{'answered':>10}{'wrong':>7}"
        f"{'scope at':>10}{'in-scope lost':>15}{'oos suggested':>15}"
    )
    for name in TUNING:
        mask = np.asarray([r[0] == name for r in rows])
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


if __name__ == "__main__":
    main()
