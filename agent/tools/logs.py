"""read_training_log: the tail of a log, lines matching a pattern, a per-key summary of a metrics JSONL (over a
window of steps), or the anomalies found in it (agent.tools.anomalies); of a file or of a training job's run."""

from __future__ import annotations

import math
import re

from agent.tools import anomalies, confine
from agent.tools.base import ToolContext, ToolError, ToolResult, require

MAX_LOG_BYTES = 50_000_000


def summarize_jsonl(lines: list[str]) -> str:
    """Per numeric key: count, first, last, min, max, mean and NaN count."""
    stats: dict[str, dict] = {}
    records, bad = anomalies.parse_lines(lines)
    for rec in records:
        for k, v in rec.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) and v is not None and v != "NaN":
                continue
            s = stats.setdefault(k, {"n": 0, "nan": 0, "first": None, "last": None, "min": None, "max": None, "sum": 0.0})
            x = float("nan") if v is None or v == "NaN" else float(v)
            if math.isnan(x) or math.isinf(x):
                s["nan"] += 1
                continue
            s["n"] += 1
            s["first"] = x if s["first"] is None else s["first"]
            s["last"] = x
            s["min"] = x if s["min"] is None else min(s["min"], x)
            s["max"] = x if s["max"] is None else max(s["max"], x)
            s["sum"] += x
    if not stats:
        return "no numeric metrics found" + (f" ({bad} unparsable lines)" if bad else "")
    out = [f"{'key':<24}{'n':>7}{'first':>13}{'last':>13}{'min':>13}{'max':>13}{'mean':>13}{'nan':>6}"]
    for k, s in stats.items():
        def g(x):
            return f"{x:>13.6g}" if x is not None else f"{'-':>13}"
        mean = s["sum"] / s["n"] if s["n"] else None
        out.append(f"{k[:23]:<24}{s['n']:>7}{g(s['first'])}{g(s['last'])}{g(s['min'])}{g(s['max'])}{g(mean)}{s['nan']:>6}")
    if bad:
        out.append(f"({bad} unparsable lines skipped)")
    return "\n".join(out)


def _source(ctx: ToolContext, args: dict) -> str:
    """The file to read: `path`, or the metrics (mode summary/anomalies) or output log of job `job_id`."""
    job_id = require(args, "job_id", str, "")
    if job_id:
        from agent.tools.training import job_files

        which = "log" if args.get("mode") in ("tail", "grep") else "metrics"
        return job_files(ctx, job_id, which)
    if "path" not in args:
        raise ToolError("give path (a log or metrics file) or job_id (a training job)")
    return require(args, "path")


def read_training_log(ctx: ToolContext, args: dict) -> ToolResult:
    """mode=tail (last N lines), grep (pattern), summary (metrics JSONL, optionally steps start_step..end_step and
    some keys) or anomalies (each with the step where it began)."""
    given = _source(ctx, args)
    try:
        text = confine.read_text(ctx, given, MAX_LOG_BYTES)
    except FileNotFoundError:
        raise ToolError(f"{given}: no such file (yet)") from None
    mode = require(args, "mode", str, "summary" if given.endswith(".jsonl") else "tail")
    lines = text.splitlines()
    if mode == "anomalies":
        found = anomalies.detect(anomalies.parse_records(text))
        n = len(anomalies.steps(anomalies.parse_records(text)))
        if not found:
            return ToolResult(f"no anomalies in {n} steps")
        return ToolResult(f"{len(found)} anomalies in {n} steps:\n" + "\n".join(a.line() for a in found),
                          extra={"anomalies": [{"kind": a.kind, "step": a.step} for a in found]})
    if mode == "summary" and any(k in args for k in ("start_step", "end_step", "keys")):
        keys = require(args, "keys", list, [])
        return ToolResult(anomalies.window_summary(anomalies.parse_records(text), [str(k) for k in keys] or None,
                                                   require(args, "start_step", int, -1) if "start_step" in args else None,
                                                   require(args, "end_step", int, -1) if "end_step" in args else None))
    if mode == "tail":
        n = require(args, "lines", int, 50)
        return ToolResult("\n".join(lines[-max(1, n):]) or "(empty log)")
    if mode == "grep":
        pattern = require(args, "pattern")
        try:
            rx = re.compile(pattern)
        except re.error as exc:
            raise ToolError(f"invalid regular expression: {exc}") from exc
        hits = [f"{i}:{ln}" for i, ln in enumerate(lines, 1) if rx.search(ln)]
        return ToolResult("\n".join(hits[-500:]) or "no matches", exit_code=0 if hits else 1)
    if mode == "summary":
        return ToolResult(f"{len(lines)} lines\n" + summarize_jsonl(lines))
    raise ToolError(f"mode must be one of tail, grep, summary, anomalies (got {mode!r})")
