"""Load and validate the editable scaffold: prompts (Markdown), tool set and loop policy (YAML)."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from agent.sandbox.limits import check_spec
from common import paths
from common.errors import UserError
from common.yamlfile import load_yaml

if TYPE_CHECKING:
    from agent.recipes import Recipes

REQUIRED_PHASES = ("start", "nudge", "compact", "reflect")
STAGES = ("draft", "improve", "debug", "explore", "wrapup")   # optional phases/<stage>.md (agent.graph.search)
# The $placeholders the harness fills in each prompt (agent/graph/runner.py and build.py), and those a prompt
# must keep for the agent to work. A prompt naming any other placeholder would reach the model unfilled.
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "system": frozenset({"data_dir", "workspace", "max_turns", "environment", "budget"}),
    "start": frozenset({"task_id", "description", "submission_format", "data_dir", "memory", "metric", "direction"}),
    "nudge": frozenset(),
    "compact": frozenset({"task_id"}),
    "reflect": frozenset({"task_id", "stop_reason", "grading"}),
    "midrun": frozenset({"turns"}),
    "note": frozenset({"text"}),
    **{stage: frozenset({"turns", "budget_left", "candidates", "metric", "direction", "errors", "stale"})
       for stage in STAGES},
}
REQUIRED_PLACEHOLDERS: dict[str, frozenset[str]] = {"start": frozenset({"description", "submission_format"})}
REQUIRED_TOOLS = ("submit",)      # an agent that cannot submit cannot finish an attempt


@dataclass
class ToolSpec:
    """How one tool is presented to the model and limited."""

    name: str
    description: str
    timeout_s: float
    output_limit_bytes: int


@dataclass
class Policy:
    """Loop parameters from policy.yaml."""

    max_turns: int = 100
    context_window_tokens: int = 128000
    compact_at_fraction: float = 0.75
    keep_recent_turns: int = 6
    max_idle_turns: int = 2
    memory_in_prompt_chars: int = 6000
    reflect_at_end: bool = True
    reflect_use_model: bool = True
    reflect_max_chars: int = 3000
    reflect_every_turns: int = 0
    default_timeout_s: float = 600.0
    output_limit_bytes: int = 20000
    outage_wait_s: float = 5.0          # first wait after the model endpoint is found down; doubles each try
    outage_wait_max_s: float = 300.0    # longest wait between tries
    wrapup_at_share: float = 0.85       # search: the share of the budget after which the stage is wrapup
    debug_after_errors: int = 2         # search: failed tool calls in a row before the stage is debug
    explore_after_stale: int = 3        # search: candidates in a row not beating the best before explore
    guide_every_turns: int = 3          # search: show the stage prompt every N turns (0: on changes only)
    sandbox: dict[str, Any] = field(default_factory=dict)   # resource limits (agent.sandbox.limits); absent = auto


@dataclass
class Scaffold:
    """Everything the agent reads from scaffold/."""

    root: Path
    system: str
    phases: dict[str, str]
    policy: Policy
    tools: dict[str, ToolSpec] = field(default_factory=dict)
    commit: str = ""
    recipes: Recipes | None = None     # the heuristic engineer's recipe books (recipes/*.yaml)

    def render(self, name: str, **values: Any) -> str:
        """Fill a prompt ('system' or a phase name) with $placeholders from values."""
        text = self.system if name == "system" else self.phases[name]
        return Template(text).safe_substitute({k: str(v) for k, v in values.items()})


def prompt_problems(name: str, text: str, known: frozenset[str], required: frozenset[str] = frozenset()) -> list[str]:
    """What is wrong with a prompt's $placeholders: a malformed `$`, one the harness does not fill, one it needs."""
    template = Template(text)
    if not template.is_valid():
        return [f"{name}: a malformed placeholder (a lone `$`; write `$$` for a dollar sign)"]
    found = set(template.get_identifiers())
    problems = [f"{name}: placeholder ${p} is never filled (known: {', '.join(sorted(known)) or 'none'})"
                for p in sorted(found - known)]
    return problems + [f"{name}: placeholder ${p} is missing (the prompt needs it)" for p in sorted(required - found)]


def check_prompts(scaffold: Scaffold) -> list[str]:
    """Every prompt's placeholder problems (empty when each prompt renders with what the harness gives it)."""
    prompts = {"system": scaffold.system, **scaffold.phases}
    return [problem for name, text in prompts.items()
            for problem in prompt_problems(name, text, PLACEHOLDERS.get(name, frozenset()),
                                           REQUIRED_PLACEHOLDERS.get(name, frozenset()))]


