"""Fork a run at a turn: a new run that starts from the origin's state just before model turn N.

The state comes from LangGraph's checkpoint history of the origin (the latest checkpoint whose next node
is `model` with N-1 turns taken). The new record gets:
  - event 0 `run_started` naming its origin (`forked_from`: run id, turn, checkpoint id), then the origin's
    events before turn N, unchanged (the history the fork inherits), then its own;
  - meta.json: the origin's spec with the overrides given (policy, model, …) and `forked_from`;
  - a checkpoint seeded with that state, so the run continues exactly as `evoforge resume` would;
  - a copy of the origin's workspace as it is now: files are not versioned per turn, so what the origin
    wrote after turn N is there too (the fork is told nothing else changed).
The origin is only read: it may even be running.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import replace
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver

from agent.graph.build import build_graph
from agent.graph.runner import Sink, record_start, resume_run
from agent.graph.spec import CUSTOM, RunSpec
from agent.runstore import RunStore, new_run_id, now_iso
from common.errors import UserError
from common.procs import process_start


def state_before_turn(origin: RunStore, turn: int) -> tuple[dict[str, Any], str]:
    """(state values, checkpoint id) of the origin just before its model turn `turn` (1-based)."""
    if turn < 1:
        raise UserError(f"--from-turn must be 1 or more (turn 1 is the first model turn), got {turn}")
    if not origin.checkpoint_path.is_file():
        raise UserError(f"run {origin.run_id!r} has no checkpoint.sqlite to fork from")
    conn = sqlite3.connect(f"file:{origin.checkpoint_path}?mode=ro", uri=True, check_same_thread=False)
    with closing(conn):
        graph = build_graph(None, SqliteSaver(conn))  # type: ignore[arg-type] - the nodes are not run
        config = {"configurable": {"thread_id": origin.run_id}}
        most = 0
        for snap in graph.get_state_history(config):          # newest first
            taken = int(snap.values.get("turns", 0) or 0)
            most = max(most, taken)
            if snap.next == ("model",) and taken == turn - 1:
                return dict(snap.values), str(snap.config["configurable"]["checkpoint_id"])
    raise UserError(f"run {origin.run_id!r} has no checkpoint before turn {turn} (it took {most} turns): "
                    f"pick a turn from 1 to {most}")


def _seed_checkpoint(store: RunStore, values: dict[str, Any]) -> None:
    """Write the state as the new run's latest checkpoint, as if its `context` step had just ended."""
    conn = sqlite3.connect(store.checkpoint_path, check_same_thread=False)
    with closing(conn):
        graph = build_graph(None, SqliteSaver(conn))  # type: ignore[arg-type]
        graph.update_state({"configurable": {"thread_id": store.run_id}}, values, as_node="context")


def _write_events(store: RunStore, origin: RunStore, below_seq: int) -> None:
    """The origin's events 1 .. below_seq-1, appended as they were (event 0 is the fork's own run_started)."""
    lines = []
    with open(origin.events_path, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break                                   # a torn last line of a live origin
            seq = _seq(line)
            if seq is not None and 1 <= seq < below_seq:
                lines.append(line)
    with open(store.events_path, "a", encoding="utf-8") as f:
        f.writelines(lines)
        f.flush()
        os.fsync(f.fileno())


def _seq(line: str) -> int | None:
    try:
        value = json.loads(line).get("seq")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def fork_run(ref: str, turn: int, *, overrides: dict[str, Any] | None = None, run_id: str | None = None,
             sink: Sink | None = None, on_created: Any = None) -> RunStore:
    """Start a new run from run `ref`'s state before model turn `turn` and drive it to its end.

    `overrides` replace fields of the origin's spec (policy, model, base_url, config_file, replay_run); with a
    new policy, the origin's model options that do not apply to it are dropped.
    """
    origin = RunStore.open(ref)
    meta = origin.read_meta()
    values, checkpoint_id = state_before_turn(origin, turn)
    spec = RunSpec.from_meta(meta)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if "policy" in overrides and overrides["policy"] != spec.policy:
        spec = replace(spec, model=None, base_url=None, config_file=None, replay_run=None)
    spec = replace(spec, **overrides)
    if spec.policy == CUSTOM:
        raise UserError(f"run {origin.run_id!r} was driven by a policy given in code: fork it with "
                        f"--policy heuristic, llm or replay")
    spec = replace(spec, run_id=run_id or new_run_id(spec.task), created=now_iso())
    spec.validate()
    if not (origin.root / "initial_state.json").is_file():
        raise UserError(f"run {origin.run_id!r} has no initial_state.json (killed before its first step): nothing to fork")
    origin_ref = {"run_id": origin.run_id, "turn": turn, "checkpoint_id": checkpoint_id}
    store = RunStore.create(spec.run_id)
    try:
        if origin.workspace.is_dir():
            shutil.copytree(origin.workspace, store.workspace, symlinks=True, dirs_exist_ok=True)
        shutil.copyfile(origin.root / "initial_state.json", store.root / "initial_state.json")
        store.write_meta({**spec.to_meta(), "status": "running", "sandbox": meta.get("sandbox"),
                          "sandbox_isolation": meta.get("sandbox_isolation"), "turns": values.get("turns", 0),
                          "tokens": values.get("prompt_tokens", 0) + values.get("completion_tokens", 0),
                          "cost_usd": values.get("cost_usd", 0.0), "forked_from": origin_ref,
                          "pid": os.getpid(), "pid_start": process_start(os.getpid())})
        record_start(store, spec, str(meta.get("sandbox") or spec.sandbox), sink, forked_from=origin_ref)
        _write_events(store, origin, int(values.get("seq", 1)))
        _seed_checkpoint(store, values)
    except BaseException:
        store.discard()
        raise
    if on_created:
        on_created(store.run_id)
    store.release()         # resume_run takes the run's lock itself (a second flock in this process would clash)
    return resume_run(store.run_id, sink=sink)
