"""Pick and open a sandbox: docker, local (bubblewrap), unsafe-local (no isolation), or auto.

`auto` takes docker where an engine answers and has the image, else the bubblewrap local sandbox,
and never unsafe-local: where neither isolating kind is possible it stops with one line saying how
to fix that.
"""

from __future__ import annotations

import logging
from pathlib import Path

from agent.sandbox.base import Limits, Sandbox, SandboxError
from agent.sandbox.bwrap import BwrapSandbox, bwrap_status
from agent.sandbox.engine import engine_status
from agent.sandbox.unsafe_local import UnsafeLocalSandbox

log = logging.getLogger(__name__)

KINDS = ("docker", "local", "unsafe-local", "auto")


def docker_available(need_image: bool = True) -> tuple[bool, str]:
    """(True, "") where a Docker engine answers (and has the sandbox image); else (False, why not)."""
    return engine_status(need_image=need_image)


def local_available() -> tuple[bool, str]:
    """(True, "") where the bubblewrap local sandbox can run here; else (False, why not)."""
    return bwrap_status()


def pick_kind(kind: str) -> str:
    """The kind to open for `kind` (auto: docker, else local), checked to be usable here; SandboxError if not."""
    if kind not in KINDS:
        raise SandboxError(f"unknown sandbox {kind!r}: use docker, local, unsafe-local or auto")
    if kind == "docker":
        ok, why = docker_available()
        if not ok:
            raise SandboxError(f"docker sandbox unavailable: {why}; or use --sandbox local (bubblewrap)")
    if kind == "local":
        ok, why = local_available()
        if not ok:
            raise SandboxError(f"local sandbox unavailable: {why}")
    if kind != "auto":
        return kind
    ok, why_docker = docker_available()
    if ok:
        return "docker"
    ok, why_local = local_available()
    if ok:
        log.warning("sandbox auto: docker is unavailable (%s); using the local bubblewrap sandbox", why_docker)
        return "local"
    raise SandboxError(f"no isolating sandbox is available: docker: {why_docker}; local: {why_local}. Start "
                       "Docker (scripts/docker-engine.sh) or install bubblewrap (apt-get install bubblewrap)")


def make_sandbox(kind: str, workspace: Path, public: Path, limits: Limits | None = None,
                 name: str | None = None, env: dict[str, str] | None = None, state_dir: Path | None = None) -> Sandbox:
    """Open a sandbox of `kind` over a workspace and a public data folder (`env`: extra variables for every
    command, never overriding the sandbox's own); `state_dir` keeps its job records (a sandbox opened again over the
    same one re-attaches to the jobs still running)."""
    kind = pick_kind(kind)
    if kind == "docker":
        from agent.sandbox.docker_sandbox import DockerSandbox

        return DockerSandbox(workspace, public, limits=limits, name=name, env=env, state_dir=state_dir)
    if kind == "local":
        return BwrapSandbox(workspace, public, limits=limits, name=name, env=env, state_dir=state_dir)
    return UnsafeLocalSandbox(workspace, public, limits=limits, name=name, env=env)
