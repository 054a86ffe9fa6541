"""The replay policy: re-issues the model turns recorded in an earlier run's events.jsonl, in order."""

from __future__ import annotations

from dataclasses import dataclass

from agent.graph.stops import PolicyStop
from agent.llm.types import AssistantTurn, ToolCall, Usage
from agent.runstore import RunStore
from common.errors import UserError


@dataclass
class ReplayedTurn(AssistantTurn):
    """A recorded turn: it goes back into the history as the very message recorded, whatever its form."""

    message: dict | None = None

    def to_message(self) -> dict:
        """The recorded history message (or, for a record without one, the message rebuilt from its parts)."""
        return dict(self.message) if self.message is not None else super().to_message()


class ReplayPolicy:
    """Turn i of this run is model turn i of the recorded run."""

    name = "replay"

    def __init__(self, source: RunStore, task_id: str | None = None) -> None:
        self.source = source.run_id
        events = source.read_events()
        started = events[0] if events and events[0].get("type") == "run_started" else {}
        recorded = source.read_meta().get("task") or started.get("task")
        if task_id is not None and recorded and recorded != task_id:
            raise UserError(f"run {source.run_id!r} worked on {recorded!r}, not {task_id!r}: its turns name that "
                            f"task's files and columns, so they would not fit this one; replay it on {recorded}")
        self.turns = [e for e in events if e.get("type") == "model_turn"]
        if not self.turns:
            raise UserError(f"run {source.run_id!r} has no model turns to replay")

    def __call__(self, state: dict) -> AssistantTurn:
        """The recorded turn with the same index as this one."""
        i = state.get("turns", 0)
        if i >= len(self.turns):
            raise PolicyStop("replay_exhausted")
        e = self.turns[i]
        u = e.get("usage") or {}
        calls = [ToolCall(c["id"], c["name"], c.get("arguments") or "{}", None, c.get("error"))
                 for c in e.get("tool_calls") or []]
        return ReplayedTurn(
            content=e.get("content") or "", thinking=e.get("thinking") or "", thinking_format=e.get("thinking_format"),
            tool_calls=calls, usage=Usage(u.get("prompt_tokens", 0), u.get("completion_tokens", 0),
                                          u.get("total_tokens", 0)),
            finish_reason=e.get("finish_reason"), model=self.name, message=e.get("message"),
        )
