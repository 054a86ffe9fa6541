"""Start and resume runs: set up the record, sandbox, policy and SQLite checkpointer, then drive the graph.

Everything that can fail on bad input (the spec, scaffold, task, memory file, model config) is checked
before the run's folder is made; a failure while opening the sandbox removes the folder again. So an
error never leaves a half-made record behind, and a record, once made, is always resumable.

One run, one owner: the process that starts or resumes a run holds its lock (RunStore.acquire) for as
long as it works on it, and a heartbeat thread keeps meta.json's `heartbeat` fresh meanwhile.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver

from agent import memory
from agent.graph import control
from agent.graph.build import RunContext, build_graph
from agent.graph.heartbeat import Heartbeat
from agent.graph.policies.base import Policy
from agent.graph.recovery import keep_cut_step
from agent.graph.sandboxes import open_sandbox
from agent.graph.search import direction
from agent.graph.spec import CUSTOM, RunSpec
from agent.graph.state import AgentState, initial_state
from agent.graph.task import Task, load_task
from agent.runstore import Emitter, RunStore, new_run_id, now_iso, write_json
from agent.sandbox import pick_kind
from agent.sandbox.describe import describe
from agent.sandbox.limits import check_spec, limits_record, resolve_limits
from agent.scaffold import Scaffold, load_scaffold
from agent.tools import TOOLS, ToolContext, tool_schemas
from common import paths
from common.errors import UserError
from common.procs import process_start

RECURSION_LIMIT = 100_000

Sink = Callable[[dict], None]
DeltaFn = Callable[[str, str], None]


def _make_policy(spec: RunSpec, task: Task, scaffold: Scaffold, on_delta: DeltaFn | None,
                 resuming: bool = False) -> tuple[Policy, str | None]:
    """(policy, model name) for the spec's policy; for llm, the endpoint is checked first (preflight)."""
    if spec.policy == "heuristic":
        from agent.graph.policies import HeuristicPolicy, RLRunsHeuristicPolicy

        rules = RLRunsHeuristicPolicy if task.family == "rl_runs" else HeuristicPolicy
        return rules(task, scaffold, spec.budgets), None
    if spec.policy == "replay":
        from agent.graph.policies import ReplayPolicy

        return ReplayPolicy(RunStore.open(str(spec.replay_run)), task.id), None
    from agent.graph.policies import LLMPolicy
    from agent.llm import EndpointDown, LLMClient, LLMConfig

    cfg = LLMConfig.from_env(model=spec.model, base_url=spec.base_url, config_file=spec.config_file)
    cfg.extra_body = {"seed": spec.seed, **cfg.extra_body}   # the request's seed (a config's own `seed` wins)
    client = LLMClient(cfg)
    try:
        client.preflight()  # fails fast: no endpoint, refused key, bad URL, nothing listening; learns the window
    except EndpointDown:
        if not resuming:
            raise
        # a resumed run waits an outage out in the graph (paused), as a running one does
    return LLMPolicy(client, tool_schemas(scaffold.tools), on_delta), cfg.model


def check_memory_file(path: Path) -> None:
    """UserError unless the memory file can be read and appended to (or created)."""
    where = path if path.exists() else next((p for p in path.parents if p.exists()), path.parent)
    if path.exists() and (not path.is_file() or not os.access(path, os.R_OK | os.W_OK)):
        raise UserError(f"the memory file {path} is not a writable file: make it writable (chmod u+rw) or set "
                        f"EVOFORGE_MEMORY to another file")
    if not path.exists() and (not where.is_dir() or not os.access(where, os.W_OK | os.X_OK)):
        raise UserError(f"the memory file {path} cannot be created ({where} is not a writable folder): set "
                        f"EVOFORGE_MEMORY to a writable place")


def record_start(store: RunStore, spec: RunSpec, sandbox_kind: str, sink: Sink | None, **extra: Any) -> None:
    """Write event 0, run_started (the one place it is written: at start, on resume if it was lost, and for a
    fork, with `forked_from` among `extra`)."""
    Emitter(store, 0, 0, sink).emit("run_started", run_id=store.run_id, task=spec.task, policy=spec.policy,
                                    model=spec.model, sandbox=sandbox_kind, scaffold_commit=spec.scaffold_commit,
                                    budgets=spec.budgets.to_dict(), **extra)


