"""`evoforge evolve …`: start, resume, stop, status, show, report and promote self-evolution runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import typer
from rich.markup import escape

from agent.cli_output import Column, ExitCode, err, out, print_json, print_table

app = typer.Typer(help="Self-evolution: the agent edits its scaffold in git and keeps what a paired evaluation "
                       "says helps.", no_args_is_help=True)

DECISION_MARK = {"initial": "●", "kept": "✓", "reverted": "✗", "broken": "!", "refused": "⊘", "no_edit": "·"}


def _event_line(e: dict[str, Any]) -> str | None:
    """One progress line for an evolve event (None: not shown)."""
    t = e.get("type")
    if t == "round_started":
        return f"round {e['round']}: proposing on {e['parent'][:10]}"
    if t == "proposal":
        return f"round {e['round']}: {e['commit'][:10]} {', '.join(e.get('files') or [])}: {e['hypothesis'][:150]}"
    if t == "gate":
        return f"round {e['round']}: gate " + ("passed" if e["ok"] else f"{e['decision']}: {e['reason'][:200]}")
    if t == "campaign_started":
        return f"  {e['arm']} {e['commit'][:10]}: campaign {e['campaign']} ({len(e['attempts'])} attempts)"
    if t == "attempt_finished":
        return (f"  {e['arm']} {e['task']} seed {e['seed']}: percentile {e['percentile']:.1f}, "
                f"{'valid' if e['valid'] else 'no valid submission'}, {e['seconds']:.0f}s ({e['run_id']})")
    if t == "decision":
        return f"round {e['round']}: {e['decision']} — {e['reason'][:220]}"
    if t == "baseline":
        return f"baseline {e['commit'][:10]}: dev percentile {e['mean_pct']:.1f} ± {e['se']:.1f}"
    if t in ("evolve_finished", "evolve_stopped", "model_outage"):
        return f"{t.replace('_', ' ')}: " + ", ".join(f"{k} {v}" for k, v in e.items() if k not in ("ts", "type"))
    return None


def _sink(e: dict[str, Any]) -> None:
    line = _event_line(e)
    if line:
        err.print(escape(line))


def _drive(name: str, detach: bool) -> None:
    """Run the loop here (or detached, logging to the run's log.txt); exit 0 when it ends, 130 when stopped."""
    from agent.cli_run import _sigterm_as_interrupt
    from agent.evolve import loop
    from agent.evolve.store import EvolveStore

    store = EvolveStore.open(name)
    loop.resume_state(store)
    if detach:
        log = open(store.path("log.txt"), "a")
        proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "evolve", "resume", store.name], stdout=log,
                                stderr=log, stdin=subprocess.DEVNULL, start_new_session=True, cwd=os.getcwd())
        out.print(escape(f"evolve run {store.name} continues in the background (pid {proc.pid}); follow it with "
                         f"`evoforge evolve status {store.name}`; log: {store.path('log.txt')}"))
        return
    store.sink = _sink
    before = _sigterm_as_interrupt()
    try:
        state = loop.run(store)
    finally:
        signal.signal(signal.SIGTERM, before)
    if state.get("status") == "stopped":
        err.print(f"stopped at round {state.get('round')} ({state.get('stage')}); continue with: evoforge evolve "
                  f"resume {store.name}")
        raise typer.Exit(ExitCode.INTERRUPTED)
    out.print(escape(f"evolve run {store.name} finished ({state.get('why')}); see `evoforge evolve show "
                     f"{store.name}` and `evoforge evolve report {store.name}`"))


