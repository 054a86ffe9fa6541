"""What one attempt achieved, read from its run record alone (the queue keeps a copy, the record is the truth)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.runstore import RunStore

FIELDS = ("task", "seed", "run_id", "status", "score", "medal", "above_median", "valid", "percentile", "seconds",
          "wall_s", "turns", "tokens", "cost_usd", "stop_kind", "stop_reason", "scaffold_commit")


def _ts(text: str | None) -> float | None:
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except (TypeError, ValueError):
        return None


def leaderboard_percentile(task: str, score: float | None, valid: bool) -> float | None:
    """The attempt's leaderboard percentile (0 without a valid score; None where the task has no leaderboard)."""
    from tasks.mle_lite.grading import percentile_for
    from tasks.mle_lite.registry import get_competition

    try:
        comp = get_competition(task)
    except Exception:  # noqa: BLE001 - a task that is gone must not break a report
        return None
    return percentile_for(comp, score if valid else None)


def attempt_result(record: Path, seed: int | None = None) -> dict[str, Any] | None:
    """The outcome of a finished attempt (score, medal, valid, time, turns, tokens, cost, …); None unless its
    record ends with run_finished."""
    store = RunStore(record)
    if not store.meta_path.is_file():
        return None
    events = store.read_events()
    if not events or events[-1].get("type") != "run_finished":
        return None
    meta = store.read_meta()
    try:
        grading = json.loads(store.score_path.read_text())
    except (OSError, ValueError):
        grading = next((e for e in reversed(events) if e.get("type") == "grading"), {})
    valid = bool(grading.get("valid"))
    start = next((_ts(e.get("ts")) for e in events if e.get("type") == "run_started"), None)
    end = _ts(events[-1].get("ts"))
    result = {"task": meta.get("task"), "seed": meta.get("seed", seed), "run_id": store.run_id,
              "status": meta.get("status"), "score": grading.get("score") if valid else None,
              "medal": grading.get("medal") if valid else None,
              "above_median": bool(grading.get("above_median")) if valid else False, "valid": valid,
              "submission_exists": store.submission_path.exists(), "error": grading.get("error"),
              "seconds": meta.get("elapsed_s"), "paused_s": meta.get("paused_s"),
              "wall_s": round(end - start, 3) if start and end else None,
              "turns": meta.get("turns"), "tokens": meta.get("tokens"), "cost_usd": meta.get("cost_usd"),
              "stop_kind": meta.get("stop_kind"), "stop_reason": meta.get("stop_reason"),
              "scaffold_commit": meta.get("scaffold_commit"), "resumed": meta.get("resumed", 0)}
    result["percentile"] = leaderboard_percentile(str(result["task"]), result["score"], valid)
    return result


def score_timeline(record: Path) -> list[dict[str, Any]]:
    """The attempt's scores over its wall time: every candidate's validation score, then the graded score.

    Each point: {"t": seconds since the run started, "kind": "candidate" | "graded", "score", "valid"}.
    """
    events = RunStore(record).read_events()
    start = next((_ts(e.get("ts")) for e in events if e.get("type") == "run_started"), None)
    if start is None:
        return []
    points = []
    for e in events:
        t = _ts(e.get("ts"))
        if t is None:
            continue
        if e.get("type") == "candidate" and e.get("validation_score") is not None:
            points.append({"t": t - start, "kind": "candidate", "score": e["validation_score"],
                           "valid": e.get("valid", True)})
        elif e.get("type") == "grading" and e.get("score") is not None:
            points.append({"t": t - start, "kind": "graded", "score": e["score"], "valid": e.get("valid")})
    return points
