"""One attempt as a LangGraph StateGraph: model → tools → context → model …, then finish → reflect → END.

    model    requests from people first (notes, pause, stop: control.py), the budgets, then one turn of
             the policy. A model failure routes by its kind: an outage (EndpointDown) → wait; a context
             overflow → context, which compacts at once; an unusable endpoint or any other error →
             finish, and the run has failed
    tools    the turn's tool calls in the sandbox, each command's timeout capped by the time left (calls
             cut by a kill are recovered: recovery.py); `submit` registers a candidate (candidates.py),
             `finish` ends the attempt
    context  the stage prompt of the loop policy (search.py) and the scaffold's mid-run self-check;
             compaction near the window, or forced after an overflow
    wait     the endpoint is down: the run is "paused", waits with backoff, then asks again
    finish   grade the best candidate by the agent's validation score, outside the sandbox
    reflect  a self-critique into memory (none when the run failed), the totals into meta.json

Every node is a plain function `(ctx, state) -> update` that writes its events through one Emitter;
the wiring is at the end of the file.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from langgraph.graph import END, START, StateGraph

from agent import memory
from agent.graph import candidates as cands
from agent.graph import control, search
from agent.graph.budgets import Budgets
from agent.graph.context import compact, history_tokens
from agent.graph.policies.base import Policy, Windowed, Writer
from agent.graph.recovery import calls_in_flight, finished_record, interrupted_record, matches
from agent.graph.reflection import rule_based_critique, run_context
from agent.graph.state import AgentState
from agent.graph.stops import PolicyStop, StopKind, stop_kind
from agent.llm.types import AssistantTurn, BudgetExceeded, ContextOverflow, EndpointDown, EndpointUnusable
from agent.runstore import Emitter, RunStore, now_iso, write_json
from agent.scaffold import Scaffold
from agent.tools import ToolContext, rerun_safe, run_tool
from agent.tools.confine import take_auto_submission
from agent.tools.submission import PENDING

MAX_OVERFLOWS = 4   # consecutive context overflows, each followed by a compaction, before the run stops


@dataclass
class RunContext:
    """What the nodes act on; rebuilt by each process that runs (or resumes) the run."""

    store: RunStore
    task: Any
    scaffold: Scaffold
    policy: Policy
    tool_ctx: ToolContext
    budgets: Budgets = field(default_factory=Budgets)
    sink: Callable[[dict], None] | None = None
    memory_path: Path | None = None
    sleep: Callable[[float], None] = time.sleep   # how `wait` waits
    poll_s: float = 0.5                           # how often a paused attempt looks for unpause or stop
    recovered: dict[str, dict] = field(default_factory=dict)   # call_id -> what a killed step recorded of it

    def context_window(self) -> int:
        """The window compaction works to: the scaffold's, or the model's when smaller (learnt as the run goes)."""
        model = self.policy.context_window if isinstance(self.policy, Windowed) else None
        return min(self.scaffold.policy.context_window_tokens, model or self.scaffold.policy.context_window_tokens)

    def recover(self, uncommitted: list[dict]) -> None:
        """Note what the events of a step cut by a kill say about its tool calls (see agent.graph.recovery)."""
        self.recovered = calls_in_flight(uncommitted)


# -- helpers shared by the nodes -------------------------------------------------------------------
def _emitter(ctx: RunContext, state: AgentState) -> Emitter:
    return Emitter(ctx.store, state.get("seq", 1), state.get("step", 0) + 1, ctx.sink)


def _done(ctx: RunContext, em: Emitter, t0: float, state: AgentState, paused: bool = False, held_s: float = 0.0,
          **update: Any) -> dict:
    """The node's update plus the bookkeeping every step does: next seq, step count, time spent.

    `paused`: the step waited out an outage; `held_s`: seconds of it a person had the attempt paused (never
    counted toward the time budget)."""
    held = min(max(held_s, 0.0), time.monotonic() - t0)
    spent = time.monotonic() - t0 - held
    update.update(seq=em.seq, step=em.step)
    if held:
        update["user_paused_s"] = state.get("user_paused_s", 0.0) + held
    if paused:
        update["paused_s"] = state.get("paused_s", 0.0) + spent
    if not paused or ctx.budgets.seconds_include_outages:
        update["elapsed_s"] = state.get("elapsed_s", 0.0) + spent
    return update


def _stopped(kind: StopKind, reason: str) -> dict:
    return {"stop_kind": kind.value, "stop_reason": reason}


def _usage(state: AgentState, turns: list[AssistantTurn]) -> dict:
    """The state's token and cost totals with these model calls added (turns, summaries, reflections)."""
    return {"prompt_tokens": state.get("prompt_tokens", 0) + sum(t.usage.prompt_tokens for t in turns),
            "completion_tokens": state.get("completion_tokens", 0) + sum(t.usage.completion_tokens for t in turns),
            "cost_usd": state.get("cost_usd", 0.0) + sum(t.cost_usd or 0.0 for t in turns)}


