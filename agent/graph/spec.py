"""RunSpec: what one run is asked to do. meta.json holds it (flat, beside the run's progress); validated once."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.graph.budgets import Budgets
from agent.runstore import check_run_id
from agent.sandbox.limits import check_spec
from common.errors import UserError
from common.yamlfile import load_yaml

POLICIES = ("llm", "heuristic", "replay")
CUSTOM = "custom"                     # a policy given in code (start_run's policy_impl)
MODEL_OPTIONS = ("model", "base_url", "config_file")


@dataclass(frozen=True)
class RunSpec:
    """The inputs of a run. Fields filled in when it starts are marked; the rest come from the user."""

    task: str                          # competition id
    policy: str = "heuristic"          # llm | heuristic | replay | custom
    model: str | None = None           # llm: the model name (at start: the one the config resolved)
    base_url: str | None = None        # llm: the endpoint (else OPENAI_BASE_URL or the config file)
    config_file: str | None = None     # llm: the model client's config file
    replay_run: str | None = None      # replay: the run whose model turns are re-issued
    sandbox: str = "auto"              # as asked; meta's `sandbox` is the kind that was opened
    sandbox_limits: dict[str, Any] = field(default_factory=dict)  # overrides of the scaffold's (agent.sandbox.limits);
    #                                    at start: every limit, resolved for this machine (resume reads them back)
    budgets: Budgets = field(default_factory=Budgets)
    run_id: str = ""                   # at start: a generated id when none is given
    seed: int = 0                      # the attempt's seed: the model's request `seed`, EVOFORGE_SEED in the sandbox
    scaffold_commit: str = ""          # at start
    scaffold_dir: str = ""             # at start
    created: str = ""                  # at start

    def validate(self) -> None:
        """UserError (one line, naming the option) for any input that cannot work or would be ignored."""
        if self.policy not in (*POLICIES, CUSTOM):
            raise UserError(f"unknown policy {self.policy!r}: use one of {', '.join(POLICIES)}")
        if self.policy == "replay" and not self.replay_run:
            raise UserError("--policy replay needs --replay-run RUN_ID")
        if self.replay_run and self.policy != "replay":
            raise UserError("--replay-run is only used with --policy replay: add --policy replay or drop it")
        given = [f"--{name.replace('_file', '').replace('_', '-')}" for name in MODEL_OPTIONS if getattr(self, name)]
        if given and self.policy != "llm":
            raise UserError(f"{', '.join(given)} only apply to --policy llm (this run's policy is {self.policy}, "
                            f"which uses no model): drop {'them' if len(given) > 1 else 'it'} or use --policy llm")
        if self.run_id:
            check_run_id(self.run_id)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise UserError(f"--seed must be a whole number >= 0, got {self.seed!r}")
        b = self.budgets
        for name, value in (("--max-turns", b.max_turns), ("--budget-tokens", b.tokens),
                            ("--budget-seconds", b.seconds), ("--budget-usd", b.usd)):
            if value is not None and not value > 0:
                raise UserError(f"{name} must be > 0, got {value}")
        if self.config_file:
            check_config_file(Path(self.config_file))
        check_spec(self.sandbox_limits, "sandbox limits")

    def to_meta(self) -> dict[str, Any]:
        """The spec as meta.json holds it (flat keys; the asked sandbox as `sandbox_requested`)."""
        d = dataclasses.asdict(self)
        d["sandbox_requested"] = d.pop("sandbox")
        d["budgets"] = self.budgets.to_dict()
        return d

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> RunSpec:
        """The spec recorded in meta.json (records of older versions included: missing keys get defaults)."""
        names = {f.name for f in dataclasses.fields(cls)} - {"sandbox", "budgets"}   # sandbox_limits: a dict
        values = {k: meta[k] for k in names if meta.get(k) is not None}
        return cls(**values, sandbox=meta.get("sandbox_requested") or "auto",
                   budgets=Budgets.from_dict(meta.get("budgets")))


def check_config_file(path: Path) -> None:
    """UserError unless the model client's config file exists and is readable text (YAML: parses)."""
    path = path.expanduser()
    if not path.is_file():
        raise UserError(f"--config {path}: no such file")
    if path.suffix == ".toml":
        try:
            path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"--config {path}: cannot read it as text ({exc})") from None
        return
    load_yaml(path, "model client config")


def resolve_policy(policy: str | None, model: str | None = None, base_url: str | None = None,
                   config_file: str | None = None, replay_run: str | None = None) -> tuple[str, str]:
    """(policy, why) for a run that did not name one: replay with --replay-run, llm when model options or an
    endpoint are given, else heuristic.

    `why` is "" when the options given name the policy; else a line saying what was chosen from the environment,
    and why (never a silent choice).
    """
    if policy:
        return policy, ""
    if replay_run:                      # implied by the options given: nothing to announce
        return "replay", ""
    if model or base_url or config_file:
        return "llm", ""
    if os.environ.get("OPENAI_BASE_URL"):
        return "llm", "policy: llm (OPENAI_BASE_URL is set)"
    from agent.llm import LLMConfig

    cfg = LLMConfig.from_env()
    if cfg.base_url:
        return "llm", f"policy: llm (model endpoint from {cfg.source})"
    return "heuristic", ("policy: heuristic, the built-in engineer (no model endpoint is configured: set "
                         "OPENAI_BASE_URL or pass --base-url to use a model)")
