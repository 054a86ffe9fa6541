"""Evaluations: a node's attempts on a set of tasks × seeds, each cached per (commit, task, seed, budget).

`Evaluator` is the interface the loop and the report use; `CampaignEvaluator` implements it with the
campaign runner (agent.campaign): the attempts a node still lacks on an arm form one campaign, named by the
node's commit, the arm and the budget, with the node's checkout as its scaffold and a copy of the node's
memory. A campaign is durable and idempotent, so after a kill the same call adopts or resumes its attempts
and never runs a finished one again; finished results are cached here by (commit, task, seed, budget).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent.evolve.config import Budget, Plan
from agent.evolve.store import EvolveStore
from common.errors import UserError
from common.jsonlines import append_jsonl, read_jsonl


@dataclass(frozen=True)
class Node:
    """A scaffold commit checked out for attempts: its scaffold folder and its memory file."""

    commit: str
    scaffold_dir: Path
    memory_file: Path


@dataclass(frozen=True)
class Result:
    """One attempt's outcome, as the decision and the reports read it."""

    commit: str
    task: str
    seed: int
    budget: str
    policy: str
    arm: str                         # dev | smoke | heldout | control
    run_id: str
    status: str                      # finished | failed (the run's own status)
    valid: bool
    score: float | None
    medal: str | None
    above_median: bool | None
    percentile: float                # leaderboard percentile, 0 without a valid submission
    seconds: float
    validation_score: float | None   # the agent's own validation score of what was graded, where recorded
    stop_reason: str | None

    @property
    def key(self) -> str:
        """The cache key."""
        return cache_key(self.commit, self.task, self.seed, self.budget, self.policy)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return dataclasses.asdict(self)


def cache_key(commit: str, task: str, seed: int, budget: str, policy: str) -> str:
    """The key of an attempt's result: scaffold commit, task, seed, budget (and the policy that ran it)."""
    return f"{commit}|{task}|{seed}|{budget}|{policy}"


class Evaluator(Protocol):
    """Runs (or reads back) a node's attempts."""

    def evaluate(self, node: Node, tasks: list[str], seeds: list[int], budget: Budget, arm: str) -> list[Result]:
        """One result per (task, seed), in that order."""
        ...

    def run_dir(self, run_id: str) -> Path:
        """Where an attempt's run record is."""
        ...


class Stopped(Exception):
    """`evolve stop` asked the owner to stop between attempts."""


class Cache:
    """evals.jsonl: the finished attempts, by key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._by_key: dict[str, Result] = {}
        names = {f.name for f in dataclasses.fields(Result)}
        for line in read_jsonl(path):
            r = Result(**{k: v for k, v in line.items() if k in names})
            self._by_key[r.key] = r

    def get(self, key: str) -> Result | None:
        """The cached result of a key."""
        return self._by_key.get(key)

    def put(self, result: Result) -> None:
        """Record a finished attempt (once)."""
        if result.key not in self._by_key:
            append_jsonl(self.path, result.to_dict())
            self._by_key[result.key] = result

    def all(self) -> list[Result]:
        """Every cached result, in the order they finished."""
        return list(self._by_key.values())


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the duration (attempts read their scaffold, memory and runs folder there)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def percentile_of(task: str, score: float | None, valid: bool) -> float:
    """A result's leaderboard percentile (0 without a valid score); UserError when the task has no leaderboard."""
    from agent.campaign.results import leaderboard_percentile

    pct = leaderboard_percentile(task, score, valid)
    if pct is None:
        raise UserError(f"competition {task!r} has no leaderboard.csv, so no percentile: evolve needs one for "
                        f"every dev and held-out competition")
    return pct