def _save_progress(ctx: RunContext, turns: int, totals: dict) -> None:
    ctx.store.update_meta(sync=False, turns=turns, tokens=totals["prompt_tokens"] + totals["completion_tokens"],
                          cost_usd=totals["cost_usd"])


def _budget_stop(ctx: RunContext, em: Emitter, t0: float, state: AgentState, reason: str, **update: Any) -> dict:
    """The one place a budget ends the run: a budget_exhausted event, then finish."""
    em.emit("budget_exhausted", reason=reason, turns=state.get("turns", 0),
            tokens=state.get("prompt_tokens", 0) + state.get("completion_tokens", 0),
            elapsed_s=round(state.get("elapsed_s", 0.0), 3), cost_usd=state.get("cost_usd", 0.0))
    return _done(ctx, em, t0, state, **update, **_stopped(StopKind.BUDGET, reason))


def _failed(ctx: RunContext, em: Emitter, t0: float, state: AgentState, kind: StopKind, reason: str,
            **update: Any) -> dict:
    """The run failed (kind.failed): an error event, then finish (what exists is still graded)."""
    em.emit("error", where="model", kind=kind.value, error=reason)
    return _done(ctx, em, t0, state, **update, **_stopped(kind, reason[:500]))


def _control(ctx: RunContext, state: AgentState, em: Emitter) -> tuple[dict, float, bool]:
    """Apply the control requests not yet applied (control.py): notes join the history, a pause holds the
    attempt here until unpause or stop. Returns (update: messages and applied ids, seconds held, stop)."""
    done, messages = list(state.get("control_done") or []), list(state["messages"])
    held, since, stop = 0.0, None, False
    pending = control.requests(ctx.store, done)
    while pending or since is not None:
        for r in pending:
            done.append(r.id)
            if r.action == "note":
                em.emit("user_note", request_id=r.id, text=r.text, sent=r.ts)
                text = ctx.scaffold.render("note", text=r.text) if "note" in ctx.scaffold.phases else r.text
                messages.append({"role": "user", "content": text})
            elif r.action == "pause" and since is None:
                since = time.monotonic()
                em.emit("user_pause", request_id=r.id, sent=r.ts)
                ctx.store.update_meta(status="paused", paused_since=now_iso(), pause_cause="paused by the user")
            elif r.action == "resume" and since is not None:
                held, since = held + time.monotonic() - since, None
                em.emit("user_unpause", request_id=r.id, sent=r.ts, paused_s=round(held, 3))
                ctx.store.update_meta(status="running", paused_since=None, pause_cause=None)
            elif r.action == "stop":
                em.emit("user_stop", request_id=r.id, sent=r.ts)
                stop = True
        if stop or since is None:
            break
        time.sleep(ctx.poll_s)
        pending = control.requests(ctx.store, done)
    if since is not None:                       # stopped while paused
        held += time.monotonic() - since
        ctx.store.update_meta(status="running", paused_since=None, pause_cause=None)
    update = {"control_done": done, "messages": messages} if done != list(state.get("control_done") or []) else {}
    return update, held, stop


