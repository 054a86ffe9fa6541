"""Supervisor overhead per attempt: the same attempts run as a campaign (parallel 1) and as `evoforge run`
processes one after another (the baseline, measured in the same run, alternating with the campaign).

    .venv/bin/python bench/campaign_overhead.py --tasks 3 --seeds 2 --rounds 2

The attempts are toy competitions solved in three turns by the scripted model of the tests, served over
HTTP (tests/fake_llm_server.py), in the `local` sandbox, so the attempt itself is short and the
supervisor's share (queue transactions, launching and polling the worker, reading the result, the
worker's lock) shows. Prints one JSON line per round and the mean overhead per attempt.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def direct(tasks: list[str], seeds: list[int], tag: str, base_url: str, cfg: str, env: dict) -> float:
    """Wall seconds of `evoforge run` for every attempt, one after another."""
    evoforge = str(Path(sys.executable).parent / "evoforge")
    t0 = time.perf_counter()
    for seed in seeds:
        for task in tasks:
            subprocess.run([evoforge, "run", task, "--policy", "llm", "--base-url", base_url, "--config", cfg,
                            "--sandbox", "local", "--seed", str(seed), "--run-id", f"{tag}-{task}-s{seed}"],
                           env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def campaign(tasks: list[str], seeds: list[int], name: str, base_url: str, cfg: str) -> tuple[float, list[dict]]:
    """Wall seconds of the same attempts as a campaign with parallel 1, and its results."""
    from agent.campaign import CampaignSpec, run_campaign

    spec = CampaignSpec(name, tuple(tasks), tuple(seeds), policy="llm", base_url=base_url, config_file=cfg,
                        sandbox="local", parallel=1)
    t0 = time.perf_counter()
    res = run_campaign(spec)
    return time.perf_counter() - t0, res


def main() -> None:
    """Alternate direct runs and campaigns; print the overhead per attempt."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=3, help="toy competitions")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    from tests.campaign_helpers import campaign_env, llm_config, model_script
    from tests.fake_llm_server import FakeLLMServer

    tmp = Path(tempfile.mkdtemp(prefix="bench-campaign-"))
    tasks = [f"toy-{chr(97 + i)}" for i in range(args.tasks)]
    os.environ.update(campaign_env(tmp, tasks))
    os.environ.pop("OPENAI_BASE_URL", None)
    cfg = str(llm_config(tmp))
    seeds = list(range(args.seeds))
    n = len(tasks) * len(seeds)
    overheads = []
    with FakeLLMServer(model_script) as server:
        for r in range(args.rounds):
            base = direct(tasks, seeds, f"direct{r}", server.base_url, cfg, dict(os.environ))
            wall, res = campaign(tasks, seeds, f"overhead{r}", server.base_url, cfg)
            assert all(x["state"] == "done" and x.get("valid") for x in res), res
            per = (wall - base) / n
            overheads.append(per)
            print(json.dumps({"round": r, "attempts": n, "direct_s": round(base, 2), "campaign_s": round(wall, 2),
                              "ratio": round(wall / base, 3), "overhead_per_attempt_s": round(per, 3)}), flush=True)
    print(json.dumps({"mean_overhead_per_attempt_s": round(statistics.fmean(overheads), 3),
                      "load_avg": os.getloadavg()[0], "cpus": os.cpu_count()}), flush=True)


if __name__ == "__main__":
    main()
