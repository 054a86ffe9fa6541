"""What a policy is: one function from the graph's state to an assistant turn (agent.llm's AssistantTurn)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from agent.llm.types import AssistantTurn


class Policy(Protocol):
    """Decides the next action. Raises agent.graph.stops.PolicyStop when it has nothing more to do, and
    the model client's errors (agent.llm.types) when the model cannot answer."""

    def __call__(self, state: dict) -> AssistantTurn: ...


@runtime_checkable
class Writer(Protocol):
    """A policy that also writes compaction summaries and self-critiques (the model does); the graph uses
    extractive summaries and rule-based critiques for the others. The turns' usage and cost count in the
    run's totals."""

    def summarize(self, old: list[dict], prompt: str) -> AssistantTurn:
        """A summary of the older turns `old`, as asked by `prompt`."""
        ...

    def reflect(self, prompt: str, context: str) -> AssistantTurn:
        """A self-critique of the attempt recorded in `context`, as asked by `prompt`."""
        ...


@runtime_checkable
class Windowed(Protocol):
    """A policy that knows its model's context window (configured, stated by the server, or learnt from an
    overflow as the run goes); compaction works to the smaller of it and the scaffold's."""

    @property
    def context_window(self) -> int | None:
        """The window in tokens, or None while unknown."""
        ...