def _outage(ctx: RunContext, em: Emitter, t0: float, state: AgentState, exc: EndpointDown, **update: Any) -> dict:
    """The endpoint is down: record it, mark the run paused, and go to `wait`."""
    policy = ctx.scaffold.policy
    outage = dict(state.get("outage") or {"since": now_iso(), "since_ts": time.time(), "attempts": 0})
    outage.update(attempts=outage["attempts"] + 1, cause=str(exc)[:300])
    backoff = policy.outage_wait_s * 2 ** (outage["attempts"] - 1)
    outage["wait_s"] = min(policy.outage_wait_max_s, max(backoff, exc.retry_after_s or 0.0))  # as the server asks
    ctx.store.update_meta(status="paused", paused_since=outage["since"], pause_cause=outage["cause"])
    em.emit("model_outage", attempt=outage["attempts"], since=outage["since"], cause=outage["cause"],
            wait_s=outage["wait_s"])
    return _done(ctx, em, t0, state, paused=True, **update, outage=outage, pending=[])


# -- nodes -----------------------------------------------------------------------------------------
def model(ctx: RunContext, state: AgentState) -> dict:
    """Requests from people, the budgets, then one model turn; the model's failures are routed by kind."""
    t0, em = time.monotonic(), _emitter(ctx, state)
    ctl, held, stop = _control(ctx, state, em)
    if stop:
        return _done(ctx, em, t0, state, held_s=held, **ctl, **_stopped(StopKind.USER_STOP, "stopped by the user"))
    reason = ctx.budgets.exhausted(state)
    if reason:
        return _budget_stop(ctx, em, t0, state, reason, held_s=held, **ctl)
    seen = {**state, **ctl}
    try:
        turn = ctx.policy(seen)
    except PolicyStop as exc:
        return _done(ctx, em, t0, state, held_s=held, **ctl,
                     **_stopped(StopKind.POLICY_DONE, str(exc) or "policy_stop"))
    except BudgetExceeded as exc:   # the client's own money/token cap
        return _budget_stop(ctx, em, t0, state, f"client budget: {exc}", held_s=held, **ctl)
    except EndpointDown as exc:
        return _outage(ctx, em, t0, state, exc, held_s=held, **ctl)
    except ContextOverflow as exc:
        em.emit("context_overflow", error=str(exc)[:500], tokens=history_tokens(seen["messages"]))
        return _done(ctx, em, t0, state, held_s=held, **ctl, overflow=str(exc)[:500],
                     overflows=state.get("overflows", 0) + 1, pending=[])
    except EndpointUnusable as exc:
        return _failed(ctx, em, t0, state, StopKind.ENDPOINT_UNUSABLE, f"model endpoint unusable: {exc}",
                       held_s=held, **ctl)
    except Exception as exc:  # noqa: BLE001 - the model (or a custom policy) failing for good ends the run
        return _failed(ctx, em, t0, state, StopKind.MODEL_ERROR, f"model error: {type(exc).__name__}: {exc}",
                       held_s=held, **ctl)
    if state.get("outage"):
        ctx.store.update_meta(status="running", paused_since=None, pause_cause=None)
        em.emit("model_back", since=state["outage"]["since"], attempts=state["outage"]["attempts"],
                down_s=round(time.time() - state["outage"]["since_ts"], 3))
    turns = state.get("turns", 0) + 1
    em.emit("model_turn", turn=turns, **turn.to_event(), message=turn.to_message())
    messages = list(seen["messages"]) + [turn.to_message()]
    pending = [{"id": c.id, "name": c.name, "arguments": c.arguments, "error": c.error} for c in turn.tool_calls]
    idle, stop_now = (0 if pending else state.get("idle_turns", 0) + 1), {}
    if idle > ctx.scaffold.policy.max_idle_turns:
        stop_now = _stopped(StopKind.NO_TOOL_CALLS, "no_tool_calls")
    elif idle:
        messages.append({"role": "user", "content": ctx.scaffold.render("nudge")})
    totals = _usage(state, [turn])
    _save_progress(ctx, turns, totals)
    return _done(ctx, em, t0, state, held_s=held, **{**ctl, "messages": messages}, pending=pending, turns=turns,
                 idle_turns=idle, outage=None, overflow=None, overflows=0, last_prompt_tokens=turn.usage.prompt_tokens,
                 **totals, **stop_now)


