"""Long-lived jobs in a sandbox: processes that outlive the command (the tool call) that started them, and nothing
else does.

A command's processes end with the command (docs/SECURITY.md). A job — a training run started by
`launch_training` — keeps running across model turns, so each sandbox kind starts it its own contained way (the
kind's `job_start`): in the attempt's container (docker), in a fresh bubblewrap container of its own through the
sandbox's launcher, in the sandbox's cgroup (local), or as a session of the host (unsafe-local). Either way it has
the sandbox's namespaces, mounts and limits; a wall-clock deadline is enforced inside the job (coreutils
`timeout`), so it ends on time even when evoforge is gone.

The records live in the sandbox's state folder on the host (`runs/<id>/sandbox/jobs/<job>.json`), never in the
workspace: which process is the job (pid and start time), where its log goes, its deadline, and how it ended. A
sandbox opened again over the same state folder (a resumed run) finds its live jobs there and keeps them; jobs
gone meanwhile are reported with the exit code they left, or as lost. Closing the sandbox (the attempt ended)
kills every job.
"""

from __future__ import annotations

import json
import os
import re
import signal
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agent.sandbox.base import SandboxError

# The job's command inside the sandbox: output to the log (its folder made and the file opened in there, as the
# sandbox's user), the deadline by `timeout` (TERM, then KILL 30 s later). Arguments: log, seconds, argv.
JOB_SHELL = 'mkdir -p -- "$(dirname -- "$1")"; exec >>"$1" 2>&1 </dev/null; exec timeout -s TERM -k 30 "$2" "${@:3}"'
DEADLINE_CODES = (124, 137)     # what `timeout` returns when the deadline stopped the job
_ID = re.compile(r"^job-\d+$")


class JobRunner(Protocol):
    """What a sandbox kind provides for jobs (its own containment); `handle` is kept in the record."""

    def job_start(self, job_id: str, argv: list[str], log: str, max_s: float) -> dict[str, Any]:
        """Start argv with output appended to `log` (a path as the sandbox names it); the handle to find it again."""
        ...

    def job_poll(self, handle: dict[str, Any]) -> tuple[bool, int | None]:
        """(running, exit code when known)."""
        ...

    def job_signal(self, handle: dict[str, Any], sig: int) -> None:
        """Send `sig` to the job's main process (SIGTERM: stop after this step with a checkpoint)."""
        ...

    def job_kill(self, handle: dict[str, Any]) -> None:
        """Kill every process of the job at once."""
        ...


@dataclass
class JobRecord:
    """One job as the state folder keeps it."""

    id: str
    argv: list[str]
    log: str                           # the output file, as the sandbox names it
    kind: str                          # the sandbox kind that runs it
    started: float                     # epoch seconds
    deadline: float                    # epoch seconds: the job is stopped then (inside the sandbox)
    handle: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)          # the tool's own (config, run folder, ...)
    ended: dict[str, Any] | None = None  # {"at", "exit_code", "how": exited | stopped | deadline | killed | lost}
    stop_requested: float | None = None
    reattached: int = 0                # times a re-opened sandbox found it running

    @property
    def running(self) -> bool:
        """Whether it had not ended when last looked at."""
        return self.ended is None

    @property
    def state(self) -> str:
        """running | exited | stopped | deadline | killed | lost."""
        return "running" if self.ended is None else str(self.ended.get("how"))

    @property
    def exit_code(self) -> int | None:
        """The exit code, once ended and known."""
        return None if self.ended is None else self.ended.get("exit_code")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


