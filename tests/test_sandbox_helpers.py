"""Shared set-up for the sandbox tests (no tests here): a task-like layout and sandbox factories."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.sandbox import Limits, docker_available, make_sandbox

SECRET = "private-answer-7f3a91"


def layout(root: Path) -> tuple[Path, Path, Path]:
    """(workspace, public, private) folders like a prepared competition; private holds the answers."""
    public, private, ws = root / "public", root / "private", root / "workspace"
    public.mkdir()
    private.mkdir()
    (public / "train.csv").write_text("id,x,y\n1,0.5,1\n2,0.1,0\n")
    (private / "answers.csv").write_text(f"id,y\n1,{SECRET}\n")
    return ws, public, private


def small_limits(**kw) -> Limits:
    """Tight limits so containment tests finish fast."""
    base = dict(memory_mb=256, cpus=1.0, pids=64, timeout_s=30.0, output_limit_bytes=20000)
    base.update(kw)
    return Limits(**base)


def require_docker() -> None:
    """Skip with the true reason when no engine or image is there."""
    ok, why = docker_available()
    if not ok:
        pytest.skip(f"docker sandbox unavailable: {why}")


def open_sandbox(kind: str, root: Path, **limits):
    """A sandbox of `kind` over a fresh layout under root; returns (sandbox, workspace, public, private)."""
    if kind == "docker":
        require_docker()
    ws, public, private = layout(root)
    return make_sandbox(kind, ws, public, limits=small_limits(**limits)), ws, public, private
