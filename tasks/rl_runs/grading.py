"""Grade an rl_runs submission (a training config) by retraining it outside the sandbox.

The grader never reads the agent's logs or checkpoints. It checks the config against the task's rules (the
trainer's own config checks, the task's fixed settings, the budget), overrides what is the grader's (seed, device,
init_from, evaluation size, logging), trains it with `python -m trainer` in a fresh temporary folder, and scores
the greedy accuracy after RL that its own run measured; a run that stops on a fault scores 0. Task checks (expert
balance) are measured on the same run. The medal comes from the task's thresholds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from common import paths
from common.errors import UserError
from tasks.mle_lite.grading import GradeReport
from tasks.mle_lite.medals import Thresholds, rank_score
from tasks.rl_runs.registry import RLRunTask, merge

GRADER = {"run": {"seed": 0, "device": "cpu", "init_from": "", "eval_problems": 200, "compile": False},
          "log": {"every": 1, "ckpt_every": 100000, "tensorboard": False}}


@dataclass
class RLGradeReport(GradeReport):
    """The competitions' report (valid, error, score, medal, above_median) plus what the grader's run showed."""

    details: dict = field(default_factory=dict)


def read_submission(path: Path) -> dict:
    """The submitted YAML mapping; UserError of one line when it is not one."""
    from trainer.config import read_config_file

    data = read_config_file(path)
    if not isinstance(data, dict):
        raise UserError("the submission must be a YAML mapping of config sections (model, run, env, sft, rl, ...)")
    return data


def check_config(task: RLRunTask, data: dict) -> dict:
    """The config the grader trains (the submission with the grader's settings); UserError naming what breaks a
    rule: an unknown or ill-typed field, a changed fixed setting, a budget exceeded."""
    from trainer.config import from_dict, validate

    if isinstance(data.get("run"), dict) and data["run"].get("init_from"):
        raise UserError("run.init_from is not allowed: the grader trains from scratch")
    cfg = merge(data, GRADER)
    fixed = merge({"env": task.base["env"], "model": {"preset": task.base["model"]["preset"]}}, task.fixed)
    full = validate(from_dict(cfg))
    for section, body in fixed.items():
        for k, want in body.items():
            have = full.model.get(k, "tiny" if k == "preset" else None) if section == "model" else getattr(
                getattr(full, section), k)
            if have != want:
                raise UserError(f"{section}.{k} must stay {want!r} (it is part of the task), got {have!r}")
    b = task.budget
    for got, cap, what in ((full.sft.steps, b["sft_steps"], "sft.steps"), (full.rl.steps, b["rl_steps"], "rl.steps"),
                           (full.rl.prompts_per_step * full.rl.group_size, b["rollouts_per_step"],
                            "rl.prompts_per_step x rl.group_size")):
        if got > cap:
            raise UserError(f"{what} is {got}, over the task's budget of {cap}")
    return cfg


def validate_file(task: RLRunTask, path: Path | str) -> str | None:
    """None when the config follows the rules, else what to fix (one line)."""
    try:
        check_config(task, read_submission(Path(path)))
    except UserError as exc:
        return str(exc)
    return None


def train(cfg: dict, timeout_s: float, threads: int | None = None) -> dict:
    """Train cfg with `python -m trainer` in a temporary folder; what the run showed (exit code, evaluations,
    steps, expert share, seconds)."""
    threads = threads or int(os.environ.get("EVOFORGE_GRADE_THREADS", "2"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVOFORGE_")}
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONPATH=str(paths.ROOT))
    with tempfile.TemporaryDirectory(prefix="evoforge-rlgrade-") as tmp:
        cfg_path, run_dir = Path(tmp) / "config.yaml", Path(tmp) / "run"
        cfg_path.write_text(yaml.safe_dump(cfg))
        t0 = time.monotonic()
        try:
            p = subprocess.run([sys.executable, "-m", "trainer", str(cfg_path), "--run-dir", str(run_dir), "--json"],
                               cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout_s)
            code, err = p.returncode, p.stderr
        except subprocess.TimeoutExpired:
            code, err = None, f"the grader's run took over {timeout_s:.0f}s"
        out = {"exit_code": code, "seconds": round(time.monotonic() - t0, 1)}
        recs = []
        if (run_dir / "metrics.jsonl").is_file():
            for line in (run_dir / "metrics.jsonl").read_text().splitlines():
                try:
                    recs.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    evals = {r.get("after"): r.get("greedy_accuracy") for r in recs if r.get("event") == "eval"}
    steps = [r for r in recs if "phase" in r and "event" not in r]
    out.update(eval_after_sft=evals.get("sft"), eval_after_rl=evals.get("rl"), steps=len(steps),
               max_expert_share=_expert_share(steps[-10:]))
    if code not in (0,):
        out["error_tail"] = "\n".join(err.strip().splitlines()[-3:])
    return out


def _expert_share(steps: list[dict]) -> float | None:
    """The largest share of a layer's tokens that one expert took, averaged over the given steps."""
    loads = [r["expert_load"] for r in steps if isinstance(r.get("expert_load"), list) and r["expert_load"]]
    if not loads:
        return None
    worst = 0.0
    for layer in range(len(loads[0])):
        means = [sum(col) / len(col) for col in zip(*[lo[layer] for lo in loads], strict=False)]
        worst = max(worst, max(means) / (sum(means) or 1.0))
    return round(worst, 4)


def score_run(task: RLRunTask, run: dict) -> tuple[float, list[str]]:
    """The score of the grader's run (0 for a run that failed or broke a check) and the notes why."""
    notes = []
    if run["exit_code"] != 0 or run.get("eval_after_rl") is None:
        notes.append(f"the grader's run did not finish (exit code {run['exit_code']}); score 0")
        return 0.0, notes
    score = float(run["eval_after_rl"])
    cap = task.checks.get("max_expert_share")
    if cap is not None and (run.get("max_expert_share") or 1.0) > cap:
        notes.append(f"an expert took {run['max_expert_share']:.0%} of a layer's tokens (at most {cap:.0%}): score 0")
        score = 0.0
    return score, notes


def grade_config(task: RLRunTask, data: dict, seed: int = 0) -> RLGradeReport:
    """Check, retrain (grader seed `seed`) and score a config mapping."""
    try:
        cfg = check_config(task, data)
    except UserError as exc:
        return RLGradeReport(False, error=str(exc))
    cfg = merge(cfg, {"run": {"seed": seed}})
    run = train(cfg, float(task.budget["grade_timeout_s"]))
    score, notes = score_run(task, run)
    t = task.thresholds
    medal, above = rank_score(score, Thresholds(t["gold"], t["silver"], t["bronze"], t["median"], True, 0))
    return RLGradeReport(True, score=score, medal=medal, above_median=above, details={**run, "notes": notes})


def grade_file(task: RLRunTask, path: Path | str) -> RLGradeReport:
    """Grade a submitted config file."""
    try:
        data = read_submission(Path(path))
    except UserError as exc:
        return RLGradeReport(False, error=str(exc))
    return grade_config(task, data)
