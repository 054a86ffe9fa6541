"""The local sandbox: every command in a fresh bubblewrap (`bwrap`) container on this host.

What a command sees: the sandbox image's Debian root filesystem read-only as `/` (the same Python
stack as the docker sandbox; where it is not built, the host's system folders read-only instead,
said in a warning), the public data read-only at /data, the workspace read-write at /workspace,
a fresh /proc, a minimal read-only /dev, and small private tmpfs at /tmp and /dev/shm. Nothing
else of the host: no home, data cache, checkout, venv or other runs.

What it gets: its own user, mount, pid, network (loopback only: no network), IPC, UTS and
cgroup namespaces; no capabilities and no further user namespaces; a scrubbed environment;
its own uid 1000 (the host user's, or root's, uid outside).

Limits: a cgroup per sandbox (pids, memory, CPU) where one can be made (as root it must: RLIMIT_NPROC
does not bind uid 0); else RLIMIT_NPROC inside the user namespace (counted per sandbox) and
RLIMIT_AS. RLIMIT_FSIZE caps one file; the workspace disk quota watchdog caps the workspace.

Lifetime: when a command's main process ends, its pid namespace ends and with it every process
it started (background jobs, `setsid`, double forks); a timeout kills the namespace; a dying
evoforge takes it along (`--die-with-parent`).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import select
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from agent.sandbox.base import STOPPED, ExecResult, Limits, OutputBuffer, SandboxError, check_dirs, thread_env
from agent.sandbox.cgroups import Cgroup
from agent.sandbox.image import TRAINER_MOUNTS, rootfs_dir
from agent.sandbox.jobs import JOB_SHELL, Jobs, children
from agent.sandbox.launcher import ARGS_FD, STATUS_FD, Launcher
from agent.sandbox.quota import DiskWatch
from common.procs import pid_alive, process_start

log = logging.getLogger(__name__)

DATA = "/data"
WORKSPACE = "/workspace"
UID = 1000                       # the image's "sandbox" user
_HOST_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_HOST_ETC = ("alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "mime.types")
_MEMORY_ERRORS = re.compile(rb"MemoryError|Cannot allocate memory|std::bad_alloc|out of memory", re.I)
_FORK_ERRORS = re.compile(rb"fork: (retry: )?Resource temporarily unavailable|Cannot fork|can't start new thread")
_warned_fallback: set[str] = set()


@functools.cache
def bwrap_status() -> tuple[bool, str]:
    """(True, "") where bwrap can make the sandbox here; else (False, why not, with the fix)."""
    exe = shutil.which("bwrap")
    if exe is None:
        return False, "bubblewrap is not installed (apt-get install bubblewrap, or ./scripts/setup.sh as root)"
    probe = [exe, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
             "--ro-bind", "/", "/", "--proc", "/proc", "true"]
    try:
        r = subprocess.run(probe, capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"bwrap does not run: {exc}"
    if r.returncode != 0:
        why = (r.stderr.strip().splitlines() or ["no message"])[-1]
        return False, (f"bwrap cannot create namespaces here ({why}); enable unprivileged user namespaces "
                       "(sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces)")
    if os.geteuid() == 0:
        probe_cg = Cgroup.create("probe", 16, None, None)
        if probe_cg is None:
            return False, ("running as root, the local sandbox needs a pids cgroup to contain fork bombs "
                           "(RLIMIT_NPROC does not bind uid 0) and none can be made here; run evoforge as a "
                           "regular user, or use --sandbox docker")
        probe_cg.remove()
    return True, ""


class BwrapSandbox:
    """Run each command with `bash -c` in a fresh bubblewrap container over the workspace and public data."""

    kind = "local"
    data_path = DATA
    workspace_path = WORKSPACE

    def __init__(self, workspace: Path, public: Path, limits: Limits | None = None, name: str | None = None,
                 gpus: bool | None = None, env: dict[str, str] | None = None, state_dir: Path | None = None) -> None:
        self.extra_env = dict(env or {})      # the run's own variables (EVOFORGE_SEED); ours below win
        ok, why = bwrap_status()
        if not ok:
            raise SandboxError(f"local sandbox unavailable: {why}")
        self.workspace, self.public = check_dirs(workspace, public)
        self.limits = limits or Limits()
        self.name = name or "local"
        self.gpus = self.limits.gpus if gpus is None else gpus
        root = rootfs_dir()
        self.rootfs = root if (root / "usr" / "bin").is_dir() else None
        if self.rootfs is None and str(root) not in _warned_fallback:
            _warned_fallback.add(str(root))
            log.warning("local sandbox: no sandbox rootfs at %s (run scripts/build-sandbox-image.sh); using this "
                        "host's system folders read-only instead, so the Python stack is the host's system Python "
                        "(no venv)", root)
        self.isolation = ("bubblewrap (own user, mount, pid, network and IPC namespaces) on "
                          + (f"the sandbox image's Debian rootfs ({root.name})" if self.rootfs
                             else "this host's read-only system folders"))
        lim = self.limits
        self.cgroup = Cgroup.create(self.name, lim.pids, lim.memory_mb, lim.cpus)
        if self.cgroup is None and os.geteuid() == 0:
            raise SandboxError("local sandbox unavailable: as root it needs a pids cgroup and none could be made")
        self._running: set[int] = set()
        self._interrupted: set[int] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._args = self._bwrap_args()
        self._bwrap = shutil.which("bwrap") or "/usr/bin/bwrap"
        self._launcher = Launcher(self.cgroup.procs_files if self.cgroup else [])
        self.jobs = Jobs(self, self.kind, state_dir, lim.jobs)
        self.jobs.reattach()

    # -- the container ---------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The environment every command gets (nothing of the host's)."""
        env = thread_env(self.limits.cpus)
        env.update(self.extra_env)
        env.update(PATH="/usr/local/bin:/usr/bin:/bin", DATA_DIR=DATA, WORKSPACE=WORKSPACE, HOME=WORKSPACE,
                   PYTHONUNBUFFERED="1", LANG="C.UTF-8", TMPDIR="/tmp", MPLCONFIGDIR="/tmp/matplotlib",
                   USER="sandbox")
        return env

    def _bwrap_args(self) -> list[str]:
        lim = self.limits
        a = ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
             "--uid", str(UID), "--gid", str(UID), "--hostname", "evoforge-sandbox"]
        if self.rootfs is not None:
            a += ["--ro-bind", str(self.rootfs), "/"]
        else:
            for d in _HOST_SYSTEM:
                a += ["--ro-bind-try", d, d]
            for f in _HOST_ETC:
                a += ["--ro-bind-try", f"/etc/{f}", f"/etc/{f}"]
        a += ["--proc", "/proc", "--dev", "/dev",
              "--size", str(int(lim.tmp_mb) * 1024 * 1024), "--tmpfs", "/dev/shm",
              "--size", str(int(lim.tmp_mb) * 1024 * 1024), "--tmpfs", "/tmp",
              "--ro-bind", str(self.public), DATA, "--bind", str(self.workspace), WORKSPACE]
        if self.rootfs is not None:       # the bundled trainer, current with the checkout (the image has its folders)
            for src, dst in TRAINER_MOUNTS.items():
                a += ["--ro-bind-try", str(src), dst]
        if self.gpus:
            for dev in sorted(Path("/dev").glob("nvidia*")):
                if dev.is_char_device():
                    a += ["--dev-bind", str(dev), str(dev)]
        a += ["--remount-ro", "/dev"]
        if self.rootfs is None:
            a += ["--remount-ro", "/"]
        a += ["--chdir", WORKSPACE, "--clearenv"]
        for k, v in self.env().items():
            a += ["--setenv", k, v]
        return a

    def _rlimits(self, timeout: float) -> dict[str, int]:
        """The rlimits bwrap and everything under it get (set by the launcher; RLIMIT_AS only where no
        memory cgroup binds)."""
        lim, mib = self.limits, 1024 * 1024
        cpu_s = int(timeout * max(1.0, float(lim.cpus))) + 30      # a backstop; the wall-clock timeout acts first
        out = {"RLIMIT_CPU": cpu_s, "RLIMIT_CORE": 0,
               "RLIMIT_FSIZE": min(lim.file_size_mb, lim.disk_mb or lim.file_size_mb) * mib}
        if self.cgroup is None or "memory" not in self.cgroup.controllers:
            out["RLIMIT_AS"] = lim.memory_mb * mib
        return out

    def _inner(self, command: str) -> list[str]:
        """The command as bwrap runs it. Without a pids cgroup, RLIMIT_NPROC is set inside first: there
        the user namespace counts the sandbox's own processes (set outside, it would count all of the
        user's)."""
        if self.cgroup is not None:
            return ["bash", "-c", command]
        return ["bash", "-c", 'ulimit -u "$1"; exec bash -c "$0"', command, str(self.limits.pids)]

    # -- commands --------------------------------------------------------------------------------
    def exec(self, command: str, timeout: float | None = None) -> ExecResult:
        """Run `bash -c command` in /workspace in a fresh container; every process it started ends with it."""
        if self._closed:
            raise SandboxError(f"local sandbox {self.name} is closed; start a new attempt")
        timeout = self.limits.command_timeout(timeout)
        buf = OutputBuffer(self.limits.output_limit_bytes)
        before = self.cgroup.counters() if self.cgroup else (0, 0)
        watch = DiskWatch(self.workspace, self.limits.disk_mb)
        t0 = time.monotonic()
        out_r, out_w = os.pipe()
        args_r, args_w = os.pipe()
        st_r, st_w = os.pipe()
        try:
            os.write(args_w, b"\0".join(x.encode() for x in self._args) + b"\0")
            os.close(args_w)
            argv = [self._bwrap, "--args", str(ARGS_FD), "--json-status-fd", str(STATUS_FD), "--",
                    *self._inner(command)]
            pid = self._launcher.spawn(argv, {"PATH": "/usr/bin:/bin"}, self._rlimits(timeout), out_w, args_r, st_w)
        except BaseException:
            for fd in (out_r, st_r):
                os.close(fd)
            raise
        finally:
            for fd in (out_w, args_r, st_w):
                os.close(fd)
        with self._lock:
            self._running.add(pid)
        timed_out = disk_full = False
        try:
            timed_out, disk_full = _collect(out_r, buf, t0 + timeout, watch, lambda: self._kill(pid))
        finally:
            os.close(out_r)
            status = _read_status(st_r)
            with self._lock:
                self._running.discard(pid)
                stopped = pid in self._interrupted
                self._interrupted.discard(pid)
        duration = time.monotonic() - t0
        after = self.cgroup.counters() if self.cgroup else (0, 0)
        code = 124 if timed_out else (128 + signal.SIGKILL if status is None else status)
        reason = STOPPED if stopped else self._reason(code, timed_out, disk_full, buf, before, after)
        text = buf.text() + (("\n" + watch.message() + "\n") if disk_full else "")
        return ExecResult(code, text, timed_out, duration, reason)

    def _kill(self, pid: int) -> None:
        """Kill a command: bwrap's session (its pid-1 child and so the namespace die with it), then what is
        left in the cgroup (the launcher excepted)."""
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        if self.cgroup is not None:
            self.cgroup.kill_all(spare={self._launcher.pid})

    @staticmethod
    def _reason(code: int, timed_out: bool, disk_full: bool, buf: OutputBuffer, before: tuple[int, int],
                after: tuple[int, int]) -> str | None:
        if timed_out:
            return "timeout"
        if disk_full:
            return "disk limit"
        if after[0] > before[0]:
            return "out of memory"
        if after[1] > before[1]:
            return "pids limit"
        if code == 128 + signal.SIGXCPU:
            return "cpu time limit"
        if code == 128 + signal.SIGXFSZ:
            return "file size limit"
        head, tail = bytes(buf.head[-4096:]), bytes(buf.tail[-4096:] or buf.head[-4096:])
        if code != 0 and _MEMORY_ERRORS.search(tail):
            return "out of memory"
        if _FORK_ERRORS.search(tail) or _FORK_ERRORS.search(head):
            return "pids limit"
        return None

    def interrupt(self) -> None:
        """Kill the commands running now (killed_reason "stopped"); later commands run as usual."""
        with self._lock:
            running = list(self._running)
            self._interrupted.update(running)
        for pid in running:
            self._kill(pid)

    # -- jobs (agent.sandbox.jobs): a bubblewrap container of their own that outlives evoforge ----------------
    def job_start(self, job_id: str, argv: list[str], log: str, max_s: float) -> dict:
        """Start argv in a container of its own (the same mounts, namespaces, cgroup and limits as a command, but
        not --die-with-parent: it survives a killed evoforge until its deadline); bwrap reports its exit code
        into a status file in the state folder."""
        if self._closed:
            raise SandboxError(f"local sandbox {self.name} is closed; start a new attempt")
        status = self.jobs.dir / f"{job_id}.status"
        inner = ["bash", "-c", JOB_SHELL, "evoforge-job", log, str(int(max_s)), *argv]
        if self.cgroup is None:
            inner = ["bash", "-c", 'ulimit -u "$0"; exec "$@"', str(self.limits.pids), *inner]
        args = [a for a in self._args if a != "--die-with-parent"]
        null = os.open(os.devnull, os.O_WRONLY)
        st_w = os.open(status, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        args_r, args_w = os.pipe()
        try:
            os.write(args_w, b"\0".join(x.encode() for x in args) + b"\0")
            os.close(args_w)
            argv_b = [self._bwrap, "--args", str(ARGS_FD), "--json-status-fd", str(STATUS_FD), "--", *inner]
            pid = self._launcher.spawn(argv_b, {"PATH": "/usr/bin:/bin"}, self._rlimits(max_s), null, args_r, st_w)
        finally:
            for fd in (null, st_w, args_r):
                os.close(fd)
        return {"pid": pid, "start": process_start(pid) or "", "status": str(status)}

    @staticmethod
    def _job_status(handle: dict) -> dict:
        """What bwrap wrote on its status descriptor: {"child-pid": host pid of the container's init,
        "exit-code": …}."""
        out: dict = {}
        try:
            text = Path(handle["status"]).read_text()
        except OSError:
            return out
        for key, value in re.findall(r'"([a-z-]+)"\s*:\s*(-?\d+)', text):
            out[key] = int(value)
        return out

    def job_poll(self, handle: dict) -> tuple[bool, int | None]:
        """(running, exit code): the exit code bwrap reported, else whether its process (same start time) lives."""
        st = self._job_status(handle)
        if "exit-code" in st:
            return False, st["exit-code"]
        return pid_alive(handle["pid"], handle.get("start") or None), None

    def job_signal(self, handle: dict, sig: int) -> None:
        """Send `sig` to the job's command (the child of the container's init: `timeout`, which passes it on)."""
        init = self._job_status(handle).get("child-pid")
        if init is None or not self.job_poll(handle)[0]:
            return
        for pid in children(init):
            try:
                os.kill(pid, sig)
            except OSError:
                pass

    def job_kill(self, handle: dict) -> None:
        """Kill the container's init (its pid namespace, so every process of the job, dies with it) and bwrap."""
        if not self.job_poll(handle)[0]:
            return
        init = self._job_status(handle).get("child-pid")
        for pid in ([init] if init else []) + [handle["pid"]]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def close(self, keep_jobs: bool = False) -> None:
        """Kill every job (unless keep_jobs: an interrupted attempt, to be resumed) and whatever still runs, and
        remove the sandbox's cgroup (the workspace stays; a cgroup with kept jobs stays until they end)."""
        if not self._closed and not keep_jobs:
            self.jobs.end_all("the attempt ended: its sandbox was closed")
        kept = keep_jobs and bool(self.jobs.running())
        with self._lock:
            running = list(self._running)
            self._closed = True
        for pid in running:
            self._kill(pid)
        self._launcher.close()
        if self.cgroup is not None and not kept:
            self.cgroup.remove()
        self.cgroup = None
        self.jobs.close()

    def __enter__(self) -> BwrapSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _collect(fd: int, buf: OutputBuffer, deadline: float, watch: DiskWatch, kill) -> tuple[bool, bool]:
    """Read a command's output until every process holding the pipe is gone, killing it (`kill()`) at the
    deadline or when the workspace outgrows its disk limit; returns (timed out, disk full)."""
    timed_out = disk_full = False
    killed_at = None
    while True:
        wait = 0.25 if killed_at else min(0.25, max(0.0, deadline - time.monotonic()))
        if killed_at and time.monotonic() - killed_at > 10:
            return timed_out, disk_full          # killed, yet something still holds the pipe: stop reading
        if select.select([fd], [], [], wait)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                return timed_out, disk_full
            buf.add(chunk)
        elif not killed_at:
            timed_out = time.monotonic() >= deadline
            disk_full = not timed_out and watch.over()
            if timed_out or disk_full:
                kill()
                killed_at = time.monotonic()


def _read_status(fd: int, wait_s: float = 5.0) -> int | None:
    """The exit code bwrap reported on its --json-status-fd; None when it was killed before reporting."""
    data, end = b"", time.monotonic() + wait_s
    try:
        while select.select([fd], [], [], max(0.0, end - time.monotonic()))[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    codes = re.findall(rb'"exit-code"\s*:\s*(-?\d+)', data)
    return int(codes[-1]) if codes else None
