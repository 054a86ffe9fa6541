"""Every PNG evoforge draws, in one module (matplotlib, Agg backend, from the `plots` extra).

Callers pass plain data (lists and dicts), so the module knows nothing of run records. Without
matplotlib, `available()` is False and callers skip their plots with a note.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

DECISION_COLOURS = {"initial": "#1f77b4", "kept": "#2ca02c", "reverted": "#7f7f7f", "broken": "#d62728",
                    "refused": "#ff7f0e", "no_edit": "#bcbd22"}
MEDAL_KEYS = (("any_medal", "any medal"), ("gold", "gold"), ("silver", "silver"), ("bronze", "bronze"),
              ("above_median", "above median"), ("valid_rate", "valid"))
TRAINING_CURVES = (("reward_mean", "reward"), ("kl_rollout", "KL to the rollout policy"), ("entropy", "entropy"))


def available() -> bool:
    """Whether matplotlib is installed (pip install 'evoforge[plots]')."""
    try:
        import matplotlib  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def campaign_score_panels(series: Mapping[str, Mapping[int, Sequence[Mapping[str, Any]]]], path: Path,
                    title: str = "score over wall time") -> Path:
    """One panel per competition, one line per seed: candidates' validation scores (dots joined) and the
    graded score (a star) against seconds since the attempt started. `series[task][seed]` = points with
    t, score, kind ("candidate" | "graded")."""
    plt = _pyplot()
    tasks = list(series)
    cols = min(4, max(1, len(tasks)))
    rows = max(1, math.ceil(len(tasks) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False)
    for ax, task in zip(axes.flat, tasks, strict=False):
        for seed, points in sorted(series[task].items()):
            cands = [p for p in points if p.get("kind") == "candidate"]
            graded = [p for p in points if p.get("kind") == "graded"]
            line = None
            if cands:
                (line,) = ax.plot([p["t"] for p in cands], [p["score"] for p in cands], marker="o", ms=3, lw=1,
                                  label=f"seed {seed}")
            if graded:
                ax.plot([p["t"] for p in graded], [p["score"] for p in graded], marker="*", ms=10, ls="none",
                        color=line.get_color() if line else None, label=None if line else f"seed {seed}")
        ax.set_title(task[:38], fontsize=8)
        ax.set_xlabel("seconds", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    fig.suptitle(f"{title} (dots: candidates' validation scores; stars: graded)", fontsize=9)
    return _save(fig, path)


def medal_rates(aggregates: Mapping[str, Mapping[str, Any]], path: Path, title: str = "rates over seeds") -> Path:
    """Grouped bars of the medal, above-median and valid rates (percent) with ± one SE, one colour per
    campaign; `aggregates[label]` is `agent.campaign.report.aggregate`'s output."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    n = max(1, len(aggregates))
    width = 0.8 / n
    for i, (label, agg) in enumerate(aggregates.items()):
        xs = [j + (i - (n - 1) / 2) * width for j in range(len(MEDAL_KEYS))]
        means = [agg[k]["mean"] for k, _ in MEDAL_KEYS]
        ses = [agg[k]["se"] for k, _ in MEDAL_KEYS]
        ax.bar(xs, [0 if math.isnan(m) else m for m in means], width, yerr=[0 if math.isnan(s) else s for s in ses],
               capsize=3, label=f"{label} ({agg['seeds_averaged']} seeds)")
    ax.set_xticks(range(len(MEDAL_KEYS)), [name for _, name in MEDAL_KEYS], fontsize=8)
    ax.set_ylabel("% of competitions")
    ax.set_ylim(0, 100)
    ax.set_title(title + " (mean ± SE over seeds)", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)


