"""Budgets for turns, tokens, wall time and money; the first one exhausted ends the run with its reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass
class Budgets:
    """Limits of one run (None: unlimited). The turn cap is the one cap on turns: `--max-turns`, else the
    scaffold's `max_turns` (filled in when the run starts, see `with_turn_cap`)."""

    max_turns: int | None = None
    tokens: int | None = None
    seconds: float | None = None          # wall time inside the run's steps, summed over resumes
    usd: float | None = None
    seconds_include_outages: bool = False  # whether time paused on a model outage counts toward `seconds`

    def to_dict(self) -> dict:
        """JSON-able form (for meta.json)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> Budgets:
        """Inverse of to_dict (records written before a field existed get its default)."""
        d = d or {}
        return cls(d.get("max_turns"), d.get("tokens"), d.get("seconds"), d.get("usd"),
                   bool(d.get("seconds_include_outages", False)))

    def with_turn_cap(self, default: int) -> Budgets:
        """These budgets with the turn cap set to `default` where none was given."""
        return self if self.max_turns is not None else replace(self, max_turns=default)

    def exhausted(self, state: dict) -> str | None:
        """The reason the run must stop before another model turn, or None."""
        tokens = state.get("prompt_tokens", 0) + state.get("completion_tokens", 0)
        if self.max_turns is not None and state.get("turns", 0) >= self.max_turns:
            return f"max_turns: {state.get('turns', 0)} turns taken (limit {self.max_turns})"
        if self.tokens is not None and tokens >= self.tokens:
            return f"token budget: {tokens} tokens used (limit {self.tokens})"
        if self.seconds is not None and state.get("elapsed_s", 0.0) >= self.seconds:
            return f"time budget: {state.get('elapsed_s', 0.0):.1f}s spent (limit {self.seconds:g}s)"
        if self.usd is not None and state.get("cost_usd", 0.0) >= self.usd:
            return f"money budget: ${state.get('cost_usd', 0.0):.4f} spent (limit ${self.usd:g})"
        return None

    def used_share(self, state: dict) -> float:
        """How far the run is through its budgets: the largest share used of any (0 when all are unlimited)."""
        tokens = state.get("prompt_tokens", 0) + state.get("completion_tokens", 0)
        pairs = ((self.max_turns, state.get("turns", 0)), (self.tokens, tokens),
                 (self.seconds, state.get("elapsed_s", 0.0)), (self.usd, state.get("cost_usd", 0.0)))
        return max([used / limit for limit, used in pairs if limit], default=0.0)

    def seconds_left(self, state: dict) -> float | None:
        """Wall time left of the time budget (None when unlimited)."""
        return None if self.seconds is None else max(0.0, self.seconds - state.get("elapsed_s", 0.0))

    def left_text(self, state: dict) -> str:
        """What is left, for the model: e.g. "about 42 min and 31 turns left (58% of the budget used)"."""
        parts = []
        secs = self.seconds_left(state)
        if secs is not None:
            parts.append(f"about {secs / 60:.0f} min" if secs >= 120 else f"about {secs:.0f} s")
        if self.max_turns is not None:
            parts.append(f"{max(0, self.max_turns - state.get('turns', 0))} turns")
        if self.tokens is not None:
            used = state.get("prompt_tokens", 0) + state.get("completion_tokens", 0)
            parts.append(f"{max(0, self.tokens - used)} tokens")
        if self.usd is not None:
            parts.append(f"${max(0.0, self.usd - state.get('cost_usd', 0.0)):.2f}")
        left = " and ".join(parts) + " left" if parts else "no budget limit"
        return f"{left} ({self.used_share(state):.0%} of the budget used)"

    def describe(self) -> str:
        """The budgets in words, for the first prompt."""
        parts = [f"{self.seconds / 60:g} minutes of wall time" if self.seconds else "",
                 f"{self.max_turns} turns" if self.max_turns else "", f"{self.tokens} tokens" if self.tokens else "",
                 f"${self.usd:g}" if self.usd else ""]
        return ", ".join(p for p in parts if p) or "unlimited"
