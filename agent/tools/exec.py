"""Tools that run commands in the sandbox: bash and run_python."""

from __future__ import annotations

import shlex

from agent.sandbox.base import STOPPED
from agent.tools import confine
from agent.tools.base import ToolContext, ToolError, ToolResult, require


def _run(ctx: ToolContext, command: str, timeout: float) -> ToolResult:
    r = ctx.sandbox.exec(command, timeout=timeout)
    note = ""
    if getattr(r, "timed_out", False):
        note = f"\n[command timed out after {timeout:g}s and was killed]"
    elif getattr(r, "killed_reason", None) == STOPPED:
        note = "\n[command stopped: the attempt is being stopped]"
    elif getattr(r, "killed_reason", None):
        note = f"\n[command killed: {r.killed_reason}]"
    return ToolResult(
        (r.output or "") + note + f"\n[exit code {r.exit_code}]",
        exit_code=r.exit_code,
        extra={"timed_out": bool(getattr(r, "timed_out", False)), "killed_reason": getattr(r, "killed_reason", None)},
    )


def bash(ctx: ToolContext, args: dict, timeout: float = 600.0) -> ToolResult:
    """Run a bash command in the workspace."""
    command = require(args, "command")
    t = require(args, "timeout_s", float, timeout)
    return _run(ctx, command, min(t, timeout))


def run_python(ctx: ToolContext, args: dict, timeout: float = 1800.0) -> ToolResult:
    """Run a Python file from the workspace with optional arguments."""
    given = require(args, "path")
    try:
        target, _ = confine.file_stat(ctx, given)
    except FileNotFoundError:
        raise ToolError(f"{given}: no such file") from None
    extra = require(args, "args", list, [])
    t = require(args, "timeout_s", float, timeout)
    cmd = "python " + " ".join(shlex.quote(x) for x in [target.view, *map(str, extra)])
    return _run(ctx, cmd, min(t, timeout))
