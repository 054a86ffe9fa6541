"""The heuristic engineer before and after its recipes, on every competition (seed 0), in the Docker sandbox.

Arm `old` is the generic one-script heuristic of a baseline commit (run from a `git archive` of that commit);
arm `new` is this checkout's recipe-driven heuristic (or, with --new REF, a `git archive` of that commit, so
the checkout can change while the bench runs). Each arm runs
`evoforge run ID --policy heuristic --sandbox docker` per competition; the bench prints per competition the
CV score the agent chose by (new only: the old script computes none), the private score, the leaderboard
percentile (share of the reference leaderboard the score beats, ties counted half), the medal and the wall
time, then the totals and new/old ratios. Each finished attempt is appended to a JSONL file at once, so a
killed bench resumes where it stopped (an unfinished attempt is run again from scratch).

    .venv/bin/python bench/heuristic_suite.py [--baseline c5a481c] [--new REF] [--tasks ID,ID|all] [--arms old,new]
        [--sandbox docker] [--out runs/bench-heuristic]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tasks.mle_lite.medals import read_leaderboard  # noqa: E402
from tasks.mle_lite.registry import get_competition, list_competitions  # noqa: E402

BASELINE = "c5a481c"     # main before the recipe books: the generic scikit-learn script


def percentile(score: float | None, board: list[float], higher_is_better: bool) -> float | None:
    """Percent of the leaderboard this score beats (ties count half); None without a score."""
    if score is None or not board:
        return None
    worse = sum((s < score) if higher_is_better else (s > score) for s in board)
    ties = sum(s == score for s in board)
    return 100.0 * (worse + 0.5 * ties) / len(board)


def tree_at(ref: str, out: Path) -> Path:
    """A commit's files (git archive), extracted once under out."""
    ref = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref], capture_output=True, text=True,
                         check=True).stdout.strip()
    dest = out / f"tree-{ref}"
    if not (dest / "agent").is_dir():
        data = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
        tmp = out / f".tree-{ref}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        with tarfile.open(fileobj=BytesIO(data)) as tar:
            tar.extractall(tmp, filter="data")
        os.replace(tmp, dest)
    return dest


def attempt(arm: str, cid: str, tree: Path, out: Path, sandbox: str) -> dict:
    """Run one heuristic attempt from `tree`; its score, percentile, CV, turns and wall time."""
    runs = out / f"runs-{arm}"
    run_id = f"{arm}-{cid}-s0"
    shutil.rmtree(runs / run_id, ignore_errors=True)
    env = dict(os.environ, EVOFORGE_RUNS=str(runs), EVOFORGE_MEMORY=str(out / f"memory-{arm}.md"))
    for key in ("EVOFORGE_SCAFFOLD", "OPENAI_BASE_URL"):
        env.pop(key, None)
    cmd = [sys.executable, "-m", "agent.cli", "run", cid, "--policy", "heuristic", "--sandbox", sandbox,
           "--run-id", run_id, "-q"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    rec = {"arm": arm, "task": cid, "seed": 0, "wall_s": round(wall, 1), "rc": proc.returncode}
    score_path = runs / run_id / "score.json"
    if not score_path.is_file():
        return dict(rec, valid=False, error=(proc.stdout + proc.stderr)[-300:])
    grading = json.loads(score_path.read_text())
    meta = json.loads((runs / run_id / "meta.json").read_text())
    comp = get_competition(cid)
    board = read_leaderboard(comp.leaderboard_path)["score"].astype(float).tolist()
    rec.update(valid=grading.get("valid"), score=grading.get("score"), medal=grading.get("medal"),
               above_median=grading.get("above_median"), turns=meta.get("turns"),
               percentile=percentile(grading.get("score"), board, comp.higher_is_better))
    registry = runs / run_id / "workspace" / "candidates.json"
    if registry.is_file():
        reg = json.loads(registry.read_text())
        best = next((c for c in reg["candidates"] if c["name"] == reg.get("best")), None)
        rec.update(cv=best and best["cv"], chosen=reg.get("best"), candidates=len(reg["candidates"]))
    return rec


def _fmt(v, nd=4) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{nd}g}" if abs(v) < 1e4 else f"{v:.0f}"
    return str(v)


