"""A tiny, fast competition written into any folder: used by tests and as a template for new ones."""

from __future__ import annotations

from pathlib import Path

CONFIG = """\
id: {cid}
name: Toy binary classification
metric: log_loss
higher_is_better: false
modality: tabular
source: synthetic
synthetic: true
baseline_score: {baseline}
submission:
  id_column: id
  columns:
    - {{name: target, kind: probability}}
  labels: null
dataset:
  answers: answers.csv
  sample_submission: sample_submission.csv
"""

PREPARE = '''\
from pathlib import Path

import numpy as np
import pandas as pd


def prepare(public: Path, private: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    x = rng.normal(size=(n, 3))
    p = 1 / (1 + np.exp(-(1.5 * x[:, 0] - x[:, 1] + 0.5 * x[:, 2] * x[:, 0])))
    y = (rng.random(n) < p).astype(int)
    ids = [f"r{v:05d}" for v in rng.permutation(90000)[:n] + 10000]
    frame = pd.DataFrame({"id": ids, "x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "target": y})
    train, test = frame.iloc[:300], frame.iloc[300:]
    train.to_csv(public / "train.csv", index=False)
    test.drop(columns="target").to_csv(public / "test.csv", index=False)
    pd.DataFrame({"id": test["id"], "target": 0.5}).to_csv(public / "sample_submission.csv", index=False)
    test[["id", "target"]].to_csv(private / "answers.csv", index=False)
'''

GRADE = '''\
import pandas as pd

from tasks.mle_lite.metrics import log_loss


def grade(submission: pd.DataFrame, answers: pd.DataFrame) -> float:
    return log_loss(answers["target"], submission["target"])
'''

SOLUTIONS = '''\
from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression


def constant(public: Path, seed: int) -> pd.DataFrame:
    test = pd.read_csv(public / "test.csv")
    return pd.DataFrame({"id": test["id"], "target": 0.5})


def prior(public: Path, seed: int) -> pd.DataFrame:
    train, test = pd.read_csv(public / "train.csv"), pd.read_csv(public / "test.csv")
    return pd.DataFrame({"id": test["id"], "target": train["target"].mean()})


def _logistic(public: Path, seed: int, c: float, frac: float) -> pd.DataFrame:
    train, test = pd.read_csv(public / "train.csv"), pd.read_csv(public / "test.csv")
    train = train.sample(frac=frac, random_state=seed)
    cols = ["x1", "x2", "x3"]
    model = LogisticRegression(C=c).fit(train[cols], train["target"])
    return pd.DataFrame({"id": test["id"], "target": model.predict_proba(test[cols])[:, 1]})


SOLUTIONS = {
    "baseline": prior,
    "constant": constant,
    "logistic": lambda public, seed: _logistic(public, seed, 1.0, 1.0),
    "logistic_small": lambda public, seed: _logistic(public, seed, 1.0, 0.3),
    "logistic_strong_reg": lambda public, seed: _logistic(public, seed, 0.01, 1.0),
}
'''

DESCRIPTION = """\
# Toy binary classification

## Overview
Predict the probability that `target` is 1 from three numeric features.

## Evaluation
Binary log-loss.

## Submission File
```
id,target
r12345,0.5
```

## Data
- `train.csv`: id, x1, x2, x3, target
- `test.csv`: id, x1, x2, x3
- `sample_submission.csv`
"""


def write_toy_competition(root: Path, cid: str = "toy-binary", baseline: float | str = "null",
                          leaderboard: list[float] | None = None) -> Path:
    """Write a complete small competition folder `root/cid` (config, description, prepare, grade, solutions;
    with `leaderboard`, a reference leaderboard of those log-loss scores for medals and percentiles)."""
    folder = Path(root) / cid
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(CONFIG.format(cid=cid, baseline=baseline), encoding="utf-8")
    (folder / "description.md").write_text(DESCRIPTION, encoding="utf-8")
    (folder / "prepare.py").write_text(PREPARE, encoding="utf-8")
    (folder / "grade.py").write_text(GRADE, encoding="utf-8")
    (folder / "solutions.py").write_text(SOLUTIONS, encoding="utf-8")
    if leaderboard:
        rows = "".join(f"team{i},{score}\n" for i, score in enumerate(leaderboard))
        (folder / "leaderboard.csv").write_text("teamName,score\n" + rows, encoding="utf-8")
    return folder
