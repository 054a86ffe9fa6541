"""An evolve run as people read it (`evolve status` and `show`, the TUI): its status row, the lineage as a tree
of one-line labels, and one node in full (its message, note, diff, gate and per-task evidence)."""

from __future__ import annotations

from typing import Any

from agent.evolve.evaluate import Cache
from agent.evolve.repo import ScaffoldRepo
from agent.evolve.store import EvolveStore

DECISION_MARK = {"initial": "●", "kept": "✓", "reverted": "✗", "broken": "!", "refused": "⊘", "no_edit": "·"}


def status_row(store: EvolveStore) -> dict[str, Any]:
    """Status (running, stopped, finished, killed), round, stage, decisions so far, head, proposer, hours."""
    state, nodes, plan = store.state(), store.nodes(), store.plan()
    pid = store.owner_pid()
    status = "running" if pid else (state.get("status") if state.get("status") != "running" else "killed")
    return {"name": store.name, "status": status, "pid": pid, "round": f"{min(state.get('round', 0), plan.rounds)}/"
            f"{plan.rounds}", "stage": state.get("stage"), "kept": sum(n.get("decision") == "kept" for n in nodes),
            "reverted": sum(n.get("decision") == "reverted" for n in nodes),
            "broken": sum(n.get("decision") in ("broken", "refused") for n in nodes),
            "head": (nodes[-1].get("head") or "")[:10] if nodes else "", "proposer": plan.proposer,
            "hours": round(state.get("active_s", 0.0) / 3600, 2)}


def children(nodes: list[dict[str, Any]]) -> dict[str | None, list[dict[str, Any]]]:
    """The lineage's tree: parent commit -> its nodes in round order (None -> the root)."""
    kids: dict[str | None, list[dict[str, Any]]] = {}
    for n in nodes:
        kids.setdefault(n.get("parent"), []).append(n)
    return kids


def node_label(n: dict[str, Any], width: int = 120) -> str:
    """One line for a node: mark, round, commit, decision, the paired delta (or dev score), files, hypothesis."""
    p = n.get("paired") or {}
    dev = (n.get("dev") or {}).get("child") or {}
    num = (f"Δ {p['mean_delta']:+.2f} ({p['ci_low']:+.2f}..{p['ci_high']:+.2f}) p={p['p_value']:.2f}"
           if p.get("n_cells") else f"dev {dev['mean_pct']:.1f}" if dev else "")
    what = n.get("hypothesis") if n.get("decision") in ("kept", "reverted", "initial") else n.get("reason")
    return (f"{DECISION_MARK.get(n.get('decision'), '?')} r{n['round']} {str(n.get('commit') or '-')[:10]} "
            f"{n.get('decision')} {num}  {', '.join(n.get('files') or [])}  {' '.join(str(what or '').split())[:width]}")


def tree_lines(nodes: list[dict[str, Any]]) -> list[str]:
    """The lineage as an indented tree: each node under its parent."""
    kids = children(nodes)
    lines: list[str] = []

    def walk(n: dict, prefix: str, last: bool, root: bool) -> None:
        lines.append(("" if root else prefix + ("└─ " if last else "├─ ")) + node_label(n))
        below = kids.get(n.get("commit"), []) if n.get("commit") else []
        for i, k in enumerate(below):
            walk(k, prefix + ("" if root else ("   " if last else "│  ")), i == len(below) - 1, False)

    for r in kids.get(None, []):
        walk(r, "", True, True)
    return lines


def node_detail(store: EvolveStore, commit: str) -> dict[str, Any]:
    """One node in full: its record (when decided), commit message, decision note and diff against its parent."""
    repo = ScaffoldRepo(store.path("repo"))
    rec = next((n for n in store.nodes() if n.get("commit") == commit), {"commit": commit})
    parent = rec.get("parent")
    return {"record": rec, "message": repo.message(commit), "note": repo.read_note(commit),
            "diff": repo.diff(parent, commit) if parent else ""}


def per_task(store: EvolveStore, node: dict[str, Any]) -> list[dict[str, Any]]:
    """The node's dev results against its parent's, per task: mean percentile of each over seeds, the delta,
    and the child's valid and medal counts (from the evaluation cache)."""
    dev = [r for r in Cache(store.path("evals.jsonl")).all() if r.arm == "dev"]
    child = [r for r in dev if r.commit == node.get("commit")]
    parent = [r for r in dev if r.commit == node.get("parent")]
    out = []
    for task in dict.fromkeys(r.task for r in child):
        mine = [r for r in child if r.task == task]
        theirs = [r for r in parent if r.task == task]
        c = sum(r.percentile for r in mine) / len(mine)
        p = sum(r.percentile for r in theirs) / len(theirs) if theirs else None
        out.append({"task": task, "seeds": len(mine), "child_pct": c, "parent_pct": p,
                    "delta": c - p if p is not None else None, "valid": sum(r.valid for r in mine),
                    "medals": sum(r.medal is not None for r in mine)})
    return out
