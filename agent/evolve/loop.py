"""The self-evolution loop: each round proposes one scaffold edit, gates it, evaluates it paired with its
parent on the dev set, and keeps it only when the gain is real.

    round N:  propose (the candidate commit, branch round-N)  ->  gate (load, prompts, tools, scope, smoke)
              ->  evaluate child and parent (same tasks, seeds, budget; the parent from the cache)
              ->  decide (paired test at the configured confidence, valid rate not lower)  ->  node recorded

Every stage is recorded before the next begins (state.json, the round-N branch, evals.jsonl, nodes.jsonl), so
a run killed at any point and resumed continues where it was: no proposal is made twice once committed, no
attempt is run twice (run ids follow the cache key), no node is decided twice.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from agent import memory
from agent.evolve import stats
from agent.evolve.config import DEV_SEED0, SMOKE_TOY, Plan
from agent.evolve.evaluate import Cache, CampaignEvaluator, Evaluator, Node, Result, Stopped
from agent.evolve.gate import GateResult, run_gate
from agent.evolve.proposal import Context, Proposal, Proposer, write_evidence
from agent.evolve.repo import ScaffoldRepo
from agent.evolve.store import EvolveStore
from agent.runstore import now_iso
from common import paths
from common.errors import UserError


# -- starting a run ------------------------------------------------------------------------------------
def create(plan: Plan) -> EvolveStore:
    """A new evolve run: the plan, the smoke competition, and the repository holding the user's scaffold."""
    from dataclasses import replace

    from agent.evolve.evaluate import percentile_of
    from agent.scaffold import load_scaffold
    from agent.tools import TOOLS

    plan.validate()
    for task in plan.dev + plan.heldout:
        percentile_of(task, None, False)            # every competition needs a leaderboard: say so now
    source = paths.scaffold_dir()
    scaffold = load_scaffold(source, known_tools=set(TOOLS))   # a broken starting scaffold: one line, nothing made
    plan = replace(plan, source_dir=str(source.resolve()), source_commit=scaffold.commit, created=now_iso())
    store = EvolveStore.create(plan)
    if plan.smoke_task == SMOKE_TOY:
        from tasks.mle_lite.toy import write_toy_competition

        write_toy_competition(store.path("competitions"), SMOKE_TOY, leaderboard=[0.45, 0.5, 0.55, 0.6, 0.69])
    ScaffoldRepo.create(store.path("repo"), source, paths.memory_file(),
                        f"initial: the scaffold of {source} at {scaffold.commit}\n\nMemory: {paths.memory_file()}")
    store.save_state(round=0, stage="baseline", status="created", active_s=0.0)
    store.event("evolve_created", name=plan.name, dev=plan.dev, heldout=plan.heldout, proposer=plan.proposer,
                policy=plan.policy, rounds=plan.rounds, seeds=plan.seeds)
    return store


def make_proposer(plan: Plan, store: EvolveStore) -> Proposer:
    """The plan's proposer."""
    if plan.proposer == "llm":
        from agent.evolve.propose_llm import LLMProposer

        return LLMProposer(plan, stop_requested=store.stop_requested)
    from agent.evolve.propose_heuristic import HeuristicProposer

    return HeuristicProposer()


def run(store: EvolveStore, *, proposer: Proposer | None = None, evaluator: Evaluator | None = None) -> dict:
    """Work on the run until its rounds or hours are done or a stop is asked for; returns the final state."""
    with store.owner():
        return Loop(store, proposer=proposer, evaluator=evaluator).run()


def arm_summary(results: list[Result]) -> dict[str, Any]:
    """Mean percentile ± SE and the valid, medal and above-median rates of a set of results."""
    mean, se = stats.mean_se(r.percentile for r in results)
    n = len(results) or 1
    return {"n": len(results), "mean_pct": mean, "se": se, "valid_rate": sum(r.valid for r in results) / n,
            "medal_rate": sum(r.medal is not None for r in results) / n,
            "above_median_rate": sum(bool(r.above_median) for r in results) / n,
            "seconds": sum(r.seconds for r in results)}


