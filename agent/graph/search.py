"""The loop policy an llm attempt follows: after each tools step, which stage it is in and what it is told.

The rules and their thresholds are the scaffold's (`search:` in policy.yaml), the words its prompts
(phases/<stage>.md), so that self-evolution can change both:

    wrapup   the budget is nearly spent (wrapup_at_share): register the best, then finish
    debug    the last debug_after_errors tool calls failed: fix the first error
    draft    no valid candidate yet: get a simple valid one
    explore  the last explore_after_stale candidates did not beat the best: draft anew
    improve  otherwise

The stage's prompt (with the time and turns left and the candidates so far) is shown when the stage
changes and every guide_every_turns turns.
"""

from __future__ import annotations

from typing import Any

from agent.graph import candidates as cands
from agent.graph.budgets import Budgets
from agent.scaffold import Scaffold


def stage(scaffold: Scaffold, budgets: Budgets, state: dict, higher_is_better: bool) -> str:
    """The stage the attempt is in now."""
    policy, found = scaffold.policy, state.get("candidates") or []
    if budgets.used_share(state) >= policy.wrapup_at_share:
        return "wrapup"
    if state.get("error_streak", 0) >= policy.debug_after_errors:
        return "debug"
    top = cands.best(found, higher_is_better)
    if top is None:
        return "draft"
    if stale(found, top) >= policy.explore_after_stale:
        return "explore"
    return "improve"


def stale(found: list[dict], top: dict) -> int:
    """Valid candidates registered after the best one (none of them beat it)."""
    return sum(1 for c in found if c["n"] > top["n"] and c.get("valid"))


def guide(scaffold: Scaffold, budgets: Budgets, state: dict, task: Any) -> tuple[str, str | None]:
    """(stage, the stage prompt to show now or None): on a change of stage, and every guide_every_turns turns."""
    hib = bool(task.config.higher_is_better)
    now = stage(scaffold, budgets, state, hib)
    every, turns = scaffold.policy.guide_every_turns, state.get("turns", 0)
    due = now != state.get("stage") or (every and turns and turns % every == 0)
    if not due or now not in scaffold.phases:
        return now, None
    found = state.get("candidates") or []
    top = cands.best(found, hib)
    text = scaffold.render(now, turns=turns, budget_left=budgets.left_text(state),
                           candidates=cands.summary(found, hib), metric=task.config.metric,
                           direction=direction(hib), errors=state.get("error_streak", 0),
                           stale=stale(found, top) if top else 0)
    return now, text


def direction(higher_is_better: bool) -> str:
    """The metric's direction in words."""
    return "higher is better" if higher_is_better else "lower is better"
