"""What a proposer is given (the lineage, the dev results, the evidence folder) and what it returns.

A proposer edits the scaffold in the repository's working tree (one edit per round) and returns a
Proposal: the hypothesis, the rationale and the evidence it rests on; the loop commits it. The evidence
folder holds only dev-set material — the held-out set is never shown to a proposer.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agent.evolve.config import Plan
from agent.evolve.evaluate import Result
from agent.evolve.repo import ScaffoldRepo
from agent.evolve.stats import mean_se


@dataclass
class Proposal:
    """One edit's why: the hypothesis it tests, the reasoning, and the evidence behind it."""

    hypothesis: str
    rationale: str = ""
    evidence: str = ""
    proposer: str = ""
    mutation: dict[str, Any] | None = None     # heuristic: what it changed (its key is never tried twice)
    refused: list[str] = field(default_factory=list)   # llm: tool calls refused (outside the scaffold, limits)
    usage: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Proposal:
        """Inverse of to_dict."""
        return cls(**data)


@dataclass
class Context:
    """What a proposer reads."""

    round: int
    plan: Plan
    repo: ScaffoldRepo
    head: str
    nodes: list[dict[str, Any]]          # the lineage so far (every decided node)
    head_results: list[Result]           # the head's dev results
    dev_results: list[Result]            # every dev result so far (all nodes)
    evidence_dir: Path
    log_path: Path                       # where the proposer keeps its transcript
    families: dict[str, str] = field(default_factory=dict)   # dev task -> its family (modality)


class Proposer(Protocol):
    """Makes one scaffold edit in ctx.repo's working tree; None when it has nothing left to try."""

    name: str

    def propose(self, ctx: Context) -> Proposal | None:
        """Edit the working tree and say why."""
        ...


def family_means(results: list[Result], families: dict[str, str]) -> dict[str, float]:
    """Mean leaderboard percentile per task family."""
    groups: dict[str, list[float]] = defaultdict(list)
    for r in results:
        groups[families.get(r.task, "general")].append(r.percentile)
    return {f: mean_se(v)[0] for f, v in sorted(groups.items())}


def lineage_table(nodes: list[dict[str, Any]]) -> str:
    """The lineage as a Markdown table: round, commit, decision, the paired delta, the hypothesis."""
    rows = ["| round | commit | decision | dev delta (CI) | files | hypothesis |", "|---|---|---|---|---|---|"]
    for n in nodes:
        p = n.get("paired") or {}
        delta = (f"{p['mean_delta']:+.2f} ({p['ci_low']:+.2f}, {p['ci_high']:+.2f})" if p.get("n_cells") else "-")
        hyp = " ".join(str(n.get("hypothesis") or n.get("reason") or "").split())[:160]
        rows.append(f"| {n['round']} | {str(n.get('commit', ''))[:10]} | {n.get('decision')} | {delta} | "
                    f"{', '.join(n.get('files') or []) or '-'} | {hyp} |")
    return "\n".join(rows)


def results_table(results: list[Result], families: dict[str, str]) -> str:
    """Dev results as a Markdown table (one row per task and seed)."""
    rows = ["| task | family | seed | percentile | score | medal | valid | seconds | stop | run |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(results, key=lambda r: (r.task, r.seed)):
        rows.append(f"| {r.task} | {families.get(r.task, '-')} | {r.seed} | {r.percentile:.1f} | {r.score} | "
                    f"{r.medal or '-'} | {'yes' if r.valid else 'no'} | {r.seconds:.0f} | "
                    f"{' '.join(str(r.stop_reason or '').split())[:60]} | {r.run_id} |")
    return "\n".join(rows)


def run_digest(run_root: Path, max_chars: int = 6000) -> str:
    """What an attempt did, from its events: each tool call with its exit code and the head of failures."""
    lines: list[str] = []
    try:
        events = [json.loads(line) for line in (run_root / "events.jsonl").read_text().splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError):
        return "(no record)"
    for e in events:
        kind = e.get("type")
        if kind == "tool_call":
            out = " ".join(str(e.get("output") or "").split())
            tail = f" — {out[:240]}" if e.get("exit_code") else ""
            lines.append(f"- {e.get('name')} exit {e.get('exit_code')} in {e.get('duration_s', 0):.1f}s{tail}")
        elif kind in ("budget_exhausted", "error"):
            lines.append(f"- {kind}: {e.get('reason') or e.get('error')}")
        elif kind == "grading":
            lines.append(f"- graded: valid {e.get('valid')}, score {e.get('score')}, medal {e.get('medal')}")
        elif kind == "reflection" and e.get("text"):
            lines.append("\nSelf-critique:\n" + str(e["text"]))
    text = "\n".join(lines)
    return text if len(text) <= max_chars else text[: max_chars // 2] + "\n[… cut …]\n" + text[-max_chars // 2:]


def write_evidence(ctx: Context, run_dir: Callable[[str], Path]) -> None:
    """Rebuild the evidence folder: lineage, the head's dev results with a digest of each attempt, memory."""
    ev = ctx.evidence_dir
    if ev.exists():
        shutil.rmtree(ev)
    (ev / "runs").mkdir(parents=True)
    (ev / "lineage.md").write_text("# Lineage (every earlier edit and what became of it)\n\n"
                                   + lineage_table(ctx.nodes) + "\n")
    (ev / "lineage.json").write_text(json.dumps(ctx.nodes, indent=2, default=str))
    families = ctx.families
    means = family_means(ctx.head_results, families)
    summary = "\n".join(f"- {f}: mean percentile {m:.1f}" for f, m in means.items())
    (ev / "results.md").write_text(f"# Dev results of the lineage head ({ctx.head[:10]})\n\n{summary}\n\n"
                                   + results_table(ctx.head_results, families) + "\n")
    for r in ctx.head_results:
        (ev / "runs" / f"{r.run_id.replace('/', '--')}.md").write_text(
            f"# {r.task} seed {r.seed}: percentile {r.percentile:.1f}\n\n" + run_digest(run_dir(r.run_id)) + "\n")
    if ctx.repo.memory_file.is_file():
        shutil.copyfile(ctx.repo.memory_file, ev / "memory.md")
