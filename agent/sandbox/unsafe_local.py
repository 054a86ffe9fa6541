"""The unsafe-local "sandbox": commands run as plain subprocesses of this host, in the workspace folder.

NO ISOLATION. A command runs as your user on your machine: it can read (and write) anything
your user can — the private answers, the task recipes, other runs, your home — and it has the
network. It exists only as the explicit `--sandbox unsafe-local` (never picked by `auto`), prints
a warning when opened, and the adversarial suite shows what it does not contain. What it does
give: its own session (a timeout kills the whole tree), rlimits on address space, CPU time, file
size and (for non-root users) process count, the workspace disk watchdog, and an environment
scrubbed of your variables. Use `docker` or `local` (bubblewrap).
"""

from __future__ import annotations

import logging
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from agent.sandbox.base import (
    PASSTHROUGH_ENV,
    STOPPED,
    ExecResult,
    Limits,
    OutputBuffer,
    check_dirs,
    thread_env,
)
from agent.sandbox.proctree import kill_tree
from agent.sandbox.quota import DiskWatch

UNSAFE_WARNING = (
    "--sandbox unsafe-local runs the agent's commands WITHOUT ISOLATION: they can read anything your user can "
    "(private answers, task recipes, other runs, your files) and reach the network; scores from it cannot be "
    "trusted. Use --sandbox docker or --sandbox local (bubblewrap)."
)
log = logging.getLogger(__name__)

_MEMORY_ERRORS = re.compile(rb"MemoryError|Cannot allocate memory|std::bad_alloc|out of memory", re.I)
_FORK_ERRORS = re.compile(rb"fork: (retry: )?Resource temporarily unavailable|Cannot fork|can't start new thread")


def _user_task_count(uid: int) -> int:
    """Tasks (processes and threads) the user runs now: what RLIMIT_NPROC counts."""
    n = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid == uid:
                n += len(os.listdir(f"/proc/{name}/task"))
        except OSError:
            pass
    return n


def _signal_exit(code: int) -> int:
    """Shell-style exit code: 128 + signal for a process killed by a signal."""
    return 128 - code if code < 0 else code


class UnsafeLocalSandbox:
    """Run commands with `bash -c` in the workspace, each in its own session with rlimits; no isolation."""

    kind = "unsafe-local"
    isolation = "NONE: plain processes of the host, as the user running evoforge (unsafe-local)"

    def __init__(self, workspace: Path, public: Path, limits: Limits | None = None, name: str | None = None,
                 env: dict[str, str] | None = None) -> None:
        log.warning(UNSAFE_WARNING)
        self.extra_env = dict(env or {})      # the run's own variables (EVOFORGE_SEED); ours below win
        ws, pub = check_dirs(workspace, public)
        self.limits = limits or Limits()
        self.name = name
        self.workspace_path = str(ws)
        self.data_path = str(pub)
        self._running: set[int] = set()
        self._interrupted: set[int] = set()
        self._lock = threading.Lock()

    def env(self) -> dict[str, str]:
        """The scrubbed environment every command gets."""
        env = {k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ}
        env.update(thread_env(self.limits.cpus))
        env.update(self.extra_env)
        env.update(
            PATH=os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
            DATA_DIR=self.data_path, WORKSPACE=self.workspace_path, HOME=self.workspace_path,
            PYTHONUNBUFFERED="1", LANG=os.environ.get("LANG", "C.UTF-8"),
        )
        return env

    def _rlimits(self, timeout: float):
        """A preexec function that applies this sandbox's rlimits in the child."""
        lim = self.limits
        mib = 1024 * 1024
        cpu_s = int(timeout * (os.cpu_count() or 1)) + 30   # backstop; the wall-clock timeout acts first
        uid = os.getuid()
        nproc = _user_task_count(uid) + lim.pids if uid != 0 else None   # root ignores RLIMIT_NPROC

        def apply() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (lim.memory_mb * mib,) * 2)
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
            resource.setrlimit(resource.RLIMIT_FSIZE, (lim.file_size_mb * mib,) * 2)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if nproc is not None:
                resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)

        return apply

    def exec(self, command: str, timeout: float | None = None) -> ExecResult:
        """Run `bash -c command` in the workspace; the whole process tree ends with it."""
        timeout = self.limits.command_timeout(timeout)
        buf = OutputBuffer(self.limits.output_limit_bytes)
        watch = DiskWatch(self.workspace_path, self.limits.disk_mb)
        t0 = time.monotonic()
        p = subprocess.Popen(
            ["bash", "-c", command], cwd=self.workspace_path, env=self.env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=self._rlimits(timeout),
        )
        with self._lock:
            self._running.add(p.pid)
        reader = threading.Thread(target=self._read, args=(p, buf), daemon=True)
        reader.start()
        timed_out = disk_full = False
        try:
            deadline = t0 + timeout
            while True:
                try:
                    p.wait(timeout=min(0.25, max(0.0, deadline - time.monotonic())))
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() >= deadline:
                        timed_out = True
                        break
                    if watch.over():
                        disk_full = True
                        break
        finally:
            kill_tree(p.pid)          # on timeout, and leftovers (background children) after a normal exit
            p.wait()
            reader.join(timeout=5)
            with self._lock:
                self._running.discard(p.pid)
                stopped = p.pid in self._interrupted
                self._interrupted.discard(p.pid)
        duration = time.monotonic() - t0
        code = 124 if timed_out else _signal_exit(p.returncode)
        if stopped:
            return ExecResult(code, buf.text(), False, duration, STOPPED)
        if disk_full:
            return ExecResult(code, buf.text() + "\n" + watch.message() + "\n", False, duration, "disk limit")
        return ExecResult(code, buf.text(), timed_out, duration, self._reason(code, timed_out, buf))

    @staticmethod
    def _read(p: subprocess.Popen, buf: OutputBuffer) -> None:
        assert p.stdout is not None
        for chunk in iter(lambda: p.stdout.read1(65536), b""):
            buf.add(chunk)
        p.stdout.close()

    @staticmethod
    def _reason(code: int, timed_out: bool, buf: OutputBuffer) -> str | None:
        if timed_out:
            return "timeout"
        if code == 128 + signal.SIGXCPU:
            return "cpu time limit"
        if code == 128 + signal.SIGXFSZ:
            return "file size limit"
        tail = bytes(buf.tail[-4096:] or buf.head[-4096:])
        if code != 0 and _MEMORY_ERRORS.search(tail):
            return "out of memory"
        if _FORK_ERRORS.search(tail) or _FORK_ERRORS.search(bytes(buf.head[-4096:])):
            return "pids limit"
        return None

    def interrupt(self) -> None:
        """Kill the commands running now (killed_reason "stopped")."""
        with self._lock:
            pids = list(self._running)
            self._interrupted.update(pids)
        for pid in pids:
            kill_tree(pid)

    def close(self, keep_jobs: bool = False) -> None:
        """Kill whatever is still running from this sandbox (it runs no jobs: keep_jobs changes nothing)."""
        with self._lock:
            pids = list(self._running)
        for pid in pids:
            kill_tree(pid)

    def __enter__(self) -> UnsafeLocalSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