# -- the loop ----------------------------------------------------------------------------------------
class Loop:
    """One process's work on an evolve run (it holds the run's lock)."""

    def __init__(self, store: EvolveStore, *, proposer: Proposer | None = None,
                 evaluator: Evaluator | None = None) -> None:
        self.store, self.plan = store, store.plan()
        self.repo = ScaffoldRepo(store.path("repo"))
        self.evaluator = evaluator or CampaignEvaluator(store, self.plan)
        self.proposer = proposer or make_proposer(self.plan, store)
        self.families = {t: memory.family_of(t) for t in self.plan.dev}
        self.seeds = [DEV_SEED0 + i for i in range(self.plan.seeds)]
        self._mark = time.monotonic()
        self._no_lessons: set[str] = set()

    # -- helpers ---------------------------------------------------------------------------------------
    def node(self, commit: str) -> Node:
        """The commit checked out for attempts."""
        root = self.repo.checkout(commit, self.store.path("checkouts") / commit[:12])
        return Node(commit, root / "scaffold", root / "memory" / "MEMORY.md")

    def dev(self, commit: str) -> list[Result]:
        """The commit's dev results (run, or read from the cache)."""
        return self.evaluator.evaluate(self.node(commit), self.plan.dev, self.seeds, self.plan.budget, "dev")

    def _tick(self, **fields: Any) -> dict:
        """Save state, adding the time worked since the last save (the --hours budget counts it)."""
        now = time.monotonic()
        active = self.store.state().get("active_s", 0.0) + (now - self._mark)
        self._mark = now
        return self.store.save_state(active_s=active, **fields)

    def _attempt_s(self) -> float:
        return float(getattr(self.evaluator, "attempt_s", 0.0))

    def _out_of_time(self) -> bool:
        return self.plan.hours is not None and self.store.state().get("active_s", 0.0) >= self.plan.hours * 3600

    # -- the run -----------------------------------------------------------------------------------------
    def run(self) -> dict:
        """Baseline, then rounds until done; a stop request or Ctrl-C leaves a resumable run."""
        self._tick(status="running", pid=os.getpid())
        self.store.event("evolve_resumed" if self.store.nodes() else "evolve_started", pid=os.getpid())
        try:
            self.baseline()
            while True:
                n = self.store.state().get("round", 1)
                if n > self.plan.rounds:
                    why = f"{self.plan.rounds} rounds done"
                    break
                if self.store.stop_requested():
                    raise Stopped()
                if self._out_of_time():
                    why = f"the {self.plan.hours:g} hours are spent"
                    break
                if not self.round(n):
                    why = "the proposer has nothing left to try"
                    break
        except (Stopped, KeyboardInterrupt):
            state = self._tick(status="stopped")
            self.store.event("evolve_stopped", round=state.get("round"), stage=state.get("stage"))
            return state
        state = self._tick(status="finished", finished=now_iso(), why=why)
        self.store.event("evolve_finished", why=why, head=self.repo.head(), rounds=len(self.store.nodes()) - 1)
        return state

    def baseline(self) -> None:
        """Round 0: the initial scaffold's dev results, the lineage's first node."""
        if any(n["round"] == 0 for n in self.store.nodes()):
            return
        initial = self.repo.head()
        t0, a0 = time.monotonic(), self._attempt_s()
        results = self.dev(initial)
        self.store.add_node({"round": 0, "commit": initial, "parent": None, "decision": "initial",
                             "hypothesis": "the user's scaffold", "files": [], "dev": {"child": arm_summary(results)},
                             "head": initial, "seconds": self._seconds(t0, a0), "decided": now_iso()})
        self._tick(round=1, stage="propose", parent=None, candidate=None, proposal=None)
        self.store.event("baseline", commit=initial, **arm_summary(results))

    def round(self, n: int) -> bool:
        """One round; False when the proposer has nothing left to try."""
        state = self.store.state()
        parent = state.get("parent") or self.repo.head()
        t0, a0 = time.monotonic(), self._attempt_s()
        candidate = self.repo.candidate(n)
        if candidate is None:
            self._tick(stage="propose", parent=parent, candidate=None, proposal=None, round_started=now_iso())
            self.store.event("round_started", round=n, parent=parent)
            proposal, lessons = self.propose(n, parent)
            if proposal is None:
                if self.plan.proposer == "heuristic":
                    return False
                self.decide(n, parent, None, Proposal("(no edit)", proposer=self.plan.proposer), t0, a0,
                            decision="no_edit", reason="the proposer made no edit")
                return True
            self._tick(proposal=proposal.to_dict())
            edited = any(p.startswith("scaffold/") for p in self.repo.dirty())   # lessons alone are no edit
            candidate = self.repo.commit_candidate(n, commit_message(n, parent, proposal, lessons)) if edited else None
            if candidate is None:
                if proposal.refused:
                    self.decide(n, parent, None, proposal, t0, a0, decision="refused",
                                reason="every edit was refused: " + "; ".join(proposal.refused)[:500])
                else:
                    self.decide(n, parent, None, proposal, t0, a0, decision="no_edit", reason="no file changed")
                return True
        proposal = Proposal.from_dict(self.store.state().get("proposal") or {"hypothesis": "(not recorded)"})
        self._tick(stage="gate", candidate=candidate)
        self.store.event("proposal", round=n, commit=candidate, hypothesis=proposal.hypothesis,
                         files=self._edited(parent, candidate), refused=proposal.refused)
        gate = run_gate(self.repo, parent, self.node(candidate), self.plan, self.evaluator, self._extra_prompts())
        self.store.event("gate", round=n, commit=candidate, ok=gate.ok, decision=gate.decision, reason=gate.reason)
        if not gate.ok:
            self.decide(n, parent, candidate, proposal, t0, a0, gate=gate)
            return True
        self._tick(stage="evaluate")
        parent_results, child_results = self.dev(parent), self.dev(candidate)
        self._tick(stage="decide")
        self.decide(n, parent, candidate, proposal, t0, a0, gate=gate, results=(parent_results, child_results))
        return True

    def _extra_prompts(self):
        if self.plan.proposer != "llm":
            return None
        from agent.evolve.propose_llm import prompt_checks

        return lambda node: prompt_checks(node.scaffold_dir)

    def _edited(self, parent: str, child: str | None) -> list[str]:
        return [p for p in self.repo.files(parent, child) if p.startswith("scaffold/")] if child else []

    def _seconds(self, t0: float, a0: float) -> dict[str, float]:
        total, attempts = time.monotonic() - t0, self._attempt_s() - a0
        return {"total": round(total, 3), "attempts": round(attempts, 3), "harness": round(total - attempts, 3)}

    # -- propose -----------------------------------------------------------------------------------------
    def propose(self, n: int, parent: str) -> tuple[Proposal | None, int]:
        """Reset the working tree to the parent, file pending lessons in its memory, let the proposer edit."""
        self.repo.reset(parent)
        lessons = self.merge_lessons()
        head_results = self.dev(parent)
        cache = Cache(self.store.path("evals.jsonl")).all()
        ctx = Context(round=n, plan=self.plan, repo=self.repo, head=parent, nodes=self.store.nodes(),
                      head_results=head_results, dev_results=[r for r in cache if r.arm == "dev"],
                      evidence_dir=self.store.path("evidence"),
                      log_path=self.store.path("proposals") / f"round-{n}.jsonl", families=self.families)
        ctx.log_path.parent.mkdir(exist_ok=True)
        write_evidence(ctx, self.evaluator.run_dir)
        return self.proposer.propose(ctx), lessons

    def merge_lessons(self) -> int:
        """File the self-critiques of every dev attempt so far in the working tree's memory (once per run)."""
        mem = self.repo.memory_file
        seen = memory.recorded_runs(mem)
        added = 0
        for r in Cache(self.store.path("evals.jsonl")).all():
            if r.arm != "dev" or r.run_id in seen or r.run_id in self._no_lessons:
                continue
            text = _reflection(self.evaluator.run_dir(r.run_id))
            found = memory.record_reflection(text, r.task, r.run_id, mem, self.families.get(r.task)) if text else []
            if not found:
                self._no_lessons.add(r.run_id)
            added += len(found)
        return added

    # -- decide ------------------------------------------------------------------------------------------
    def decide(self, n: int, parent: str, candidate: str | None, proposal: Proposal, t0: float, a0: float, *,
               gate: GateResult | None = None, results: tuple[list[Result], list[Result]] | None = None,
               decision: str = "", reason: str = "") -> None:
        """Keep or revert, record the node with its numbers, and move on to the next round."""
        node: dict[str, Any] = {"round": n, "commit": candidate, "parent": parent, "proposer": proposal.proposer,
                                "hypothesis": proposal.hypothesis, "rationale": proposal.rationale,
                                "evidence": proposal.evidence, "mutation": proposal.mutation,
                                "refused": proposal.refused, "usage": proposal.usage,
                                "files": self._edited(parent, candidate)}
        if gate is not None:
            node["gate"] = gate.to_dict()
        if gate is not None and not gate.ok:
            decision, reason = gate.decision, gate.reason
        elif results is not None:
            parent_results, child_results = results
            paired = stats.paired({(r.task, r.seed): r.percentile for r in child_results},
                                  {(r.task, r.seed): r.percentile for r in parent_results},
                                  test=self.plan.test, confidence=self.plan.confidence)
            child, par = arm_summary(child_results), arm_summary(parent_results)
            valid_ok = child["valid_rate"] >= par["valid_rate"]
            decision = "kept" if paired.confident and valid_ok else "reverted"
            reason = _reason(paired, valid_ok, child, par)
            node.update(paired=paired.to_dict(), dev={"child": child, "parent": par})
        if candidate is not None:
            self.repo.note(candidate, f"decision: {decision}\nreason: {reason}\n"
                                      + (json.dumps({k: node[k] for k in ("paired", "dev") if k in node}, indent=2)))
            if decision == "kept":
                self.repo.advance(candidate)
        head = self.repo.head()
        node.update(decision=decision, reason=reason, head=head, seconds=self._seconds(t0, a0), decided=now_iso())
        self.store.add_node(node)
        self.repo.reset()
        self._tick(round=n + 1, stage="propose", parent=None, candidate=None, proposal=None)
        self.store.event("decision", round=n, commit=candidate, decision=decision, reason=reason, head=head,
                         mean_delta=(node.get("paired") or {}).get("mean_delta"))


