"""CLI: `evoforge run`, `evoforge resume`, `evoforge runs list|show` with a compact live view."""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from common.errors import UserError

LOCAL_CAVEAT = (
    "unsafe-local runs commands without isolation (they can read anything your user can); "
    "auto never picks it."
)
console = Console(highlight=False)
runs_app = typer.Typer(help="List and inspect run records (runs/<run-id>/).", no_args_is_help=True)


def _one_line(text: Any, n: int = 110) -> str:
    s = " ".join(str(text or "").split())
    return escape(s if len(s) <= n else s[: n - 1] + "…")


def live_view(event: dict) -> None:
    """Print one event as a compact line or two."""
    t = event.get("type")
    if t == "run_started":
        console.print(escape(f"run {event.get('run_id')} · task {event.get('task')} · policy {event.get('policy')}"
                             f" · model {event.get('model') or '-'} · sandbox {event.get('sandbox')}"))
    elif t == "model_turn":
        u = event.get("usage") or {}
        console.print(f"[bold cyan]turn {event.get('turn')}[/] [dim]({u.get('total_tokens', 0)} tok, "
                      f"{event.get('latency_s', 0):.1f}s)[/]")
        if event.get("thinking"):
            console.print(f"  [dim italic]thinking: {_one_line(event['thinking'])}[/]")
        if event.get("content"):
            console.print(f"  {_one_line(event['content'])}")
        for c in event.get("tool_calls") or []:
            console.print(f"  [yellow]→ {c['name']}[/] {_one_line(c.get('arguments'), 90)}")
    elif t == "tool_call":
        code = event.get("exit_code")
        colour = "green" if code == 0 else "red"
        lines = [ln for ln in str(event.get("output") or "").strip().splitlines()
                 if ln.strip() and not ln.startswith("[exit code")]
        last = lines[-1] if lines else ""
        note = {"finished": " (result from before the restart)", "interrupted": " (cut by a restart, not rerun)",
                "rerun": " (read-only, rerun after a restart)"}.get(event.get("recovered"), "")
        console.print(f"  [{colour}]← {event.get('name')} exit {code}{note}[/] [dim]{event.get('duration_s', 0):.2f}s "
                      f"{_one_line(last, 80)}[/]")
    elif t == "context_compacted":
        console.print(f"[magenta]context compacted[/]: {event.get('before_tokens')} → {event.get('after_tokens')} "
                      f"tokens ({event.get('turns_summarised')} turns summarised, {event.get('method')})")
    elif t == "budget_exhausted":
        console.print(f"[red]budget exhausted[/]: {_one_line(event.get('reason'), 200)}")
    elif t == "submission":
        console.print(f"[bold]submission[/] {_one_line(event.get('source'), 200)}" + (" (auto)" if event.get("auto") else ""))
    elif t == "grading":
        console.print(f"[bold]grading[/]: valid {event.get('valid')} · score {event.get('score')} · "
                      f"medal {event.get('medal') or '-'}" + (f" · {_one_line(event['error'], 200)}" if event.get("error") else ""))
    elif t == "reflection":
        console.print(f"[blue]reflection[/] ({event.get('method')}) appended to {event.get('memory_file')}")
    elif t == "run_finished":
        console.print(f"[bold]finished[/]: {_one_line(event.get('stop_reason'), 200)} · status {event.get('status')}")
    elif t == "error":
        console.print(f"[red]error[/] in {event.get('where')}: {_one_line(event.get('error'), 200)}")


def _reap_leftover_sandboxes() -> None:
    """Remove sandbox containers whose owner process on this host is gone (runs killed earlier)."""
    from agent.sandbox.reaper import reap_orphans

    removed = reap_orphans()
    if removed:
        names = ", ".join(c.name for c in removed[:5]) + (" …" if len(removed) > 5 else "")
        print(f"removed {len(removed)} leftover sandbox container(s) of killed runs: {names}", file=sys.stderr)


def _sigterm_as_interrupt() -> None:
    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)


