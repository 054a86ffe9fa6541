"""CLI: `evoforge run`, `evoforge resume`, `evoforge runs list|show|rm`."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Callable
from typing import Any

import typer
from rich.markup import escape

from agent.cli_output import EXIT_CODES_HELP, Column, ExitCode, err, out, print_json, print_table
from agent.cli_view import LiveView, format_event
from common import paths
from common.errors import UserError

LOCAL_CAVEAT = (
    "unsafe-local runs commands without isolation (they can read anything your user can); "
    "auto never picks it."
)
runs_app = typer.Typer(help="List, inspect and remove run records (runs/<run-id>/), training runs included.",
                       no_args_is_help=True, rich_markup_mode=None)


def complete_run_id(incomplete: str) -> list[str]:
    """Shell completion: the ids of runs in the runs folder that start with what was typed."""
    base = paths.runs_dir()
    try:
        return sorted(d.name for d in base.iterdir() if d.name.startswith(incomplete) and d.is_dir())
    except OSError:
        return []


def _reap_leftover_sandboxes() -> None:
    """Remove sandbox containers whose owner process on this host is gone (runs killed earlier)."""
    from agent.sandbox.reaper import reap_orphans

    removed = reap_orphans()
    if removed:
        names = ", ".join(c.name for c in removed[:5]) + (" …" if len(removed) > 5 else "")
        err.print(escape(f"removed {len(removed)} leftover sandbox container(s) of killed runs: {names}"))


def _sigterm_as_interrupt() -> Any:
    """SIGTERM stops a run as Ctrl-C does (resumable); returns the handler it replaced."""
    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt
    return signal.signal(signal.SIGTERM, handler)


def result_of(store: Any) -> dict[str, Any]:
    """A run's outcome as `run --json` prints it, with the exit status it gives."""
    meta = store.read_meta()
    if meta.get("status") == "failed":
        code = ExitCode.RUN_FAILED
    elif meta.get("valid"):
        code = ExitCode.OK
    else:
        code = ExitCode.NO_VALID_SUBMISSION
    keys = ("run_id", "task", "seed", "policy", "model", "sandbox", "status", "stop_kind", "stop_reason", "valid", "score",
            "medal", "turns", "tokens", "cost_usd", "elapsed_s", "paused_s")
    return {**{k: meta.get(k) for k in keys}, "record": str(store.root), "exit_code": int(code)}


def _drive(start: Callable[[Any], Any], run_id: Callable[[], str | None], quiet: bool, as_json: bool) -> None:
    """Run `start(sink)` with the live view, then print the result and exit with the status it calls for."""
    from agent.llm.types import LLMError

    view = None if quiet or as_json else LiveView(out)
    before = _sigterm_as_interrupt()
    try:
        store = start(view)
    except KeyboardInterrupt:
        rid = run_id()
        err.print(f"interrupted: run {rid} is saved; continue it with: evoforge resume {rid}" if rid else
                  "interrupted before the run was recorded; nothing to resume")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except (OSError, sqlite3.Error) as exc:   # a full or read-only disk under a recorded run
        rid = run_id()
        why = getattr(exc, "strerror", None) or str(exc)
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        hint = f"; fix it, then continue with: evoforge resume {rid}" if rid else ""
        err.print(escape(f"error: {why}{where}{hint}"))
        raise typer.Exit(ExitCode.USAGE) from None
    except LLMError as exc:                   # the endpoint refused before the run was recorded
        err.print(escape(f"error: {exc}"))
        raise typer.Exit(ExitCode.RUN_FAILED) from None
    finally:
        signal.signal(signal.SIGTERM, before)
        if view is not None:
            view.close()
    result = result_of(store)
    if as_json:
        print_json(result)
    else:
        out.print(escape(f"status {result['status']} · stop {result['stop_reason']} · score {result['score']} · "
                         f"medal {result['medal'] or '-'} · turns {result['turns']} · record {store.root}"))
    raise typer.Exit(result["exit_code"])


