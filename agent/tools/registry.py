"""The tool table: name -> function + JSON schema; builds the model's tool list and dispatches calls."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.tools import exec as exec_tools
from agent.tools import fs, logs, memory_tools, submission, training
from agent.tools.base import ToolContext, ToolError, ToolResult, truncate


@dataclass(frozen=True)
class Tool:
    """A tool's function, the JSON schema of its arguments, and whether a call cut short by a restart may simply
    be run again (it only reads, or running it twice does what running it once does)."""

    fn: Callable[..., ToolResult]
    parameters: dict
    takes_timeout: bool = False  # runs in the sandbox with a timeout (else on the host, abandoned at its timeout)
    read_only: bool = False      # no effects
    idempotent: bool = False     # effects, but the same ones however often it runs (write a given content)


def _obj(required: list[str], **props: dict) -> dict:
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741

TOOLS: dict[str, Tool] = {
    "bash": Tool(exec_tools.bash, _obj(["command"], command=S, timeout_s={"type": "number"}), True),
    "run_python": Tool(
        exec_tools.run_python,
        _obj(["path"], path=S, args={"type": "array", "items": S}, timeout_s={"type": "number"}),
        True,
    ),
    "read_file": Tool(fs.read_file, _obj(["path"], path=S, start_line=I, end_line=I), read_only=True),
    "write_file": Tool(fs.write_file, _obj(["path", "content"], path=S, content=S), idempotent=True),
    "edit_file": Tool(fs.edit_file, _obj(["path", "old_string", "new_string"], path=S, old_string=S, new_string=S)),
    "list_files": Tool(fs.list_files, _obj([], path=S, max_depth=I), read_only=True),
    "search_files": Tool(fs.search_files, _obj(["pattern"], pattern=S, path=S, glob=S), read_only=True),
    "validate_submission": Tool(submission.validate_submission, _obj([], path=S), read_only=True),
    "submit": Tool(submission.submit, _obj([], path=S, validation_score={"type": "number"}, note=S), idempotent=True),
    "finish": Tool(submission.finish, _obj([], reason=S), idempotent=True),
    "read_training_log": Tool(
        logs.read_training_log,
        _obj([], path=S, job_id=S, mode={"type": "string", "enum": ["tail", "grep", "summary", "anomalies"]},
             lines=I, pattern=S, start_step=I, end_step=I, keys={"type": "array", "items": S}),
        read_only=True,
    ),
    "launch_training": Tool(
        training.launch_training,
        _obj(["config"], config=S, overrides={"type": "array", "items": S}, name=S, max_minutes={"type": "number"},
             resume={"type": "boolean"}),
    ),
    "training_status": Tool(training.training_status, _obj([], job_id=S, wait_s={"type": "number"}), read_only=True),
    "stop_training": Tool(training.stop_training, _obj(["job_id"], job_id=S, grace_s={"type": "number"})),
    "read_memory": Tool(memory_tools.read_memory, _obj([], max_chars=I), read_only=True),
    "append_memory": Tool(memory_tools.append_memory, _obj(["note"], note=S, title=S)),
}


def tool_schemas(specs: dict) -> list[dict]:
    """OpenAI `tools` list for the enabled tools (specs: name -> scaffold ToolSpec)."""
    return [
        {"type": "function", "function": {"name": n, "description": s.description, "parameters": TOOLS[n].parameters}}
        for n, s in specs.items()
    ]


def rerun_safe(name: str) -> bool:
    """Whether a call of the tool cut short by a restart may be run again (it only reads, or is idempotent)."""
    tool = TOOLS.get(name)
    return bool(tool and (tool.read_only or tool.idempotent))


BUDGET_NOTE = "\n[stopped there: the attempt's time budget ran out]"


def _on_host(fn: Callable[[], ToolResult], name: str, timeout: float) -> ToolResult:
    """Run a host-side tool; past its timeout the call is abandoned (its thread is left to end by itself) and
    the model reads that it did not finish."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["res"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["exc"] = exc

    worker = threading.Thread(target=target, name=f"tool-{name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return ToolResult(f"error: {name} did not finish within its limit of {timeout:g}s and was abandoned",
                          exit_code=124, extra={"timed_out": True})
    if "exc" in box:
        raise box["exc"]
    return box["res"]


def run_tool(ctx: ToolContext, specs: dict, name: str, arguments: Any, parse_error: str | None = None,
             time_left_s: float | None = None) -> dict:
    """Run one tool call and return its record: output (truncated), exit_code, duration, ends_run, extra.

    A command's timeout is the tool's, capped by `time_left_s` (what is left of the attempt's time budget);
    a host-side tool is abandoned at its own timeout. Every failure (unknown tool, malformed JSON, bad
    arguments, sandbox refusal, timeout) becomes an observation with a non-zero exit code; nothing here raises.
    """
    t0 = time.monotonic()
    args: Any = arguments
    if isinstance(arguments, str):
        try:
            args = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            parse_error = parse_error or f"arguments are not valid JSON ({exc.msg} at char {exc.pos})"
    spec = specs.get(name)
    if spec is None and not (parse_error and not name):   # a call with no name at all: its parse error says why
        out = f"error: unknown tool {name!r}; available tools: {', '.join(specs)}"
        res = ToolResult(out, exit_code=127)
    elif parse_error:
        res = ToolResult(f"error: {parse_error}; resend the call with a JSON object of arguments", exit_code=2)
    elif not isinstance(args, dict):
        res = ToolResult("error: arguments must be a JSON object", exit_code=2)
    else:
        tool = TOOLS[name]
        capped = time_left_s is not None and time_left_s < spec.timeout_s
        try:
            if tool.takes_timeout:
                res = tool.fn(ctx, args, timeout=max(0.1, time_left_s) if capped else spec.timeout_s)
                if capped and res.extra.get("timed_out"):
                    res.output += BUDGET_NOTE
            else:
                res = _on_host(lambda: tool.fn(ctx, args), name, spec.timeout_s)
        except ToolError as exc:
            res = ToolResult(f"error: {exc}", exit_code=1)
        except Exception as exc:  # noqa: BLE001 - a sandbox refusal or crash is an observation too
            res = ToolResult(f"error: {type(exc).__name__}: {exc}", exit_code=1)
    limit = spec.output_limit_bytes if spec else 20000
    return {
        "output": truncate(res.output, limit),
        "exit_code": res.exit_code,
        "duration_s": round(time.monotonic() - t0, 4),
        "ends_run": res.ends_run,
        "extra": res.extra,
    }