def run(
    task_id: str = typer.Argument(..., help="Competition id (see `evoforge tasks list`)."),
    model: str = typer.Option(None, "--model", help="Model name at the endpoint (default: EVOFORGE_MODEL or the config)."),
    policy: str = typer.Option(None, "--policy", help="llm | heuristic | replay (default: llm when an endpoint is configured, else heuristic)."),
    replay_run: str = typer.Option(None, "--replay-run", help="With --policy replay: the run whose model turns are re-issued."),
    sandbox: str = typer.Option("auto", "--sandbox", help="docker | local (bubblewrap) | unsafe-local | auto (docker, "
                                "else local). " + LOCAL_CAVEAT),
    memory_mb: int = typer.Option(None, "--memory-mb", min=64, help="Sandbox memory limit (default: scaffold policy)."),
    cpus: float = typer.Option(None, "--cpus", min=0.1, help="Sandbox CPU limit (default: scaffold policy)."),
    pids: int = typer.Option(None, "--pids", min=8, help="Sandbox process limit (default: scaffold policy)."),
    disk_mb: int = typer.Option(None, "--disk-mb", min=1, help="Workspace disk limit (default: scaffold policy)."),
    command_timeout: float = typer.Option(None, "--command-timeout", min=1.0,
                                          help="Longest one command may run, in seconds (default: scaffold policy)."),
    gpus: bool = typer.Option(None, "--gpus/--no-gpus", help="Pass NVIDIA GPUs into the sandbox (default: where present)."),
    max_turns: int = typer.Option(None, "--max-turns", min=1, help="End the run after this many model turns."),
    budget_tokens: int = typer.Option(None, "--budget-tokens", min=1, help="End the run after this many tokens."),
    budget_seconds: float = typer.Option(None, "--budget-seconds", min=0.0, help="End the run after this much wall time."),
    budget_usd: float = typer.Option(None, "--budget-usd", min=0.0, help="End the run after this much money."),
    base_url: str = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL)."),
    config: str = typer.Option(None, "--config", help="Model client config file (YAML/TOML)."),
    run_id: str = typer.Option(None, "--run-id", help="Use this run id instead of a generated one."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the run id and the result."),
) -> None:
    """Work one competition end to end: tools in a sandbox, graded submission, reflection into memory.

    unsafe-local runs commands without isolation: they can read anything your user can.
    """
    from agent.graph.budgets import Budgets
    from agent.graph.runner import start_run

    _sigterm_as_interrupt()
    _reap_leftover_sandboxes()
    budgets = Budgets(max_turns, budget_tokens, budget_seconds, budget_usd)

    def created(rid: str) -> None:
        print(f"run id: {rid}", flush=True)

    store = start_run(task_id, policy=policy, model=model, sandbox=sandbox, budgets=budgets, base_url=base_url,
                      run_id=run_id, replay_run=replay_run, config_file=config,
                      sink=None if quiet else live_view, on_created=created,
                      limits={k: v for k, v in {"memory_mb": memory_mb, "cpus": cpus, "pids": pids, "disk_mb": disk_mb,
                                                "command_timeout_s": command_timeout, "gpus": gpus}.items()
                              if v is not None})
    _print_result(store)


def resume(
    run_id: str = typer.Argument(..., help="The run to continue (see `evoforge runs list`)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the result."),
) -> None:
    """Continue a run that was stopped or killed, from its last completed step.

    The run keeps its sandbox kind and limits; unsafe-local runs commands without isolation.
    """
    from agent.graph.runner import resume_run

    _sigterm_as_interrupt()
    _reap_leftover_sandboxes()
    print(f"run id: {run_id}", flush=True)
    store = resume_run(run_id, sink=None if quiet else live_view)
    _print_result(store)


def _print_result(store) -> None:
    meta = store.read_meta()
    console.print(escape(f"status {meta.get('status')} · stop {meta.get('stop_reason')} · score {meta.get('score')} · "
                         f"medal {meta.get('medal') or '-'} · turns {meta.get('turns')} · record {store.root}"))


def _pid_alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
        return True
    except (OSError, TypeError, ValueError):
        return False


def effective_status(meta: dict) -> str:
    """meta's status, with a 'running' run whose process is gone shown as 'killed'."""
    status = meta.get("status", "?")
    if status == "running" and not _pid_alive(meta.get("pid")):
        return "killed"
    return status


@runs_app.command("list")
def runs_list(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List runs, newest first: id, task, model, status, turns, score, medal, started."""
    from agent.runstore import list_runs

    metas = list_runs()
    rows = [{"run_id": m.get("run_id"), "task": m.get("task"), "model": m.get("model") or m.get("policy"),
             "policy": m.get("policy"), "status": effective_status(m), "turns": m.get("turns"),
             "score": m.get("score"), "medal": m.get("medal"), "started": m.get("created")} for m in metas]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(rows)} runs")
    for col in ("id", "task", "model", "status", "turns", "score", "medal", "started"):
        table.add_column(col)
    for r in rows:
        score = f"{r['score']:.5g}" if isinstance(r["score"], (int, float)) else "-"
        table.add_row(str(r["run_id"]), str(r["task"]), str(r["model"]), r["status"], str(r["turns"] or 0), score,
                      str(r["medal"] or "-"), str(r["started"] or "")[:19])
    console.print(table)


@runs_app.command("show")
def runs_show(
    run_id: str = typer.Argument(..., help="The run to show."),
    events: bool = typer.Option(False, "--events", help="Also replay every event in the live view's format."),
) -> None:
    """Show a run's meta, event counts, grading and reflection."""
    from agent.runstore import RunStore

    store = RunStore.open(run_id)
    meta = store.read_meta()
    evs = store.read_events()
    counts: dict[str, int] = {}
    for e in evs:
        counts[e.get("type", "?")] = counts.get(e.get("type", "?"), 0) + 1
    for key in ("run_id", "task", "policy", "model", "sandbox", "scaffold_commit", "created", "updated",
                "stop_reason", "score", "medal", "turns", "tokens", "cost_usd", "budgets"):
        console.print(f"[bold]{key}[/]: {escape(str(meta.get(key)))}")
    console.print(f"[bold]status[/]: {effective_status(meta)}")
    console.print(f"[bold]events[/]: {len(evs)} ({', '.join(f'{k} {v}' for k, v in counts.items())})")
    if store.score_path.exists():
        console.print(f"[bold]score.json[/]: {escape(store.score_path.read_text().strip())}")
    for e in evs:
        if events:
            live_view(e)
        elif e.get("type") == "reflection":
            console.print(f"[bold]reflection[/]:\n{escape(str(e.get('text')))}")


def register(app: typer.Typer) -> None:
    """Add `run`, `resume` and the `runs` group to the root app."""
    app.command("run")(run)
    app.command("resume")(resume)
    app.add_typer(runs_app, name="runs")


__all__ = ["register", "UserError"]
