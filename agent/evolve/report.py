"""`evolve report`: the lineage, the dev score by round, and the held-out test with its control arm.

Held out: the initial scaffold and the final head run the held-out competitions with fresh seeds (never
used by a proposer or a decision). The control arm gives the initial scaffold the compute the evolution
spent, as extra seeds: for each held-out cell, k attempts of the initial scaffold, of which the one with
the best validation score (the agent's own, never the private score) is counted; where attempts record no
validation score, their mean is counted (equal compute, no selection possible), and the report says so.
k matches the evolution's attempt-seconds, capped by the plan's control_max_k (both are reported).
"""

from __future__ import annotations

import json
import math
from typing import Any

from agent import plots
from agent.evolve import stats
from agent.evolve.config import CONTROL_SEED0, HELDOUT_SEED0
from agent.evolve.evaluate import Cache, Evaluator, Result
from agent.evolve.loop import Loop, arm_summary
from agent.evolve.proposal import lineage_table
from agent.evolve.store import EvolveStore
from agent.runstore import now_iso
from common.jsonlines import write_json


def _arm(results: dict[tuple[str, int], float], confidence: float, raw: list[Result]) -> dict[str, Any]:
    mean, low, high = stats.bootstrap_ci(results, confidence)
    summary = arm_summary(raw)
    return {**summary, "mean_pct": mean, "ci_low": low, "ci_high": high, "cells": len(results)}


def control_k(evolve_seconds: float, cells: int, seconds_per_cell: float, cap: int) -> tuple[float, int]:
    """(k that matches the evolution's compute, k used): attempts per held-out cell for the control arm."""
    matched = 1.0 + evolve_seconds / max(1e-9, cells * seconds_per_cell)
    return matched, max(1, min(cap, math.floor(matched)))


def _higher_is_better(task: str) -> bool:
    from tasks.mle_lite.registry import get_competition

    return bool(get_competition(task).higher_is_better)


def control_pick(attempts: list[Result]) -> tuple[float, str]:
    """(percentile, how): the attempt with the best validation score, else the mean of the attempts."""
    vals = [a for a in attempts if a.validation_score is not None]
    if attempts and len(vals) == len(attempts):
        sign = 1.0 if _higher_is_better(attempts[0].task) else -1.0
        best = max(vals, key=lambda a: sign * float(a.validation_score))
        return best.percentile, "best by validation score"
    return sum(a.percentile for a in attempts) / max(1, len(attempts)), "mean (no validation scores recorded)"


def heldout(loop: Loop) -> dict[str, Any]:
    """Run (or read back) the held-out arms and compare them."""
    plan, repo, ev = loop.plan, loop.repo, loop.evaluator
    initial, final = repo.resolve("initial"), repo.head()
    seeds = [HELDOUT_SEED0 + i for i in range(plan.seeds)]
    init = ev.evaluate(loop.node(initial), plan.heldout, seeds, plan.budget, "heldout")
    fin = ev.evaluate(loop.node(final), plan.heldout, seeds, plan.budget, "heldout")
    spent = sum(r.seconds for r in Cache(loop.store.path("evals.jsonl")).all() if r.arm in ("dev", "smoke"))
    per_cell = sum(r.seconds for r in init) / max(1, len(init)) or (plan.budget.seconds or 60.0)
    matched, k = control_k(spent, len(init), per_cell, plan.control_max_k)
    control: dict[tuple[str, int], float] = {}
    control_raw: list[Result] = []
    how = set()
    def extra(seed: int) -> list[int]:
        return [CONTROL_SEED0 + 100 * (seed - HELDOUT_SEED0) + j for j in range(1, k)]

    all_extra = [x for s in seeds for x in extra(s)]        # one evaluation (campaign) for the whole arm
    done = ev.evaluate(loop.node(initial), plan.heldout, all_extra, plan.budget, "control") if all_extra else []
    by_cell = {(r.task, r.seed): r for r in done}
    for r in init:
        more = [by_cell[(r.task, x)] for x in extra(r.seed)]
        pct, what = control_pick([r, *more])
        control[(r.task, r.seed)] = pct
        control_raw += [r, *more]
        how.add(what)
    cells = {name: {(r.task, r.seed): r.percentile for r in rs} for name, rs in (("initial", init), ("final", fin))}
    arms = {"initial": _arm(cells["initial"], plan.confidence, init), "final": _arm(cells["final"], plan.confidence, fin),
            "control": _arm(control, plan.confidence, control_raw)}

    def pair(a: dict, b: dict) -> dict:
        return stats.paired(a, b, test=plan.test, confidence=plan.confidence).to_dict()

    return {"initial": initial, "final": final, "seeds": seeds, "tasks": plan.heldout, "arms": arms,
            "paired": {"final_vs_initial": pair(cells["final"], cells["initial"]),
                       "final_vs_control": pair(cells["final"], control),
                       "control_vs_initial": pair(control, cells["initial"])},
            "control": {"k": k, "k_matched": matched, "evolve_attempt_seconds": spent,
                        "seconds_per_cell": per_cell, "selection": sorted(how)},
            "results": {"initial": [r.to_dict() for r in init], "final": [r.to_dict() for r in fin],
                        "control": [r.to_dict() for r in control_raw]}}


