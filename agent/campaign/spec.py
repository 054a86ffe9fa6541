"""CampaignSpec: what a campaign is asked to do (plan.json holds it); each attempt's RunSpec comes from it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.graph.budgets import Budgets
from agent.graph.spec import RunSpec
from agent.runstore import check_run_id
from common.errors import UserError

EXECUTORS = ("local", "ray")


def attempt_run_id(task: str, seed: int) -> str:
    """The run id of one attempt (competition × seed): the same on every resume, so resuming is idempotent."""
    return f"{task.replace(':', '_').replace('/', '_')}-s{seed}"


def parse_seeds(text: str) -> tuple[int, ...]:
    """`--seeds N` (seeds 0..N-1) or `--seeds A,B,…` (those seeds); UserError otherwise."""
    try:
        if "," in text:
            seeds = tuple(int(s) for s in text.split(",") if s.strip())
        else:
            seeds = tuple(range(int(text)))
    except ValueError:
        raise UserError(f"--seeds {text!r}: give a count (3) or a list of seeds (0,1,2)") from None
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise UserError(f"--seeds {text!r}: give a count >= 1 or distinct seeds >= 0")
    return seeds


@dataclass(frozen=True)
class CampaignSpec:
    """The inputs of a campaign: which attempts (tasks × seeds), how each runs, and how many at once."""

    name: str
    tasks: tuple[str, ...]
    seeds: tuple[int, ...] = (0,)
    policy: str = "heuristic"            # llm | heuristic
    model: str | None = None             # llm: the model name
    base_url: str | None = None          # llm: the endpoint (else OPENAI_BASE_URL or the config file)
    config_file: str | None = None       # llm: the model client's config file
    sandbox: str = "auto"
    sandbox_limits: dict[str, Any] = field(default_factory=dict)
    budgets: Budgets = field(default_factory=Budgets)   # per attempt: wall seconds, turns, tokens, money
    total_hours: float | None = None     # stop launching attempts once the supervisor has run this long
    parallel: int = 1                    # attempts at once
    executor: str = "local"              # local (processes on this machine) | ray
    ray_address: str | None = None       # ray: the cluster to join (None: start a local instance)
    scaffold_dir: str = ""               # the scaffold the attempts use ("" = EVOFORGE_SCAFFOLD or ./scaffold)
    memory_file: str = ""                # the memory the attempts read and write ("" = EVOFORGE_MEMORY or default)
    created: str = ""                    # filled in when the campaign is made

    def validate(self) -> None:
        """UserError (one line, naming the option) for any input that cannot work."""
        check_run_id(self.name)
        if not self.tasks:
            raise UserError("a campaign needs at least one competition (--tasks)")
        if not self.seeds:
            raise UserError("a campaign needs at least one seed (--seeds)")
        if self.policy not in ("llm", "heuristic"):
            raise UserError(f"--policy {self.policy!r}: a campaign runs llm or heuristic")
        if self.parallel < 1:
            raise UserError(f"--parallel must be >= 1, got {self.parallel}")
        if self.total_hours is not None and not self.total_hours > 0:
            raise UserError(f"--hours must be > 0, got {self.total_hours}")
        if self.executor not in EXECUTORS:
            raise UserError(f"--executor {self.executor!r}: use one of {', '.join(EXECUTORS)}")
        if self.ray_address and self.executor != "ray":
            raise UserError("--address is only used with --executor ray")
        self.run_spec(self.tasks[0], self.seeds[0]).validate()

    def run_spec(self, task: str, seed: int) -> RunSpec:
        """The RunSpec of the attempt on `task` with `seed`."""
        return RunSpec(task, policy=self.policy, model=self.model, base_url=self.base_url,
                       config_file=self.config_file, sandbox=self.sandbox, sandbox_limits=dict(self.sandbox_limits),
                       budgets=self.budgets, run_id=attempt_run_id(task, seed), seed=seed)

    def attempts(self) -> list[tuple[str, int]]:
        """Every (task, seed) of the plan, seed-major (a whole seed of competitions before the next seed)."""
        return [(t, s) for s in self.seeds for t in self.tasks]

    def budget_key(self) -> str:
        """A short hash of what decides an attempt's result besides scaffold, task and seed."""
        d = {k: v for k, v in self.to_dict().items() if k in ("policy", "model", "sandbox_limits", "budgets")}
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (plan.json)."""
        d = dataclasses.asdict(self)
        d["tasks"], d["seeds"], d["budgets"] = list(self.tasks), list(self.seeds), self.budgets.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CampaignSpec:
        """Inverse of to_dict (keys written by newer versions are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in d.items() if k in names}
        values["tasks"] = tuple(values.get("tasks") or ())
        values["seeds"] = tuple(values.get("seeds") or ())
        values["budgets"] = Budgets.from_dict(values.get("budgets"))
        return cls(**values)

    def scaffold_path(self) -> Path:
        """The scaffold folder the attempts use."""
        from common import paths

        return Path(self.scaffold_dir).expanduser() if self.scaffold_dir else paths.scaffold_dir()

    def memory_path(self) -> Path:
        """The memory file the attempts read and write."""
        from common import paths

        return Path(self.memory_file).expanduser() if self.memory_file else paths.memory_file()
