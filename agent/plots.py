"""Every PNG evoforge draws (matplotlib, headless): one function per figure, each taking plain records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DECISION_COLOURS = {"initial": "#1f77b4", "kept": "#2ca02c", "reverted": "#7f7f7f", "broken": "#d62728",
                    "refused": "#ff7f0e", "no_edit": "#bcbd22"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _dev_mean(node: dict[str, Any]) -> float | None:
    child = (node.get("dev") or {}).get("child") or {}
    return child.get("mean_pct")


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
    ax.set_xlabel("round")
    ax.set_ylabel("dev leaderboard percentile (mean)")
    ax.set_title("lineage: every candidate and its parent")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


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
    ax.set_xlabel("round")
    ax.set_ylabel("dev leaderboard percentile (mean ± SE)")
    ax.set_title("dev score by round")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


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


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