class CampaignEvaluator:
    """Evaluator whose evaluations are campaigns (agent.campaign): one campaign per (node, arm, budget) under
    the run's campaigns/ folder, its attempts run `parallel` at a time by the campaign supervisor in worker
    processes that outlive a killed evolve process (a resumed run's supervisor adopts or resumes them)."""

    def __init__(self, store: EvolveStore, plan: Plan, *, on_result: Callable[[Result, bool], None] | None = None
                 ) -> None:
        self.store, self.plan = store, plan
        self.base = store.path("campaigns")
        self.cache = Cache(store.path("evals.jsonl"))
        self.on_result = on_result
        self.attempt_s = 0.0          # seconds spent in attempts by this process (the harness's own time excluded)

    def run_dir(self, run_id: str) -> Path:
        """Where an attempt's run record is (run ids are `<campaign>/<attempt>`)."""
        campaign, _, rid = run_id.partition("/")
        return self.base / campaign / "attempts" / rid

    def evaluate(self, node: Node, tasks: list[str], seeds: list[int], budget: Budget, arm: str) -> list[Result]:
        """Each (task, seed) from the cache; the rest as one campaign; stops between attempts when asked."""
        keys = {(t, s): cache_key(node.commit, t, s, budget.key(), self.plan.policy) for t in tasks for s in seeds}
        missing = [ts for ts, k in keys.items() if self.cache.get(k) is None]
        if missing:
            if self.store.stop_requested():
                raise Stopped()
            t0 = time.monotonic()
            try:
                self._campaign(node, missing, budget, arm)
            finally:
                self.attempt_s += time.monotonic() - t0
        out = []
        for ts, key in keys.items():
            result = self.cache.get(key)
            if result is None:
                raise Stopped()          # the campaign stopped before this attempt ended
            if self.on_result:
                self.on_result(result, ts in missing)
            out.append(result)
        return out

    def _spec(self, name: str, node: Node, missing: list[tuple[str, int]], budget: Budget, memory: Path):
        from agent.campaign import CampaignSpec
        from agent.graph.budgets import Budgets

        plan, llm = self.plan, self.plan.policy == "llm"
        return CampaignSpec(name=name, tasks=tuple(dict.fromkeys(t for t, _ in missing)),
                            seeds=tuple(sorted({s for _, s in missing})), policy=plan.policy,
                            model=plan.model if llm else None, base_url=plan.base_url if llm else None,
                            config_file=plan.config_file if llm else None, sandbox=plan.sandbox,
                            budgets=Budgets(max_turns=budget.max_turns, seconds=budget.seconds),
                            parallel=plan.parallel, scaffold_dir=str(node.scaffold_dir), memory_file=str(memory))

    def _campaign(self, node: Node, missing: list[tuple[str, int]], budget: Budget, arm: str) -> None:
        from agent.campaign import results, run_campaign
        from agent.campaign.store import FINAL, CampaignStore

        name = f"{arm}-{node.commit[:12]}-{budget.key()}"
        memory = self.store.path("memories") / f"{name}.md"      # the node's memory, private to this campaign
        if not memory.exists():
            shutil.copyfile(node.memory_file, memory)
        self.base.mkdir(exist_ok=True)
        comps = os.pathsep.join(p for p in (str(self.store.path("competitions")),
                                            os.environ.get("EVOFORGE_COMPETITIONS_PATH", "")) if p)
        spec = self._spec(name, node, missing, budget, memory)
        self.store.event("campaign_started", arm=arm, commit=node.commit, campaign=name,
                         attempts=[f"{t} seed {s}" for t, s in missing])

        def notify(event: dict) -> None:
            if self.store.stop_requested():
                CampaignStore(self.base / name).set_counter("stop_requested", True)

        with environment(EVOFORGE_COMPETITIONS_PATH=comps):
            run_campaign(spec, base=self.base, notify=notify)
        for row in results(CampaignStore(self.base / name)):
            if (row["task"], row["seed"]) in missing and row["state"] in FINAL:
                result = self._result(row, name, node.commit, budget, arm)
                self.cache.put(result)
                self.store.event("attempt_finished", **result.to_dict())

    def _result(self, row: dict, campaign: str, commit: str, budget: Budget, arm: str) -> Result:
        valid = bool(row.get("valid"))
        pct = percentile_of(row["task"], row.get("score"), valid) if arm != "smoke" else (100.0 if valid else 0.0)
        val = row.get("validation_score")
        return Result(commit=commit, task=row["task"], seed=row["seed"], budget=budget.key(),
                      policy=self.plan.policy, arm=arm, run_id=f"{campaign}/{row['run_id']}",
                      status=str(row.get("status") or row["state"]), valid=valid,
                      score=row.get("score") if valid else None, medal=row.get("medal") if valid else None,
                      above_median=row.get("above_median") if valid else None, percentile=pct,
                      seconds=float(row.get("seconds") or 0.0),
                      validation_score=float(val) if isinstance(val, int | float) else None,
                      stop_reason=row.get("stop_reason"))