def run(
    task_id: str = typer.Argument(..., metavar="TASK", help="Competition id (see `evoforge tasks list`)."),
    policy: str = typer.Option(None, "--policy", metavar="llm|heuristic|replay",
                               help="Who decides each turn (default: llm when a model option is given or an endpoint "
                                    "is configured, else heuristic; the choice is printed)."),
    model: str = typer.Option(None, "--model", metavar="NAME",
                              help="llm: model name at the endpoint (default: EVOFORGE_MODEL or the config)."),
    base_url: str = typer.Option(None, "--base-url", metavar="URL",
                                 help="llm: OpenAI-compatible endpoint (default: OPENAI_BASE_URL or the config)."),
    config: str = typer.Option(None, "--config", metavar="FILE", help="llm: model client config file (YAML/TOML)."),
    replay_run: str = typer.Option(None, "--replay-run", metavar="RUN",
                                   help="replay: the run whose model turns are re-issued.",
                                   autocompletion=complete_run_id),
    sandbox: str = typer.Option("auto", "--sandbox", metavar="docker|local|unsafe-local|auto",
                                help="Where commands run: docker, local (bubblewrap), unsafe-local, or auto (docker, "
                                     "else local). " + LOCAL_CAVEAT),
    memory_mb: int = typer.Option(None, "--memory-mb", metavar="MB", help="Sandbox memory limit (default: scaffold "
                                  "policy)."),
    cpus: float = typer.Option(None, "--cpus", metavar="N", help="Sandbox CPU limit (default: scaffold policy)."),
    pids: int = typer.Option(None, "--pids", metavar="N", help="Sandbox process limit (default: scaffold policy)."),
    disk_mb: int = typer.Option(None, "--disk-mb", metavar="MB", help="Workspace disk limit (default: scaffold "
                                "policy)."),
    command_timeout: float = typer.Option(None, "--command-timeout", metavar="S",
                                          help="Longest one command may run, in seconds (default: scaffold policy)."),
    gpus: bool = typer.Option(None, "--gpus/--no-gpus", help="Pass NVIDIA GPUs into the sandbox (default: where "
                                                            "present)."),
    max_turns: int = typer.Option(None, "--max-turns", metavar="N",
                                  help="End after N model turns (default: the scaffold's max_turns)."),
    budget_tokens: int = typer.Option(None, "--budget-tokens", metavar="N", help="End after N tokens (every model "
                                      "call counts: turns, summaries, reflections)."),
    budget_seconds: float = typer.Option(None, "--budget-seconds", metavar="S",
                                         help="End after S seconds of wall time in the run's steps, summed over "
                                              "resumes; time paused on a model outage does not count unless "
                                              "--count-outage-time."),
    count_outage_time: bool = typer.Option(False, "--count-outage-time",
                                           help="Count time paused on a model outage toward --budget-seconds."),
    budget_usd: float = typer.Option(None, "--budget-usd", metavar="USD", help="End after this much model spend."),
    run_id: str = typer.Option(None, "--run-id", metavar="ID", help="Use this run id instead of a generated one."),
    seed: int = typer.Option(0, "--seed", metavar="N", help="The attempt's seed: sent as the model request's `seed`, "
                             "and as EVOFORGE_SEED to commands in the sandbox (the heuristic's random state)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the run id and the result."),
    as_json: bool = typer.Option(False, "--json", help="Print only the result, as JSON (the run id goes to stderr)."),
) -> None:
    """Work one competition end to end: tools in a sandbox, graded submission, reflection into memory.

    unsafe-local runs commands without isolation: they can read anything your user can.
    Ctrl-C stops the run; `evoforge resume RUN_ID` continues it.
    """
    from agent.graph.budgets import Budgets
    from agent.graph.runner import start_run
    from agent.graph.spec import RunSpec, resolve_policy

    chosen, why = resolve_policy(policy, model, base_url, config, replay_run)
    limits = {"memory_mb": memory_mb, "cpus": cpus, "pids": pids, "disk_mb": disk_mb,
              "command_timeout_s": command_timeout, "gpus": gpus}
    spec = RunSpec(task_id, policy=chosen, model=model, base_url=base_url, config_file=config, replay_run=replay_run,
                   sandbox=sandbox, sandbox_limits={k: v for k, v in limits.items() if v is not None},
                   run_id=run_id or "", seed=seed,
                   budgets=Budgets(max_turns, budget_tokens, budget_seconds, budget_usd, count_outage_time))
    _reap_leftover_sandboxes()
    created: list[str] = []
    id_console = err if as_json else out

    def on_created(rid: str) -> None:
        created.append(rid)
        id_console.print(f"run id: {rid}")
        if why:
            err.print(escape(why))

    _drive(lambda sink: start_run(spec, sink=sink, on_created=on_created), lambda: created[0] if created else None,
           quiet, as_json)


