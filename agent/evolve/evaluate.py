"""Evaluations: a node's attempts on a set of tasks × seeds, each cached per (commit, task, seed, budget).

`Evaluator` is the interface the loop and the report use; `AttemptEvaluator` implements it by running
attempts one after another in this process (agent.graph.runner), with the node's checkout as the scaffold
and a private copy of its memory (so results do not depend on the order attempts ran in). Run ids are
derived from the cache key, so an attempt cut by a kill is resumed, never run a second time, and a finished
one is read back from the cache.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent.evolve.config import Budget, Plan
from agent.evolve.store import EvolveStore, append_jsonl, read_jsonl
from common.errors import UserError


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


def run_id_for(key: str, task: str, seed: int) -> str:
    """The attempt's run id, derived from its cache key (so a rerun of the same key finds the same run)."""
    short = "".join(c for c in task if c.isalnum() or c == "-")[:28]
    return f"ev-{hashlib.sha256(key.encode()).hexdigest()[:10]}-{short}-s{seed}"


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


class AttemptEvaluator:
    """Evaluator that runs attempts here, one after another, through agent.graph.runner."""

    def __init__(self, store: EvolveStore, plan: Plan, *, on_result: Callable[[Result, bool], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store, self.plan = store, plan
        self.cache = Cache(store.path("evals.jsonl"))
        self.on_result = on_result
        self.sleep = sleep
        self.attempt_s = 0.0          # seconds spent in attempts by this process (the harness's own time excluded)

    def run_dir(self, run_id: str) -> Path:
        """Where an attempt's run record is."""
        return self.store.path("attempts") / run_id

    def evaluate(self, node: Node, tasks: list[str], seeds: list[int], budget: Budget, arm: str) -> list[Result]:
        """Each (task, seed) from the cache, else run (or resume) its attempt; stops between attempts when asked."""
        out = []
        for task in tasks:
            for seed in seeds:
                key = cache_key(node.commit, task, seed, budget.key(), self.plan.policy)
                result = self.cache.get(key)
                fresh = result is None
                if result is None:
                    if self.store.stop_requested():
                        raise Stopped()
                    t0 = time.monotonic()
                    result = self._attempt(node, task, seed, budget, arm, key)
                    self.attempt_s += time.monotonic() - t0
                    self.cache.put(result)
                if self.on_result:
                    self.on_result(result, fresh)
                out.append(result)
        return out

    def _attempt(self, node: Node, task: str, seed: int, budget: Budget, arm: str, key: str) -> Result:
        from agent.graph.runner import is_finished, resume_run, start_run
        from agent.llm.types import EndpointDown
        from agent.runstore import RunStore

        rid = run_id_for(key, task, seed)
        runs = self.store.path("attempts")
        mem = self.store.path("memories") / f"{rid}.md"
        if not mem.exists():
            shutil.copyfile(node.memory_file, mem)
        comps = os.pathsep.join([str(self.store.path("competitions")), os.environ.get("EVOFORGE_COMPETITIONS_PATH", "")])
        self.store.event("attempt_started", arm=arm, commit=node.commit, task=task, seed=seed, run_id=rid)
        wait = 5.0
        with environment(EVOFORGE_SCAFFOLD=str(node.scaffold_dir), EVOFORGE_MEMORY=str(mem),
                         EVOFORGE_RUNS=str(runs), EVOFORGE_COMPETITIONS_PATH=comps.rstrip(os.pathsep)):
            while True:
                try:
                    root = runs / rid
                    if (root / "meta.json").is_file() and (root / "initial_state.json").is_file():
                        store = RunStore(root)
                        if not is_finished(store):
                            store = resume_run(rid)
                    else:
                        if root.exists():            # killed before its first step: nothing ran
                            shutil.rmtree(root)
                        store = start_run(self._spec(task, seed, budget, rid))
                    break
                except EndpointDown as exc:           # an outage at the start: wait it out, never fail for it
                    self.store.event("model_outage", run_id=rid, cause=str(exc)[:300], wait_s=wait)
                    if self.store.stop_requested():
                        raise Stopped() from None
                    self.sleep(wait)
                    wait = min(300.0, wait * 2)
                except (KeyboardInterrupt, UserError):
                    raise
                except Exception:  # noqa: BLE001 - the run is marked failed by the runner; its record says why
                    store = RunStore(root)
                    break
            result = self._result(store, node.commit, task, seed, budget, arm)
        self.store.event("attempt_finished", **{k: v for k, v in result.to_dict().items() if k != "commit"},
                         commit=node.commit)
        return result

    def _spec(self, task: str, seed: int, budget: Budget, rid: str):
        from agent.graph.budgets import Budgets
        from agent.graph.spec import RunSpec

        plan = self.plan
        llm = plan.policy == "llm"
        fields: dict[str, Any] = dict(policy=plan.policy, sandbox=plan.sandbox, run_id=rid,
                                      model=plan.model if llm else None, base_url=plan.base_url if llm else None,
                                      config_file=plan.config_file if llm else None,
                                      budgets=Budgets(max_turns=budget.max_turns, seconds=budget.seconds))
        if "seed" in {f.name for f in dataclasses.fields(RunSpec)}:
            fields["seed"] = seed
        return RunSpec(task, **fields)

    def _result(self, store, commit: str, task: str, seed: int, budget: Budget, arm: str) -> Result:
        import json

        meta = store.read_meta()
        try:
            grading = json.loads(store.score_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            grading = {}
        valid = bool(grading.get("valid"))
        score = grading.get("score") if valid else None
        pct = percentile_of(task, score, valid) if arm != "smoke" else (100.0 if valid else 0.0)
        val = meta.get("validation_score", grading.get("validation_score"))
        return Result(commit=commit, task=task, seed=seed, budget=budget.key(), policy=self.plan.policy, arm=arm,
                      run_id=store.run_id, status=str(meta.get("status") or "failed"), valid=valid, score=score,
                      medal=grading.get("medal") if valid else None,
                      above_median=grading.get("above_median") if valid else None, percentile=pct,
                      seconds=float(meta.get("elapsed_s") or 0.0),
                      validation_score=float(val) if isinstance(val, int | float) else None,
                      stop_reason=meta.get("stop_reason"))
