"""The replay policy: re-issues the model turns recorded in an earlier run's events.jsonl, in order."""

from __future__ import annotations

from agent.graph.turns import Call, PolicyStop, Turn, TurnUsage
from agent.runstore import RunStore
from common.errors import UserError


class ReplayPolicy:
    """Turn i of this run is model turn i of the recorded run."""

    name = "replay"

    def __init__(self, source: RunStore) -> None:
        self.source = source.run_id
        self.turns = [e for e in source.read_events() if e.get("type") == "model_turn"]
        if not self.turns:
            raise UserError(f"run {source.run_id!r} has no model turns to replay")

    def __call__(self, state: dict) -> Turn:
        """The recorded turn with the same index as this one."""
        i = state.get("turns", 0)
        if i >= len(self.turns):
            raise PolicyStop("replay_exhausted")
        e = self.turns[i]
        u = e.get("usage") or {}
        calls = [Call(c["id"], c["name"], c.get("arguments") or "{}", None, c.get("error")) for c in e.get("tool_calls") or []]
        return Turn(
            content=e.get("content") or "", thinking=e.get("thinking") or "", thinking_format=e.get("thinking_format"),
            tool_calls=calls, usage=TurnUsage(u.get("prompt_tokens", 0), u.get("completion_tokens", 0), u.get("total_tokens", 0)),
            latency_s=0.0, cost_usd=0.0, finish_reason=e.get("finish_reason"), message=e.get("message"),
        )
