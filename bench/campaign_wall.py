"""Wall time of a whole campaign at several parallelisms (the same attempts each time), and whether the
results agree between them.

    python bench/campaign_wall.py --tasks lite --seeds 3 --parallel 1,2 --attempt-minutes 10 --prefix baseline

Each parallelism runs its own campaign `<prefix>-p<N>` (resumed, not redone, if it exists), timed from the
supervisor's start to its end; prints one JSON line per campaign and the speed-up of each against the first.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    """Run the campaigns and print their wall times."""
    from agent.campaign import CampaignSpec, run_campaign
    from agent.campaign.report import aggregate
    from agent.campaign.spec import parse_seeds
    from agent.campaign.tasksets import resolve_tasks
    from agent.graph.budgets import Budgets
    from common import paths

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="lite")
    ap.add_argument("--seeds", default="3")
    ap.add_argument("--parallel", default="1,2")
    ap.add_argument("--attempt-minutes", type=float, default=10.0)
    ap.add_argument("--policy", default="heuristic")
    ap.add_argument("--sandbox", default="auto")
    ap.add_argument("--prefix", default="bench-campaign")
    args = ap.parse_args()
    tasks, seeds = tuple(resolve_tasks(args.tasks)), parse_seeds(args.seeds)
    rows = []
    for n in [int(p) for p in args.parallel.split(",")]:
        name = f"{args.prefix}-p{n}"
        spec = CampaignSpec(name, tasks, seeds, policy=args.policy, sandbox=args.sandbox, parallel=n,
                            budgets=Budgets(seconds=args.attempt_minutes * 60),
                            memory_file=str(paths.runs_dir() / f"{name}-MEMORY.md"))
        t0 = time.perf_counter()
        res = run_campaign(spec, notify=lambda e: print(json.dumps(e), file=sys.stderr, flush=True)
                           if e["type"] in ("attempt_finished", "attempt_failed") else None)
        wall = time.perf_counter() - t0
        agg = aggregate(res)
        row = {"campaign": name, "parallel": n, "attempts": len(res), "wall_s": round(wall, 1),
               "attempt_s_sum": round(sum(r.get("seconds") or 0 for r in res), 1),
               "any_medal": agg["any_medal"], "valid_rate": agg["valid_rate"],
               "mean_percentile": agg["mean_percentile"],
               "scores": {f"{r['task']}#{r['seed']}": r.get("score") for r in res}}
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "scores"}), flush=True)
    base = rows[0]
    for row in rows[1:]:
        same = sum(1 for k, v in row["scores"].items() if base["scores"].get(k) == v)
        print(json.dumps({"campaign": row["campaign"], "speedup_vs_first": round(base["wall_s"] / row["wall_s"], 3),
                          "same_scores": f"{same}/{len(row['scores'])}"}), flush=True)


if __name__ == "__main__":
    main()
