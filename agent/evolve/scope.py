"""What a scaffold edit may touch: files under scaffold/ only, no links, and no sandbox limit raised.

The proposer's file tools are confined to the scaffold checkout by agent/tools/confine.py (the rule every
host-side tool follows); this check runs again on the committed candidate, whoever made it, so an edit of
the harness, the graders, the tasks or a sandbox limit above its parent's never reaches an evaluation.
"""

from __future__ import annotations

import io
from typing import Any

import yaml

from agent.evolve.repo import MEMORY, SCAFFOLD, ScaffoldRepo
from agent.sandbox.limits import check_spec, resolve_limits
from common import paths
from common.errors import UserError

ORDERED_LIMITS = ("memory_mb", "cpus", "pids", "disk_mb", "command_timeout_s", "gpus")


def sandbox_limits(policy_text: str | None) -> dict[str, Any]:
    """The sandbox limits a policy.yaml text resolves to on this machine (its `sandbox:` section)."""
    try:
        data = yaml.safe_load(io.StringIO(policy_text or "")) or {}
        spec = check_spec(data.get("sandbox") if isinstance(data, dict) else None, "policy.yaml: sandbox")
    except (yaml.YAMLError, UserError, AttributeError):
        spec = {}
    lim = resolve_limits(spec, paths.runs_dir())
    return {"memory_mb": lim.memory_mb, "cpus": lim.cpus, "pids": lim.pids, "disk_mb": lim.disk_mb,
            "command_timeout_s": lim.timeout_s, "gpus": lim.gpus}


def raised_limits(parent_policy: str | None, child_policy: str | None) -> list[str]:
    """The sandbox limits the child's policy.yaml raises above the parent's (a child may only lower them)."""
    before, after = sandbox_limits(parent_policy), sandbox_limits(child_policy)
    return [f"{k}: {before[k]} -> {after[k]}" for k in ORDERED_LIMITS if after[k] > before[k]]


def scope_problems(repo: ScaffoldRepo, parent: str, child: str) -> list[str]:
    """Why the child's edit is out of bounds ([] when it only changes scaffold files within the rules)."""
    problems = []
    for path in repo.files(parent, child):
        if not path.startswith(SCAFFOLD + "/") and path != MEMORY:
            problems.append(f"{path}: outside the scaffold (only files under scaffold/ may be edited)")
    for line in repo.repo.git.ls_tree("-r", child, "--", SCAFFOLD).splitlines():
        mode, _kind, _sha_path = line.split(" ", 2)
        if mode in ("120000", "160000"):
            problems.append(f"{line.split(chr(9), 1)[1]}: a link or submodule (the scaffold holds regular files)")
    raised = raised_limits(repo.show(parent, f"{SCAFFOLD}/policy.yaml"), repo.show(child, f"{SCAFFOLD}/policy.yaml"))
    if raised:
        problems.append("scaffold/policy.yaml: sandbox limits raised (" + "; ".join(raised) + "); an edit may "
                        "only lower them")
    return problems
