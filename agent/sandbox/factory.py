"""Pick and open a sandbox: docker, local, or auto (docker where an engine and the image are there)."""

from __future__ import annotations

import logging
from pathlib import Path

from agent.sandbox.base import Limits, Sandbox, SandboxError
from agent.sandbox.local import LocalSandbox

log = logging.getLogger(__name__)


def docker_available(need_image: bool = True) -> tuple[bool, str]:
    """(True, "") where a Docker engine answers (and has the sandbox image); else (False, why not)."""
    try:
        from agent.sandbox.docker_sandbox import engine_status
    except ImportError as exc:  # the docker SDK is missing
        return False, f"the docker Python package is not installed ({exc})"
    return engine_status(need_image=need_image)


def pick_kind(kind: str) -> str:
    """The kind to open for `kind` (auto: docker where an engine and the image are there, else local)."""
    if kind != "auto":
        return kind
    ok, why = docker_available()
    if not ok:
        log.info("auto sandbox: using local (%s)", why)
    return "docker" if ok else "local"


def make_sandbox(
    kind: str,
    workspace: Path,
    public: Path,
    limits: Limits | None = None,
    name: str | None = None,
    gpus: bool = False,
) -> Sandbox:
    """Open a sandbox of `kind` ("docker" | "local" | "auto") over a workspace and public data folder."""
    kind = pick_kind(kind)
    if kind == "docker":
        ok, why = docker_available()
        if not ok:
            raise SandboxError(f"docker sandbox unavailable: {why}; use --sandbox local")
        from agent.sandbox.docker_sandbox import DockerSandbox

        return DockerSandbox(workspace, public, limits=limits, name=name, gpus=gpus)
    if kind == "local":
        if gpus:
            log.info("local sandbox: GPUs are visible as on the host")
        return LocalSandbox(workspace, public, limits=limits, name=name)
    raise SandboxError(f"unknown sandbox {kind!r}: use docker, local or auto")
