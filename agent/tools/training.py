"""The training-job tools: launch_training, training_status, stop_training (read_training_log is in logs.py).

A job is a run of the bundled trainer (`python -m trainer CONFIG --set ... --run-dir runs/<name>`) started in the
sandbox as a long-lived job (agent.sandbox.jobs): it keeps running across model turns, is re-attached when the
attempt resumes and killed when the attempt ends. Its run folder (config.yaml, metrics.jsonl, train.log, tb/,
ckpt/) and its output log (runs/<name>.log) are in the workspace; the tools read them on the host only through
agent.tools.confine, like every other host-side file access.
"""

from __future__ import annotations

import re
import time
from typing import Any

from agent.sandbox.base import SandboxError
from agent.tools import anomalies, confine
from agent.tools.base import ToolContext, ToolError, ToolResult, require

RUNS = "runs"                                   # the jobs' run folders, under the workspace
MAX_METRICS_BYTES = 50_000_000
_OVERRIDE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*=[^\s].*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_RECIPE = re.compile(r"^[a-z0-9_]+$")


def jobs_of(ctx: ToolContext) -> Any:
    """The sandbox's jobs (agent.sandbox.jobs.Jobs); ToolError where this sandbox kind has none."""
    jobs = getattr(ctx.sandbox, "jobs", None)
    if jobs is None:
        kind = getattr(ctx.sandbox, "kind", "this")
        raise ToolError(f"the {kind} sandbox cannot run training jobs; use the local or docker sandbox")
    return jobs


def _job(ctx: ToolContext, job_id: str) -> Any:
    try:
        return jobs_of(ctx).get(job_id)
    except SandboxError as exc:
        raise ToolError(str(exc)) from None


def _config_arg(ctx: ToolContext, config: str) -> str:
    """A bundled recipe name as it is, or a YAML file of the workspace as the sandbox names it (checked to exist)."""
    if _RECIPE.match(config):
        return config
    try:
        target, _ = confine.file_stat(ctx, config)
    except FileNotFoundError:
        raise ToolError(f"{config}: no such config file (give a YAML file in the workspace or a bundled recipe "
                        "such as tiny_cpu)") from None
    return target.view


def _overrides(args: dict) -> list[str]:
    sets = require(args, "overrides", list, [])
    for s in sets:
        if not isinstance(s, str) or not _OVERRIDE.match(s):
            raise ToolError(f"override {s!r} must look like section.field=value (e.g. rl.lr=1e-4)")
    return sets


def launch_training(ctx: ToolContext, args: dict) -> ToolResult:
    """Start the bundled trainer as a job: config (recipe or workspace YAML) + overrides -> job id."""
    jobs = jobs_of(ctx)
    config = _config_arg(ctx, require(args, "config"))
    sets = _overrides(args)
    name = require(args, "name", str, f"train-{len(jobs.records()) + 1}")
    if not _NAME.match(name):
        raise ToolError(f"name {name!r}: use up to 64 letters, digits, '.', '-' and '_'")
    resume = require(args, "resume", bool, False)
    run_dir = f"{ctx.workspace_view.rstrip('/')}/{RUNS}/{name}"
    exists = confine.is_dir(ctx, run_dir)
    if exists and not resume:
        raise ToolError(f"{RUNS}/{name} exists already: pick another name, or resume=true to continue it")
    if resume and not exists:
        raise ToolError(f"{RUNS}/{name} does not exist: nothing to resume")
    cap_s = float(ctx.sandbox.limits.timeout_s)
    minutes = require(args, "max_minutes", float, cap_s / 60)
    if minutes <= 0:
        raise ToolError("max_minutes must be positive")
    max_s = min(minutes * 60, cap_s)
    argv = ["python", "-m", "trainer", config, *[x for s in sets for x in ("--set", s)], "--run-dir", run_dir]
    argv += ["--resume"] if resume else []
    log = f"{run_dir}.log"
    try:
        rec = jobs.start(argv, log, max_s, meta={"name": name, "run_dir": run_dir, "config": config,
                                                 "overrides": sets})
    except SandboxError as exc:
        raise ToolError(str(exc)) from None
    return ToolResult(
        f"started {rec.id}: {' '.join(argv)}\nrun folder {run_dir} (metrics.jsonl, train.log, tb/, ckpt/), output "
        f"{log}; stopped after {max_s / 60:.3g} min at most.\nWatch it with training_status / read_training_log "
        f"job_id={rec.id} (mode=anomalies); stop it with stop_training.",
        extra={"job_id": rec.id, "run_dir": run_dir})


