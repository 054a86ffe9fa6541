"""Paired statistics for evolve's decisions and reports: clustered bootstrap, sign test, mean ± SE.

Results come as (task, seed) cells. Seeds of one task are not independent evidence (a deterministic
policy gives the same result for every seed), so every resampling is clustered: tasks are drawn with
replacement, then seeds within each drawn task. The sign test counts tasks, not cells.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

TESTS = ("bootstrap", "sign")
RESAMPLES = 10_000


@dataclass(frozen=True)
class Paired:
    """A paired comparison of child and parent over the cells both have."""

    test: str
    confidence: float
    n_cells: int
    n_tasks: int
    mean_delta: float          # mean over tasks of the mean child-minus-parent delta over seeds
    ci_low: float              # two-sided interval at `confidence` (bootstrap; the sign test reports it too)
    ci_high: float
    p_value: float             # one-sided: the chance of a mean delta this large or larger with no real gain
    wins: int                  # tasks where the child's mean is higher, lower, equal
    losses: int
    ties: int
    confident: bool            # mean_delta > 0 and p_value <= 1 - confidence

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return asdict(self)


def mean_se(values: Iterable[float]) -> tuple[float, float]:
    """(mean, standard error of the mean); SE 0 for fewer than two values, NaN mean for none."""
    v = np.asarray(list(values), dtype=float)
    if v.size == 0:
        return math.nan, math.nan
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0
    return float(v.mean()), se


def _by_task(cells: dict[tuple[str, int], float]) -> dict[str, list[float]]:
    groups: dict[str, list[float]] = defaultdict(list)
    for (task, _seed), value in sorted(cells.items()):
        groups[task].append(float(value))
    return dict(groups)


def _cluster_means(groups: list[list[float]], rng: np.random.Generator, resamples: int) -> np.ndarray:
    """Bootstrap distribution of the mean of task means, tasks and then seeds drawn with replacement."""
    n, width = len(groups), max(len(g) for g in groups)
    values = np.zeros((n, width))
    sizes = np.array([len(g) for g in groups])
    for i, g in enumerate(groups):
        values[i, : len(g)] = g
    picks = rng.integers(0, n, (resamples, n))                          # tasks drawn
    size = sizes[picks]                                                 # (R, n)
    draws = np.floor(rng.random((resamples, n, width)) * size[..., None]).astype(int)   # seeds drawn per task
    mask = np.arange(width)[None, None, :] < size[..., None]
    drawn = values[picks[..., None], draws] * mask
    return (drawn.sum(-1) / size).mean(-1)


def bootstrap_ci(cells: dict[tuple[str, int], float], confidence: float = 0.9,
                 resamples: int = RESAMPLES, seed: int = 0) -> tuple[float, float, float]:
    """(mean of task means, low, high): a clustered bootstrap interval at `confidence`."""
    groups = list(_by_task(cells).values())
    if not groups:
        return math.nan, math.nan, math.nan
    centre = float(np.mean([np.mean(g) for g in groups]))
    dist = _cluster_means(groups, np.random.default_rng(seed), resamples)
    tail = (1 - confidence) / 2
    return centre, float(np.quantile(dist, tail)), float(np.quantile(dist, 1 - tail))


def sign_p(wins: int, losses: int) -> float:
    """One-sided sign-test p-value: the chance of at least `wins` of wins+losses under a fair coin."""
    n = wins + losses
    if n == 0:
        return 1.0
    return float(sum(math.comb(n, k) for k in range(wins, n + 1)) / 2 ** n)


def paired(child: dict[tuple[str, int], float], parent: dict[tuple[str, int], float], *, test: str = "bootstrap",
           confidence: float = 0.9, resamples: int = RESAMPLES, seed: int = 0) -> Paired:
    """Compare child with parent over the (task, seed) cells both have; `confident` says the gain is real."""
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}: one of {', '.join(TESTS)}")
    deltas = {k: child[k] - parent[k] for k in child if k in parent}
    groups = _by_task(deltas)
    task_means = [float(np.mean(g)) for g in groups.values()]
    wins = sum(m > 1e-12 for m in task_means)
    losses = sum(m < -1e-12 for m in task_means)
    ties = len(task_means) - wins - losses
    if not task_means:
        return Paired(test, confidence, 0, 0, 0.0, 0.0, 0.0, 1.0, 0, 0, 0, False)
    mean, low, high = bootstrap_ci(deltas, confidence, resamples, seed)
    if test == "sign":
        p = sign_p(wins, losses)
    elif all(abs(d) < 1e-12 for d in deltas.values()):
        p = 1.0
    else:
        dist = _cluster_means(list(groups.values()), np.random.default_rng(seed), resamples)
        p = float(np.mean(dist <= 0.0))
    return Paired(test, confidence, len(deltas), len(groups), mean, low, high, p, wins, losses, ties,
                  bool(mean > 1e-12 and p <= 1 - confidence))