def paired_comparison(comparison: Mapping[str, Any], path: Path, a: str = "A", b: str = "B") -> Path:
    """Left: each pair's leaderboard percentile, A against B (above the diagonal: B better). Right: the mean
    change per competition."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8), gridspec_kw={"width_ratios": [1, 1.4]})
    pairs = comparison["pairs"]
    left.scatter([p["a_percentile"] for p in pairs], [p["b_percentile"] for p in pairs], s=14)
    left.plot([0, 100], [0, 100], lw=0.8, color="grey")
    left.set_xlim(-2, 102)
    left.set_ylim(-2, 102)
    left.set_xlabel(f"{a}: leaderboard percentile", fontsize=8)
    left.set_ylabel(f"{b}: leaderboard percentile", fontsize=8)
    d = comparison["delta_percentile"]
    left.set_title(f"{comparison['n']} pairs; {b} − {a} = {d['mean']:.1f} ± {d['se']:.1f}", fontsize=9)
    items = sorted(comparison["per_task"].items(), key=lambda kv: kv[1])
    right.barh([t[:32] for t, _ in items], [v for _, v in items],
               color=["tab:green" if v > 0 else "tab:red" for _, v in items])
    right.axvline(0, color="grey", lw=0.8)
    right.tick_params(labelsize=7)
    right.set_xlabel(f"mean percentile change ({b} − {a})", fontsize=8)
    return _save(fig, path)


def training_curves(steps: Sequence[Mapping[str, Any]], path: Path, title: str = "training job") -> Path:
    """Reward, KL and entropy against the step, one panel each, from a trainer's metrics.jsonl step lines
    (trainer/metrics.py); SFT and RL phases in their own colours. A curve with no values is left empty."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(TRAINING_CURVES), figsize=(4 * len(TRAINING_CURVES), 3.2), squeeze=False)
    for ax, (key, label) in zip(axes[0], TRAINING_CURVES, strict=True):
        for phase in sorted({str(s.get("phase", "")) for s in steps}):
            pts = [(s["step"], s[key]) for s in steps
                   if str(s.get("phase", "")) == phase and isinstance(s.get(key), int | float) and "step" in s]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker=".", markersize=3, label=phase or None)
        ax.set_title(label)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0] and any(s.get("phase") for s in steps):
            ax.legend(fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def scores_over_time(series: Mapping[str, Sequence[tuple[datetime, float]]], path: Path,
                     title: str = "score over time") -> Path:
    """Score against wall-clock time, one line of markers per attempt (a label to its points, in time order)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    for label, points in series.items():
        if points:
            ax.plot(*zip(*sorted(points), strict=True), marker="o", markersize=4, label=label)
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("score")
    ax.grid(alpha=0.3)
    if 0 < len(series) <= 12:
        ax.legend(fontsize=7, loc="best")
    fig.autofmt_xdate()
    fig.suptitle(title)
    return _save(fig, path)


# -- evolve: the lineage, the dev score by round, the held-out arms --------------------------------
def _dev_mean(node: dict[str, Any]) -> float | None:
    child = (node.get("dev") or {}).get("child") or {}
    return child.get("mean_pct")


def _by_round(fig: Any, ax: Any, path: Path, ylabel: str, title: str) -> Path:
    ax.set_xlabel("round")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_lineage(nodes: list[dict[str, Any]], path: Path) -> Path:
    """The lineage as a tree: each candidate at (round, its dev percentile), joined to its parent; colour =
    decision. Candidates that never reached evaluation (broken, refused) sit on the x axis."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    where: dict[str, tuple[int, float]] = {}
    for n in nodes:
        y = _dev_mean(n)
        y = 0.0 if y is None else y
        if n.get("commit"):
            where.setdefault(n["commit"], (n["round"], y))
        parent = where.get(n.get("parent") or "")
        colour = DECISION_COLOURS.get(n.get("decision", ""), "black")
        if parent:
            ax.plot([parent[0], n["round"]], [parent[1], y], color=colour, alpha=0.5, lw=1)
        ax.scatter([n["round"]], [y], color=colour, zorder=3, s=36)
    for decision, colour in DECISION_COLOURS.items():
        if any(n.get("decision") == decision for n in nodes):
            ax.scatter([], [], color=colour, label=decision)
    return _by_round(fig, ax, path, "dev leaderboard percentile (mean)", "lineage: every candidate and its parent")


def plot_dev_by_round(nodes: list[dict[str, Any]], path: Path) -> Path:
    """The lineage head's dev percentile after each round (± SE), with each round's candidate."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    head_mean: dict[str, tuple[float, float]] = {}
    xs, ys, es = [], [], []
    current = None
    for n in nodes:
        child = (n.get("dev") or {}).get("child") or {}
        if n.get("commit") and child:
            head_mean[n["commit"]] = (child.get("mean_pct", 0.0), child.get("se", 0.0))
        current = head_mean.get(n.get("head") or "", current)
        if current:
            xs.append(n["round"])
            ys.append(current[0])
            es.append(current[1])
        if child and n.get("decision") != "initial":
            ax.errorbar([n["round"] + 0.1], [child["mean_pct"]], yerr=[child.get("se", 0.0)], fmt="o",
                        color=DECISION_COLOURS.get(n.get("decision", ""), "black"), ms=4, alpha=0.7)
    ax.errorbar(xs, ys, yerr=es, drawstyle="steps-post", color="#1f77b4", label="lineage head", capsize=2)
    return _by_round(fig, ax, path, "dev leaderboard percentile (mean ± SE)", "dev score by round")


def plot_arms(arms: dict[str, dict[str, Any]], path: Path, title: str = "held-out leaderboard percentile") -> Path:
    """One bar per arm: the mean with its confidence interval (arms: name -> {mean_pct, ci_low, ci_high})."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    names = list(arms)
    means = [arms[a]["mean_pct"] for a in names]
    low = [max(0.0, arms[a]["mean_pct"] - arms[a].get("ci_low", arms[a]["mean_pct"])) for a in names]
    high = [max(0.0, arms[a].get("ci_high", arms[a]["mean_pct"]) - arms[a]["mean_pct"]) for a in names]
    ax.bar(names, means, yerr=[low, high], capsize=6, color=["#7f7f7f", "#2ca02c", "#ff7f0e"][: len(names)])
    ax.set_ylabel("mean percentile (bootstrap CI)")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)
