"""The evolve loop's own cost, from a finished run's record: the harness's time per round (everything but
the attempts: proposing, git, the gate's static checks, the decision) against the attempts' time, and what
each pairing mode costs in dev attempts: with cached pairing the parent's dev attempts are read back from the
cache (the saving), with fresh pairing they are run again beside the child each round (the price of pairing
child and parent under the same load). Either way the other mode's cost follows from the same records.

    python bench/evolve_overhead.py NAME        # an evolve run under $EVOFORGE_RUNS/evolve
"""

from __future__ import annotations

import argparse
import statistics

from agent.evolve.evaluate import Cache, Result
from agent.evolve.store import EvolveStore


def dev_seconds(nodes: list[dict], results: list[Result]) -> dict[str, float]:
    """Attempt-seconds of the evaluated rounds: the children's, the parents' run again (fresh pairing) and the
    parents' read from the cache instead (cached pairing)."""
    own = {(r.commit, r.task, r.seed): r for r in results if r.arm == "dev" and r.rerun is None}
    again = {(r.rerun, r.commit, r.task, r.seed): r for r in results if r.arm == "dev" and r.rerun is not None}
    out = {"child": 0.0, "parent_run": 0.0, "parent_cached": 0.0}
    for n in nodes:
        if "paired" not in n:
            continue
        out["child"] += sum(r.seconds for (c, _t, _s), r in own.items() if c == n["commit"])
        if n.get("pairing", "cached") == "fresh":
            out["parent_run"] += sum(r.seconds for (k, c, _t, _s), r in again.items()
                                     if k == n["round"] and c == n["parent"])
        else:
            out["parent_cached"] += sum(r.seconds for (c, _t, _s), r in own.items() if c == n["parent"])
    return out


def main() -> None:
    """Print the harness and pairing figures of one evolve run."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name")
    store = EvolveStore.open(ap.parse_args().name)
    nodes = [n for n in store.nodes() if n["round"] > 0]
    harness = [n["seconds"]["harness"] for n in nodes]
    attempts = [n["seconds"]["attempts"] for n in nodes]
    evaluated = [n for n in nodes if "paired" in n]
    modes = sorted({n.get("pairing", "cached") for n in evaluated})
    print(f"run {store.name}: {len(nodes)} rounds, {len(evaluated)} evaluated ({', '.join(modes) or '-'} pairing)")
    if harness:
        print(f"harness per round: median {statistics.median(harness):.2f}s, max {max(harness):.2f}s; attempts per "
              f"round: median {statistics.median(attempts):.1f}s; harness/attempts = "
              f"{sum(harness) / max(1e-9, sum(attempts)):.4f}")
    s = dev_seconds(evaluated, Cache(store.path("evals.jsonl")).all())
    if s["child"]:
        fresh = s["child"] + s["parent_run"] + s["parent_cached"]     # every round's parent attempts run again
        cached = s["child"]                                           # only the children's attempts run
        print(f"dev attempts: children {s['child']:.0f}s; parents run again (fresh) {s['parent_run']:.0f}s; parents "
              f"read from the cache (cached) {s['parent_cached']:.0f}s")
        print(f"fresh pairing costs {fresh / cached:.2f}x the dev attempt time of cached pairing "
              f"(the cache saves {1 - cached / fresh:.0%} of it)")


if __name__ == "__main__":
    main()