def _skipped(why: str) -> dict:
    return {"output": f"not run: {why}", "exit_code": 1, "duration_s": 0.0, "ends_run": False, "extra": {}}


def _candidate(ctx: RunContext, em: Emitter, rec: dict, found: list[dict]) -> dict | None:
    """Number and keep the candidate a `submit` call left (a recovered call's is numbered already)."""
    cand = rec["extra"].get("candidate")
    if not cand:
        return None
    if "n" not in cand:
        cand = cands.register(ctx.store.candidates_dir, cand, found)
        rec["extra"]["candidate"] = cand
        hib = bool(ctx.task.config.higher_is_better)
        rec["output"] += (f"\nThis is candidate #{cand['n']}. Candidates so far ({search.direction(hib)}):\n"
                          f"{cands.summary(found + [cand], hib)}\nThe attempt goes on: keep improving, or call finish.")
    return cand


def tools(ctx: RunContext, state: AgentState) -> dict:
    """Run the pending tool calls in the sandbox; `submit` registers a candidate, `finish` ends the loop."""
    t0, em = time.monotonic(), _emitter(ctx, state)
    messages, found = list(state["messages"]), list(state.get("candidates") or [])
    stop: dict = {}
    n_calls, n_err, streak = state.get("tool_calls", 0), state.get("tool_errors", 0), state.get("error_streak", 0)
    recovered, ctx.recovered = ctx.recovered, {}      # only the first step after a resume redoes a cut step
    for call in state.get("pending", []):
        prior = recovered.get(call["id"])
        prior = prior if matches(prior, call) else None
        how: dict[str, Any] = {}
        left = ctx.budgets.seconds_left(state)
        left = None if left is None else left - (time.monotonic() - t0)
        if stop:
            rec = _skipped("the attempt was already finished")
        elif control.stop_requested(ctx.store, state.get("control_done") or []):
            rec = _skipped("the attempt is being stopped (a stop was requested)")
        elif prior is None and left is not None and left <= 0:
            rec = _skipped("the attempt's time budget is spent")
        else:
            if prior is None:
                rec = None
            elif prior["state"] == "finished":          # done before the kill: its result, not a second run
                rec, how = finished_record(prior["event"]), {"recovered": "finished"}
            elif not rerun_safe(call["name"]):          # cut mid-way: effects unknown, not run again
                rec, how = interrupted_record(), {"recovered": "interrupted"}
            else:                                       # cut mid-way, but running it again is safe: do
                rec, how = None, {"recovered": "rerun"}
            first = {"first_started_ts": prior["started_ts"]} if prior and prior.get("started_ts") else {}
            em.emit("tool_started", call_id=call["id"], name=call["name"], arguments=call["arguments"], **how, **first)
            if rec is None:
                rec = run_tool(ctx.tool_ctx, ctx.scaffold.tools, call["name"], call["arguments"], call.get("error"),
                               time_left_s=None if left is None else max(left, 0.0))
        cand = _candidate(ctx, em, rec, found)
        n_calls += 1
        n_err += rec["exit_code"] != 0
        streak = streak + 1 if rec["exit_code"] != 0 else 0
        em.emit("tool_call", call_id=call["id"], name=call["name"], arguments=call["arguments"], output=rec["output"],
                exit_code=rec["exit_code"], duration_s=rec["duration_s"], extra=rec["extra"], ends_run=rec["ends_run"],
                **how)
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": rec["output"]})
        if cand is not None:
            found.append(cand)
            em.emit("candidate", call_id=call["id"], **{k: cand.get(k) for k in (
                "n", "validation_score", "valid", "error", "source", "note", "auto")},
                file=str(cands.file_of(ctx.store.candidates_dir, cand["n"])))
        if rec["ends_run"]:
            why = rec["extra"].get("reason")
            stop = _stopped(StopKind.AGENT_FINISHED, "finish" + (f": {why}" if why else ""))
    return _done(ctx, em, t0, state, messages=messages, pending=[], candidates=found, tool_calls=n_calls,
                 tool_errors=n_err, error_streak=streak, **stop)