def _reason(p: stats.Paired, valid_ok: bool, child: dict, parent: dict) -> str:
    gain = (f"mean delta {p.mean_delta:+.2f} percentile points (CI {p.ci_low:+.2f}..{p.ci_high:+.2f}), "
            f"p={p.p_value:.3f} by {p.test} over {p.n_tasks} tasks / {p.n_cells} cells "
            f"(wins {p.wins}, losses {p.losses}, ties {p.ties})")
    if not valid_ok:
        return f"valid rate fell ({parent['valid_rate']:.2f} -> {child['valid_rate']:.2f}); {gain}"
    if p.confident:
        return f"better at {p.confidence:.0%} confidence: {gain}"
    return f"not better at {p.confidence:.0%} confidence: {gain}"


def commit_message(n: int, parent: str, proposal: Proposal, lessons: int) -> str:
    """The candidate's commit message: the hypothesis, the rationale and the evidence."""
    first = " ".join(proposal.hypothesis.split())
    lines = [f"round {n}: {first[:68] + ('…' if len(first) > 68 else '')}", "", f"Hypothesis: {first}"]
    if proposal.rationale:
        lines.append(f"Rationale: {' '.join(proposal.rationale.split())}")
    if proposal.evidence:
        lines.append(f"Evidence: {' '.join(proposal.evidence.split())}")
    lines.append(f"Proposer: {proposal.proposer}" + (f" (mutation {proposal.mutation['key']})"
                                                     if proposal.mutation else ""))
    if proposal.refused:
        lines.append("Refused: " + "; ".join(proposal.refused))
    if lessons:
        lines.append(f"Memory: +{lessons} lessons from the dev attempts' self-critiques")
    lines.append(f"Parent: {parent}")
    return "\n".join(lines) + "\n"


def _reflection(run_dir) -> str:
    """The self-critique an attempt wrote ('' when none)."""
    try:
        for line in reversed((run_dir / "events.jsonl").read_text().splitlines()):
            event = json.loads(line)
            if event.get("type") == "reflection":
                return str(event.get("text") or "")
    except (OSError, json.JSONDecodeError):
        pass
    return ""


def resume_state(store: EvolveStore) -> dict:
    """The state, checked: a run that finished says so (UserError), so `resume` never re-does it."""
    state = store.state()
    if state.get("status") == "finished":
        raise UserError(f"evolve run {store.name!r} has finished ({state.get('why')}); see `evoforge evolve show "
                        f"{store.name}` or `evoforge evolve report {store.name}`")
    return state
