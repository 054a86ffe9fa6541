"""The evolve loop's own cost, from a finished run's record: the harness's time per round (everything but
the attempts: proposing, git, the gate's static checks, the decision) against the attempts' time, and what
the evaluation cache saved (the parent's dev attempts, read back instead of run again).

    python bench/evolve_overhead.py NAME        # an evolve run under $EVOFORGE_RUNS/evolve
"""

from __future__ import annotations

import argparse
import statistics

from agent.evolve.evaluate import Cache
from agent.evolve.store import EvolveStore


def main() -> None:
    """Print the harness and cache figures of one evolve run."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name")
    store = EvolveStore.open(ap.parse_args().name)
    nodes = [n for n in store.nodes() if n["round"] > 0]
    by_key = {(r.commit, r.task, r.seed): r for r in Cache(store.path("evals.jsonl")).all() if r.arm == "dev"}
    harness = [n["seconds"]["harness"] for n in nodes]
    attempts = [n["seconds"]["attempts"] for n in nodes]
    saved = run = 0.0
    for n in nodes:
        if "paired" not in n:
            continue
        parent = [r for (c, _t, _s), r in by_key.items() if c == n["parent"]]
        child = [r for (c, _t, _s), r in by_key.items() if c == n["commit"]]
        saved += sum(r.seconds for r in parent)        # the parent's attempts: read from the cache
        run += sum(r.seconds for r in child)
    print(f"run {store.name}: {len(nodes)} rounds, {sum(1 for n in nodes if 'paired' in n)} evaluated")
    if harness:
        print(f"harness per round: median {statistics.median(harness):.2f}s, max {max(harness):.2f}s; attempts per "
              f"round: median {statistics.median(attempts):.1f}s; harness/attempts = "
              f"{sum(harness) / max(1e-9, sum(attempts)):.4f}")
    if run:
        print(f"cache: parent dev attempts not re-run: {saved:.0f}s against {run:.0f}s of child attempts run "
              f"(without the cache the dev evaluations would take {(saved + run) / run:.2f}x as long)")


if __name__ == "__main__":
    main()
