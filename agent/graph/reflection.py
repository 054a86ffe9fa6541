"""The end-of-attempt self-critique: by the model when it can, else by rules from the run's record."""

from __future__ import annotations

from agent.graph.context import extractive_summary


def rule_based_critique(state: dict, grading: dict | None) -> str:
    """What worked, what failed, what to try next, from counters, tool errors and the grade."""
    worked, failed, nxt = [], [], []
    g = grading or {}
    errors = []
    for m in state.get("messages", []):
        if m.get("role") == "tool":
            text = str(m.get("content") or "")
            if text.startswith(("error:", "invalid:")) or "Traceback" in text:
                errors.append(" ".join(text.split())[:160])
    if g.get("valid"):
        worked.append(f"A valid submission was graded: score {g.get('score')}, medal {g.get('medal') or 'none'}, "
                      f"above median: {g.get('above_median')}.")
    else:
        failed.append(f"No valid graded submission ({g.get('error') or 'none submitted'}).")
    calls, errs = state.get("tool_calls", 0), state.get("tool_errors", 0)
    worked.append(f"{calls - errs} of {calls} tool calls succeeded in {state.get('turns', 0)} turns.")
    failed += [f"Tool error: {e}" for e in errors[:3]]
    found = state.get("candidates") or []
    scored = [c for c in found if c.get("valid") and c.get("validation_score") is not None]
    if found:
        worked.append(f"{len(found)} candidates registered, {len(scored)} valid with a validation score.")
    if not any(c.get("valid") for c in found):
        failed.append("No valid candidate was registered with submit.")
        nxt.append("Register a valid baseline candidate early (submit with its validation score), then improve it.")
    if g.get("valid") and not g.get("medal"):
        nxt.append("Try stronger features or models with a held-out validation split before submitting.")
    if errors:
        nxt.append("Read error output carefully and fix the first error before rerunning.")
    if not nxt:
        nxt.append("Tune the model further (cross-validation, ensembling) to climb the leaderboard.")
    def bullets(xs):
        return "\n".join(f"- {x}" for x in xs) or "- (nothing notable)"
    return f"### What worked\n{bullets(worked)}\n\n### What failed\n{bullets(failed)}\n\n### What to try next\n{bullets(nxt)}"


def run_context(state: dict, max_chars: int = 8000) -> str:
    """A compact record of the attempt for the model to critique."""
    return extractive_summary(state.get("messages", [])[2:], max_chars=max_chars)
