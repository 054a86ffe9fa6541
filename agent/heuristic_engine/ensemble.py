"""Blend the best candidates: greedy forward selection (with replacement) of their out-of-fold predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import candidates
from .cv import evaluate, fit_thresholds, to_submission
from .metrics import better


def _pool(ws: Path, top_k: int) -> list[tuple[dict, dict]]:
    reg = candidates.load(ws)
    ranked = [c for c in reg["candidates"] if c.get("arrays") and c.get("complete") and c.get("kind") == "recipe"]
    top = candidates.best({"metric": reg["metric"], "candidates": ranked})
    if top is None:
        return []
    same = [c for c in ranked if c["rows"] == top["rows"]]
    same.sort(key=lambda c: c["cv"], reverse=bool(better(reg["metric"], 1.0, 0.0)))
    out = []
    for c in same[:top_k]:
        with np.load(Path(ws) / c["arrays"], allow_pickle=False) as z:
            out.append((c, {k: z[k] for k in z.files}))
    return out


def blend(problem, book: dict, metric: str, ws: Path, log=print) -> dict | None:
    """The greedy blend of the top candidates when it beats the best one by more than min_gain, else None."""
    opts = book["ensemble"]
    pool = _pool(ws, opts["top_k"])
    if len(pool) < 2:
        log("ensemble: fewer than two complete candidates over the same rows; nothing to blend")
        return None
    rows = pool[0][1]["rows"]
    y = problem.y[rows]
    ordinal = bool(pool[0][1]["ordinal"])
    if any(bool(a["ordinal"]) != ordinal or a["oof"].shape != pool[0][1]["oof"].shape for _, a in pool):
        pool = [(c, a) for c, a in pool if bool(a["ordinal"]) == ordinal and a["oof"].shape == pool[0][1]["oof"].shape]
    cuts = pool[0][1]["cuts"] if ordinal else None
    oofs = [a["oof"] for _, a in pool]
    scores = [evaluate(problem, metric, y, o, ordinal, cuts) for o in oofs]
    chosen = [0]
    current = scores[0]
    for _ in range(opts["steps"]):
        trials = [evaluate(problem, metric, y, np.mean([oofs[j] for j in chosen + [i]], axis=0), ordinal, cuts)
                  for i in range(len(oofs))]
        i = int(np.argmax(trials) if better(metric, 1.0, 0.0) else np.argmin(trials))
        if not better(metric, trials[i], current):
            break
        chosen.append(i)
        current = trials[i]
    weights = np.bincount(chosen, minlength=len(oofs)) / len(chosen)
    names = {pool[i][0]["name"]: round(float(w), 3) for i, w in enumerate(weights) if w > 0}
    oof = sum(w * o for w, o in zip(weights, oofs, strict=True))
    test = sum(w * a["test"] for w, (_, a) in zip(weights, pool, strict=True))
    if ordinal:
        cuts = fit_thresholds(oof[:, 0], y, len(problem.classes))
    final = evaluate(problem, metric, y, oof, ordinal, cuts)
    gain = abs(final - scores[0])
    log(f"ensemble of {names}: {metric} {final:.5f} vs best single {scores[0]:.5f}")
    if len(names) < 2 or not better(metric, final, scores[0]) or gain <= opts["min_gain"]:
        return None
    y_range = (float(np.nanmin(problem.y)), float(np.nanmax(problem.y))) if problem.task == "regression" else None
    return {"cv": float(final), "folds": int(pool[0][0]["folds"]), "complete": True, "rows": pool[0][0]["rows"],
            "weights": names, "oof": oof, "test": test, "ordinal": ordinal, "cuts": cuts,
            "submission": to_submission(problem, test, ordinal, cuts, y_range), "rows_index": rows}
