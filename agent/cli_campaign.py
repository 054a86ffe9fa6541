"""CLI: `evoforge campaign start|status|resume|stop|report|list` — many attempts (competition × seed), N at a
time, surviving kills and reboots (agent/campaign)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import typer
from rich.markup import escape

from agent.cli_output import Column, ExitCode, err, out, print_json, print_table
from common.errors import UserError

app = typer.Typer(help="Campaigns: many attempts (competition × seed) run N at a time by a supervisor that "
                       "survives kills and reboots; reports like MLE-bench (mean ± SE over seeds).",
                  no_args_is_help=True, rich_markup_mode=None)

NAME = typer.Argument(..., metavar="NAME", help="The campaign: its name or a unique prefix.")


def _open(name: str):
    from agent.campaign import CampaignStore

    return CampaignStore.open(name)


def _line(event: dict[str, Any]) -> str | None:
    """One line of the foreground view per campaign event (None: not shown)."""
    t = time.strftime("%H:%M:%S", time.localtime(event.get("t", time.time())))
    kind, key = event.get("type"), event.get("key")
    if kind == "attempt_launched":
        return f"{t} start   {key}" + (" (resumes)" if event.get("resume") else "")
    if kind == "attempt_finished":
        return (f"{t} {event.get('state'):<7} {key}: score {event.get('score')} · medal {event.get('medal') or '-'}"
                f" · valid {'yes' if event.get('valid') else 'no'} · {event.get('seconds')} s")
    if kind in ("attempt_requeued", "attempt_waiting", "attempt_failed", "attempt_hung", "attempt_killed"):
        return f"{t} {kind.split('_')[1]:<7} {key}: {event.get('reason')}"
    if kind == "budget_spent":
        return f"{t} the total budget ({event.get('hours')} h) is spent: no new attempts start"
    if kind == "attempt_adopted":
        return f"{t} adopt   {key} (its process still runs)"
    return None


def _foreground(store) -> None:
    """Supervise here, a line per event; Ctrl-C stops the workers (they save) and exits 130."""
    from agent.campaign import supervise

    def show(event: dict) -> None:
        line = _line(event)
        if line:
            out.print(escape(line))

    outcome = supervise(store, notify=show)
    _summary(store)
    if outcome["state"] == "stopped":
        err.print(f"stopped; continue with: evoforge campaign resume {store.name}")
        raise typer.Exit(ExitCode.INTERRUPTED)
    if outcome["state"] == "budget_spent":
        err.print(f"the total budget is spent with {outcome['pending']} attempt(s) not run; extend it with: "
                  f"evoforge campaign resume {store.name} --hours H")
        raise typer.Exit(ExitCode.NO_VALID_SUBMISSION)


def _summary(store) -> None:
    from agent.campaign import results
    from agent.campaign.report import aggregate

    agg = aggregate(results(store))
    m, v, p = agg["any_medal"], agg["valid_rate"], agg["mean_percentile"]
    if agg["seeds_averaged"]:
        out.print(escape(f"{store.name}: any medal {m['mean']:.1f} ± {m['se']:.1f}% · valid {v['mean']:.1f} ± "
                         f"{v['se']:.1f}% · mean percentile {p['mean']:.1f} ± {p['se']:.1f} over "
                         f"{agg['seeds_averaged']} seed(s); report: evoforge campaign report {store.name}"))
    else:
        out.print(escape(f"{store.name}: {agg['finished']} of {agg['attempts']} attempts finished"))


def _detach(store) -> None:
    from agent.campaign import start_detached

    pid = start_detached(store)
    out.print(escape(f"campaign {store.name} runs in the background (supervisor pid {pid}); log: "
                     f"{store.root / 'supervisor.log'}"))
    out.print(escape(f"follow it: evoforge campaign status {store.name} · stop it: evoforge campaign stop "
                     f"{store.name}"))


@app.command("start")
def start(
    tasks: str = typer.Option(..., "--tasks", metavar="IDS|lite|FAMILY|FILE",
                              help="Competitions: ids (comma-separated), lite (the 22), a family (mle_lite, a "
                                   "modality such as tabular or text, a registry family), or a file of ids "
                                   "(@FILE)."),
    seeds: str = typer.Option("1", "--seeds", metavar="N|A,B,…", help="Seeds per competition: a count (0..N-1) or "
                                                                     "a list."),
    policy: str = typer.Option(None, "--policy", metavar="heuristic|llm",
                               help="Who decides each turn (default: llm when a model option is given or an endpoint "
                                    "is configured, else heuristic)."),
    model: str = typer.Option(None, "--model", metavar="NAME", help="llm: the model name."),
    base_url: str = typer.Option(None, "--base-url", metavar="URL", help="llm: OpenAI-compatible endpoint."),
    config: str = typer.Option(None, "--config", metavar="FILE", help="llm: model client config file."),
    parallel: int = typer.Option(1, "--parallel", "-j", metavar="N", help="Attempts at once."),
    attempt_minutes: float = typer.Option(None, "--attempt-minutes", metavar="M",
                                          help="Wall time of each attempt, in minutes (its --budget-seconds)."),
    max_turns: int = typer.Option(None, "--max-turns", metavar="N", help="Model turns per attempt."),
    budget_tokens: int = typer.Option(None, "--budget-tokens", metavar="N", help="Tokens per attempt."),
    budget_usd: float = typer.Option(None, "--budget-usd", metavar="USD", help="Model spend per attempt."),
    hours: float = typer.Option(None, "--hours", metavar="H",
                                help="Total budget: no attempt starts once the campaign has run H hours (running "
                                     "ones finish)."),
    name: str = typer.Option(None, "--name", metavar="NAME", help="The campaign's name (default: campaign-<time>); "
                                                                  "an existing one is extended with new attempts."),
    sandbox: str = typer.Option("auto", "--sandbox", metavar="docker|local|unsafe-local|auto",
                                help="Where each attempt's commands run (as `evoforge run`). With DOCKER_HOST set to a "
                                     "remote engine, the containers run there."),
    executor: str = typer.Option("local", "--executor", metavar="local|ray",
                                 help="local: processes on this machine; ray: tasks on a Ray cluster (the campaign "
                                      "folder must be on storage every node sees)."),
    address: str = typer.Option(None, "--address", metavar="ADDR", help="ray: the cluster (e.g. ray://head:10001 or "
                                                                       "auto); default: a local Ray instance."),
    scaffold: str = typer.Option(None, "--scaffold", metavar="DIR", help="The scaffold the attempts use (default: "
                                                                        "EVOFORGE_SCAFFOLD or ./scaffold)."),
    memory: str = typer.Option(None, "--memory", metavar="FILE", help="The memory file the attempts read and write "
                                                                     "(default: EVOFORGE_MEMORY or memory/MEMORY.md)."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Run the supervisor in the background (it outlives "
                                                              "the terminal; log in the campaign folder)."),
) -> None:
    """Start a campaign (or extend one of the same name): attempts run N at a time until each has finished.

    Ctrl-C (or `campaign stop`) stops the attempts, which save their state; `campaign resume` continues.
    """
    from agent.campaign import CampaignSpec, ensure_campaign, parse_seeds
    from agent.campaign.tasksets import resolve_tasks
    from agent.graph.budgets import Budgets
    from agent.graph.spec import resolve_policy

    chosen, why = resolve_policy(policy, model, base_url, config)
    if why:
        err.print(escape(why))
    if attempt_minutes is not None and not attempt_minutes > 0:
        raise UserError(f"--attempt-minutes must be > 0, got {attempt_minutes}")
    budgets = Budgets(max_turns, budget_tokens, attempt_minutes * 60 if attempt_minutes else None, budget_usd)
    spec = CampaignSpec(name or "campaign-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S"),
                        tuple(resolve_tasks(tasks)), parse_seeds(seeds), policy=chosen, model=model,
                        base_url=base_url, config_file=config, sandbox=sandbox, budgets=budgets, total_hours=hours,
                        parallel=parallel, executor=executor, ray_address=address, scaffold_dir=scaffold or "",
                        memory_file=memory or "")
    from agent.sandbox import pick_kind

    pick_kind(sandbox)                   # no usable sandbox: one line now, not one failure per attempt
    store = ensure_campaign(spec)
    n = len(store.rows())
    out.print(escape(f"campaign {store.name}: {len(spec.tasks)} competition(s) × {len(spec.seeds)} seed(s) = {n} "
                     f"attempts, {parallel} at a time ({chosen}); record {store.root}"))
    if detach:
        _detach(store)
        return
    _foreground(store)


@app.command("resume")
def resume(
    name: str = NAME,
    parallel: int = typer.Option(None, "--parallel", "-j", metavar="N", help="Attempts at once from now on."),
    hours: float = typer.Option(None, "--hours", metavar="H", help="A new total budget (hours of supervisor time, "
                                                                   "counted since the campaign started)."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Run the supervisor in the background."),
) -> None:
    """Continue a campaign after a stop, a kill or a reboot: unfinished attempts resume from their checkpoints,
    finished ones are kept as they are, attempt processes still running are adopted."""
    store = _open(name)
    changes = {k: v for k, v in (("parallel", parallel), ("total_hours", hours)) if v is not None}
    if changes:
        store.update_spec(**changes)
    if detach:
        _detach(store)
        return
    _foreground(store)


@app.command("stop")
def stop(name: str = NAME) -> None:
    """Stop a campaign: its attempts save their state and stop; `campaign resume` continues them."""
    from agent.campaign import stop_campaign

    store = _open(name)
    outcome = stop_campaign(store)
    out.print(escape(f"campaign {store.name}: {outcome}; continue with: evoforge campaign resume {store.name}"))


ATTEMPT_COLUMNS = [Column("run_id", "attempt", keep=True), Column("status", "status"),
                   Column("score", "score", right=True), Column("medal", "medal"), Column("valid", "valid"),
                   Column("percentile", "pct", right=True), Column("seconds", "time", right=True),
                   Column("turns", "turns", right=True, wide=True), Column("tokens", "tokens", right=True, wide=True),
                   Column("cost_usd", "cost", right=True, wide=True), Column("tries", "tries", right=True, wide=True),
                   Column("activity", "activity"), Column("note", "note", wide=True)]


def _activity(a: dict) -> str:
    if a.get("state") in ("done", "failed"):
        return ""
    if a.get("stuck"):
        return f"STUCK: {a.get('hung')}"
    if a.get("alive") and a.get("quiet_s") is not None:
        return f"{a.get('last_event')} {a.get('quiet_s'):.0f}s ago"
    return a.get("note") or ""


@app.command("status")
def status(
    name: str = NAME,
    wide: bool = typer.Option(False, "--wide", "-w", help="More columns: turns, tokens, cost, tries, note."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: the campaign and one entry per attempt."),
) -> None:
    """Where a campaign stands: its state, budget, and every attempt (running ones with their last activity,
    stuck ones flagged)."""
    from agent.campaign import campaign_status

    doc = campaign_status(_open(name))
    if as_json:
        print_json(doc)
        return
    c = doc["counts"]
    sup = doc["supervisor"]
    budget = f" of {doc['total_hours']} h" if doc["total_hours"] else ""
    out.print(escape(f"campaign {doc['name']}: {doc['state']}" + (f" (supervisor pid {sup['pid']})" if sup else "")
                     + f" · {c['done']} done, {c['failed']} failed, {c['running']} running, {c['pending']} pending"
                     + f" · {doc['spent_hours']:.2f} h{budget} · parallel {doc['parallel']}"))
    if doc["stuck"]:
        err.print(escape(f"stuck (no progress for a long time while alive): {', '.join(doc['stuck'])}"))
    rows = [{**a, "activity": _activity(a)} for a in doc["attempts"]]
    print_table(rows, ATTEMPT_COLUMNS, wide=wide)


@app.command("report")
def report(
    name: str = NAME,
    compare: str = typer.Option(None, "--compare", metavar="OTHER", help="Compare with another campaign, paired by "
                                                                        "competition and seed (this − OTHER)."),
    pad_missing: bool = typer.Option(False, "--pad-missing", help="Count unfinished attempts as no submission "
                                                                  "(default: only complete seeds are averaged)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON (attempts and aggregates)."),
) -> None:
    """Write and print the campaign's report: every attempt, medal / above-median / valid rates and the mean
    leaderboard percentile as mean ± SE over seeds (MLE-bench's aggregation), plots; report.md, report.json
    and PNGs in the campaign's report/ folder."""
    from agent.campaign import report as rep

    store = _open(name)
    other = _open(compare) if compare else None
    doc, notes = rep.write(store, other, pad_missing)
    for note in notes:
        err.print(escape(f"note: {note}"))
    if as_json:
        print_json(doc)
        return
    out.print((store.report_dir / "report.md").read_text(), markup=False, highlight=False)
    err.print(escape(f"written: {store.report_dir}/report.md, report.json" +
                     "".join(f", {p.rsplit('/', 1)[-1]}" for p in doc["plots"])))


LIST_COLUMNS = [Column("name", "campaign", keep=True), Column("state", "state"), Column("progress", "done"),
                Column("policy", "policy"), Column("parallel", "N", right=True),
                Column("any_medal", "any medal", right=True, wide=True), Column("created", "created", wide=True)]


@app.command("list")
def list_cmd(
    wide: bool = typer.Option(False, "--wide", "-w", help="More columns: any-medal rate, created."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the campaigns in the runs folder, newest first."""
    from agent.campaign import list_campaigns, results
    from agent.campaign.control import campaign_state
    from agent.campaign.report import aggregate

    rows = []
    for store in list_campaigns():
        spec = store.spec()
        res = results(store)
        agg = aggregate(res)
        done = sum(1 for r in res if r["state"] in ("done", "failed"))
        rows.append({"name": store.name, "state": campaign_state(store), "progress": f"{done}/{len(res)}",
                     "policy": spec.policy, "parallel": spec.parallel, "created": spec.created[:19].replace("T", " "),
                     "any_medal": round(agg["any_medal"]["mean"], 1) if agg["seeds_averaged"] else None})
    if as_json:
        print_json(rows)
        return
    print_table(rows, LIST_COLUMNS, wide=wide, title=f"{len(rows)} campaigns")
