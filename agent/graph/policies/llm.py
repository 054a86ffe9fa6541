"""The llm policy: the model client (agent.llm) answers each turn; it also writes summaries and reflections."""

from __future__ import annotations

from collections.abc import Callable

SUMMARY_SYSTEM = "You write concise, factual working notes for an ML engineer."


class LLMPolicy:
    """Calls LLMClient.complete with the whole history (earlier thinking included) and the tool schemas."""

    name = "llm"

    def __init__(self, client, tools: list[dict], on_delta: Callable[[str, str], None] | None = None) -> None:
        self.client, self.tools, self.on_delta = client, tools, on_delta
        self._window: int | None = None

    @property
    def context_window(self) -> int | None:
        """The model's context window, read by compaction: the smallest of the client's (configured or stated
        by the server, learnt as it goes) and any set here."""
        known = [w for w in (self.client.context_window, self._window) if w]
        return min(known) if known else None

    @context_window.setter
    def context_window(self, tokens: int | None) -> None:
        self._window = tokens

    def __call__(self, state: dict):
        """One model turn."""
        return self.client.complete(state["messages"], self.tools, on_delta=self.on_delta)

    def summarize(self, old: list[dict], prompt: str) -> str:
        """A model-written summary of older turns (for compaction)."""
        msgs = [{"role": "system", "content": SUMMARY_SYSTEM}, {"role": "user", "content": "Earlier work follows."}]
        msgs += old + [{"role": "user", "content": prompt}]
        return self.client.complete(msgs, None).content

    def reflect(self, prompt: str, context: str) -> str:
        """A model-written self-critique of the attempt."""
        msgs = [{"role": "system", "content": SUMMARY_SYSTEM},
                {"role": "user", "content": f"Record of the attempt:\n{context}\n\n{prompt}"}]
        return self.client.complete(msgs, None).content
