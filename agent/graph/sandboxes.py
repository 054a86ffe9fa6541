"""Open the run's sandbox through agent.sandbox."""

from __future__ import annotations

from pathlib import Path


def open_sandbox(kind: str, workspace: Path, public: Path, name: str | None = None, limits=None,
                 env: dict[str, str] | None = None, state_dir: Path | None = None):
    """make_sandbox(kind, …) with the run's resolved limits (agent.sandbox.Limits; None = the defaults) and
    extra environment variables for every command (the run's EVOFORGE_SEED);
    state_dir: where the sandbox keeps its training jobs' records (outside the workspace).

    SandboxError (no engine, no image, no bwrap) is a UserError, so the CLI prints it as one line.
    """
    from agent.sandbox import make_sandbox

    return make_sandbox(kind, workspace=workspace, public=public, limits=limits, name=name, env=env,
                        state_dir=state_dir)