def resume(
    run_id: str = typer.Argument(..., metavar="RUN", help="The run to continue: its id or a unique prefix.",
                                 autocompletion=complete_run_id),
    from_turn: int = typer.Option(None, "--from-turn", metavar="N",
                                  help="Fork: start a new run from RUN's checkpoint just before its model turn N "
                                       "(RUN is left as it is; the new record names its origin)."),
    policy: str = typer.Option(None, "--policy", metavar="llm|heuristic|replay",
                               help="With --from-turn: who decides from turn N on (default: RUN's policy)."),
    model: str = typer.Option(None, "--model", metavar="NAME", help="With --from-turn: llm: the model name."),
    base_url: str = typer.Option(None, "--base-url", metavar="URL", help="With --from-turn: llm: the endpoint."),
    config: str = typer.Option(None, "--config", metavar="FILE", help="With --from-turn: llm: the client config."),
    replay_run: str = typer.Option(None, "--replay-run", metavar="RUN", autocompletion=complete_run_id,
                                   help="With --from-turn: replay: the run whose model turns are re-issued."),
    new_id: str = typer.Option(None, "--run-id", metavar="ID", help="With --from-turn: the new run's id."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the result."),
    as_json: bool = typer.Option(False, "--json", help="Print only the result, as JSON."),
) -> None:
    """Continue a run that was stopped or killed, from its last completed step; or fork it with --from-turn.

    The run keeps its sandbox kind and limits; unsafe-local runs commands without isolation.
    """
    from agent.graph.runner import is_finished, resume_run
    from agent.runstore import RunStore

    fork_options = {"policy": policy, "model": model, "base_url": base_url, "config_file": config,
                    "replay_run": replay_run, "run_id": new_id}
    if from_turn is None:
        given = [f"--{k.replace('_file', '').replace('_', '-')}" for k, v in fork_options.items() if v is not None]
        if given:
            verb = "apply" if len(given) > 1 else "applies"
            raise UserError(f"{', '.join(given)} only {verb} to a fork: add --from-turn N, or drop "
                            f"{'them' if len(given) > 1 else 'it'}")
    _reap_leftover_sandboxes()
    store = RunStore.open(run_id)
    store.read_meta()                                  # a damaged record is one line here, not later
    if from_turn is not None:
        _fork(store.run_id, from_turn, fork_options, quiet, as_json)
    (err if as_json else out).print(f"run id: {store.run_id}")
    if is_finished(store):
        err.print(f"run {store.run_id} had already finished; nothing to resume")
        _drive(lambda sink: store, lambda: store.run_id, True, as_json)
    _drive(lambda sink: resume_run(store.run_id, sink=sink), lambda: store.run_id, quiet, as_json)


def _fork(origin: str, turn: int, options: dict[str, Any], quiet: bool, as_json: bool) -> None:
    """`resume --from-turn`: a new run from `origin`'s checkpoint before `turn` (agent.graph.fork)."""
    from agent.graph.fork import fork_run

    new_id = options.pop("run_id")
    created: list[str] = []

    def on_created(rid: str) -> None:
        created.append(rid)
        (err if as_json else out).print(f"run id: {rid} (forked from {origin} at turn {turn})")

    _drive(lambda sink: fork_run(origin, turn, overrides=options, run_id=new_id, sink=sink, on_created=on_created),
           lambda: created[0] if created else None, quiet, as_json)


# -- runs list | show | rm -----------------------------------------------------------------------------
RUN_COLUMNS = [
    Column("run_id", "id", keep=True), Column("status", "status"), Column("score", "score", right=True),
    Column("medal", "medal"), Column("task", "task", wide=True), Column("kind", "kind", wide=True),
    Column("policy", "policy", wide=True), Column("model", "model", wide=True),
    Column("turns", "turns", wide=True, right=True), Column("tokens", "tokens", wide=True, right=True),
    Column("cost_usd", "cost", wide=True, right=True), Column("started", "started", wide=True),
]


def _row(meta: dict) -> dict[str, Any]:
    from agent.runstore import effective_status

    return {"run_id": meta.get("run_id"), "kind": meta.get("kind", "attempt"), "task": meta.get("task"),
            "policy": meta.get("policy"), "model": meta.get("model"), "status": effective_status(meta),
            "turns": meta.get("turns"), "tokens": meta.get("tokens"), "cost_usd": meta.get("cost_usd"),
            "score": meta.get("score"), "medal": meta.get("medal"), "valid": meta.get("valid"),
            "started": str(meta.get("created") or "")[:19].replace("T", " ") or None}


@runs_app.command("list")
def runs_list(
    wide: bool = typer.Option(False, "--wide", "-w", help="More columns: task, kind, policy, model, turns, tokens, "
                                                          "cost, started."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (every field) instead of a table."),
) -> None:
    """List runs, newest first: agent runs and training runs (kind "train"). Piped: TSV with a header."""
    from agent.runstore import list_runs

    rows = [_row(m) for m in list_runs()]
    if as_json:
        print_json(rows)
        return
    print_table(rows, RUN_COLUMNS, wide=wide, title=f"{len(rows)} runs in {paths.runs_dir()}")


def _counts(events: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in events:
        counts[e.get("type", "?")] = counts.get(e.get("type", "?"), 0) + 1
    return counts


SHOWN = ("run_id", "task", "policy", "model", "sandbox", "sandbox_isolation", "sandbox_limits", "scaffold_commit", "created", "updated", "stop_reason",
         "stop_kind", "score", "medal", "valid", "turns", "tokens", "cost_usd", "elapsed_s", "paused_s", "budgets",
         "paused_since", "pause_cause", "error", "forked_from")
OPTIONAL = ("paused_since", "pause_cause", "error", "forked_from")   # shown only when set


@runs_app.command("show")
def runs_show(
    run_id: str = typer.Argument(..., metavar="RUN", help="The run: its id or a unique prefix.",
                                 autocompletion=complete_run_id),
    events: bool = typer.Option(False, "--events", help="Also show every event (in the live view's format)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: meta, status, event counts, score, reflection "
                                                       "(and the events with --events)."),
) -> None:
    """Show a run's meta, event counts, grading and reflection (a training run: its config and last metrics)."""
    from agent.runstore import RunStore, effective_status, find_run, is_training_run, training_summary

    root = find_run(run_id)
    if is_training_run(root):
        summary = training_summary(root)
        if as_json:
            print_json(summary)
            return
        for key, value in summary.items():
            out.print(escape(f"{key}: {value}"))
        out.print(escape(f"record: {root} (config.yaml, metrics.jsonl, train.log)"))
        return
    store = RunStore(root)
    try:
        meta, problem = store.read_meta(), None
    except UserError as exc:
        meta, problem = {"run_id": store.run_id}, str(exc)
    evs = store.read_events()
    reflection = next((e.get("text") for e in reversed(evs) if e.get("type") == "reflection"), None)
    score = store.score_path.read_text().strip() if store.score_path.exists() else None
    status = "unreadable" if problem else effective_status(meta)
    if as_json:
        import json

        doc = {"meta": meta, "status": status, "problem": problem, "event_counts": _counts(evs),
               "score": json.loads(score) if score else None, "reflection": reflection, "record": str(root)}
        if events:
            doc["events"] = evs
        print_json(doc)
        return
    if problem:
        err.print(escape(f"warning: {problem}"))
    for key in SHOWN:
        if key in meta and (meta[key] is not None or key not in OPTIONAL):
            out.print(f"[bold]{key}[/]: {escape(str(meta.get(key)))}")
    out.print(f"[bold]status[/]: {status}")
    out.print(f"[bold]events[/]: {len(evs)} ({escape(', '.join(f'{k} {v}' for k, v in _counts(evs).items()))})")
    if score:
        out.print(f"[bold]score.json[/]: {escape(score)}")
    if events:
        for e in evs:
            for line in format_event(e):
                out.print(line)
    elif reflection:
        out.print(f"[bold]reflection[/]:\n{escape(str(reflection))}")


@runs_app.command("rm")
def runs_rm(
    run_ids: list[str] = typer.Argument(..., metavar="RUN...", help="Runs to delete: ids or unique prefixes.",
                                        autocompletion=complete_run_id),
    force: bool = typer.Option(False, "--force", "-f", help="Also delete a run whose process is still running."),
) -> None:
    """Delete run folders (record, workspace, checkpoint), agent and training runs alike."""
    from agent.runstore import LIVE, effective_status, find_run, is_training_run, remove_run

    roots = [find_run(r) for r in run_ids]   # every name checked before anything is deleted
    for root in roots:
        if not is_training_run(root) and not force:
            from agent.runstore import RunStore

            try:
                live = effective_status(RunStore(root).read_meta()) in LIVE
            except UserError:
                live = False
            if live:
                raise UserError(f"run {root.name} is still running; stop it first, or use --force")
    for root in roots:
        remove_run(root.name, root.parent)
        out.print(escape(f"removed {root}"))


def register(app: typer.Typer) -> None:
    """Add `run`, `resume` and the `runs` group to the root app."""
    app.command("run", epilog=EXIT_CODES_HELP)(run)
    app.command("resume", epilog=EXIT_CODES_HELP)(resume)
    app.add_typer(runs_app, name="runs")

