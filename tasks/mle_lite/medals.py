"""MLE-bench's medal rule: Kaggle progression thresholds read off a competition's leaderboard.

With N teams on the leaderboard (sorted best first), the score at these 1-based ranks is the
threshold (a submission at least as good as it earns the medal):

| teams      | gold                 | silver           | bronze           |
|------------|----------------------|------------------|------------------|
| 1–99       | max(1, int(0.1 N))   | max(1, int(0.2 N)) | max(1, int(0.4 N)) |
| 100–249    | 10                   | max(1, int(0.2 N)) | max(1, int(0.4 N)) |
| 250–999    | 10 + int(0.002 N)    | 50               | 100              |
| 1000+      | 10 + int(0.002 N)    | max(1, int(0.05 N)) | max(1, int(0.1 N)) |

`above_median` is strict: better than the median of all leaderboard scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from common.errors import UserError


@dataclass(frozen=True)
class Thresholds:
    """Scores a submission must reach for each medal, and the leaderboard median."""

    gold: float
    silver: float
    bronze: float
    median: float
    higher_is_better: bool
    num_teams: int


def medal_ranks(num_teams: int) -> tuple[int, int, int]:
    """1-based leaderboard ranks whose scores are the gold, silver and bronze thresholds."""
    n = num_teams
    if n < 1:
        raise ValueError("a leaderboard needs at least one team")
    if n < 100:
        return max(1, int(n * 0.1)), max(1, int(n * 0.2)), max(1, int(n * 0.4))
    if n < 250:
        return 10, max(1, int(n * 0.2)), max(1, int(n * 0.4))
    if n < 1000:
        return 10 + int(n * 0.002), 50, 100
    return 10 + int(n * 0.002), max(1, int(n * 0.05)), max(1, int(n * 0.1))


def thresholds(scores: list[float] | pd.Series, higher_is_better: bool) -> Thresholds:
    """Medal thresholds for a leaderboard's scores (any order; sorted best first here)."""
    ordered = sorted((float(s) for s in scores), reverse=higher_is_better)
    if not ordered:
        raise ValueError("a leaderboard needs at least one team")
    g, s, b = medal_ranks(len(ordered))
    median = float(pd.Series(ordered).median())
    return Thresholds(ordered[g - 1], ordered[s - 1], ordered[b - 1], median, higher_is_better, len(ordered))


def rank_score(score: float | None, th: Thresholds) -> tuple[str | None, bool | None]:
    """(medal or None, above_median) for a score; (None, None) when there is no score."""
    if score is None:
        return None, None

    def at_least(threshold: float) -> bool:
        return score >= threshold if th.higher_is_better else score <= threshold

    medal = "gold" if at_least(th.gold) else "silver" if at_least(th.silver) else "bronze" if at_least(th.bronze) else None
    above = score > th.median if th.higher_is_better else score < th.median
    return medal, bool(above)


def percentile(score: float | None, scores: list[float] | pd.Series, higher_is_better: bool) -> float:
    """The share of leaderboard teams a score beats, in percent (ties count half); 0 without a score."""
    if score is None:
        return 0.0
    board = [float(s) for s in scores]
    if not board:
        raise ValueError("a leaderboard needs at least one team")
    worse = sum(1 for s in board if (s < score if higher_is_better else s > score))
    ties = sum(1 for s in board if s == score)
    return 100.0 * (worse + 0.5 * ties) / len(board)


def read_leaderboard(path: Path) -> pd.DataFrame:
    """Read a `teamName,score` leaderboard (extra Kaggle columns allowed); UserError if unusable."""
    try:
        board = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read leaderboard {path}: {exc}") from exc
    if "score" not in board.columns:
        raise UserError(f"leaderboard {path} has no 'score' column")
    board = board[pd.to_numeric(board["score"], errors="coerce").notna()].copy()
    board["score"] = board["score"].astype(float)
    if board.empty:
        raise UserError(f"leaderboard {path} has no numeric scores")
    return board
