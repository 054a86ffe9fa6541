"""The engine's commands: inspect the data, run a recipe, blend candidates, select the best.

Reads task.json (the submission spec and metric name) and recipes.json (one recipe book) from the
workspace and the public data from DATA_DIR. Each command ends with one machine-readable line:
PLAN {...}, CANDIDATE {...}, FAILED {...}, SKIPPED {...}, NO_GAIN {...} or BEST {...}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

from . import candidates
from .schema import validate_book


def _emit(tag: str, **payload) -> None:
    print(f"{tag} {json.dumps(payload, default=str)}", flush=True)


def _setup(ws: Path):
    from .layout import load_problem

    spec = json.loads((ws / "task.json").read_text())
    book = validate_book(json.loads((ws / "recipes.json").read_text()))
    book["cv"]["seed"] += int(os.environ.get("EVOFORGE_SEED", "0"))   # the attempt's seed shifts folds and models
    data = os.environ.get("DATA_DIR", "/data")
    t0 = time.monotonic()
    problem = load_problem(data, spec, book["cv"]["group_column"])
    print(f"problem: {json.dumps(problem.summary())} (read in {time.monotonic() - t0:.1f}s)", flush=True)
    return spec, book, problem


def _recipe(book: dict, name: str) -> dict:
    for r in book["recipes"] + [book["fallback"]]:
        if r["name"] == name:
            return r
    raise SystemExit(f"no recipe named {name!r} in recipes.json")


def _arrays(result: dict, rows) -> dict:
    import numpy as np

    return {"oof": result["oof"], "test": result["test"], "rows": rows, "ordinal": np.array(result["ordinal"]),
            "cuts": np.asarray(result["cuts"] if result["cuts"] is not None else [], dtype=float)}


def cmd_inspect(ws: Path, args) -> int:
    """Describe the problem and list the recipes that apply to it, in order."""
    from .cv import NotApplicable, check

    spec, book, problem = _setup(ws)
    usable, skipped = [], {}
    for r in book["recipes"]:
        try:
            check(problem, r, spec["metric"])
            usable.append(r["name"])
        except NotApplicable as exc:
            skipped[r["name"]] = str(exc)
    reg = candidates.load(ws)
    done = {c["name"]: c["cv"] for c in reg["candidates"]}
    for name, why in skipped.items():
        print(f"skip {name}: {why}")
    _emit("PLAN", recipes=usable, fallback=book["fallback"]["name"], done=done, **problem.summary())
    return 0


def cmd_run(ws: Path, args) -> int:
    """Cross-validate one recipe, keep it as a candidate, and make the best candidate submission.csv."""
    from .cv import NotApplicable, run_recipe

    spec, book, problem = _setup(ws)
    recipe = _recipe(book, args.recipe)
    metric = spec["metric"]
    try:
        if problem.task == "text":
            from .sequence import run_sequence

            result = run_sequence(problem, recipe, book, metric, args.time_limit, scale=args.scale)
        else:
            result = run_recipe(problem, recipe, book, metric, args.time_limit, ws / ".engine_cache", args.scale)
    except NotApplicable as exc:
        _emit("SKIPPED", name=recipe["name"], reason=str(exc))
        return 3
    except Exception as exc:  # noqa: BLE001 - reported to the policy, which falls back
        traceback.print_exc()
        _emit("FAILED", name=recipe["name"], error=f"{type(exc).__name__}: {exc}"[:400])
        return 1
    kind = "fallback" if recipe["name"] == book["fallback"]["name"] else "recipe"
    arrays = _arrays(result, result.pop("rows_index")) if "oof" in result else None
    entry = {k: result[k] for k in ("cv", "folds", "complete", "rows", "seconds")}
    entry.update(name=recipe["name"], kind=kind, metric=metric, family=recipe["model"]["family"])
    entry = candidates.add(ws, metric, entry, result["submission"], arrays)
    top = candidates.best(candidates.load(ws))
    _emit("CANDIDATE", name=entry["name"], cv=entry["cv"], file=entry["csv"], folds=entry["folds"], seconds=entry["seconds"],
          best=top["name"], best_cv=top["cv"])
    return 0


def cmd_ensemble(ws: Path, args) -> int:
    """Blend the top candidates; keep the blend as a candidate when CV says it helps."""
    from .ensemble import blend

    spec, book, problem = _setup(ws)
    metric = spec["metric"]
    t0 = time.monotonic()
    result = blend(problem, book, metric, ws)
    if result is None:
        top = candidates.best(candidates.load(ws))
        _emit("NO_GAIN", best=top and top["name"], best_cv=top and top["cv"])
        return 0
    entry = {"cv": result["cv"], "folds": result["folds"], "complete": True, "rows": result["rows"],
             "seconds": round(time.monotonic() - t0, 1), "name": "ensemble", "kind": "ensemble", "metric": metric,
             "family": "blend", "weights": result["weights"]}
    entry = candidates.add(ws, metric, entry, result["submission"], _arrays(result, result["rows_index"]))
    top = candidates.best(candidates.load(ws))
    _emit("CANDIDATE", name="ensemble", cv=entry["cv"], file=entry["csv"], weights=result["weights"], best=top["name"],
          best_cv=top["cv"])
    return 0


def cmd_select(ws: Path, args) -> int:
    """Make the best candidate by CV the submission and list every candidate."""
    reg = candidates.load(ws)
    for c in reg["candidates"]:
        print(f"{c['n']:>3}  {c['name']:<28} {c['metric']} {c['cv']:.5f}  folds {c['folds']}  {c['seconds']}s")
    top = candidates.select(ws)
    if top is None:
        _emit("BEST", name=None, cv=None)
        return 1
    _emit("BEST", name=top["name"], cv=top["cv"], file=top["csv"], candidates=len(reg["candidates"]))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command in the workspace (the current folder)."""
    parser = argparse.ArgumentParser(prog="engine.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("inspect", help=cmd_inspect.__doc__)
    run = sub.add_parser("run", help=cmd_run.__doc__)
    run.add_argument("recipe")
    run.add_argument("--time-limit", type=float, default=600.0, help="seconds this recipe may take")
    run.add_argument("--scale", type=float, default=1.0, help="fraction of the training rows (debugging retries)")
    ens = sub.add_parser("ensemble", help=cmd_ensemble.__doc__)
    ens.add_argument("--time-limit", type=float, default=120.0)
    sub.add_parser("select", help=cmd_select.__doc__)
    args = parser.parse_args(argv)
    ws = Path(os.environ.get("WORKSPACE", ".")).resolve() if not Path("task.json").is_file() else Path.cwd()
    commands = {"inspect": cmd_inspect, "run": cmd_run, "ensemble": cmd_ensemble, "select": cmd_select}
    return commands[args.cmd](ws, args)


if __name__ == "__main__":
    sys.exit(main())
