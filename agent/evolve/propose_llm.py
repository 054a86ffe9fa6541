"""The llm proposer: the configured model reads the evidence and edits scaffold files through tools.

Its file tools are the agent's own (agent/tools/fs.py), run on two roots through agent/tools/confine.py:
the scaffold checkout as `/scaffold` (read-write) and the evidence folder as `/evidence` (read-only). A path
anywhere else — the harness, the graders, the tasks — is refused by the same rule that confines the agent,
and so is a policy.yaml that raises a sandbox limit above the lineage head's. The model ends its turn with
`propose` (hypothesis, rationale, evidence). Its prompt is scaffold/evolve/proposer.md, itself editable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.evolve.proposal import Context, Proposal, family_means
from agent.evolve.scope import raised_limits
from agent.scaffold import ToolSpec, prompt_problems
from agent.tools import ToolContext, run_tool
from agent.tools.confine import PathRefused, locate

PROMPT = "evolve/proposer.md"
PLACEHOLDERS = frozenset({"round", "rounds", "scaffold_dir", "evidence_dir", "files", "scores", "lineage"})
REQUIRED = frozenset({"scaffold_dir", "evidence_dir"})
SCAFFOLD_VIEW, EVIDENCE_VIEW = "/scaffold", "/evidence"
MAX_TURNS = 30
MAX_IDLE = 2
TOOLS = {
    "list_files": "List files under a folder of /scaffold or /evidence (recursive up to a depth).",
    "read_file": "Read a text file under /scaffold or /evidence, optionally a line range.",
    "search_files": "Search files under /scaffold or /evidence for a regular expression; returns matching lines.",
    "write_file": "Create or overwrite a file under /scaffold with the given content.",
    "edit_file": "Replace an exact string in a file under /scaffold; it must occur exactly once.",
}
PROPOSE = {"type": "function", "function": {
    "name": "propose",
    "description": "End the round: state the hypothesis the edit tests, the rationale and the evidence.",
    "parameters": {"type": "object", "additionalProperties": False, "required": ["hypothesis"],
                   "properties": {"hypothesis": {"type": "string"}, "rationale": {"type": "string"},
                                  "evidence": {"type": "string"}}}}}


@dataclass(frozen=True)
class _Views:
    """The names the proposer's tools show for the two roots."""

    workspace_path: str = SCAFFOLD_VIEW
    data_path: str = EVIDENCE_VIEW


def prompt_checks(scaffold_dir: Path) -> list[str]:
    """The proposer prompt's placeholder problems (the gate checks it with the agent's prompts)."""
    path = Path(scaffold_dir) / PROMPT
    if not path.is_file():
        return [f"{PROMPT}: missing (the llm proposer's prompt)"]
    return prompt_problems(PROMPT, path.read_text(), PLACEHOLDERS, REQUIRED)


def _schemas() -> list[dict]:
    from agent.tools.registry import TOOLS as REGISTRY

    return [{"type": "function", "function": {"name": n, "description": d, "parameters": REGISTRY[n].parameters}}
            for n, d in TOOLS.items()] + [PROPOSE]