def context(ctx: RunContext, state: AgentState) -> dict:
    """The mid-run self-check at the scaffold's cadence; compaction near the window, or at once after an overflow."""
    t0, em = time.monotonic(), _emitter(ctx, state)
    policy, messages, overflow = ctx.scaffold.policy, state["messages"], state.get("overflow")
    turns, every = state.get("turns", 0), policy.reflect_every_turns
    after_tools, said = not overflow and messages[-1].get("role") == "tool", []
    stage, guide = search.guide(ctx.scaffold, ctx.budgets, state, ctx.task) if after_tools else (state.get("stage"), None)
    if guide:
        said.append(guide)
    if after_tools and every and turns and turns % every == 0 and "midrun" in ctx.scaffold.phases:
        said.append(ctx.scaffold.render("midrun", turns=turns))
    if said:
        messages = messages + [{"role": "user", "content": "\n\n".join(said)}]
    before = history_tokens(messages, state.get("last_prompt_tokens", 0))
    if not overflow and before < ctx.context_window() * policy.compact_at_fraction:
        return _done(ctx, em, t0, state, messages=messages, stage=stage)
    spent: list[AssistantTurn] = []
    summarize = None
    if isinstance(ctx.policy, Writer):
        prompt = ctx.scaffold.render("compact", task_id=ctx.task.id)

        def summarize(old: list[dict]) -> str:
            spent.append(ctx.policy.summarize(old, prompt))
            return spent[-1].content

    keep = policy.keep_recent_turns if state.get("overflows", 0) <= 1 else 1  # overflowing again: keep less
    result = compact(messages, keep, summarize)
    totals = _usage(state, spent)
    if spent:
        _save_progress(ctx, turns, totals)
    if result is not None and (not overflow or history_tokens(result[0]) < before):
        new, info = result
        em.emit("context_compacted", before_tokens=before, after_tokens=history_tokens(new), forced=bool(overflow),
                cost_usd=sum(t.cost_usd or 0.0 for t in spent),
                tokens=sum(t.usage.prompt_tokens + t.usage.completion_tokens for t in spent), **info)
        return _done(ctx, em, t0, state, messages=new, compactions=state.get("compactions", 0) + 1,
                     last_prompt_tokens=0, overflow=None, stage=stage, **totals)
    if not overflow:
        return _done(ctx, em, t0, state, messages=messages, stage=stage, **totals)
    if state.get("overflows", 0) > MAX_OVERFLOWS or result is None:
        reason = (f"context overflow: the history (~{before} tokens) does not fit the model's context window and "
                  f"cannot be compacted further (system prompt, task and last turn alone); use a model with a larger "
                  f"window or lower memory_in_prompt_chars in the scaffold's policy.yaml; the endpoint said: {overflow}")
    else:
        reason = f"context overflow: compacting did not shrink the history (~{before} tokens); the endpoint said: {overflow}"
    em.emit("error", where="context", kind=StopKind.CONTEXT_OVERFLOW.value, error=reason)
    return _done(ctx, em, t0, state, **totals, **_stopped(StopKind.CONTEXT_OVERFLOW, reason[:500]))


