"""Start and resume runs: set up the record, sandbox, policy and SQLite checkpointer, then drive the graph."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver

from agent import memory
from agent.graph.budgets import Budgets
from agent.graph.build import RunContext, build_graph
from agent.graph.sandboxes import open_sandbox
from agent.graph.state import initial_state
from agent.graph.task import load_task
from agent.runstore import RunStore, new_run_id, now_iso
from agent.sandbox import pick_kind as pick_sandbox
from agent.sandbox.describe import describe
from agent.sandbox.limits import check_spec, limits_record, resolve_limits
from agent.scaffold import load_scaffold
from agent.tools import TOOLS, ToolContext, tool_schemas
from common import paths
from common.errors import UserError

POLICIES = ("llm", "heuristic", "replay")
RECURSION_LIMIT = 100_000


def default_policy(base_url: str | None = None, config_file: str | None = None) -> str:
    """'llm' when an endpoint is configured (flag, OPENAI_BASE_URL or the LLM config file), else 'heuristic'."""
    if base_url or os.environ.get("OPENAI_BASE_URL"):
        return "llm"
    try:
        from agent.llm import LLMConfig

        cfg = LLMConfig.from_env(config_file=config_file)
        return "llm" if getattr(cfg, "base_url", None) else "heuristic"
    except Exception:  # noqa: BLE001 - no client or no config: run without a model
        return "heuristic"


def _make_policy(meta: dict, task, tools: list[dict], on_delta: Callable | None):
    name = meta["policy"]
    if name == "heuristic":
        from agent.graph.policies import HeuristicPolicy

        return HeuristicPolicy(task)
    if name == "replay":
        from agent.graph.policies import ReplayPolicy

        if not meta.get("replay_run"):
            raise UserError("--policy replay needs --replay-run RUN_ID")
        return ReplayPolicy(RunStore.open(meta["replay_run"]))
    if name == "llm":
        try:
            from agent.llm import LLMClient, LLMConfig
        except ModuleNotFoundError as exc:
            raise UserError("the model client (agent.llm) is not installed; use --policy heuristic") from exc
        from agent.graph.policies import LLMPolicy

        kwargs: dict[str, Any] = {"base_url": meta.get("base_url"), "config_file": meta.get("config_file")}
        if meta.get("model"):
            kwargs["model"] = meta["model"]
        cfg = LLMConfig.from_env(**kwargs)
        client = LLMClient(cfg)
        client.preflight()  # fails fast (no endpoint, refused key, unreachable host); learns the context window
        policy = LLMPolicy(client, tools, on_delta)
        policy.model_name = cfg.model
        return policy
    raise UserError(f"unknown policy {name!r}: use one of {', '.join(POLICIES)}")


def _context(store: RunStore, meta: dict, sink, on_delta, policy_impl=None) -> tuple[RunContext, Any]:
    scaffold = load_scaffold(known_tools=set(TOOLS))
    task = load_task(meta["task"])
    tools = tool_schemas(scaffold.tools)
    policy = policy_impl or _make_policy(meta, task, tools, on_delta)
    limits = resolve_limits(meta.get("sandbox_limits") or scaffold.policy.sandbox, store.workspace)
    sandbox = open_sandbox(meta.get("sandbox_requested", "auto"), store.workspace, task.public_dir,
                           name=store.run_id, limits=limits)
    tool_ctx = ToolContext(sandbox=sandbox, workspace=store.workspace, public=task.public_dir, task=task,
                           submission_dest=store.submission_path, memory_path=paths.memory_file())
    ctx = RunContext(store, task, scaffold, policy, tool_ctx, Budgets.from_dict(meta.get("budgets")), sink)
    return ctx, sandbox


def _drive(ctx: RunContext, sandbox, inputs: Any) -> dict:
    store = ctx.store
    conn = sqlite3.connect(store.checkpoint_path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL commits survive kill -9 without an fsync each
    try:
        with closing(conn):
            graph = build_graph(ctx, SqliteSaver(conn))
            config = {"configurable": {"thread_id": store.run_id}, "recursion_limit": RECURSION_LIMIT}
            snap = graph.get_state(config)
            if inputs is None:  # resuming
                values = snap.values or {}
                if values and not snap.next:
                    store.update_meta(status=store.read_meta().get("status", "finished"))
                    return values
                if not values and not snap.next and not snap.config.get("configurable", {}).get("checkpoint_id"):
                    inputs = json.loads((store.root / "initial_state.json").read_text())
                seq = values.get("seq", 1)
                ctx.recover([e for e in store.read_events() if e.get("seq", 0) >= seq])  # a step cut by the kill
                dropped = store.truncate_events(seq)
                store.update_meta(status="running", pid=os.getpid(), resumed=store.read_meta().get("resumed", 0) + 1,
                                  events_dropped_on_resume=dropped)
            graph.invoke(inputs, config, durability="sync")
            return graph.get_state(config).values
    except KeyboardInterrupt:
        store.update_meta(status="killed")
        raise
    except BaseException as exc:
        store.update_meta(status="failed", error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    finally:
        try:
            sandbox.close()
        except Exception:  # noqa: BLE001 - closing must not hide the run's own outcome
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    try:  # a zombie (killed, not yet reaped by its parent) is not running
        return Path(f"/proc/{int(pid)}/stat").read_text().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def start_run(
    task_id: str,
    policy: str | None = None,
    model: str | None = None,
    sandbox: str = "auto",
    budgets: Budgets | None = None,
    base_url: str | None = None,
    run_id: str | None = None,
    replay_run: str | None = None,
    config_file: str | None = None,
    sink: Callable[[dict], None] | None = None,
    on_delta: Callable[[str, str], None] | None = None,
    on_created: Callable[[str], None] | None = None,
    policy_impl: Callable[[dict], Any] | None = None,
    limits: dict | None = None,
) -> RunStore:
    """Create a run record and drive the graph to the end; returns the run's store.

    `policy_impl` drives the run with any `(state) -> AssistantTurn-like` function (named "custom").
    `limits` overrides the scaffold's sandbox limits (agent.sandbox.limits fields, e.g. {"memory_mb": 2048}).
    """
    policy = "custom" if policy_impl is not None else (policy or default_policy(base_url, config_file))
    if policy not in POLICIES and policy_impl is None:
        raise UserError(f"unknown policy {policy!r}: use one of {', '.join(POLICIES)}")
    pick_sandbox(sandbox)   # unknown, or not usable here: one line, before any record is made
    if policy == "replay" and not replay_run:
        raise UserError("--policy replay needs --replay-run RUN_ID")
    scaffold = load_scaffold(known_tools=set(TOOLS))
    task = load_task(task_id)
    spec = {**scaffold.policy.sandbox, **check_spec(limits, "sandbox limits")}
    sandbox_limits = limits_record(resolve_limits(spec, paths.runs_dir()))
    store = RunStore.create(run_id or new_run_id(task_id))
    if on_created:
        on_created(store.run_id)
    budgets = budgets or Budgets()
    meta = {
        "run_id": store.run_id, "task": task_id, "model": model if policy == "llm" else None, "policy": policy,
        "sandbox_requested": sandbox, "base_url": base_url, "config_file": config_file, "replay_run": replay_run,
        "scaffold_commit": scaffold.commit, "scaffold_dir": str(scaffold.root), "budgets": budgets.to_dict(),
        "status": "running", "created": now_iso(), "pid": os.getpid(), "turns": 0, "tokens": 0, "cost_usd": 0.0,
        "sandbox_limits": sandbox_limits,
    }
    store.write_meta(meta)
    ctx, sb = _context(store, meta, sink, on_delta, policy_impl)
    if policy == "llm":
        meta["model"] = getattr(ctx.policy, "model_name", None) or model
    meta["sandbox"], meta["sandbox_isolation"] = getattr(sb, "kind", sandbox), getattr(sb, "isolation", None)
    store.write_meta(meta)
    system = scaffold.render("system", data_dir=sb.data_path, workspace=sb.workspace_path,
                             max_turns=budgets.max_turns or scaffold.policy.max_turns, environment=describe(sb))
    start = scaffold.render("start", task_id=task_id, description=task.description(),
                            submission_format=task.submission_format(), data_dir=sb.data_path,
                            memory=memory.read_memory(scaffold.policy.memory_in_prompt_chars) or "(none yet)")
    state = initial_state([{"role": "system", "content": system}, {"role": "user", "content": start}])
    (store.root / "initial_state.json").write_text(json.dumps(state))
    store.append_event(0, 0, "run_started", task=task_id, policy=policy, model=meta["model"], sandbox=meta["sandbox"],
                       scaffold_commit=scaffold.commit, budgets=budgets.to_dict(), run_id=store.run_id)
    if sink:
        sink({"type": "run_started", "seq": 0, "task": task_id, "policy": policy, "model": meta["model"],
              "sandbox": meta["sandbox"], "run_id": store.run_id})
    _drive(ctx, sb, state)
    return store


def resume_run(run_id: str, sink: Callable[[dict], None] | None = None,
               on_delta: Callable[[str, str], None] | None = None) -> RunStore:
    """Continue a run from its last checkpointed step (events past it are dropped, then re-made)."""
    store = RunStore.open(run_id)
    meta = store.read_meta()
    pid = meta.get("pid")
    if meta.get("status") == "running" and pid and pid != os.getpid() and _alive(pid):
        raise UserError(f"run {run_id!r} is still running (pid {pid}); stop it before resuming")
    if not (store.root / "initial_state.json").is_file():
        raise UserError(f"run {run_id!r} was killed before its first step was recorded; start a new run")
    if not any(e.get("seq") == 0 for e in store.read_events()[:1]):
        store.truncate_events(0)
        store.append_event(0, 0, "run_started", task=meta["task"], policy=meta["policy"], model=meta.get("model"),
                           sandbox=meta.get("sandbox"), scaffold_commit=meta.get("scaffold_commit"),
                           budgets=meta.get("budgets"), run_id=run_id)
    ctx, sb = _context(store, meta, sink, on_delta)
    _drive(ctx, sb, None)
    return store