def report(results: dict, tasks: list[str]) -> None:
    """Print the per-competition table and the totals with new/old ratios."""
    head = f"{'competition':<46} {'metric':<18} {'old score':>10} {'pct':>5} {'medal':>6}   {'new CV':>10} " \
           f"{'new score':>10} {'pct':>5} {'medal':>6} {'chosen':<14} {'old s':>6} {'new s':>6}"
    print(head)
    print("-" * len(head))
    for cid in tasks:
        o, n = results.get(("old", cid), {}), results.get(("new", cid), {})
        metric = get_competition(cid).config.metric
        print(f"{cid:<46} {metric:<18} {_fmt(o.get('score')):>10} {_fmt(o.get('percentile'), 3):>5} "
              f"{_fmt(o.get('medal')):>6}   {_fmt(n.get('cv')):>10} {_fmt(n.get('score')):>10} "
              f"{_fmt(n.get('percentile'), 3):>5} {_fmt(n.get('medal')):>6} {_fmt(n.get('chosen')):<14} "
              f"{_fmt(o.get('wall_s'), 4):>6} {_fmt(n.get('wall_s'), 4):>6}")
    arms = {arm: [results[(arm, c)] for c in tasks if (arm, c) in results] for arm in ("old", "new")}
    print()
    for arm, rows in arms.items():
        if not rows:
            continue
        pct = [r["percentile"] for r in rows if r.get("percentile") is not None]
        medals = [r.get("medal") for r in rows if r.get("medal")]
        print(f"{arm}: {len(rows)} attempts, valid {sum(bool(r.get('valid')) for r in rows)}, "
              f"medals {len(medals)} ({', '.join(f'{m} {medals.count(m)}' for m in ('gold', 'silver', 'bronze'))}), "
              f"above median {sum(bool(r.get('above_median')) for r in rows)}, "
              f"mean percentile {sum(pct) / max(len(pct), 1):.1f}, wall {sum(r['wall_s'] for r in rows):.0f}s")
    both = [c for c in tasks if ("old", c) in results and ("new", c) in results]
    if both:
        old = [results[("old", c)] for c in both]
        new = [results[("new", c)] for c in both]
        up = sum((n.get("percentile") or 0) > (o.get("percentile") or 0) for o, n in zip(old, new, strict=True))
        down = sum((n.get("percentile") or 0) < (o.get("percentile") or 0) for o, n in zip(old, new, strict=True))
        mean = lambda rows: sum(r.get("percentile") or 0 for r in rows) / len(rows)  # noqa: E731
        print(f"paired over {len(both)} competitions: percentile up on {up}, down on {down}, "
              f"same on {len(both) - up - down}; mean percentile new/old {mean(new):.1f}/{mean(old):.1f}; "
              f"wall time new/old {sum(r['wall_s'] for r in new) / max(sum(r['wall_s'] for r in old), 1e-9):.1f}x")


def main() -> None:
    """Run the missing attempts and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default=BASELINE, help="git ref of the old heuristic")
    ap.add_argument("--tasks", default="all", help="comma-separated competition ids, or all")
    ap.add_argument("--new", default=None, help="git ref of the new heuristic (default: this checkout as it is)")
    ap.add_argument("--arms", default="old,new")
    ap.add_argument("--sandbox", default="docker")
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench-heuristic"))
    ap.add_argument("--report-only", action="store_true", help="print the table from the results file")
    args = ap.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    tasks = [c.config.id for c in list_competitions()] if args.tasks == "all" else args.tasks.split(",")
    results_path = out / "results.jsonl"
    results: dict = {}
    if results_path.is_file():
        for line in results_path.read_text().splitlines():
            r = json.loads(line)
            results[(r["arm"], r["task"])] = r
    if not args.report_only:
        trees = {"old": tree_at(args.baseline, out), "new": tree_at(args.new, out) if args.new else ROOT}
        for cid in tasks:
            get_competition(cid).prepare()
            for arm in args.arms.split(","):
                if (arm, cid) in results:
                    continue
                rec = attempt(arm, cid, trees[arm], out, args.sandbox)
                results[(arm, cid)] = rec
                with results_path.open("a") as f:
                    f.write(json.dumps(rec) + "\n")
                print(f"{arm:>3} {cid:<46} score {_fmt(rec.get('score'))} cv {_fmt(rec.get('cv'))} "
                      f"medal {_fmt(rec.get('medal'))} {rec['wall_s']:.0f}s", flush=True)
    report(results, tasks)


if __name__ == "__main__":
    main()
