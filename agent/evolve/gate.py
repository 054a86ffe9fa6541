"""The gate: before any evaluation a candidate must load, render every prompt, keep a valid tool table,
stay in scope, and finish a short smoke attempt. A candidate that fails any check is broken (or, for
scope, refused), and is reverted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from agent.evolve.config import Budget, Plan
from agent.evolve.evaluate import Evaluator, Node, Result
from agent.evolve.repo import ScaffoldRepo
from agent.evolve.scope import scope_problems
from common.errors import UserError


@dataclass
class Check:
    """One gate check and what it found."""

    name: str
    ok: bool
    detail: str = ""


@dataclass
class GateResult:
    """The gate's verdict: ok, or the decision (broken / refused) with every check's detail."""

    ok: bool
    decision: str = ""                # "" when ok; else "broken" or "refused"
    checks: list[Check] = field(default_factory=list)
    smoke: dict | None = None         # the smoke attempt's result

    @property
    def reason(self) -> str:
        """The first failed check, in one line."""
        bad = next((c for c in self.checks if not c.ok), None)
        return f"{bad.name}: {bad.detail}" if bad else ""

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return asdict(self)


def static_checks(node: Node, extra_prompts: Callable[[Node], list[str]] | None = None) -> list[Check]:
    """Load the scaffold, render every prompt, check the tool table: no attempt needed."""
    from agent.scaffold import REQUIRED_TOOLS, check_prompts, load_scaffold
    from agent.tools import TOOLS

    try:
        scaffold = load_scaffold(node.scaffold_dir, known_tools=set(TOOLS))
    except UserError as exc:
        return [Check("load", False, str(exc))]
    checks = [Check("load", True, "the scaffold loads and validates")]
    problems = check_prompts(scaffold) + (extra_prompts(node) if extra_prompts else [])
    checks.append(Check("prompts", not problems, "; ".join(problems) or "every prompt renders"))
    missing = [t for t in REQUIRED_TOOLS if t not in scaffold.tools]
    checks.append(Check("tools", not missing, f"tool {', '.join(missing)} is disabled: the agent cannot finish an "
                        "attempt without it" if missing else f"{len(scaffold.tools)} tools enabled"))
    return checks


def run_gate(repo: ScaffoldRepo, parent: str, node: Node, plan: Plan, evaluator: Evaluator,
             extra_prompts: Callable[[Node], list[str]] | None = None) -> GateResult:
    """Every check in order; the smoke attempt only when the static ones pass."""
    scope = scope_problems(repo, parent, node.commit)
    if scope:
        return GateResult(False, "refused", [Check("scope", False, "; ".join(scope))])
    checks = [Check("scope", True, "only scaffold files changed")] + static_checks(node, extra_prompts)
    if not all(c.ok for c in checks):
        return GateResult(False, "broken", checks)
    result: Result = evaluator.evaluate(node, [plan.smoke_task], [0], Budget(plan.smoke_seconds), "smoke")[0]
    ok = result.status != "failed" and result.valid
    detail = (f"run {result.run_id}: {result.status}, " + ("a valid submission" if result.valid else
                                                            "no valid submission") + f" ({result.stop_reason})")
    checks.append(Check("smoke", ok, detail))
    return GateResult(ok, "" if ok else "broken", checks, result.to_dict())
