"""An evolve run's plan: the task split, seeds, rounds, proposer, attempt budget and decision rule.

The plan is fixed when the run starts (plan.json); `resume` reads it back. Every value is checked here,
once, with a one-line error that names the option.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from agent.evolve.stats import TESTS
from common.errors import UserError

PROPOSERS = ("heuristic", "llm")
POLICIES = ("heuristic", "llm")
SMOKE_TOY = "evolve-smoke"      # the built-in toy competition the gate's smoke attempt runs on
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEV_SEED0, HELDOUT_SEED0, CONTROL_SEED0 = 0, 1000, 2000   # seeds of the dev set, held-out and control arms


@dataclass(frozen=True)
class Budget:
    """What one attempt may spend (the same for child and parent, so their results pair)."""

    seconds: float | None = 300.0
    max_turns: int | None = None

    def key(self) -> str:
        """The budget as part of a cache key."""
        return f"s{self.seconds:g}" if self.max_turns is None else f"s{self.seconds or 0:g}t{self.max_turns}"

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Plan:
    """An evolve run as it was asked for (plan.json)."""

    name: str
    dev: list[str]
    heldout: list[str]
    seeds: int = 2
    rounds: int = 10
    hours: float | None = None
    proposer: str = "heuristic"
    policy: str = "heuristic"               # the policy of the attempts (the agent being evolved)
    model: str | None = None                # llm proposer and llm attempts
    base_url: str | None = None
    config_file: str | None = None
    sandbox: str = "auto"
    parallel: int = 1                       # attempts at once (each evaluation is a campaign)
    budget: Budget = field(default_factory=Budget)
    test: str = "bootstrap"                 # bootstrap | sign
    confidence: float = 0.8                 # keep only if the gain is positive at this one-sided confidence
    smoke_task: str = SMOKE_TOY
    smoke_seconds: float = 120.0
    control_max_k: int = 4                  # the control arm's most attempts per held-out cell (best by validation)
    source_dir: str = ""                    # the user's scaffold/ the run started from
    source_commit: str = ""                 # its commit in the user's checkout
    created: str = ""

    def validate(self) -> None:
        """UserError (one line, naming the option) for any value that cannot work."""
        if not NAME.match(self.name):
            raise UserError(f"--name {self.name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
        if not self.dev:
            raise UserError("--dev names no competition: give ids, a family (tabular, text, …) or lite")
        both = sorted(set(self.dev) & set(self.heldout))
        if both:
            raise UserError(f"--dev and --heldout share {', '.join(both)}: the held-out set must be unseen; "
                            f"drop {'them' if len(both) > 1 else 'it'} from one side")
        checks = [("--seeds", self.seeds, 1), ("--rounds", self.rounds, 0), ("--control-max-k", self.control_max_k, 1),
                  ("--parallel", self.parallel, 1)]
        for name, value, least in checks:
            if not isinstance(value, int) or value < least:
                raise UserError(f"{name} must be a whole number >= {least}, got {value!r}")
        if self.hours is not None and not self.hours > 0:
            raise UserError(f"--hours must be > 0, got {self.hours}")
        if self.proposer not in PROPOSERS:
            raise UserError(f"--proposer {self.proposer!r}: use one of {', '.join(PROPOSERS)}")
        if self.policy not in POLICIES:
            raise UserError(f"--policy {self.policy!r}: use one of {', '.join(POLICIES)}")
        if self.test not in TESTS:
            raise UserError(f"--test {self.test!r}: use one of {', '.join(TESTS)}")
        if not 0.5 <= self.confidence < 1:
            raise UserError(f"--confidence must be in [0.5, 1), got {self.confidence}")
        b = self.budget
        if b.seconds is not None and not b.seconds > 0 or b.max_turns is not None and b.max_turns < 1:
            raise UserError("--attempt-minutes and --max-turns must be > 0")
        if not self.smoke_seconds > 0:
            raise UserError(f"--smoke-seconds must be > 0, got {self.smoke_seconds}")
        uses_model = self.proposer == "llm" or self.policy == "llm"
        if (self.model or self.base_url or self.config_file) and not uses_model:
            raise UserError("--model, --base-url and --config apply to --proposer llm or --policy llm: drop them "
                            "or use a model")

    def to_dict(self) -> dict[str, Any]:
        """plan.json's content."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """The plan as plan.json holds it."""
        values = dict(data)
        values["budget"] = Budget(**values.get("budget", {}))
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def resolve_tasks(spec: str, option: str, exclude: list[str] | None = None) -> list[str]:
    """Competition ids for a comma-separated list of ids, families (tabular, text, …), `lite` (every shipped
    competition) or `rest` (every shipped competition not in `exclude`)."""
    from tasks.mle_lite.registry import get_competition, list_competitions

    comps = {c.id: c for c in list_competitions()}
    families = sorted({getattr(c.config, "modality", "") for c in comps.values()} - {""})
    out: list[str] = []
    for item in [s.strip() for s in spec.split(",") if s.strip()]:
        if item == "lite":
            found = list(comps)
        elif item == "rest":
            found = [c for c in comps if c not in (exclude or [])]
        elif item in families:
            found = [c.id for c in comps.values() if c.config.modality == item]
        else:
            try:
                found = [get_competition(item).id]
            except UserError as exc:
                raise UserError(f"{option}: {exc} (or a family: {', '.join(families)}; or lite)") from None
        out += [c for c in found if c not in out]
    if not out:
        raise UserError(f"{option} {spec!r} names no competition")
    return out
