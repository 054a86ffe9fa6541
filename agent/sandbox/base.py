"""What every sandbox shares: limits, the result of a command, the Sandbox interface, errors."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from common.errors import UserError

# Variables passed to every command besides the sandbox's own (DATA_DIR, WORKSPACE, HOME, ...).
PASSTHROUGH_ENV = ("LANG", "LC_ALL", "TZ", "TERM")


class SandboxError(UserError):
    """A sandbox that cannot be created or used (no engine, missing image, bad paths); one line to fix."""


@dataclass
class Limits:
    """Resource limits of a sandbox, applied to every command (see agent.sandbox.limits for configuring them)."""

    memory_mb: int = 4096          # docker: cgroup memory (no swap); local: cgroup memory, else RLIMIT_AS
    cpus: float = 2.0              # docker: nano_cpus; local: cgroup CPU quota; both: BLAS/OpenMP thread counts
    pids: int = 512                # docker: pids_limit; local: pids cgroup, else RLIMIT_NPROC in the user namespace
    timeout_s: float = 3600.0      # wall-clock time a command may run at most (a tool asking for more gets this)
    disk_mb: int = 20480           # workspace disk use (quota watchdog); 0 = unlimited
    gpus: bool = False             # pass NVIDIA GPUs through where the host has them
    output_limit_bytes: int = 1_000_000  # output kept per command (head + tail, the cut stated)
    file_size_mb: int = 16384      # RLIMIT_FSIZE: the largest file a command may write (capped by disk_mb)
    tmp_mb: int = 512              # size of the sandbox's /tmp (and /dev/shm) tmpfs, counted as memory
    jobs: int = 2                  # long-lived jobs (training runs) at once, within the same limits (agent.sandbox.jobs)

    def command_timeout(self, requested: float | None) -> float:
        """The timeout a command gets: what the tool asked for, at most timeout_s."""
        return float(self.timeout_s if requested is None else min(float(requested), self.timeout_s))


@dataclass
class ExecResult:
    """What one command did: exit code, interleaved stdout+stderr, and why it was killed if it was."""

    exit_code: int
    output: str
    timed_out: bool
    duration_s: float
    killed_reason: str | None = None   # "timeout", "out of memory", "pids limit", "disk limit", "stopped", ...


STOPPED = "stopped"   # killed_reason of a command ended by Sandbox.interrupt (the attempt is being stopped)


@runtime_checkable
class Sandbox(Protocol):
    """A place to run bash commands against a workspace (read-write) and public data (read-only)."""

    kind: str             # "docker", "local" (bubblewrap) or "unsafe-local"
    isolation: str        # one line: what isolates the commands (for the agent's prompt and the run record)
    data_path: str
    workspace_path: str
    limits: Limits
    jobs: Any             # agent.sandbox.jobs.Jobs: long-lived jobs started in this sandbox

    def exec(self, command: str, timeout: float | None = None) -> ExecResult:
        """Run `bash -c command` in the workspace and return what happened."""
        ...

    def interrupt(self) -> None:
        """Kill the commands running now (they return with killed_reason "stopped"); the sandbox stays usable."""
        ...

    def close(self, keep_jobs: bool = False) -> None:
        """Release the sandbox (stop its container / kill leftover processes and, unless keep_jobs, every job)."""
        ...


class OutputBuffer:
    """Collects a command's output, keeping the first and last half of `limit` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = max(int(limit), 2)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        """Append a chunk of output."""
        self.total += len(chunk)
        half = self.limit // 2
        room = half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > 2 * half:
                del self.tail[: len(self.tail) - half]

    def text(self) -> str:
        """The kept output as text, with the cut stated where bytes were dropped."""
        half = self.limit // 2
        tail = self.tail[-half:] if len(self.tail) > half else self.tail
        dropped = self.total - len(self.head) - len(tail)
        if dropped <= 0:
            return (bytes(self.head) + bytes(tail)).decode(errors="replace")
        cut = f"\n[... {dropped} bytes of output cut; first {len(self.head)} and last {len(tail)} kept ...]\n"
        return bytes(self.head).decode(errors="replace") + cut + bytes(tail).decode(errors="replace")


def check_dirs(workspace: Path, public: Path) -> tuple[Path, Path]:
    """Resolve the workspace (created if missing) and public data folder (must exist)."""
    workspace = Path(workspace).expanduser().resolve()
    public = Path(public).expanduser().resolve()
    if not public.is_dir():
        raise SandboxError(f"public data folder {public} does not exist; prepare the task's data first")
    workspace.mkdir(parents=True, exist_ok=True)
    if workspace == public or public in workspace.parents or workspace in public.parents:
        raise SandboxError(f"workspace {workspace} and public data {public} must not contain each other")
    return workspace, public


def thread_env(cpus: float) -> dict[str, str]:
    """Thread-count variables so BLAS/OpenMP use the CPUs the sandbox allows."""
    n = str(max(1, int(cpus)))
    return {k: n for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")}


def host_has_nvidia_gpu() -> bool:
    """True where this host shows an NVIDIA GPU (device node or nvidia-smi)."""
    return os.path.exists("/dev/nvidia0") or shutil.which("nvidia-smi") is not None
