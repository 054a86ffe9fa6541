"""MLE-bench's medal rule (Kaggle progression thresholds) with hand-computed expectations."""

from __future__ import annotations

import pandas as pd
import pytest

from common.errors import UserError
from tasks.mle_lite.medals import medal_ranks, rank_score, read_leaderboard, thresholds


@pytest.mark.parametrize(
    ("teams", "ranks"),
    [
        (1, (1, 1, 1)),
        (5, (1, 1, 2)),        # int(0.5)=0 -> 1, int(1.0)=1, int(2.0)=2
        (10, (1, 2, 4)),       # top 10 % / 20 % / 40 %
        (37, (3, 7, 14)),      # int(3.7), int(7.4), int(14.8)
        (99, (9, 19, 39)),
        (100, (10, 20, 40)),   # 100-249: gold is the top 10 teams
        (249, (10, 49, 99)),
        (250, (10, 50, 100)),  # 250-999: gold 10 + 0.2 %, silver top 50, bronze top 100
        (999, (11, 50, 100)),
        (1000, (12, 50, 100)),  # 1000+: gold 10 + 0.2 %, silver top 5 %, bronze top 10 %
        (5000, (20, 250, 500)),
    ],
)
def test_medal_ranks_follow_kaggle_progression(teams, ranks):
    assert medal_ranks(teams) == ranks


def test_medal_ranks_reject_empty():
    with pytest.raises(ValueError):
        medal_ranks(0)


def test_higher_is_better_thresholds_and_medals():
    scores = [3, 7, 1, 10, 5, 9, 2, 8, 4, 6]  # any order; 10 teams, best first = 10, 9, ..., 1
    th = thresholds(scores, higher_is_better=True)
    assert (th.gold, th.silver, th.bronze, th.median, th.num_teams) == (10, 9, 7, 5.5, 10)
    assert rank_score(10.0, th) == ("gold", True)
    assert rank_score(11.0, th) == ("gold", True)
    assert rank_score(9.5, th) == ("silver", True)
    assert rank_score(9.0, th) == ("silver", True)  # ties with the threshold earn the medal
    assert rank_score(7.0, th) == ("bronze", True)
    assert rank_score(6.9, th) == (None, True)
    assert rank_score(5.5, th) == (None, False)  # above_median is strict
    assert rank_score(0.0, th) == (None, False)
    assert rank_score(None, th) == (None, None)


def test_lower_is_better_thresholds_and_medals():
    scores = [0.1 * i for i in range(1, 21)]  # 20 teams, best = 0.1
    th = thresholds(scores, higher_is_better=False)
    # ranks: gold int(2)=2 -> 0.2, silver int(4)=4 -> 0.4, bronze int(8)=8 -> 0.8; median (1.0+1.1)/2
    assert th.gold == pytest.approx(0.2) and th.silver == pytest.approx(0.4) and th.bronze == pytest.approx(0.8)
    assert th.median == pytest.approx(1.05)
    assert rank_score(0.05, th) == ("gold", True)
    assert rank_score(0.3, th) == ("silver", True)
    assert rank_score(0.8, th) == ("bronze", True)
    assert rank_score(1.0, th) == (None, True)
    assert rank_score(1.05, th) == (None, False)


def test_large_leaderboard_uses_fixed_ranks():
    scores = list(range(300, 0, -1))  # 300 teams, higher is better: rank r has score 301 - r
    th = thresholds(scores, higher_is_better=True)
    assert (th.gold, th.silver, th.bronze) == (301 - 10, 301 - 50, 301 - 100)


def test_read_leaderboard(tmp_path):
    path = tmp_path / "leaderboard.csv"
    pd.DataFrame({"teamName": ["a", "b", "c"], "score": [0.9, "n/a", 0.7]}).to_csv(path, index=False)
    board = read_leaderboard(path)
    assert board["score"].tolist() == [0.9, 0.7]
    (tmp_path / "bad.csv").write_text("teamName,points\na,1\n")
    with pytest.raises(UserError, match="no 'score' column"):
        read_leaderboard(tmp_path / "bad.csv")
