"""CLI: `evoforge doctor`: what a run would use (endpoint, model, paths, sandboxes) and what is broken."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import typer
from rich.markup import escape

from agent.cli_output import out, print_json
from common import paths
from common.errors import UserError

MARK = {"ok": "[green]ok[/]  ", "note": "[dim]-[/]   ", "problem": "[red]FAIL[/]"}


@dataclass
class Check:
    """One line of the report: a section, what was checked, what was found, and whether it is a problem."""

    section: str
    name: str
    value: str
    state: str = "ok"          # ok | note | problem


def _endpoint(model: str | None, base_url: str | None, config: str | None) -> list[Check]:
    from agent.graph.spec import resolve_policy
    from agent.llm import LLMConfig
    from agent.llm.config import default_config_path

    s = "model endpoint"
    path = Path(config).expanduser() if config else default_config_path()
    checks = [Check(s, "config file", f"{path}" + ("" if path.is_file() else " (none)"), "ok" if path.is_file() else
                    "note")]
    try:
        cfg = LLMConfig.from_env(model=model, base_url=base_url, config_file=config)
        policy, why = resolve_policy(None, model, base_url, config)
    except UserError as exc:
        return checks + [Check(s, "config", str(exc), "problem")]
    checks += [Check(s, "endpoint", cfg.base_url or "none configured (runs use the heuristic policy)",
                     "ok" if cfg.base_url else "note"),
               *([_reachable(cfg)] if cfg.base_url else []),
               Check(s, "model", cfg.model),
               Check(s, "api key", "set" if cfg.api_key else "not set", "ok" if cfg.api_key else "note"),
               Check(s, "context window", str(cfg.context_window or "from the scaffold"), "note"),
               Check(s, "settings from", cfg.source, "note"),
               Check(s, "default policy", why.removeprefix("policy: ") or f"{policy} (named by the options given)", "note")]
    return checks


def _reachable(cfg) -> Check:
    """The model client's preflight: does the endpoint answer, serve the model, state a context window?"""
    from agent.llm import LLMError
    from agent.llm.preflight import check_endpoint

    try:
        info = check_endpoint(cfg)
    except LLMError as exc:
        return Check("model endpoint", "reachable", str(exc), "problem")
    window = f", window {info.context_window} tokens ({info.window_source})" if info.context_window else ""
    listed = {True: "model served", False: "model NOT listed", None: "models not listed"}[info.model_listed]
    note = f"; {info.warnings[0]}" if info.warnings else ""
    return Check("model endpoint", "reachable", f"yes in {info.latency_s:.2f}s, {listed}{window}{note}",
                 "ok" if info.model_listed else "note")


def _writable_dir(path: Path) -> tuple[str, str]:
    if path.exists() and not path.is_dir():
        return f"{path} is a file, not a folder", "problem"
    probe = path if path.exists() else next((p for p in path.parents if p.exists()), path)
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{path} (not writable)", "problem"
    return f"{path}" + ("" if path.exists() else " (created on first use)"), "ok"


def _paths() -> list[Check]:
    from agent.graph.runner import check_memory_file
    from agent.scaffold import load_scaffold
    from agent.tools import TOOLS
    from tasks.mle_lite.registry import list_competitions

    s = "paths"
    checks = [Check(s, "checkout", str(paths.ROOT), "note")]
    for name, path in (("runs", paths.runs_dir()), ("data", paths.data_dir())):
        checks.append(Check(s, name, *_writable_dir(path)))
    try:
        scaffold = load_scaffold(known_tools=set(TOOLS))
        checks.append(Check(s, "scaffold", f"{scaffold.root} (commit {scaffold.commit[:12]}, "
                                           f"max_turns {scaffold.policy.max_turns})"))
    except UserError as exc:
        checks.append(Check(s, "scaffold", str(exc), "problem"))
    try:
        check_memory_file(paths.memory_file())
        checks.append(Check(s, "memory", str(paths.memory_file())))
    except UserError as exc:
        checks.append(Check(s, "memory", str(exc), "problem"))
    try:
        comps = list_competitions()
        prepared = sum(1 for c in comps if c.is_prepared())
        checks.append(Check(s, "competitions", f"{len(comps)} ({prepared} prepared)"))
    except UserError as exc:
        checks.append(Check(s, "competitions", str(exc), "problem"))
    return checks


def _sandboxes() -> list[Check]:
    from agent.sandbox import SandboxError, docker_available, local_available, pick_kind

    s = "sandboxes"
    checks = []
    for name, (ok, why) in (("docker", docker_available()), ("local (bwrap)", local_available())):
        checks.append(Check(s, name, "available" if ok else f"unavailable: {why}", "ok" if ok else "note"))
    try:
        checks.append(Check(s, "auto picks", pick_kind("auto")))
    except SandboxError as exc:           # no isolating kind is usable here
        checks.append(Check(s, "auto picks", str(exc), "problem"))
    return checks


def doctor(
    model: str = typer.Option(None, "--model", metavar="NAME", help="Check with this model name."),
    base_url: str = typer.Option(None, "--base-url", metavar="URL", help="Check with this endpoint."),
    config: str = typer.Option(None, "--config", metavar="FILE", help="Check with this model client config file."),
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """Show the resolved model endpoint and model, the paths in use, Docker/bwrap and the sandbox `auto` picks.

    Exit status 1 when something a run needs is broken (marked FAIL).
    """
    checks = _endpoint(model, base_url, config) + _paths() + _sandboxes()
    if as_json:
        print_json([asdict(c) for c in checks])
    else:
        section = None
        for c in checks:
            if c.section != section:
                section = c.section
                out.print(f"[bold]{section}[/]")
            out.print(f"  {MARK[c.state]} {c.name:<16} {escape(c.value)}")
    if any(c.state == "problem" for c in checks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `evoforge doctor` to the CLI."""
    app.command("doctor")(doctor)