class LLMProposer:
    """The model proposes; every file it touches goes through the confinement rule."""

    name = "llm"

    def __init__(self, plan, *, sleep: Callable[[float], None] = time.sleep,
                 stop_requested: Callable[[], bool] = lambda: False) -> None:
        from agent.llm import LLMClient, LLMConfig

        self.client = LLMClient(LLMConfig.from_env(model=plan.model, base_url=plan.base_url,
                                                   config_file=plan.config_file))
        self.sleep, self.stop_requested = sleep, stop_requested

    def propose(self, ctx: Context) -> Proposal | None:
        """Run the model's turns until it calls `propose` (a proposal of no edit when it made none)."""
        tool_ctx = ToolContext(sandbox=_Views(), workspace=ctx.repo.scaffold_dir, public=ctx.evidence_dir)
        specs = {n: ToolSpec(n, d, 30.0, 20000) for n, d in TOOLS.items()}
        head_policy = ctx.repo.show(ctx.head, "scaffold/policy.yaml")
        messages = [{"role": "system", "content": self._prompt(ctx)},
                    {"role": "user", "content": f"Round {ctx.round}: make one edit, then call propose."}]
        refused: list[str] = []
        usage = {"turns": 0, "tokens": 0, "cost_usd": 0.0}
        idle = 0
        log = ctx.log_path.open("a")
        try:
            for _ in range(MAX_TURNS):
                turn = self._complete(messages)
                usage["turns"] += 1
                usage["tokens"] += turn.usage.prompt_tokens + turn.usage.completion_tokens
                usage["cost_usd"] += turn.cost_usd or 0.0
                messages.append(turn.to_message())
                log.write(json.dumps({"type": "turn", "content": turn.content, "thinking": turn.thinking,
                                      "calls": [c.to_event() for c in turn.tool_calls]}) + "\n")
                if not turn.tool_calls:
                    idle += 1
                    if idle > MAX_IDLE:
                        break
                    messages.append({"role": "user", "content": "Use the tools: edit a scaffold file, then call "
                                                                "propose."})
                    continue
                idle = 0
                for call in turn.tool_calls:
                    if call.name == "propose":
                        done = self._done(ctx, call, refused, usage)
                        if done is not None:
                            return done
                        out, code = "error: no scaffold file has changed yet; make an edit first", 1
                    else:
                        out, code = self._tool(tool_ctx, specs, call, head_policy, refused)
                    log.write(json.dumps({"type": "tool", "name": call.name, "exit_code": code, "output": out[:4000]})
                              + "\n")
                    messages.append({"role": "tool", "tool_call_id": call.id, "content": out})
                log.flush()
        finally:
            log.close()
        if _edited(ctx):
            return Proposal("(the model stated no hypothesis)", proposer=self.name, refused=refused, usage=usage)
        return Proposal("(no edit)", proposer=self.name, refused=refused, usage=usage)   # recorded as such

    def _prompt(self, ctx: Context) -> str:
        from string import Template

        from agent.evolve.proposal import lineage_table

        files = sorted(str(p.relative_to(ctx.repo.scaffold_dir)) for p in ctx.repo.scaffold_dir.rglob("*")
                       if p.is_file())
        scores = ", ".join(f"{f} {v:.1f}" for f, v in family_means(ctx.head_results, ctx.families).items())
        text = (ctx.repo.scaffold_dir / PROMPT).read_text()
        return Template(text).safe_substitute(round=ctx.round, rounds=ctx.plan.rounds, scaffold_dir=SCAFFOLD_VIEW,
                                              evidence_dir=EVIDENCE_VIEW, files=", ".join(files),
                                              scores=scores or "(none yet)", lineage=lineage_table(ctx.nodes))

    def _complete(self, messages: list[dict]):
        """One model turn; an outage is waited out (never a failed round), unless a stop is asked for."""
        from agent.evolve.evaluate import Stopped
        from agent.llm.types import EndpointDown

        wait = 5.0
        while True:
            try:
                return self.client.complete(messages, _schemas())
            except EndpointDown:
                if self.stop_requested():
                    raise Stopped() from None
                self.sleep(wait)
                wait = min(300.0, wait * 2)

    def _tool(self, tool_ctx: ToolContext, specs: dict[str, ToolSpec], call: Any, head_policy: str | None,
              refused: list[str]) -> tuple[str, int]:
        """Run one file tool; writes outside the scaffold or raising a sandbox limit are refused."""
        args = call.args if isinstance(call.args, dict) else {}
        target = None
        if call.name in ("write_file", "edit_file"):
            try:
                target = locate(tool_ctx, str(args.get("path", "")), write=True)
            except PathRefused as exc:
                refused.append(f"{call.name} {args.get('path')!r}: {exc}")
                return f"refused: {exc}; only files under {SCAFFOLD_VIEW} may be edited", 1
        before = target.host.read_text() if target is not None and target.host.is_file() else None
        rec = run_tool(tool_ctx, specs, call.name, call.arguments, call.error)
        if target is not None and target.parts == ("policy.yaml",) and rec["exit_code"] == 0:
            raised = raised_limits(head_policy, target.host.read_text())
            if raised:
                if before is None:
                    target.host.unlink()
                else:
                    target.host.write_text(before)
                refused.append(f"{call.name} policy.yaml: raises sandbox limits ({'; '.join(raised)})")
                return ("refused: this edit raises sandbox limits (" + "; ".join(raised) + "); the file is unchanged. "
                        "Sandbox limits may only be lowered."), 1
        return rec["output"], rec["exit_code"]

    def _done(self, ctx: Context, call: Any, refused: list[str], usage: dict) -> Proposal | None:
        if not _edited(ctx):
            return None
        args = call.args if isinstance(call.args, dict) else {}
        return Proposal(hypothesis=str(args.get("hypothesis") or "(the model stated no hypothesis)"),
                        rationale=str(args.get("rationale") or ""), evidence=str(args.get("evidence") or ""),
                        proposer=self.name, refused=refused, usage=usage)


def _edited(ctx: Context) -> bool:
    """Whether some scaffold file differs from the head (memory changes are the harness's, not an edit)."""
    return any(p.startswith("scaffold/") for p in ctx.repo.dirty())