def dev_by_round(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per round: the decision, the candidate's and the head's dev mean percentile."""
    means = {n["commit"]: (n.get("dev") or {}).get("child", {}).get("mean_pct") for n in nodes if n.get("commit")}
    return [{"round": n["round"], "decision": n.get("decision"), "candidate_pct": (n.get("dev") or {}).get("child",
             {}).get("mean_pct"), "head": n.get("head"), "head_pct": means.get(n.get("head"))} for n in nodes]


def build(store: EvolveStore, *, evaluator: Evaluator | None = None, run_heldout: bool = True) -> dict[str, Any]:
    """Write report.md, report.json and the PNGs under the run's report/ folder; returns the JSON."""
    from agent.evolve.propose_heuristic import HeuristicProposer

    loop = Loop(store, proposer=HeuristicProposer(), evaluator=evaluator)   # the report never proposes
    nodes = store.nodes()
    out: dict[str, Any] = {"name": store.name, "created": now_iso(), "plan": store.plan().to_dict(),
                           "state": store.state(), "nodes": nodes, "dev_by_round": dev_by_round(nodes),
                           "counts": {d: sum(n.get("decision") == d for n in nodes)
                                      for d in ("kept", "reverted", "broken", "refused", "no_edit")}}
    if run_heldout and store.plan().heldout:
        out["heldout"] = heldout(loop)
    folder = store.path("report")
    folder.mkdir(exist_ok=True)
    out["plots"] = []
    if plots.available():
        out["plots"] = [str(plots.plot_lineage(nodes, folder / "lineage.png")),
                        str(plots.plot_dev_by_round(nodes, folder / "dev_by_round.png"))]
        if "heldout" in out:
            out["plots"].append(str(plots.plot_arms(out["heldout"]["arms"], folder / "heldout.png")))
    else:
        out["notes"] = ["plots skipped: matplotlib is not installed (pip install 'evoforge[plots]')"]
    write_json(folder / "report.json", out)
    (folder / "report.md").write_text(markdown(out))
    store.event("report", heldout="heldout" in out, folder=str(folder))
    return out


def _fmt(x: Any, spec: str = ".1f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def markdown(rep: dict[str, Any]) -> str:
    """The report as Markdown."""
    plan = rep["plan"]
    lines = [f"# evolve run {rep['name']}", "",
             f"Proposer {plan['proposer']}, attempts by the {plan['policy']} policy, {plan['seeds']} seed(s), "
             f"{plan['budget']['seconds']} s per attempt; decisions by {plan['test']} at {plan['confidence']:.0%}.",
             f"Dev: {', '.join(plan['dev'])}.", f"Held out: {', '.join(plan['heldout']) or '-'}.", "",
             "Decisions: " + ", ".join(f"{k} {v}" for k, v in rep["counts"].items()), "", "## Lineage", "",
             lineage_table(rep["nodes"]), "", "## Dev score by round", "",
             "| round | decision | candidate | head |", "|---|---|---|---|"]
    for r in rep["dev_by_round"]:
        lines.append(f"| {r['round']} | {r['decision']} | {_fmt(r['candidate_pct'])} | {_fmt(r['head_pct'])} |")
    h = rep.get("heldout")
    if h:
        c = h["control"]
        lines += ["", "## Held out", "",
                  f"Seeds {h['seeds']}; initial {h['initial'][:10]}, final {h['final'][:10]}. Control arm: the initial "
                  f"scaffold with k={c['k']} attempts per cell (compute-matched k would be {c['k_matched']:.1f}: the "
                  f"evolution spent {c['evolve_attempt_seconds']:.0f} attempt-seconds); counted: "
                  f"{', '.join(c['selection'])}.", "",
                  "| arm | mean percentile | CI | valid rate | medal rate | cells |", "|---|---|---|---|---|---|"]
        for name, a in h["arms"].items():
            lines.append(f"| {name} | {_fmt(a['mean_pct'])} | {_fmt(a['ci_low'])}..{_fmt(a['ci_high'])} | "
                         f"{_fmt(a['valid_rate'], '.2f')} | {_fmt(a['medal_rate'], '.2f')} | {a['cells']} |")
        lines += ["", "| comparison | mean delta | CI | p | wins/losses/ties |", "|---|---|---|---|---|"]
        for name, p in h["paired"].items():
            lines.append(f"| {name.replace('_', ' ')} | {_fmt(p['mean_delta'], '+.2f')} | {_fmt(p['ci_low'], '+.2f')}.."
                         f"{_fmt(p['ci_high'], '+.2f')} | {_fmt(p['p_value'], '.3f')} | {p['wins']}/{p['losses']}/"
                         f"{p['ties']} |")
    lines += ["", "Plots: " + ", ".join(f"`{p.rsplit('/', 1)[-1]}`" for p in rep.get("plots", []))]
    return "\n".join(lines) + "\n"


def load(store: EvolveStore) -> dict[str, Any] | None:
    """The last report written (None when there is none)."""
    try:
        return json.loads((store.path("report") / "report.json").read_text())
    except FileNotFoundError:
        return None