def _atomic_write(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Jobs:
    """The jobs of one sandbox: start, look at, stop; records in `state_dir`/jobs (a temporary folder when None)."""

    def __init__(self, runner: JobRunner, kind: str, state_dir: Path | None, max_jobs: int = 2) -> None:
        self.runner, self.kind, self.max_jobs = runner, kind, max(0, int(max_jobs))
        self._tmp = None if state_dir is not None else tempfile.mkdtemp(prefix="evoforge-sandbox-state-")
        self.dir = Path(state_dir if state_dir is not None else self._tmp) / "jobs"
        self.dir.mkdir(parents=True, exist_ok=True)

    # -- records ------------------------------------------------------------------------------------
    def _path(self, job_id: str) -> Path:
        if not _ID.match(job_id):
            raise SandboxError(f"no job {job_id!r}: job ids look like job-1")
        return self.dir / f"{job_id}.json"

    def _save(self, rec: JobRecord) -> None:
        _atomic_write(self._path(rec.id), rec.to_dict())

    def _load(self, path: Path) -> JobRecord | None:
        try:
            return JobRecord(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def records(self) -> list[JobRecord]:
        """Every job of this sandbox, oldest first, as last saved (see refresh)."""
        found = [self._load(p) for p in self.dir.glob("job-*.json")]
        return sorted((r for r in found if r is not None), key=lambda r: int(r.id.split("-")[1]))

    def get(self, job_id: str) -> JobRecord:
        """The job, its state refreshed; SandboxError naming the known ids when there is none."""
        rec = self._load(self._path(job_id))
        if rec is None:
            known = ", ".join(r.id for r in self.records()) or "none yet"
            raise SandboxError(f"no job {job_id!r} in this attempt (jobs: {known})")
        return self.refresh(rec)

    def refresh(self, rec: JobRecord) -> JobRecord:
        """Ask the sandbox whether a running job still runs; record how it ended when it does not."""
        if rec.ended is not None:
            return rec
        try:
            alive, code = self.runner.job_poll(rec.handle)
        except Exception:  # noqa: BLE001 - a sandbox that cannot answer (container gone) has lost the job
            alive, code = False, None
        if alive:
            return rec
        rec.ended = {"at": time.time(), "exit_code": code, "how": self._how(rec, code)}
        self._save(rec)
        return rec

    @staticmethod
    def _how(rec: JobRecord, code: int | None) -> str:
        if code is None:
            return "lost"
        if rec.stop_requested is not None:
            return "stopped"
        if code in DEADLINE_CODES and time.time() >= rec.deadline - 1:
            return "deadline"
        return "exited"

    def all(self) -> list[JobRecord]:
        """Every job, states refreshed."""
        return [self.refresh(r) for r in self.records()]

    def running(self) -> list[JobRecord]:
        """The jobs that still run."""
        return [r for r in self.all() if r.running]

    # -- actions ------------------------------------------------------------------------------------
    def start(self, argv: list[str], log: str, max_s: float, meta: dict[str, Any] | None = None) -> JobRecord:
        """Start a job (at most `max_jobs` at once); the record is written before the process exists."""
        live = self.running()
        if len(live) >= self.max_jobs:
            raise SandboxError(f"{len(live)} job(s) already running ({', '.join(r.id for r in live)}); at most "
                               f"{self.max_jobs} at once: stop one first")
        max_s = max(1.0, float(max_s))
        n = max([int(r.id.split("-")[1]) for r in self.records()] or [0]) + 1
        now = time.time()
        rec = JobRecord(f"job-{n}", list(argv), log, self.kind, now, now + max_s, meta=dict(meta or {}))
        rec.ended = {"at": now, "exit_code": None, "how": "lost"}     # until the start succeeded
        self._save(rec)
        rec.handle = self.runner.job_start(rec.id, rec.argv, log, max_s)
        rec.ended = None
        self._save(rec)
        return rec

    def stop(self, job_id: str, grace_s: float = 30.0, poll_s: float = 0.2) -> JobRecord:
        """SIGTERM (the trainer finishes its step and writes a checkpoint), then kill what is left after grace_s."""
        rec = self.get(job_id)
        if not rec.running:
            return rec
        rec.stop_requested = time.time()
        self._save(rec)
        self.runner.job_signal(rec.handle, signal.SIGTERM)
        end = time.monotonic() + grace_s
        while time.monotonic() < end:
            rec = self.refresh(rec)
            if not rec.running:
                return rec
            time.sleep(poll_s)
        self.runner.job_kill(rec.handle)
        return self._ended(rec, "killed", f"still running {grace_s:g}s after SIGTERM")

    def _ended(self, rec: JobRecord, how: str, why: str) -> JobRecord:
        """Record that we ended a job that was running (its exit code kept where the sandbox knows it)."""
        rec = self.refresh(rec)
        rec.ended = {"at": time.time(), "exit_code": None if rec.running else rec.exit_code, "how": how, "why": why}
        self._save(rec)
        return rec

    def end_all(self, why: str) -> list[JobRecord]:
        """Kill every running job (the attempt ended); returns those killed."""
        killed = []
        for rec in self.running():
            try:
                self.runner.job_kill(rec.handle)
            except Exception:  # noqa: BLE001 - the sandbox is going away anyway; it takes the job with it
                pass
            killed.append(self._ended(rec, "killed", why))
        return killed

    def reattach(self) -> list[JobRecord]:
        """On opening over an existing state folder: the jobs that still run are kept (counted as re-attached);
        the others get how they ended. Returns every job."""
        out = []
        for rec in self.all():
            if rec.running:
                rec.reattached += 1
                self._save(rec)
            out.append(rec)
        return out

    def close(self) -> None:
        """Forget a temporary state folder (a run's own stays with the run record)."""
        if self._tmp is not None:
            import shutil

            shutil.rmtree(self._tmp, ignore_errors=True)


def children(pid: int) -> list[int]:
    """The direct children of a host process (from /proc/PID/task/*/children); [] when it is gone."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for t in tasks:
        try:
            out += [int(x) for x in Path(f"/proc/{pid}/task/{t}/children").read_text().split()]
        except (OSError, ValueError):
            pass
    return out

