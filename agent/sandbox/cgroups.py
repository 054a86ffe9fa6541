"""A cgroup per sandbox (process count, memory, CPU), where this process may make one.

Why: RLIMIT_NPROC does not bind uid 0 — not even inside a user namespace, where the kernel uid
stays 0 — so a fork bomb run by root is contained only by a pids cgroup. A memory cgroup also
bounds a command's whole process tree (RLIMIT_AS bounds one process's address space).

The cgroup is made below this process's own cgroup (so the caller's accounting still holds),
in cgroup v1 (one hierarchy per controller: pids, memory, cpu) or v2 (one unified hierarchy,
controllers enabled in the parent's subtree_control; where our own v2 cgroup holds processes, which
v2 forbids for a cgroup with controllers, below the hierarchy's root instead). `create` returns None
where no cgroup can be made (no permission, read-only cgroupfs).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import time
from pathlib import Path

log = logging.getLogger(__name__)

CONTROLLERS = ("pids", "memory", "cpu")
PREFIX = "evoforge-"


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def _mounts() -> tuple[dict[str, Path], Path | None]:
    """(v1 controller -> mount point, v2 mount point) from /proc/self/mountinfo."""
    v1: dict[str, Path] = {}
    v2 = None
    for line in _lines("/proc/self/mountinfo"):
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3:
            continue
        mnt, fstype, opts = Path(fields[4]), rfields[0], rfields[2].split(",")
        if fstype == "cgroup2" and v2 is None:
            v2 = mnt
        elif fstype == "cgroup":
            for c in CONTROLLERS:
                if c in opts and c not in v1:
                    v1[c] = mnt
    return v1, v2


def _own_paths() -> tuple[dict[str, str], str | None]:
    """(v1 controller -> this process's cgroup path, v2 path) from /proc/self/cgroup."""
    v1: dict[str, str] = {}
    v2 = None
    for line in _lines("/proc/self/cgroup"):
        num, ctrls, path = line.split(":", 2)
        if num == "0" and ctrls == "":
            v2 = path
        for c in ctrls.split(","):
            if c in CONTROLLERS:
                v1[c] = path
    return v1, v2


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _counter(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            k, _, v = line.partition(" ")
            if k == key:
                return int(v)
    except (OSError, ValueError):
        pass
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _sweep_stale(parent: Path) -> None:
    """Remove empty evoforge cgroups left by processes that are gone (a run killed with -9)."""
    try:
        names = [p for p in parent.iterdir() if p.name.startswith(PREFIX)]
    except OSError:
        return
    for p in names:
        m = re.match(rf"{PREFIX}(\d+)-", p.name)
        if m and not _alive(int(m.group(1))):
            try:
                p.rmdir()
            except OSError:
                pass


def _v2_child(parent: Path, name: str) -> dict[str, Path]:
    """A child of a cgroup v2 folder with the pids controller (and memory, cpu where they can be had); {} if not."""
    _sweep_stale(parent)
    try:
        enabled = set((parent / "cgroup.subtree_control").read_text().split())
        for c in CONTROLLERS:
            if c not in enabled:
                try:
                    _write(parent / "cgroup.subtree_control", f"+{c}")
                except OSError:
                    pass
        (parent / name).mkdir()
    except OSError:
        return {}
    have = set((parent / name / "cgroup.controllers").read_text().split())
    if "pids" not in have:
        (parent / name).rmdir()
        return {}
    return {c: parent / name for c in CONTROLLERS if c in have}


class Cgroup:
    """One sandbox's cgroup: join it from a child (`join`), read its counters, kill what is in it, remove it."""

    def __init__(self, dirs: dict[str, Path], v2: bool) -> None:
        self.dirs = dirs
        self.v2 = v2
        self.procs_files = sorted({str(d / "cgroup.procs") for d in dirs.values()})

    @property
    def controllers(self) -> set[str]:
        """The controllers this cgroup limits."""
        return set(self.dirs)

    @classmethod
    def create(cls, label: str, pids: int, memory_mb: int | None, cpus: float | None) -> Cgroup | None:
        """A new cgroup limiting pids (required) and, where available, memory and CPU; None when impossible."""
        name = f"{PREFIX}{os.getpid()}-{re.sub(r'[^A-Za-z0-9_.-]', '-', label)[:60]}-{secrets.token_hex(3)}"
        v1m, v2m = _mounts()
        v1p, v2p = _own_paths()
        made: dict[str, Path] = {}
        try:
            if "pids" in v1m and "pids" in v1p:
                for c in CONTROLLERS:
                    if c in v1m and c in v1p:
                        parent = v1m[c] / v1p[c].lstrip("/")
                        _sweep_stale(parent)
                        try:
                            (parent / name).mkdir()
                            made[c] = parent / name
                        except OSError:
                            if c == "pids":
                                raise
                group = cls(made, v2=False)
            elif v2m is not None and v2p is not None:
                # below our own cgroup; where that has processes of its own (v2 allows controllers only
                # for cgroups without), below the hierarchy's root, which is exempt from that rule
                for parent in dict.fromkeys([v2m / v2p.lstrip("/"), v2m]):
                    made = _v2_child(parent, name)
                    if made:
                        break
                if not made:
                    return None
                group = cls(made, v2=True)
            else:
                return None
            group._limit(pids, memory_mb, cpus)
            return group
        except OSError as exc:
            log.debug("no cgroup for the sandbox: %s", exc)
            for d in made.values():
                try:
                    d.rmdir()
                except OSError:
                    pass
            return None

    def _limit(self, pids: int, memory_mb: int | None, cpus: float | None) -> None:
        d = self.dirs
        _write(d["pids"] / "pids.max", str(int(pids)))
        if memory_mb and "memory" in d:
            n = str(int(memory_mb) * 1024 * 1024)
            if self.v2:
                _write(d["memory"] / "memory.max", n)
                try:
                    _write(d["memory"] / "memory.swap.max", "0")
                except OSError:
                    pass
            else:
                _write(d["memory"] / "memory.limit_in_bytes", n)
                try:
                    _write(d["memory"] / "memory.memsw.limit_in_bytes", n)
                except OSError:
                    pass
        if cpus and "cpu" in d:
            period = 100_000
            quota = max(1000, int(float(cpus) * period))
            try:
                if self.v2:
                    _write(d["cpu"] / "cpu.max", f"{quota} {period}")
                else:
                    _write(d["cpu"] / "cpu.cfs_period_us", str(period))
                    _write(d["cpu"] / "cpu.cfs_quota_us", str(quota))
            except OSError:
                del self.dirs["cpu"]

    def join(self) -> None:
        """Move the calling process into the cgroup (run in a child before exec; its children inherit it)."""
        pid = str(os.getpid())
        for f in self.procs_files:
            with open(f, "w") as fh:
                fh.write(pid)

    def counters(self) -> tuple[int, int]:
        """(OOM kills so far, times the pids limit was hit so far)."""
        oom = 0
        if "memory" in self.dirs:
            m = self.dirs["memory"]
            oom = _counter(m / ("memory.events" if self.v2 else "memory.oom_control"), "oom_kill")
        return oom, _counter(self.dirs["pids"] / "pids.events", "max")

    def pids(self) -> set[int]:
        """Processes in the cgroup now."""
        out: set[int] = set()
        for f in self.procs_files:
            try:
                out |= {int(x) for x in Path(f).read_text().split()}
            except (OSError, ValueError):
                pass
        return out

    def kill_all(self, rounds: int = 50, spare: set[int] | None = None) -> None:
        """SIGKILL everything in the cgroup but `spare` until nothing else is left (forks meanwhile included)."""
        spare = spare or set()
        for _ in range(rounds):
            pids = self.pids() - spare
            if not pids:
                return
            for sig in (signal.SIGSTOP, signal.SIGKILL):
                for pid in (pids | self.pids()) - spare:
                    try:
                        os.kill(pid, sig)
                    except OSError:
                        pass
            time.sleep(0.01)

    def remove(self) -> None:
        """Kill what is left and remove the cgroup's folders."""
        self.kill_all()
        for d in set(self.dirs.values()):
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