@app.command()
def start(
    dev: str = typer.Option(..., "--dev", metavar="IDS|FAMILY", help="Dev competitions the decisions use: ids, "
                            "families (tabular, text, …) or lite, comma-separated."),
    heldout: str = typer.Option("", "--heldout", metavar="IDS|FAMILY",
                                help="Held-out competitions for `evolve report` (also `rest`: every other one)."),
    seeds: int = typer.Option(2, "--seeds", metavar="K", help="Seeds per competition (dev and held out)."),
    rounds: int = typer.Option(10, "--rounds", metavar="N", help="Rounds (one edit each)."),
    hours: float = typer.Option(None, "--hours", metavar="H", help="Stop starting rounds after H hours of work."),
    proposer: str = typer.Option("heuristic", "--proposer", metavar="heuristic|llm", help="Who proposes edits."),
    policy: str = typer.Option(None, "--policy", metavar="heuristic|llm",
                               help="The attempts' policy (default: llm with --proposer llm, else heuristic)."),
    model: str = typer.Option(None, "--model", metavar="M", help="llm: model name."),
    base_url: str = typer.Option(None, "--base-url", metavar="URL", help="llm: OpenAI-compatible endpoint."),
    config: str = typer.Option(None, "--config", metavar="FILE", help="llm: model client config file."),
    attempt_minutes: float = typer.Option(5.0, "--attempt-minutes", metavar="M", help="Wall time per attempt."),
    max_turns: int = typer.Option(None, "--max-turns", metavar="N", help="Turns per attempt (default: scaffold)."),
    sandbox: str = typer.Option("auto", "--sandbox", metavar="docker|local|unsafe-local|auto", help="Sandbox kind."),
    parallel: int = typer.Option(1, "--parallel", metavar="N", help="Attempts at once (each evaluation is a "
                                 "campaign)."),
    test: str = typer.Option("bootstrap", "--test", metavar="bootstrap|sign", help="The paired test that decides."),
    confidence: float = typer.Option(0.8, "--confidence", metavar="C", help="Keep an edit only when its gain is "
                                     "positive at this one-sided confidence."),
    smoke_task: str = typer.Option("evolve-smoke", "--smoke-task", metavar="ID",
                                   help="The gate's smoke attempt (default: a built-in toy competition)."),
    smoke_seconds: float = typer.Option(120.0, "--smoke-seconds", metavar="S", help="The smoke attempt's budget."),
    control_max_k: int = typer.Option(4, "--control-max-k", metavar="K",
                                      help="Held-out control arm: at most K attempts per cell."),
    name: str = typer.Option(None, "--name", metavar="NAME", help="The run's name (default: evo-<time>)."),
    detach: bool = typer.Option(False, "--detach", help="Run in the background (log in the run's log.txt)."),
) -> None:
    """Start an evolve run from the checkout's scaffold/ (left untouched until `promote`)."""
    from agent.evolve import loop
    from agent.evolve.config import Budget, Plan, resolve_tasks

    dev_ids = resolve_tasks(dev, "--dev")
    held = resolve_tasks(heldout, "--heldout", exclude=dev_ids) if heldout.strip() else []
    plan = Plan(name=name or datetime.now(UTC).strftime("evo-%Y%m%d-%H%M%S"), dev=dev_ids, heldout=held, seeds=seeds,
                rounds=rounds, hours=hours, proposer=proposer, policy=policy or proposer, model=model,
                base_url=base_url, config_file=config, sandbox=sandbox, parallel=parallel,
                budget=Budget(seconds=attempt_minutes * 60.0, max_turns=max_turns), test=test, confidence=confidence,
                smoke_task=smoke_task, smoke_seconds=smoke_seconds, control_max_k=control_max_k)
    store = loop.create(plan)
    err.print(escape(f"evolve run {store.name}: dev {', '.join(plan.dev)}; held out {', '.join(plan.heldout) or '-'}; "
                     f"record {store.root}"))
    _drive(store.name, detach)


@app.command()
def resume(name: str = typer.Argument(..., metavar="NAME", help="The evolve run."),
           detach: bool = typer.Option(False, "--detach", help="Run in the background.")) -> None:
    """Continue a stopped or killed evolve run where it was (nothing done is done again)."""
    _drive(name, detach)


