"""Candidate submissions kept in the workspace with their CV scores; the best by CV becomes submission.csv.

candidates.json lists every candidate (recipe, ensemble or fallback) with its CV score; candidates/<n>-<name>.csv
is its submission and candidates/<n>-<name>.npz its out-of-fold and test predictions (for ensembling).
Every write is atomic, so a run killed at any moment leaves a consistent registry.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from .metrics import HIGHER_IS_BETTER

REGISTRY = "candidates.json"
FOLDER = "candidates"
SUBMISSION = "submission.csv"


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def load(ws: Path) -> dict:
    """The registry: {"metric", "candidates": [...], "best"}; empty when none was kept yet."""
    path = Path(ws) / REGISTRY
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            pass
    return {"metric": None, "candidates": [], "best": None}


def best(reg: dict) -> dict | None:
    """The candidate with the best CV score (earliest on ties); None when there is none."""
    metric = reg.get("metric")
    scored = [c for c in reg["candidates"] if c.get("cv") is not None and np.isfinite(c["cv"])]
    if not scored or metric is None:
        return None
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    return max(scored, key=lambda c: (sign * c["cv"], -c["n"]))


def add(ws: Path, metric: str, entry: dict, submission, arrays: dict | None = None) -> dict:
    """Keep a candidate (same name replaces the earlier one) and make the best one submission.csv."""
    ws = Path(ws)
    folder = ws / FOLDER
    folder.mkdir(exist_ok=True)
    reg = load(ws)
    reg["metric"] = metric
    old = next((c for c in reg["candidates"] if c["name"] == entry["name"]), None)
    n = old["n"] if old else 1 + max((c["n"] for c in reg["candidates"]), default=0)
    stem = f"{n:02d}-{entry['name']}"
    csv = folder / f"{stem}.csv"
    tmp = folder / f".{stem}.tmp{os.getpid()}.csv"
    submission.to_csv(tmp, index=False)
    os.replace(tmp, csv)
    entry = dict(entry, n=n, csv=str(csv.relative_to(ws)), arrays=None)
    if arrays is not None:
        npz = folder / f"{stem}.npz"
        tmp = folder / f".{stem}.tmp{os.getpid()}.npz"
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, npz)
        entry["arrays"] = str(npz.relative_to(ws))
    reg["candidates"] = [c for c in reg["candidates"] if c["name"] != entry["name"]] + [entry]
    reg["candidates"].sort(key=lambda c: c["n"])
    _atomic_text(ws / REGISTRY, json.dumps(reg, indent=1))
    select(ws)
    return entry


def select(ws: Path) -> dict | None:
    """Copy the best candidate's file to submission.csv (atomically); returns it."""
    ws = Path(ws)
    reg = load(ws)
    top = best(reg)
    if top is None:
        return None
    tmp = ws / f".{SUBMISSION}.tmp{os.getpid()}"
    shutil.copyfile(ws / top["csv"], tmp)
    os.replace(tmp, ws / SUBMISSION)
    if reg.get("best") != top["name"]:
        reg["best"] = top["name"]
        _atomic_text(ws / REGISTRY, json.dumps(reg, indent=1))
    return top