def _context(store: RunStore, spec: RunSpec, scaffold: Scaffold, task: Task, policy: Policy,
             sink: Sink | None) -> tuple[RunContext, Any]:
    """The nodes' context, with the sandbox opened over the run's workspace (with the limits the run recorded)."""
    limits = resolve_limits(spec.sandbox_limits or scaffold.policy.sandbox, store.workspace)
    sandbox = open_sandbox(spec.sandbox, store.workspace, task.public_dir, name=store.run_id, limits=limits,
                           env={"EVOFORGE_SEED": str(spec.seed)}, state_dir=store.sandbox_state)
    mem = paths.memory_file()
    tool_ctx = ToolContext(sandbox=sandbox, workspace=store.workspace, public=task.public_dir, task=task,
                           candidates_dir=store.candidates_dir, memory_path=mem)
    budgets = spec.budgets.with_turn_cap(scaffold.policy.max_turns)   # records from before the cap was recorded
    ctx = RunContext(store, task, scaffold, policy, tool_ctx, budgets, sink, memory_path=mem)
    return ctx, sandbox


def _first_state(spec: RunSpec, scaffold: Scaffold, task: Task, sandbox: Any) -> AgentState:
    system = scaffold.render("system", data_dir=sandbox.data_path, workspace=sandbox.workspace_path,
                             max_turns=spec.budgets.max_turns, environment=describe(sandbox),
                             budget=spec.budgets.describe())
    start = scaffold.render("start", task_id=spec.task, description=task.description(),
                            submission_format=task.submission_format(), data_dir=sandbox.data_path,
                            memory=memory.lessons_for(memory.family_of(task.id), scaffold.policy.memory_in_prompt_chars)
                            or "(none yet)", metric=task.config.metric, direction=direction(task.config.higher_is_better))
    return initial_state([{"role": "system", "content": system}, {"role": "user", "content": start}])


def _owner() -> dict[str, Any]:
    return {"pid": os.getpid(), "pid_start": process_start(os.getpid())}


def start_run(spec: RunSpec, *, sink: Sink | None = None, on_delta: DeltaFn | None = None,
              on_created: Callable[[str], None] | None = None, policy_impl: Policy | None = None) -> RunStore:
    """Create a run record for `spec` and drive the graph to the end; returns the run's store.

    `policy_impl` drives the run with any `(state) -> AssistantTurn` function (recorded as policy "custom").
    """
    if policy_impl is not None:
        spec = replace(spec, policy=CUSTOM)
    spec.validate()
    scaffold = load_scaffold(known_tools=set(TOOLS))
    check_memory_file(paths.memory_file())
    pick_kind(spec.sandbox)             # unknown, or not usable here: one line, before any record is made
    task = load_task(spec.task)
    policy, model = (policy_impl, None) if policy_impl is not None else _make_policy(spec, task, scaffold, on_delta)
    spec = replace(spec, model=model or spec.model, run_id=spec.run_id or new_run_id(spec.task),
                   budgets=spec.budgets.with_turn_cap(scaffold.policy.max_turns), scaffold_commit=scaffold.commit,
                   scaffold_dir=str(scaffold.root), created=now_iso(),
                   sandbox_limits=limits_record(resolve_limits(
                       {**scaffold.policy.sandbox, **check_spec(spec.sandbox_limits, "sandbox limits")}, paths.runs_dir())))
    store = RunStore.create(spec.run_id)      # owned by this process from here on
    try:
        ctx, sandbox = _context(store, spec, scaffold, task, policy, sink)
        try:
            state = _first_state(spec, scaffold, task, sandbox)
            write_json(store.root / "initial_state.json", state)   # before meta.json: a record is resumable
            store.write_meta({**spec.to_meta(), "status": "running", "sandbox": sandbox.kind,
                              "sandbox_isolation": sandbox.isolation, "turns": 0, "tokens": 0, "cost_usd": 0.0,
                              "heartbeat": now_iso(), **_owner()})
        except BaseException:
            sandbox.close()
            raise
    except BaseException:
        store.discard()          # nothing ran: leave no record behind
        raise
    try:
        if on_created:
            on_created(store.run_id)
        record_start(store, spec, sandbox.kind, sink)
        _drive(ctx, sandbox, state)
    finally:
        store.release()
    return store


def is_finished(store: RunStore) -> bool:
    """Whether the run has ended (its last event is run_finished)."""
    events = store.read_events()
    return bool(events) and events[-1].get("type") == "run_finished"


