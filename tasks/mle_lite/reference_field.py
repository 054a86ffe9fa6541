"""Build each competition's `leaderboard.csv` from a reference field of solutions of varied quality.

    python -m tasks.mle_lite.reference_field [IDS…|--all] [--jobs N] [--seeds 0 1 2] [--dry-run]

For every competition: prepare its data, run every entry of `solutions.SOLUTIONS` on the public
data for each seed, grade each submission privately, and write `teamName,score` (best first) into
the competition folder. An entry whose score is the same for every seed (a deterministic one) is
recorded once. The summary shows each run and where it lands under MLE-bench's medal rule.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import pandas as pd

from common.errors import UserError
from tasks.mle_lite import medals
from tasks.mle_lite.grading import grade_dataframe
from tasks.mle_lite.registry import get_competition, list_competitions

DEFAULT_SEEDS = (0, 1, 2)


@dataclass
class FieldRun:
    """One (entry, seed) run of the reference field."""

    entry: str
    seed: int
    score: float | None
    seconds: float
    error: str | None = None


def run_entry(cid: str, entry: str, seed: int) -> FieldRun:
    """Run one solution entry with one seed and grade it privately."""
    comp = get_competition(cid)
    t0 = time.perf_counter()
    try:
        frame = comp.solutions[entry](comp.public_dir, seed)
        seconds = time.perf_counter() - t0
        report = grade_dataframe(comp, frame)
    except Exception as exc:  # one broken entry must not stop the field
        return FieldRun(entry, seed, None, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}")
    return FieldRun(entry, seed, report.score, seconds, report.error)


def leaderboard_rows(runs: list[FieldRun], higher_is_better: bool) -> pd.DataFrame:
    """`teamName,score` rows, best first; a seed-independent entry counts once."""
    rows = []
    by_entry: dict[str, list[FieldRun]] = {}
    for run in runs:
        if run.score is not None:
            by_entry.setdefault(run.entry, []).append(run)
    for entry, entry_runs in by_entry.items():
        scores = [r.score for r in entry_runs]
        if max(scores) - min(scores) <= 1e-12:
            rows.append((entry, scores[0]))
        else:
            rows += [(f"{entry}-seed{r.seed}", r.score) for r in entry_runs]
    board = pd.DataFrame(rows, columns=["teamName", "score"])
    return board.sort_values("score", ascending=not higher_is_better, kind="stable").reset_index(drop=True)


def build_field(cid: str, seeds: tuple[int, ...] = DEFAULT_SEEDS, jobs: int = 1, write: bool = True,
                out=sys.stdout) -> pd.DataFrame:
    """Run the whole field for one competition, print the summary and (optionally) write leaderboard.csv."""
    comp = get_competition(cid)
    comp.prepare()
    entries = list(comp.solutions)
    tasks = [(cid, e, s) for e in entries for s in seeds]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            runs = list(pool.map(run_entry, *zip(*tasks, strict=True)))
    else:
        runs = [run_entry(*t) for t in tasks]
    board = leaderboard_rows(runs, comp.higher_is_better)
    if board.empty:
        raise UserError(f"{cid}: no entry of the reference field produced a valid submission")
    th = medals.thresholds(board["score"], comp.higher_is_better)
    print(f"\n== {cid}  metric={comp.config.metric}  higher_is_better={comp.higher_is_better}  "
          f"teams={th.num_teams}", file=out)
    print(f"thresholds: gold {th.gold:.6g}  silver {th.silver:.6g}  bronze {th.bronze:.6g}  "
          f"median {th.median:.6g}", file=out)
    print(f"{'entry':32s} {'seed':>4s} {'score':>12s} {'seconds':>8s}  medal", file=out)
    for run in runs:
        medal, above = medals.rank_score(run.score, th)
        score = "invalid" if run.score is None else f"{run.score:.6g}"
        tag = medal or ("above median" if above else "")
        print(f"{run.entry:32s} {run.seed:4d} {score:>12s} {run.seconds:8.2f}  {tag}"
              + (f"  ({run.error})" if run.error else ""), file=out)
    flagged = [r for r in runs if r.seed == seeds[0] and ("baseline" in r.entry or "default" in r.entry)]
    for run in flagged:
        medal, _ = medals.rank_score(run.score, th)
        warn = "  <-- a baseline/default entry should not win gold" if medal == "gold" else ""
        print(f"check: {run.entry} lands at {medal or 'no medal'}{warn}", file=out)
    if write:
        board.to_csv(comp.leaderboard_path, index=False)
        print(f"wrote {comp.leaderboard_path} ({len(board)} teams)", file=out)
    return board


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m tasks.mle_lite.reference_field", description=__doc__.split("\n")[0])
    parser.add_argument("ids", nargs="*", help="competition ids")
    parser.add_argument("--all", action="store_true", help="every competition")
    parser.add_argument("--jobs", type=int, default=1, help="parallel worker processes")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS), help="seeds per entry")
    parser.add_argument("--dry-run", action="store_true", help="print the summary, write nothing")
    args = parser.parse_args(argv)
    try:
        ids = [c.id for c in list_competitions() if c.source_kind == "mle_lite"] if args.all else args.ids
        if not ids:
            raise UserError("give competition ids or --all")
        for cid in ids:
            build_field(cid, tuple(args.seeds), max(1, args.jobs), write=not args.dry_run)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
