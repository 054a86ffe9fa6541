"""`python -m tasks.rl_runs.calibrate [--seeds 0 1] [--jobs N] [TASK ...]`: grade each task's broken config and its
private reference fix exactly as submissions are graded, in parallel (one thread each), and print one JSON line per
run; the thresholds in tasks.yaml are set from these numbers (docs/RL_RUNS.md)."""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ProcessPoolExecutor

from tasks.rl_runs.grading import grade_config
from tasks.rl_runs.registry import get_task, list_tasks


def _one(job: tuple[str, str, int]) -> dict:
    tid, which, seed = job
    task = get_task(tid)
    cfg = task.broken_config() if which == "broken" else task.reference_config()
    rep = grade_config(task, cfg, seed=seed)
    d = rep.details
    return {"task": tid, "config": which, "seed": seed, "score": rep.score, "medal": rep.medal,
            "sft": d.get("eval_after_sft"), "exit": d.get("exit_code"), "expert_share": d.get("max_expert_share"),
            "seconds": d.get("seconds"), "error": rep.error}


def main() -> None:
    """Grade the broken and the fixed config of every (given) task for each seed."""
    ap = argparse.ArgumentParser(prog="python -m tasks.rl_runs.calibrate")
    ap.add_argument("tasks", nargs="*")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    args = ap.parse_args()
    ids = args.tasks or [t.id for t in list_tasks()]
    os.environ["EVOFORGE_GRADE_THREADS"] = "1"
    jobs = [(t, w, s) for t in ids for w in ("broken", "fixed") for s in args.seeds]
    with ProcessPoolExecutor(args.jobs) as pool:
        for row in pool.map(_one, jobs):
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