def _settle_finished(store: RunStore) -> None:
    """A run killed between its run_finished event and the meta.json update after it: finish the meta."""
    meta, last = store.read_meta(), store.read_events()[-1]
    if meta.get("status") not in ("finished", "failed"):
        totals = last.get("totals") or {}
        store.update_meta(status=last.get("status"), stop_reason=last.get("stop_reason"),
                          stop_kind=last.get("stop_kind"), totals=totals, **totals)


def resume_run(ref: str, *, sink: Sink | None = None, on_delta: DeltaFn | None = None) -> RunStore:
    """Continue a run (id or unique prefix) from its last checkpointed step; events past it are dropped, then
    re-made. UserError while another process runs it. A finished run is left as it was (see `is_finished`)."""
    store = RunStore.open(ref)
    store.acquire()                          # one owner: a second resume (or the running start) refuses here
    try:
        meta = store.read_meta()
        if is_finished(store):
            _settle_finished(store)
            return store
        if not (store.root / "initial_state.json").is_file():
            raise UserError(f"run {store.run_id!r} was killed before its first step was recorded; start a new run")
        spec = RunSpec.from_meta(meta)
        scaffold = load_scaffold(known_tools=set(TOOLS))
        check_memory_file(paths.memory_file())
        task = load_task(spec.task)
        if spec.policy == CUSTOM:
            raise UserError(f"run {store.run_id!r} was driven by a policy given in code; resume it from code")
        policy, _ = _make_policy(spec, task, scaffold, on_delta, resuming=True)
        ctx, sandbox = _context(store, spec, scaffold, task, policy, sink)
        if not store.read_events()[:1] or store.read_events()[0].get("type") != "run_started":
            store.truncate_events(0)
            record_start(store, spec, sandbox.kind, sink)
        _drive(ctx, sandbox, None)
    finally:
        store.release()
    return store


def _stop_watch(store: RunStore, sandbox: Any) -> Callable[[], None]:
    """A heartbeat tick that stops the running command (Sandbox.interrupt) once for each stop request."""
    acted: set[str] = set()

    def tick() -> None:
        stops = [r.id for r in control.requests(store, acted) if r.action == "stop"]
        if stops:
            acted.update(stops)
            interrupt = getattr(sandbox, "interrupt", None)
            if interrupt is not None:
                interrupt()
    return tick


def _drive(ctx: RunContext, sandbox: Any, inputs: AgentState | None) -> None:
    """Run the graph to its end from `inputs` (a new run) or from the last checkpoint (inputs None)."""
    store = ctx.store
    interrupted = False
    beat = Heartbeat(store, on_tick=_stop_watch(store, sandbox)).start()
    try:
        conn = sqlite3.connect(store.checkpoint_path, check_same_thread=False)
        with closing(conn):
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL commits survive kill -9 without an fsync each
            graph = build_graph(ctx, SqliteSaver(conn))
            config = {"configurable": {"thread_id": store.run_id}, "recursion_limit": RECURSION_LIMIT}
            if inputs is None:  # resuming
                snap = graph.get_state(config)
                values = snap.values or {}
                if not values and not snap.next:   # killed before the first checkpoint: start from the top
                    inputs = json.loads((store.root / "initial_state.json").read_text())
                seq = values.get("seq", 1)
                cut = [e for e in store.read_events() if e.get("seq", 0) >= seq]   # a step cut by the kill
                ctx.recover(keep_cut_step(store, seq, cut))                        # durable before truncating
                dropped = store.truncate_events(seq)
                store.update_meta(status="running", resumed=store.read_meta().get("resumed", 0) + 1,
                                  events_dropped_on_resume=dropped, **_owner())
            graph.invoke(inputs, config, durability="sync")
    except KeyboardInterrupt:
        interrupted = True               # its training jobs keep running, for `evoforge resume` to re-attach
        _mark(store, status="interrupted")
        raise
    except BaseException as exc:
        _mark(store, status="failed", error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    finally:
        beat.stop()
        try:
            sandbox.close(keep_jobs=interrupted)
        except Exception:  # noqa: BLE001 - closing must not hide the run's own outcome
            pass


def _mark(store: RunStore, **fields: Any) -> None:
    """Record how the process left the run, if the disk still lets us (a full disk must not hide the cause)."""
    try:
        store.update_meta(**fields)
    except (OSError, UserError):
        pass
