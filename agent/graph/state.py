"""The graph's typed state: everything a run needs to continue after a restart, and nothing else."""

from __future__ import annotations

from typing import TypedDict


class AgentState(TypedDict, total=False):
    """Checkpointed after every step (JSON-able values only). Fields added later are read with defaults,
    so checkpoints of older runs resume."""

    messages: list[dict]    # the history sent to the model (system, task, turns, tool results, summaries)
    seq: int                # seq of the next event; events at or past it are not yet committed
    step: int               # graph steps completed
    turns: int              # model turns taken
    idle_turns: int         # consecutive turns without a tool call
    prompt_tokens: int      # every model call's: turns, compaction summaries and reflections
    completion_tokens: int
    cost_usd: float
    elapsed_s: float        # wall time spent inside steps, summed over every process that ran the run
    paused_s: float         # of which, or besides which (Budgets.seconds_include_outages), waiting out outages
    user_paused_s: float    # besides which, paused by a person (agent.graph.control); never counts as budget
    pending: list[dict]     # tool calls of the last model turn: {id, name, arguments, error}
    stop_reason: str | None  # why the run stopped, for people
    stop_kind: str | None   # why the run stopped, typed (agent.graph.stops.StopKind)
    candidates: list[dict]  # registered by `submit`: {n, validation_score, valid, error, source, note, auto}
    grading: dict | None
    compactions: int
    tool_calls: int
    tool_errors: int
    last_prompt_tokens: int
    outage: dict | None     # the endpoint is down: {since (ISO time), attempts, cause}; None when up
    overflow: str | None    # the last turn overflowed the model's context: compact before asking again
    overflows: int          # consecutive overflows since the last turn the model answered
    error_streak: int       # failed tool calls in a row (agent.graph.search)
    stage: str | None       # the search stage last shown to the model (agent.graph.search)
    control_done: list[str]  # ids of the control requests applied (agent.graph.control)


def initial_state(messages: list[dict]) -> AgentState:
    """The state a new run starts from (seq 1: event 0 is run_started)."""
    return AgentState(
        messages=messages, seq=1, step=0, turns=0, idle_turns=0, prompt_tokens=0, completion_tokens=0,
        cost_usd=0.0, elapsed_s=0.0, paused_s=0.0, user_paused_s=0.0, pending=[], stop_reason=None, stop_kind=None,
        candidates=[], grading=None, compactions=0, tool_calls=0, tool_errors=0, last_prompt_tokens=0, outage=None,
        overflow=None, overflows=0, error_streak=0, stage=None, control_done=[],
    )
