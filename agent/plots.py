"""Every PNG evoforge draws, in one module (matplotlib, Agg backend, from the `plots` extra).

Callers pass plain data (lists and dicts), so the module knows nothing of run records. Without
matplotlib, `available()` is False and callers skip their plots with a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

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