@app.command()
def stop(name: str = typer.Argument(..., metavar="NAME"),
         now: bool = typer.Option(False, "--now", help="Interrupt the running attempt too (it resumes later).")) -> None:
    """Ask a running evolve run to stop after the current attempt (with --now, at once)."""
    from agent.evolve.store import EvolveStore

    store = EvolveStore.open(name)
    pid = store.owner_pid()
    store.request_stop()
    if pid and pid > 0 and now:
        os.kill(pid, signal.SIGTERM)
    out.print(f"asked evolve run {store.name} to stop" + (f" (pid {pid})" if pid else " (it is not running)"))


def _status_row(store) -> dict[str, Any]:
    state, nodes, plan = store.state(), store.nodes(), store.plan()
    pid = store.owner_pid()
    status = "running" if pid else (state.get("status") if state.get("status") != "running" else "killed")
    return {"name": store.name, "status": status, "pid": pid, "round": f"{min(state.get('round', 0), plan.rounds)}/"
            f"{plan.rounds}", "stage": state.get("stage"), "kept": sum(n.get("decision") == "kept" for n in nodes),
            "reverted": sum(n.get("decision") == "reverted" for n in nodes),
            "broken": sum(n.get("decision") in ("broken", "refused") for n in nodes),
            "head": (nodes[-1].get("head") or "")[:10] if nodes else "", "proposer": plan.proposer,
            "hours": round(state.get("active_s", 0.0) / 3600, 2)}


STATUS_COLUMNS = [Column("name", "NAME", keep=True), Column("status", "STATUS"), Column("round", "ROUND"),
                  Column("stage", "STAGE"), Column("kept", "KEPT", right=True),
                  Column("reverted", "REVERTED", right=True), Column("broken", "BROKEN", right=True),
                  Column("head", "HEAD", keep=True), Column("proposer", "PROPOSER", wide=True),
                  Column("hours", "HOURS", wide=True, right=True), Column("pid", "PID", wide=True)]


