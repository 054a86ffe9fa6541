"""Sandboxes that run the agent's commands: `docker` (a locked-down container), `local` (a bubblewrap
container on this host) and `unsafe-local` (plain processes, no isolation, explicit only).

    sb = make_sandbox("auto", workspace=ws, public=public_dir)
    r = sb.exec("python train.py", timeout=60)   # ExecResult(exit_code, output, timed_out, duration_s, killed_reason)
    sb.close()
"""

from __future__ import annotations

from agent.sandbox.base import ExecResult, Limits, Sandbox, SandboxError
from agent.sandbox.factory import KINDS, docker_available, local_available, make_sandbox, pick_kind
from agent.sandbox.unsafe_local import UNSAFE_WARNING

__all__ = [
    "KINDS", "ExecResult", "Limits", "Sandbox", "SandboxError", "UNSAFE_WARNING",
    "docker_available", "local_available", "make_sandbox", "pick_kind",
]