def _metrics(ctx: ToolContext, rec: Any) -> list[dict]:
    try:
        text = confine.read_text(ctx, f"{rec.meta.get('run_dir')}/metrics.jsonl", MAX_METRICS_BYTES)
    except FileNotFoundError:
        return []
    return anomalies.parse_records(text)


def _log_tail(ctx: ToolContext, rec: Any, n: int) -> list[str]:
    try:
        return confine.read_text(ctx, rec.log, MAX_METRICS_BYTES).splitlines()[-n:]
    except FileNotFoundError:
        return []


def _fmt(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def describe_job(ctx: ToolContext, rec: Any) -> str:
    """Several lines: state, progress, last metrics, evaluations, anomalies, and the error of a failed job."""
    now = time.time()
    age = (rec.ended or {}).get("at", now) - rec.started
    head = f"{rec.id} ({rec.meta.get('name', '')}): {rec.state}"
    if rec.running:
        head += f", {age:.0f}s so far, stopped in {max(0.0, rec.deadline - now):.0f}s at the latest"
    else:
        head += f" after {age:.0f}s, exit code {rec.exit_code}" + (f" ({rec.ended['why']})" if rec.ended.get("why")
                                                                    else "")
    lines = [head]
    recs = _metrics(ctx, rec)
    steps = anomalies.steps(recs)
    if steps:
        last = steps[-1]
        keys = ["loss", "reward_mean", "kl_rollout", "entropy", "grad_norm", "tokens_per_s"]
        lines.append(f"step {last['step']} [{last.get('phase')}] " + " ".join(
            f"{k}={_fmt(last[k])}" for k in keys if k in last))
    else:
        lines.append("no metrics yet" + (" (the trainer is starting)" if rec.running else ""))
    for e in recs:
        if e.get("event") == "eval":
            lines.append(f"eval after {e.get('after')}: greedy_accuracy={_fmt(e.get('greedy_accuracy'))}")
    found = anomalies.detect(recs)
    if found:
        lines.append(f"{len(found)} anomal{'y' if len(found) == 1 else 'ies'}: "
                     + "; ".join(f"{a.kind}@{a.step}" for a in found) + " (read_training_log mode=anomalies)")
    if not rec.running and rec.exit_code not in (0, None) or rec.state == "lost":
        tail = _log_tail(ctx, rec, 6)
        lines += ["last lines of the output:"] + [f"  {ln}" for ln in tail]
    return "\n".join(lines)


MAX_WAIT_S = 600.0


def training_status(ctx: ToolContext, args: dict) -> ToolResult:
    """One job in detail (job_id), or every job of the attempt; wait_s: first wait up to that long for the job to
    end (polling its state, so a long run is watched without spending a turn every few seconds)."""
    job_id = require(args, "job_id", str, "")
    wait_s = min(max(0.0, require(args, "wait_s", float, 0.0)), MAX_WAIT_S)
    if wait_s and not job_id:
        raise ToolError("wait_s needs a job_id")
    if job_id:
        rec = _job(ctx, job_id)
        end = time.monotonic() + wait_s
        while rec.running and time.monotonic() < end:
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
            rec = _job(ctx, job_id)
        return ToolResult(describe_job(ctx, rec), extra={"state": rec.state, "exit_code": rec.exit_code})
    recs = jobs_of(ctx).all()
    if not recs:
        return ToolResult("no training jobs yet: start one with launch_training")
    return ToolResult("\n\n".join(describe_job(ctx, r) for r in recs))


def stop_training(ctx: ToolContext, args: dict) -> ToolResult:
    """SIGTERM (the trainer finishes its step and writes a checkpoint), then kill what is left after a grace."""
    rec = _job(ctx, require(args, "job_id"))
    if not rec.running:
        return ToolResult(f"{rec.id} is not running ({rec.state}, exit code {rec.exit_code})")
    rec = jobs_of(ctx).stop(rec.id, grace_s=float(require(args, "grace_s", float, 30.0)))
    return ToolResult(f"{rec.id}: {rec.state} (exit code {rec.exit_code}); its checkpoint, if one was written, is in "
                      f"{rec.meta.get('run_dir')}/ckpt (launch_training resume=true name={rec.meta.get('name')} "
                      "continues it)", extra={"state": rec.state})


def job_files(ctx: ToolContext, job_id: str, which: str) -> str:
    """The path (as the sandbox names it) of a job's metrics file or output log."""
    rec = _job(ctx, job_id)
    return f"{rec.meta.get('run_dir')}/metrics.jsonl" if which == "metrics" else rec.log