@app.command()
def status(name: str = typer.Argument(None, metavar="NAME", help="The evolve run (default: every run)."),
           wide: bool = typer.Option(False, "--wide", "-w", help="More columns."),
           as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Where evolve runs are: status, round, decisions so far, lineage head."""
    from agent.evolve.store import EvolveStore, list_runs

    stores = [EvolveStore.open(name)] if name else list_runs()
    rows = [_status_row(s) for s in stores]
    if as_json:
        print_json(rows if not name else {**rows[0], "state": stores[0].state(), "last_event":
                                           (stores[0].events() or [None])[-1]})
        return
    print_table(rows, STATUS_COLUMNS, wide=wide)


def _tree_lines(nodes: list[dict[str, Any]]) -> list[str]:
    """The lineage as an indented tree: each node under its parent."""
    children: dict[str | None, list[dict]] = {}
    for n in nodes:
        children.setdefault(n.get("parent"), []).append(n)
    lines: list[str] = []

    def label(n: dict) -> str:
        p = n.get("paired") or {}
        dev = (n.get("dev") or {}).get("child") or {}
        num = (f"Δ {p['mean_delta']:+.2f} ({p['ci_low']:+.2f}..{p['ci_high']:+.2f}) p={p['p_value']:.2f}"
               if p.get("n_cells") else f"dev {dev['mean_pct']:.1f}" if dev else "")
        what = n.get("hypothesis") if n.get("decision") in ("kept", "reverted", "initial") else n.get("reason")
        return (f"{DECISION_MARK.get(n.get('decision'), '?')} r{n['round']} {str(n.get('commit') or '-')[:10]} "
                f"{n.get('decision')} {num}  {', '.join(n.get('files') or [])}  {' '.join(str(what or '').split())[:120]}")

    def walk(n: dict, prefix: str, last: bool, root: bool) -> None:
        lines.append(("" if root else prefix + ("└─ " if last else "├─ ")) + label(n))
        kids = children.get(n.get("commit"), []) if n.get("commit") else []
        for i, k in enumerate(kids):
            walk(k, prefix + ("" if root else ("   " if last else "│  ")), i == len(kids) - 1, False)

    for r in children.get(None, []):
        walk(r, "", True, True)
    return lines


def _node_json(n: dict[str, Any]) -> dict[str, Any]:
    p = n.get("paired") or {}
    return {"round": n["round"], "commit": n.get("commit"), "parent": n.get("parent"), "decision": n.get("decision"),
            "delta": p.get("mean_delta"), "ci": [p.get("ci_low"), p.get("ci_high")] if p else None,
            "p_value": p.get("p_value"), "confidence": p.get("confidence"), "files": n.get("files") or [],
            "hypothesis": n.get("hypothesis"), "reason": n.get("reason"), "head": n.get("head"),
            "dev": (n.get("dev") or {}).get("child"), "parent_dev": (n.get("dev") or {}).get("parent"),
            "seconds": n.get("seconds")}


@app.command()
def show(name: str = typer.Argument(..., metavar="NAME"),
         node: str = typer.Option(None, "--node", metavar="REF", help="One node (round number, commit, head, "
                                  "initial): its message, decision, evidence and diff."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON: every node (or the one asked for).")) -> None:
    """The lineage as a tree (kept, reverted, broken, refused), or one node with its diff and evidence."""
    from agent.evolve.promote import resolve_node
    from agent.evolve.repo import ScaffoldRepo
    from agent.evolve.store import EvolveStore

    store = EvolveStore.open(name)
    nodes = store.nodes()
    if node is None:
        if as_json:
            print_json({"name": store.name, "head": ScaffoldRepo(store.path("repo")).head(),
                        "nodes": [_node_json(n) for n in nodes]})
            return
        for line in _tree_lines(nodes) or ["(no node decided yet)"]:
            out.print(escape(line))
        return
    repo = ScaffoldRepo(store.path("repo"))
    commit = resolve_node(repo, store, node)
    rec = next((n for n in nodes if n.get("commit") == commit), {"commit": commit})
    parent = rec.get("parent")
    diff = repo.diff(parent, commit) if parent else ""
    if as_json:
        print_json({**(_node_json(rec) if "round" in rec else rec), "message": repo.message(commit),
                    "note": repo.read_note(commit), "gate": rec.get("gate"), "diff": diff})
        return
    out.print(escape(repo.message(commit).rstrip()))
    note = repo.read_note(commit)
    if note:
        out.print(escape("\n" + note.rstrip()))
    if diff:
        out.print(escape("\n" + diff))


@app.command()
def report(name: str = typer.Argument(..., metavar="NAME"),
           dev_only: bool = typer.Option(False, "--dev-only", help="Only the lineage and dev scores (no held-out "
                                         "attempts)."),
           as_json: bool = typer.Option(False, "--json", help="Print the report's JSON.")) -> None:
    """Evaluate the initial scaffold, the final head and the control arm on the held-out set; write Markdown,
    JSON and PNG plots to the run's report/ folder."""
    from agent.evolve import report as rep
    from agent.evolve.store import EvolveStore

    store = EvolveStore.open(name)
    if dev_only:
        data = rep.build(store, run_heldout=False)
    else:
        store.sink = _sink
        with store.owner():
            data = rep.build(store)
    if as_json:
        print_json(data)
        return
    out.print(escape(rep.markdown(data)))
    err.print(escape(f"written to {store.path('report')}"))


@app.command()
def promote(name: str = typer.Argument(..., metavar="NAME"),
            node: str = typer.Option("head", "--node", metavar="REF", help="The node: head (default), a round "
                                     "number, a commit prefix or initial."),
            memory: bool = typer.Option(False, "--memory", help="Also write the node's memory into the memory file."),
            force: bool = typer.Option(False, "--force", help="Overwrite even uncommitted edits.")) -> None:
    """Write a node's scaffold into the checkout's scaffold/ (refused over uncommitted edits)."""
    from agent.evolve.promote import promote as do_promote
    from agent.evolve.store import EvolveStore

    done = do_promote(EvolveStore.open(name), node, with_memory=memory, force=force)
    out.print(escape(f"wrote {done['files']} files of {done['commit'][:10]} into {done['scaffold']}"
                     + (f" and its memory into {done['memory']}" if done["memory"] else "")
                     + "; review with `git diff` and commit"))