def wait(ctx: RunContext, state: AgentState) -> dict:
    """The endpoint is down: wait (the time counts as paused, see Budgets), then the model is asked again."""
    t0, em = time.monotonic(), _emitter(ctx, state)
    ctx.sleep(float((state.get("outage") or {}).get("wait_s", ctx.scaffold.policy.outage_wait_s)))
    return _done(ctx, em, t0, state, paused=True)


def _auto_candidate(ctx: RunContext, em: Emitter, found: list[dict]) -> dict | None:
    """workspace/<the task's submission file> as a candidate (no score), when it is a regular, single-link file there."""
    folder = ctx.store.candidates_dir
    folder.mkdir(exist_ok=True)
    pending = folder / PENDING
    name = ctx.task.submission_name
    if not take_auto_submission(ctx.tool_ctx.workspace, pending, name):
        return None
    problem = ctx.task.validate(pending)
    cand = cands.register(folder, {"pending": str(pending), "source": str(ctx.tool_ctx.workspace / name),
                                   "validation_score": None, "valid": problem is None, "error": problem,
                                   "note": f"workspace/{name} at the end", "auto": True}, found)
    em.emit("candidate", call_id=None, file=str(cands.file_of(folder, cand["n"])), **cand)
    return cand


def finish(ctx: RunContext, state: AgentState) -> dict:
    """Grade the best candidate by the agent's validation score (when none is valid: a submission.csv left in
    the workspace, else the latest candidate, so that its error is recorded), outside the sandbox."""
    t0, em = time.monotonic(), _emitter(ctx, state)
    store, found = ctx.store, list(state.get("candidates") or [])
    hib = bool(ctx.task.config.higher_is_better)
    sub, pick = store.submission_path, cands.best(found, hib)
    if pick is None:
        auto = _auto_candidate(ctx, em, found)
        found += [auto] if auto else []
        pick = cands.best(found, hib) or (found[-1] if found else None)
    if pick is not None:
        tmp = sub.with_name(".submission.csv.tmp")
        shutil.copyfile(cands.file_of(store.candidates_dir, pick["n"]), tmp)
        os.replace(tmp, sub)
        em.emit("submission", path=str(sub), source=pick.get("source"), candidate=pick["n"],
                validation_score=pick.get("validation_score"), valid=pick.get("valid"), error=pick.get("error"),
                auto=bool(pick.get("auto")), candidates=len(found))
    if sub.exists():        # the chosen candidate's copy (or, in a record of an earlier version, the submitted file)
        report = ctx.task.grade(sub)
    else:
        report = {"valid": False, "error": "no submission was made", "score": None, "medal": None, "above_median": None}
    chosen = {"candidate": pick["n"] if pick else None,
              "validation_score": pick.get("validation_score") if pick else None}
    score = dict(report, task=ctx.task.id, run_id=store.run_id, stop_reason=state.get("stop_reason"),
                 stop_kind=state.get("stop_kind"), candidates=len(found), **chosen)
    write_json(store.score_path, score)
    em.emit("grading", **report, **chosen)
    store.update_meta(score=report.get("score"), medal=report.get("medal"), valid=report.get("valid"),
                      candidates=len(found), **chosen)
    return _done(ctx, em, t0, state, grading=report, candidates=found)


def _critique(ctx: RunContext, state: AgentState, grading: dict, spent: list[AssistantTurn]) -> tuple[str, str]:
    """(text, method): the model's self-critique where it can write one, else the rule-based one."""
    policy = ctx.scaffold.policy
    if policy.reflect_use_model and isinstance(ctx.policy, Writer):
        prompt = ctx.scaffold.render("reflect", task_id=ctx.task.id, stop_reason=state.get("stop_reason"),
                                     grading=json.dumps(grading))
        try:
            spent.append(ctx.policy.reflect(prompt, run_context(state)))
            text = (spent[-1].content or "").strip()
            if text:
                return text[: policy.reflect_max_chars], "model"
        except Exception:  # noqa: BLE001 - fall back to the rule-based critique
            pass
    return rule_based_critique(state, grading)[: policy.reflect_max_chars], "rules"