def _load_yaml(path: Path) -> dict:
    if not path.is_file():
        raise UserError(f"scaffold file missing: {path}")
    data = load_yaml(path, "scaffold file") or {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping at the top level")
    return data


def _field(path: Path, data: dict, key: str, kind: type | tuple, default: Any, check=None, what: str = ""):
    value = data.get(key, default)
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise UserError(f"{path}: field '{key}' must be a number, got {value!r}")
    if kind is float:
        kind = (int, float)
    if not isinstance(value, kind):
        raise UserError(f"{path}: field '{key}' has the wrong type ({type(value).__name__}: {value!r})")
    if check is not None and not check(value):
        raise UserError(f"{path}: field '{key}' = {value!r} is out of range ({what})")
    return value


def load_policy(path: Path) -> Policy:
    """Parse and validate policy.yaml."""
    data = _load_yaml(path)
    d = Policy()
    pos = (lambda v: v > 0, "must be > 0")
    refl = data.get("reflection", {}) or {}
    tools = data.get("tools", {}) or {}
    outage = data.get("model_outage", {}) or {}
    search = data.get("search", {}) or {}
    if not all(isinstance(x, dict) for x in (refl, tools, outage, search)):
        raise UserError(f"{path}: 'reflection', 'tools', 'model_outage' and 'search' must be mappings")
    nonneg = (lambda v: v >= 0, ">= 0")
    return Policy(
        max_turns=_field(path, data, "max_turns", int, d.max_turns, *pos),
        context_window_tokens=_field(path, data, "context_window_tokens", int, d.context_window_tokens, *pos),
        compact_at_fraction=_field(
            path, data, "compact_at_fraction", float, d.compact_at_fraction, lambda v: 0 < v <= 1, "0 < x <= 1"
        ),
        keep_recent_turns=_field(path, data, "keep_recent_turns", int, d.keep_recent_turns, lambda v: v >= 1, ">= 1"),
        max_idle_turns=_field(path, data, "max_idle_turns", int, d.max_idle_turns, lambda v: v >= 0, ">= 0"),
        memory_in_prompt_chars=_field(
            path, data, "memory_in_prompt_chars", int, d.memory_in_prompt_chars, lambda v: v >= 0, ">= 0"
        ),
        reflect_at_end=_field(path, refl, "at_end", bool, d.reflect_at_end),
        reflect_use_model=_field(path, refl, "use_model", bool, d.reflect_use_model),
        reflect_max_chars=_field(path, refl, "max_chars", int, d.reflect_max_chars, *pos),
        reflect_every_turns=_field(path, refl, "every_turns", int, d.reflect_every_turns, lambda v: v >= 0, ">= 0"),
        default_timeout_s=float(_field(path, tools, "default_timeout_s", float, d.default_timeout_s, *pos)),
        output_limit_bytes=_field(path, tools, "output_limit_bytes", int, d.output_limit_bytes, *pos),
        outage_wait_s=float(_field(path, outage, "wait_s", float, d.outage_wait_s, *pos)),
        outage_wait_max_s=float(_field(path, outage, "wait_max_s", float, d.outage_wait_max_s, *pos)),
        wrapup_at_share=float(_field(path, search, "wrapup_at_share", float, d.wrapup_at_share,
                                     lambda v: 0 < v <= 1, "0 < x <= 1")),
        debug_after_errors=_field(path, search, "debug_after_errors", int, d.debug_after_errors, *pos),
        explore_after_stale=_field(path, search, "explore_after_stale", int, d.explore_after_stale, *pos),
        guide_every_turns=_field(path, search, "guide_every_turns", int, d.guide_every_turns, *nonneg),
        sandbox=check_spec(data.get("sandbox"), f"{path}: sandbox"),
    )


def load_tools(path: Path, policy: Policy, known: set[str] | None = None) -> dict[str, ToolSpec]:
    """Parse and validate tools.yaml: the enabled tool set, descriptions, timeouts and output limits."""
    data = _load_yaml(path)
    enabled = data.get("enabled")
    if not isinstance(enabled, list) or not all(isinstance(n, str) for n in enabled) or not enabled:
        raise UserError(f"{path}: field 'enabled' must be a non-empty list of tool names")
    descs = data.get("tools", {}) or {}
    if not isinstance(descs, dict):
        raise UserError(f"{path}: field 'tools' must be a mapping of tool name to settings")
    specs = {}
    for name in enabled:
        if known is not None and name not in known:
            raise UserError(f"{path}: field 'enabled' names unknown tool {name!r} (known: {', '.join(sorted(known))})")
        entry = descs.get(name, {}) or {}
        if not isinstance(entry, dict):
            raise UserError(f"{path}: field 'tools.{name}' must be a mapping")
        desc = entry.get("description")
        if not isinstance(desc, str) or not desc.strip():
            raise UserError(f"{path}: field 'tools.{name}.description' must be a non-empty string")
        where = Path(f"{path}: tools.{name}")
        timeout = _field(where, entry, "timeout_s", float, policy.default_timeout_s, lambda v: v > 0, "> 0")
        limit = _field(where, entry, "output_limit_bytes", int, policy.output_limit_bytes, lambda v: v > 0, "> 0")
        specs[name] = ToolSpec(name, " ".join(desc.split()), float(timeout), int(limit))
    return specs


def scaffold_commit(root: Path) -> str:
    """The git commit of the scaffold dir (with '+dirty' when it has edits), else a content hash."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%H", "--", "."],
            capture_output=True, text=True, timeout=10,
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "."],
            capture_output=True, text=True, timeout=10,
        )
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".git" not in p.parts:
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return "sha256:" + h.hexdigest()[:16]


def load_scaffold(root: Path | None = None, known_tools: set[str] | None = None) -> Scaffold:
    """Read scaffold/ (system.md, phases/*.md, policy.yaml, tools.yaml, recipes/*.yaml) and validate it."""
    root = Path(root or paths.scaffold_dir())
    if not root.is_dir():
        raise UserError(f"scaffold folder not found: {root} (set EVOFORGE_SCAFFOLD or restore scaffold/)")
    system_path = root / "system.md"
    if not system_path.is_file():
        raise UserError(f"scaffold file missing: {system_path}")
    phases = {p.stem: p.read_text() for p in sorted((root / "phases").glob("*.md"))}
    for name in REQUIRED_PHASES:
        if name not in phases:
            raise UserError(f"scaffold file missing: {root / 'phases' / (name + '.md')}")
    policy = load_policy(root / "policy.yaml")
    tools = load_tools(root / "tools.yaml", policy, known_tools)
    from agent.recipes import load_recipes  # imported here: agent.recipes reads this module's YAML helper

    recipes = load_recipes(root / "recipes")
    return Scaffold(root, system_path.read_text(), phases, policy, tools, scaffold_commit(root), recipes)
