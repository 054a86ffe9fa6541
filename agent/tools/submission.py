"""Submission tools: validate a file against the competition's format, register it as a candidate (`submit`),
and end the attempt (`finish`).

A file is first copied out of the workspace by agent.tools.confine (a regular, single-link file only),
and the validator reads that copy, never the workspace path itself. `submit` does not end the attempt:
it keeps the copy as a candidate with the agent's own validation score (agent.graph.candidates), and at
the end the best candidate by that score is graded.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from agent.sandbox.quota import MIB, disk_usage
from agent.tools import confine
from agent.tools.base import ToolContext, ToolError, ToolResult, require

PENDING = ".pending.csv"     # submit's copy, numbered by the tools step when it registers the candidate


def _given(ctx: ToolContext, args: dict) -> str:
    """The file the agent names, by default the task's submission file."""
    return require(args, "path", str, getattr(ctx.task, "submission_name", "submission.csv"))


def _copy(ctx: ToolContext, args: dict, dest: Path) -> confine.Target:
    given = _given(ctx, args)
    try:
        return confine.copy_out(ctx, given, dest)
    except FileNotFoundError:
        view = confine.locate(ctx, given).view
        raise ToolError(f"{view}: no such file; write the submission there first") from None


def validate_submission(ctx: ToolContext, args: dict) -> ToolResult:
    """Check the submission file's format; 'valid' or the one thing to fix."""
    with tempfile.TemporaryDirectory(prefix="evoforge-validate-") as tmp:
        copy = Path(tmp) / "submission.csv"
        t = _copy(ctx, args, copy)
        if ctx.task is None:
            return ToolResult("no validator for this task; the file exists")
        problem = ctx.task.validate(copy)
    if problem:
        return ToolResult(f"invalid: {problem}", exit_code=1)
    return ToolResult(f"valid: {t.view} matches the submission format")


def _score(args: dict) -> float | None:
    score = require(args, "validation_score", float, None)
    if score is not None and not math.isfinite(score):
        raise ToolError("validation_score must be a finite number (your validation result on the competition's "
                        "metric), or left out")
    return score


def _room(ctx: ToolContext, folder: Path, given: str) -> None:
    """ToolError when one more candidate would take the attempt's candidates past its disk limit."""
    limit = getattr(getattr(ctx.sandbox, "limits", None), "disk_mb", 0) or 0
    if not limit:
        return
    _, st = confine.file_stat(ctx, given)
    used = disk_usage(folder)
    if used + st.st_size > limit * MIB:
        raise ToolError(f"not registered: the candidates kept so far take {used / MIB:.0f} MB and this file "
                        f"{st.st_size / MIB:.0f} MB, past the attempt's disk limit of {limit} MB")


def submit(ctx: ToolContext, args: dict) -> ToolResult:
    """Register the file as a candidate with the agent's validation score; the attempt goes on."""
    score = _score(args)
    note = require(args, "note", str, "")[:300]
    folder = ctx.candidates_dir
    if folder is None:                                 # tools used without a run record: nothing is kept
        with tempfile.TemporaryDirectory(prefix="evoforge-submit-") as tmp:
            return _registered(ctx, args, Path(tmp), score, note)
    folder.mkdir(parents=True, exist_ok=True)
    _room(ctx, folder, _given(ctx, args))
    return _registered(ctx, args, folder, score, note)


def _registered(ctx: ToolContext, args: dict, folder: Path, score: float | None, note: str) -> ToolResult:
    dest = folder / PENDING
    t = _copy(ctx, args, dest)
    problem = ctx.task.validate(dest) if ctx.task is not None else None
    what = f"invalid: {problem}; it will not be graded while a valid candidate exists" if problem else "valid"
    return ToolResult(
        f"candidate registered: {t.view} ({what}); validation score "
        f"{score if score is not None else 'not given (it ranks below every candidate with a score)'}",
        exit_code=1 if problem else 0,
        extra={"candidate": {"pending": str(dest), "source": str(t.host), "validation_score": score,
                             "valid": problem is None, "error": problem, "note": note}},
    )


def finish(ctx: ToolContext, args: dict) -> ToolResult:
    """End the attempt now: the best candidate by validation score is graded."""
    reason = require(args, "reason", str, "")[:300]
    return ToolResult("finishing: the attempt ends after this turn and its best candidate by validation score is "
                      "graded", ends_run=True, extra={"reason": reason})
