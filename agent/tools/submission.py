"""Submission tools: validate against the competition's format, and submit (which ends the attempt).

The file is first copied out of the workspace by agent.tools.confine (a regular, single-link file
only), and the validator reads that copy, never the workspace path itself.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from agent.tools import confine
from agent.tools.base import ToolContext, ToolError, ToolResult, require


def _copy(ctx: ToolContext, args: dict, dest: Path) -> confine.Target:
    given = require(args, "path", str, getattr(ctx.task, "submission_name", "submission.csv"))
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


def submit(ctx: ToolContext, args: dict) -> ToolResult:
    """Copy the submission to the run record and end the loop."""
    if ctx.submission_dest is None:
        with tempfile.TemporaryDirectory(prefix="evoforge-submit-") as tmp:
            return _submitted(ctx, args, Path(tmp) / "submission.csv")
    return _submitted(ctx, args, Path(ctx.submission_dest))


def _submitted(ctx: ToolContext, args: dict, dest: Path) -> ToolResult:
    t = _copy(ctx, args, dest)
    problem = ctx.task.validate(dest) if ctx.task is not None else None
    note = f" (warning: {problem})" if problem else ""
    return ToolResult(
        f"submitted {t.view}{note}; it will be graded after the attempt ends",
        ends_run=True,
        extra={"submitted_path": str(t.host), "valid": problem is None, "error": problem},
    )
