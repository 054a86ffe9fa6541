"""Candidate submissions of one attempt: each `submit` registers one, the best by the agent's own validation
score is graded at the end.

A candidate is a copy of a regular workspace file (agent.tools.confine), kept as
`runs/<id>/candidates/<n>.csv`, with what the agent declared: its validation score on the competition's
metric, and a note. It is checked against the submission format when registered (`valid`, `error`).
The graded one is the best *valid* candidate by that declared score, in the metric's direction
(`higher_is_better`, public in the competition's config); the private score never takes part. Among
equal scores, and among candidates without a score (ranked below every scored one), the later wins.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any


def file_of(candidates_dir: Path, n: int) -> Path:
    """The file of candidate n."""
    return Path(candidates_dir) / f"{n}.csv"


def register(candidates_dir: Path, found: dict[str, Any], existing: list[dict]) -> dict[str, Any]:
    """Number the copy `submit` left at found["pending"] (n = one more than the candidates so far) and return
    the candidate's record."""
    n = len(existing) + 1
    try:
        os.replace(found["pending"], file_of(candidates_dir, n))
    except FileNotFoundError:           # a step redone after a kill: numbered before it, or gone
        if not file_of(candidates_dir, n).is_file():
            found = {**found, "valid": False, "error": "the candidate's file was lost"}
    return {"n": n, **{k: found.get(k) for k in ("validation_score", "valid", "error", "source", "note")},
            "auto": bool(found.get("auto", False))}


def _key(c: dict[str, Any], higher_is_better: bool) -> tuple[int, float, int]:
    score = c.get("validation_score")
    if not isinstance(score, (int, float)) or isinstance(score, bool) or not math.isfinite(score):
        return (0, 0.0, c["n"])
    return (1, float(score) if higher_is_better else -float(score), c["n"])


def best(candidates: list[dict[str, Any]], higher_is_better: bool) -> dict[str, Any] | None:
    """The valid candidate with the best declared validation score (None when none is valid)."""
    valid = [c for c in candidates if c.get("valid")]
    return max(valid, key=lambda c: _key(c, higher_is_better)) if valid else None


def summary(candidates: list[dict[str, Any]], higher_is_better: bool, limit: int = 8) -> str:
    """A few lines on the candidates so far (the latest ones and the best) for the model's prompts."""
    if not candidates:
        return "none yet"
    top = best(candidates, higher_is_better)
    shown = candidates[-limit:]
    if top is not None and top not in shown:
        shown = [top, *shown[1:]]
    lines = []
    for c in shown:
        score = c.get("validation_score")
        what = "valid" if c.get("valid") else f"INVALID ({str(c.get('error') or '')[:80]})"
        mark = "  <- best" if c is top else ""
        note = f" — {str(c['note'])[:60]}" if c.get("note") else ""
        lines.append(f"#{c['n']}: validation score {score if score is not None else 'not given'}, {what}{note}{mark}")
    more = len(candidates) - len(shown)
    return ("\n".join(lines) + (f"\n(and {more} earlier)" if more > 0 else ""))
