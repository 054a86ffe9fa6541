"""The StateGraph: model → tools → context → model …, then finish (grade) → reflect (memory) → END."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langgraph.graph import END, START, StateGraph

from agent import memory
from agent.graph.budgets import Budgets
from agent.graph.context import compact, history_tokens
from agent.graph.recovery import calls_in_flight, finished_record, interrupted_record, matches
from agent.graph.reflection import rule_based_critique, run_context
from agent.graph.state import AgentState
from agent.graph.turns import PolicyStop, turn_record
from agent.runstore import Emitter, RunStore
from agent.scaffold import Scaffold
from agent.tools import ToolContext, is_read_only, run_tool
from agent.tools.confine import take_auto_submission


@dataclass
class RunContext:
    """What the nodes act on; rebuilt by each process that runs (or resumes) the run."""

    store: RunStore
    task: Any
    scaffold: Scaffold
    policy: Callable[[dict], Any]
    tool_ctx: ToolContext
    budgets: Budgets = field(default_factory=Budgets)
    sink: Callable[[dict], None] | None = None
    recovered: dict[str, dict] = field(default_factory=dict)   # call_id -> what a killed step recorded of it

    def recover(self, uncommitted: list[dict]) -> None:
        """Note what the events of a step cut by a kill say about its tool calls (see agent.graph.recovery)."""
        self.recovered = calls_in_flight(uncommitted)


def _step(ctx: RunContext, state: AgentState) -> Emitter:
    return Emitter(ctx.store, state.get("seq", 1), state.get("step", 0) + 1, ctx.sink)


def _done(em: Emitter, t0: float, state: AgentState, **update: Any) -> dict:
    update.update(seq=em.seq, step=em.step, elapsed_s=state.get("elapsed_s", 0.0) + (time.monotonic() - t0))
    return update


def make_nodes(ctx: RunContext) -> dict[str, Callable[[AgentState], dict]]:
    """The graph's nodes as plain functions closed over the run context."""
    policy = ctx.scaffold.policy

    def model(state: AgentState) -> dict:
        t0, em = time.monotonic(), _step(ctx, state)
        reason = ctx.budgets.exhausted(state)
        if reason is None and state.get("turns", 0) >= policy.max_turns:
            reason = f"max_turns: {state.get('turns', 0)} turns taken (scaffold limit {policy.max_turns})"
        if reason:
            em.emit("budget_exhausted", reason=reason, turns=state.get("turns", 0),
                    tokens=state.get("prompt_tokens", 0) + state.get("completion_tokens", 0),
                    elapsed_s=round(state.get("elapsed_s", 0.0), 3), cost_usd=state.get("cost_usd", 0.0))
            return _done(em, t0, state, stop_reason=reason, pending=[])
        try:
            turn = ctx.policy(state)
        except PolicyStop as exc:
            return _done(em, t0, state, stop_reason=str(exc) or "policy_stop", pending=[])
        except Exception as exc:  # noqa: BLE001 - the model failing for good ends the run, which is still graded
            if type(exc).__name__ == "BudgetExceeded":  # the client's own money/token cap
                reason = f"client budget: {exc}"
                em.emit("budget_exhausted", reason=reason, turns=state.get("turns", 0),
                        tokens=state.get("prompt_tokens", 0) + state.get("completion_tokens", 0),
                        elapsed_s=round(state.get("elapsed_s", 0.0), 3), cost_usd=state.get("cost_usd", 0.0))
                return _done(em, t0, state, stop_reason=reason, pending=[])
            em.emit("error", where="model", error=f"{type(exc).__name__}: {exc}")
            return _done(em, t0, state, stop_reason=f"error: {type(exc).__name__}: {exc}"[:300], pending=[])
        rec = turn_record(turn)
        turns = state.get("turns", 0) + 1
        em.emit("model_turn", turn=turns, **rec)
        usage = rec.get("usage") or {}
        messages = list(state["messages"]) + [rec["message"]]
        pending = [{"id": c["id"], "name": c["name"], "arguments": c["arguments"], "error": c.get("error")}
                   for c in rec.get("tool_calls") or []]
        idle, stop = state.get("idle_turns", 0), None
        if pending:
            idle = 0
        else:
            idle += 1
            if idle > policy.max_idle_turns:
                stop = "no_tool_calls"
            else:
                messages.append({"role": "user", "content": ctx.scaffold.render("nudge")})
        update = _done(
            em, t0, state, messages=messages, pending=pending, turns=turns, idle_turns=idle, stop_reason=stop,
            prompt_tokens=state.get("prompt_tokens", 0) + int(usage.get("prompt_tokens") or 0),
            completion_tokens=state.get("completion_tokens", 0) + int(usage.get("completion_tokens") or 0),
            cost_usd=state.get("cost_usd", 0.0) + float(rec.get("cost_usd") or 0.0),
            last_prompt_tokens=int(usage.get("prompt_tokens") or 0),
        )
        ctx.store.update_meta(sync=False, turns=turns, tokens=update["prompt_tokens"] + update["completion_tokens"],
                              cost_usd=update["cost_usd"])
        return update

    def tools(state: AgentState) -> dict:
        t0, em = time.monotonic(), _step(ctx, state)
        messages = list(state["messages"])
        submitted, stop = state.get("submitted", False), state.get("stop_reason")
        n_calls, n_err = state.get("tool_calls", 0), state.get("tool_errors", 0)
        recovered, ctx.recovered = ctx.recovered, {}      # only the first step after a resume redoes a cut step
        for call in state.get("pending", []):
            prior = recovered.get(call["id"])
            prior = prior if matches(prior, call) else None
            how: dict[str, Any] = {}
            if stop == "submitted":
                rec = {"output": "skipped: the attempt was already submitted", "exit_code": 1, "duration_s": 0.0,
                       "ends_run": False, "extra": {}}
            else:
                if prior is None:
                    rec = None
                elif prior["state"] == "finished":          # done before the kill: its result, not a second run
                    rec, how = finished_record(prior["event"]), {"recovered": "finished"}
                elif not is_read_only(call["name"]):        # cut mid-way: effects unknown, not run again
                    rec, how = interrupted_record(), {"recovered": "interrupted"}
                else:                                       # cut mid-way, but it only reads: run it again
                    rec, how = None, {"recovered": "rerun"}
                first = {"first_started_ts": prior["started_ts"]} if prior and prior.get("started_ts") else {}
                em.emit("tool_started", call_id=call["id"], name=call["name"], arguments=call["arguments"],
                        **how, **first)
                if rec is None:
                    rec = run_tool(ctx.tool_ctx, ctx.scaffold.tools, call["name"], call["arguments"],
                                   call.get("error"))
            n_calls += 1
            n_err += rec["exit_code"] != 0
            em.emit("tool_call", call_id=call["id"], name=call["name"], arguments=call["arguments"],
                    output=rec["output"], exit_code=rec["exit_code"], duration_s=rec["duration_s"], extra=rec["extra"],
                    ends_run=rec["ends_run"], **how)
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": rec["output"]})
            if rec["ends_run"]:
                submitted, stop = True, "submitted"
                em.emit("submission", path=str(ctx.store.submission_path), source=rec["extra"].get("submitted_path"),
                        valid=rec["extra"].get("valid"), error=rec["extra"].get("error"), auto=False)
        return _done(em, t0, state, messages=messages, pending=[], submitted=submitted, stop_reason=stop,
                     tool_calls=n_calls, tool_errors=n_err)

    def context(state: AgentState) -> dict:
        t0, em = time.monotonic(), _step(ctx, state)
        messages = state["messages"]
        turns = state.get("turns", 0)
        every = policy.reflect_every_turns
        if every and turns and turns % every == 0 and "midrun" in ctx.scaffold.phases \
                and messages[-1].get("role") == "tool":  # a progress self-check, at the scaffold's cadence
            messages = messages + [{"role": "user", "content": ctx.scaffold.render("midrun", turns=turns)}]
        before = history_tokens(messages, state.get("last_prompt_tokens", 0))
        window = min(policy.context_window_tokens, getattr(ctx.policy, "context_window", None) or 10**12)
        if before < window * policy.compact_at_fraction:
            return _done(em, t0, state, messages=messages)
        summarize = None
        if hasattr(ctx.policy, "summarize"):
            prompt = ctx.scaffold.render("compact", task_id=ctx.task.id)
            def summarize(old: list[dict]) -> str:
                return ctx.policy.summarize(old, prompt)
        result = compact(messages, policy.keep_recent_turns, summarize)
        if result is None:
            return _done(em, t0, state, messages=messages)
        new, info = result
        after = history_tokens(new)
        em.emit("context_compacted", before_tokens=before, after_tokens=after, **info)
        return _done(em, t0, state, messages=new, compactions=state.get("compactions", 0) + 1, last_prompt_tokens=0)

    def finish(state: AgentState) -> dict:
        t0, em = time.monotonic(), _step(ctx, state)
        store = ctx.store
        sub = store.submission_path
        if not sub.exists():
            candidate = ctx.tool_ctx.workspace / "submission.csv"
            if take_auto_submission(ctx.tool_ctx.workspace, sub):   # a regular file of the workspace only
                em.emit("submission", path=str(sub), source=str(candidate), valid=None, error=None, auto=True)
        if sub.exists():
            report = ctx.task.grade(sub)
        else:
            report = {"valid": False, "error": "no submission was made", "score": None, "medal": None,
                      "above_median": None}
        score = dict(report, task=ctx.task.id, run_id=store.run_id, stop_reason=state.get("stop_reason"))
        tmp = store.score_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(score, indent=2, default=str))
        os.replace(tmp, store.score_path)
        em.emit("grading", **report)
        store.update_meta(score=report.get("score"), medal=report.get("medal"), valid=report.get("valid"))
        return _done(em, t0, state, grading=report)

    def reflect(state: AgentState) -> dict:
        t0, em = time.monotonic(), _step(ctx, state)
        store = ctx.store
        grading = state.get("grading") or {}
        if policy.reflect_at_end:
            text, method = "", "rules"
            if policy.reflect_use_model and hasattr(ctx.policy, "reflect"):
                prompt = ctx.scaffold.render("reflect", task_id=ctx.task.id, stop_reason=state.get("stop_reason"),
                                             grading=json.dumps(grading))
                try:
                    text, method = (ctx.policy.reflect(prompt, run_context(state)) or "").strip(), "model"
                except Exception:  # noqa: BLE001 - fall back to the rule-based critique
                    text = ""
            if not text:
                text, method = rule_based_critique(state, grading), "rules"
            text = text[: policy.reflect_max_chars]
            marker = f"<!-- run: {store.run_id} -->"
            mem = ctx.tool_ctx.memory_path or memory.memory_path()
            if marker not in memory.read_memory(path=mem):  # a re-run of this step never appends twice
                score = grading.get("score")
                title = f"{ctx.task.id} · run {store.run_id} · score {score} · {state.get('stop_reason')}"
                memory.append_memory(f"{marker}\n{text}", title, mem)
            em.emit("reflection", text=text, method=method, memory_file=str(mem))
        totals = {"turns": state.get("turns", 0), "tool_calls": state.get("tool_calls", 0),
                  "tool_errors": state.get("tool_errors", 0),
                  "tokens": state.get("prompt_tokens", 0) + state.get("completion_tokens", 0),
                  "cost_usd": state.get("cost_usd", 0.0), "elapsed_s": round(state.get("elapsed_s", 0.0), 3),
                  "compactions": state.get("compactions", 0)}
        stop = state.get("stop_reason") or "unknown"
        status = "failed" if stop.startswith("error") else "finished"
        em.emit("run_finished", status=status, stop_reason=stop, score=grading.get("score"),
                medal=grading.get("medal"), totals=totals)
        store.update_meta(status=status, stop_reason=stop, totals=totals, **totals)
        return _done(em, t0, state)

    return {"model": model, "tools": tools, "context": context, "finish": finish, "reflect": reflect}


def _after_model(state: AgentState) -> str:
    if state.get("stop_reason"):
        return "finish"
    return "tools" if state.get("pending") else "context"


def _after_tools(state: AgentState) -> str:
    return "finish" if state.get("stop_reason") else "context"


def build_graph(ctx: RunContext, checkpointer: Any = None):
    """Compile the agent graph (with the given checkpointer, e.g. SqliteSaver)."""
    g = StateGraph(AgentState)
    for name, fn in make_nodes(ctx).items():
        g.add_node(name, fn)
    g.add_edge(START, "model")
    g.add_conditional_edges("model", _after_model, {"finish": "finish", "tools": "tools", "context": "context"})
    g.add_conditional_edges("tools", _after_tools, {"finish": "finish", "context": "context"})
    g.add_edge("context", "model")
    g.add_edge("finish", "reflect")
    g.add_edge("reflect", END)
    return g.compile(checkpointer=checkpointer)
