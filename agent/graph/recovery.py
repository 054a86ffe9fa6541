"""Tool calls of a step cut short by a kill: what its uncommitted events say, and what the model is told.

Before a tool runs, the tools step records `tool_started`; after, `tool_call` with the result. When the
process dies mid-step, the checkpoint still says "run these calls", and the step's events are past the
checkpoint's seq. On resume those events are read before they are dropped: a call with a result is not
run again (its recorded result is used), a call that started but has no result is reported to the
model as interrupted (its effects are unknown), unless its tool only reads, which is simply run again.
The redone step writes `tool_started` again for each such call, with `recovered` and the first start's
time, so the log still shows every call's start and result.

What the cut step's events say is written to `recovery.json` (with the checkpoint's seq) *before* the log
is truncated, so a resume that is itself killed right after truncating loses nothing: the next resume of
the same step merges that record with what its own predecessor wrote.
"""

from __future__ import annotations

import json

from agent.runstore import RunStore, write_json

INTERRUPTED_EXIT = 130          # as a shell reports a command stopped by a signal
INTERRUPTED_PREFIX = "error: this call was interrupted"   # how a cut call's observation begins (policies test it)
INTERRUPTED = (
    f"{INTERRUPTED_PREFIX}: the agent's process was killed while it ran, and the run was resumed "
    "after a restart. Its effects are unknown: it may have done all, part or none of its work (files may be "
    "written in part, a process it started may have stopped midway). It was not run again. Check the state "
    "it would have changed before relying on it, and call it again if it is still needed."
)


def keep_cut_step(store: RunStore, seq: int, events: list[dict]) -> list[dict]:
    """The events of the step cut at checkpoint seq `seq`: these, after those an earlier resume of the same step
    kept; written durably to recovery.json before the caller truncates the log."""
    path = store.root / "recovery.json"
    kept: list[dict] = []
    try:
        old = json.loads(path.read_text())
        if old.get("seq") == seq and isinstance(old.get("events"), list):
            kept = old["events"]
    except (OSError, ValueError, AttributeError):
        pass
    merged = kept + [e for e in events if e not in kept]
    write_json(path, {"seq": seq, "events": merged})
    return merged


def calls_in_flight(events: list[dict]) -> dict[str, dict]:
    """call_id -> {"state": "finished" | "started", "event": its latest event, "started_ts": when it started}."""
    found: dict[str, dict] = {}
    for ev in events:
        kind, cid = ev.get("type"), ev.get("call_id")
        if cid is None or kind not in ("tool_started", "tool_call"):
            continue
        entry = found.setdefault(cid, {"state": "started", "event": ev, "started_ts": None})
        if kind == "tool_started" and entry["started_ts"] is None:
            entry["started_ts"] = ev.get("first_started_ts") or ev.get("ts")
        if kind == "tool_call":
            entry.update(state="finished", event=ev)
    return found


def matches(prior: dict | None, call: dict) -> bool:
    """Whether a recovered entry is for this very call (same id, tool and arguments)."""
    if not prior:
        return False
    ev = prior["event"]
    return ev.get("name") == call.get("name") and ev.get("arguments") == call.get("arguments")


def finished_record(event: dict) -> dict:
    """The tool record (as run_tool returns it) of a call whose result was recorded before the kill."""
    return {"output": event.get("output", ""), "exit_code": event.get("exit_code", 0),
            "duration_s": event.get("duration_s", 0.0), "ends_run": bool(event.get("ends_run", False)),
            "extra": event.get("extra") or {}}


def interrupted_record() -> dict:
    """The tool record of a call that started but never finished: an observation saying so."""
    return {"output": INTERRUPTED, "exit_code": INTERRUPTED_EXIT, "duration_s": 0.0, "ends_run": False,
            "extra": {"interrupted": True}}
