"""Helpers for campaign tests: toy competitions, a scripted model that serves many attempts at once."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fake_llm_server import call, text, tools
from tests.toy import toy_env

INTERRUPTED = "error: this call was interrupted"

SOLVE_C = """import os, pandas as pd
from sklearn.linear_model import LogisticRegression
d = os.environ['DATA_DIR']
tr, te = pd.read_csv(f'{d}/train.csv'), pd.read_csv(f'{d}/test.csv')
m = LogisticRegression(C=__C__).fit(tr[['x1','x2','x3']], tr['target'])
pd.DataFrame({'id': te['id'], 'target': m.predict_proba(te[['x1','x2','x3']])[:, 1]}).to_csv('submission.csv', index=False)
print('ok')
"""


def campaign_env(root: Path, tasks: list[str]) -> dict[str, str]:
    """Toy competitions `tasks` (each with a leaderboard, so medals and percentiles exist) and the env to use."""
    from tasks.mle_lite.toy import write_toy_competition

    env = toy_env(root, tasks[0])
    for cid in tasks:
        folder = write_toy_competition(Path(root) / "competitions", cid)
        scores = [0.45, 0.50, 0.52, 0.55, 0.57, 0.60, 0.62, 0.65, 0.70, 0.75]   # log loss: lower is better
        (folder / "leaderboard.csv").write_text("teamName,score\n" + "".join(f"t{i},{s}\n" for i, s in
                                                                             enumerate(scores)))
    return env


def model_script(body: dict, index: int) -> dict:  # noqa: ARG001
    """A model that solves a toy competition in three turns (then finishes), whatever attempt asks: the turn is read from the
    request's history, the regularisation from the request's `seed` (so seeds give different scores)."""
    if not body.get("tools"):                       # a summary or a self-critique
        return text("Lesson: a logistic regression on the three features is a sound start.")
    messages = body.get("messages", [])
    done = sum(1 for m in messages if m.get("role") == "assistant")
    # as a model would: each call cut by a kill is made again (the attempt may add a prompt after its result)
    done -= sum(1 for m in messages if m.get("role") == "tool" and str(m.get("content", "")).startswith(INTERRUPTED))
    c = round(1.0 / (1 + int(body.get("seed", 0))), 3)
    steps = [tools(call("write_file", {"path": "solution.py", "content": SOLVE_C.replace("__C__", str(c))}),
                   thinking="Write a first model."),
             tools(call("run_python", {"path": "solution.py"}), thinking="Run it."),
             tools(call("submit", {}), thinking="Submit."),
             tools(call("finish", {}), thinking="Nothing better to try.")]
    return steps[done] if done < len(steps) else text("Done.")


def llm_config(root: Path) -> Path:
    """A model client config with a short retry window (an outage is reported after about a second)."""
    path = Path(root) / "llm.yaml"
    path.write_text(json.dumps({"retry_window_s": 1.0, "backoff_base_s": 0.1, "backoff_max_s": 0.3,
                                "max_retries": 1000, "connect_timeout_s": 2, "read_timeout_s": 10}))
    return path