def reflect(ctx: RunContext, state: AgentState) -> dict:
    """A self-critique into memory (not when the run failed: that is no lesson about the task); totals to meta."""
    t0, em = time.monotonic(), _emitter(ctx, state)
    store, grading = ctx.store, state.get("grading") or {}
    kind = stop_kind(state) or StopKind.POLICY_DONE
    spent: list[AssistantTurn] = []
    if ctx.scaffold.policy.reflect_at_end and kind.failed:
        em.emit("reflection", text="", method="skipped",
                skipped=f"the run failed ({kind.value}); a failure of the model endpoint is no lesson about the task")
    elif ctx.scaffold.policy.reflect_at_end:
        text, method = _critique(ctx, state, grading, spent)
        mem = ctx.memory_path or memory.memory_path()
        error = None
        try:   # lessons by family and tool; a re-run of this step adds nothing (idempotent per run)
            memory.record_reflection(text, ctx.task.id, store.run_id, mem)
        except OSError as exc:       # a read-only or full memory file costs the lesson, not the run
            error = f"not written to {mem}: {exc.strerror or exc}"
        em.emit("reflection", text=text, method=method, memory_file=str(mem), **({"error": error} if error else {}))
    usage = _usage(state, spent)
    totals = {"turns": state.get("turns", 0), "tool_calls": state.get("tool_calls", 0),
              "tool_errors": state.get("tool_errors", 0), "tokens": usage["prompt_tokens"] + usage["completion_tokens"],
              "cost_usd": usage["cost_usd"], "elapsed_s": round(state.get("elapsed_s", 0.0), 3),
              "paused_s": round(state.get("paused_s", 0.0), 3), "compactions": state.get("compactions", 0)}
    stop = state.get("stop_reason") or "unknown"
    em.emit("run_finished", status=kind.status, stop_reason=stop, stop_kind=kind.value, score=grading.get("score"),
            medal=grading.get("medal"), totals=totals)
    store.update_meta(status=kind.status, stop_reason=stop, stop_kind=kind.value, totals=totals, **totals)
    return _done(ctx, em, t0, state, **usage)


# -- routing and wiring ----------------------------------------------------------------------------
def after_model(state: AgentState) -> str:
    """finish when stopped, wait on an outage, tools when calls are pending, else context."""
    if state.get("stop_reason"):
        return "finish"
    if state.get("outage"):
        return "wait"
    return "tools" if state.get("pending") else "context"


def after_tools(state: AgentState) -> str:
    """finish once the agent called finish, else context."""
    return "finish" if state.get("stop_reason") else "context"


def after_context(state: AgentState) -> str:
    """finish when an overflow could not be compacted away, else the next model turn."""
    return "finish" if state.get("stop_reason") else "model"


def build_graph(ctx: RunContext, checkpointer: Any = None):
    """Compile the agent graph (with the given checkpointer, e.g. SqliteSaver)."""
    g = StateGraph(AgentState)
    for node in (model, tools, context, wait, finish, reflect):
        g.add_node(node.__name__, partial(node, ctx))
    g.add_edge(START, "model")
    g.add_conditional_edges("model", after_model, ["finish", "wait", "tools", "context"])
    g.add_conditional_edges("tools", after_tools, ["finish", "context"])
    g.add_conditional_edges("context", after_context, ["finish", "model"])
    g.add_edge("wait", "model")
    g.add_edge("finish", "reflect")
    g.add_edge("reflect", END)
    return g.compile(checkpointer=checkpointer)
