"""Run records under `runs/<run-id>/`: append-only events.jsonl, meta.json, workspace, submission, score.

The runs folder also holds training runs (`evoforge train`: config.yaml, metrics.jsonl, no meta.json);
`list_runs` and `find_run` see both kinds.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import paths
from common.errors import UserError
from common.jsonlines import append_jsonl, read_jsonl
from common.procs import pid_alive

SCHEMA_VERSION = 1
EVENT_TYPES = frozenset(
    {
        "run_started",
        "model_turn",
        "model_outage",
        "model_back",
        "context_overflow",
        "tool_started",
        "tool_call",
        "context_compacted",
        "budget_exhausted",
        "candidate",
        "submission",
        "grading",
        "reflection",
        "run_finished",
        "error",
        "user_note",
        "user_pause",
        "user_unpause",
        "user_stop",
    }
)
_META_LOCK = threading.RLock()   # meta.json is read-modified-written by the run and its heartbeat thread


def now_iso() -> str:
    """The current UTC time as an ISO-8601 string."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_run_id(task_id: str) -> str:
    """A sortable, unique run id: <utc-timestamp>-<task>-<random>."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    short = "".join(c for c in task_id if c.isalnum() or c == "-")[:24] or "task"
    return f"{stamp}-{short}-{secrets.token_hex(2)}"


@dataclass
class RunStore:
    """One run's record directory and its append-only event log."""

    root: Path
    _lock_fd: int | None = field(default=None, repr=False, compare=False)

    @property
    def run_id(self) -> str:
        """The run id (the directory name)."""
        return self.root.name

    @property
    def events_path(self) -> Path:
        """Path of events.jsonl."""
        return self.root / "events.jsonl"

    @property
    def meta_path(self) -> Path:
        """Path of meta.json."""
        return self.root / "meta.json"

    @property
    def workspace(self) -> Path:
        """The run's workspace folder (the sandbox's /workspace)."""
        return self.root / "workspace"

    @property
    def checkpoint_path(self) -> Path:
        """Path of the LangGraph SQLite checkpoint database."""
        return self.root / "checkpoint.sqlite"

    @property
    def sandbox_state(self) -> Path:
        """The sandbox's state on the host, outside the workspace (its training jobs' records)."""
        return self.root / "sandbox"

    @property
    def submission_path(self) -> Path:
        """Where the submitted file is copied."""
        return self.root / "submission.csv"

    @property
    def score_path(self) -> Path:
        """Where the grading report is written."""
        return self.root / "score.json"

    @property
    def candidates_dir(self) -> Path:
        """Where each candidate submission is kept, as <n>.csv (agent.graph.candidates)."""
        return self.root / "candidates"

    @property
    def control_dir(self) -> Path:
        """Requests from people and the TUI to the running attempt (agent.graph.control)."""
        return self.root / "control"

    @property
    def lock_path(self) -> Path:
        """The file the run's owning process holds an exclusive flock on (see `acquire`)."""
        return self.root / "lock"

    # -- the owner lock ----------------------------------------------------
    def acquire(self) -> None:
        """Become the run's one owner: an exclusive flock on `lock`, held until `release` or this process ends
        (the kernel drops it with the process, kill -9 included); UserError while another process holds it."""
        if self._lock_fd is not None:
            return
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = self.locked_by()
            raise UserError(f"run {self.run_id!r} is being run by process {pid if pid else '?'}; wait for it to "
                            f"end, or stop it first (`evoforge runs stop {self.run_id}`, or kill it)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def release(self) -> None:
        """Give up ownership (the lock file stays; only its flock matters)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def locked_by(self) -> int | None:
        """The pid of the process that owns the run now (this one included), or None when no process does."""
        try:
            fd = os.open(self.lock_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                for _ in range(50):           # the owner writes its pid right after taking the lock
                    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
                    if text.isdigit():
                        return int(text)
                    time.sleep(0.01)
                return -1
            return None
        finally:
            os.close(fd)

    # -- creation / lookup -------------------------------------------------
    @classmethod
    def create(cls, run_id: str, base: Path | None = None) -> RunStore:
        """Create a fresh run directory, owned by this process (`acquire`); UserError if the id is taken or
        malformed, or the folder unwritable.

        A folder left by a start that died before writing meta.json (nothing ran in it) is taken over.
        """
        check_run_id(run_id)
        base = base or paths.runs_dir()
        root = base / run_id
        store = cls(root)
        try:
            base.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise runs_dir_error(exc, base) from None
        try:
            root.mkdir()                            # the claim: of two starts of one id, one makes the folder
        except FileExistsError:
            if not _unstarted(root):
                raise UserError(f"run {run_id!r} already exists at {root}; pick another --run-id") from None
        except OSError as exc:
            raise runs_dir_error(exc, base) from None
        store.acquire()
        try:
            for p in root.iterdir():                # what a start that died left (a takeover), never the lock
                if p.name != store.lock_path.name:
                    shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            (root / "workspace").mkdir()
        except OSError as exc:
            store.release()
            raise runs_dir_error(exc, base) from None
        return store

    @classmethod
    def open(cls, ref: str, base: Path | None = None) -> RunStore:
        """Open an existing run by id or unique id prefix; UserError naming the runs folder if it is not there."""
        root = find_run(ref, base)
        if not (root / "meta.json").is_file():
            raise UserError(f"{root.name} is a training run (evoforge train), not an agent run")
        return cls(root)

    def discard(self) -> None:
        """Remove the record of a run whose start failed before anything ran (no orphan record is left)."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.release()

    # -- meta --------------------------------------------------------------
    def read_meta(self) -> dict[str, Any]:
        """meta.json as a dict ({} when missing); UserError when it cannot be read or parsed."""
        try:
            meta = json.loads(self.meta_path.read_text())
        except FileNotFoundError:
            return {}
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{self.meta_path} is corrupt ({exc}); the run cannot be continued: "
                            f"remove it with `evoforge runs rm {self.run_id}`") from None
        except OSError as exc:
            raise UserError(f"cannot read {self.meta_path}: {exc.strerror}") from None
        if not isinstance(meta, dict):
            raise UserError(f"{self.meta_path} is corrupt (not a JSON object); remove the run with "
                            f"`evoforge runs rm {self.run_id}`")
        return meta

    def write_meta(self, meta: dict[str, Any], sync: bool = True) -> None:
        """Replace meta.json atomically (write a temp file, fsync when sync, rename)."""
        meta = dict(meta)
        meta["updated"] = now_iso()
        with _META_LOCK:
            write_json(self.meta_path, meta, sync=sync)

    def update_meta(self, sync: bool = True, **fields: Any) -> dict[str, Any]:
        """Merge fields into meta.json and return the result."""
        with _META_LOCK:
            meta = self.read_meta()
            meta.update(fields)
            self.write_meta(meta, sync=sync)
        return meta

    # -- events ------------------------------------------------------------
    def append_event(self, seq: int, step: int, type: str, **fields: Any) -> dict[str, Any]:
        """Append one event (flushed and fsync'd) and return it."""
        if type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type!r}")
        event = {"schema_version": SCHEMA_VERSION, "seq": seq, "step": step, "ts": now_iso(), "type": type}
        event.update(fields)
        return append_jsonl(self.events_path, event)

    def read_events(self) -> list[dict[str, Any]]:
        """Every complete event in events.jsonl (a torn last line is ignored)."""
        return read_jsonl(self.events_path)

    def truncate_events(self, keep_below_seq: int) -> int:
        """Drop events with seq >= keep_below_seq (and torn lines); returns how many were dropped."""
        if not self.events_path.exists():
            return 0
        kept, dropped = [], 0
        for line in self.events_path.read_text().splitlines():
            try:
                ev = json.loads(line)
            except json.JSONDecodeError:
                dropped += 1
                continue
            if ev.get("seq", 0) < keep_below_seq:
                kept.append(line)
            else:
                dropped += 1
        tmp = self.events_path.with_suffix(".jsonl.tmp")
        with open(tmp, "w") as f:
            f.write("".join(k + "\n" for k in kept))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.events_path)
        return dropped


def write_json(path: Path, value: Any, sync: bool = True) -> None:
    """Replace a JSON file atomically: a temp file (fsync'd when sync), then a rename over the name."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True, default=str)
        f.flush()
        if sync:
            os.fsync(f.fileno())
    os.replace(tmp, path)


class Emitter:
    """Writes events for one graph step, numbering them from the state's next seq."""

    def __init__(self, store: RunStore, seq: int, step: int, sink: Any = None) -> None:
        self.store, self.seq, self.step, self.sink = store, seq, step, sink

    def emit(self, type: str, **fields: Any) -> dict[str, Any]:
        """Write one event and advance seq; the live view (sink) sees it too."""
        event = self.store.append_event(self.seq, self.step, type, **fields)
        self.seq += 1
        if self.sink is not None:
            try:
                self.sink(event)
            except Exception:  # noqa: BLE001 - a display error must never break a run
                pass
        return event


LIVE = ("running", "paused")    # statuses of a run whose process may still be working on it


def effective_status(meta: dict[str, Any]) -> str:
    """meta's status, with a live status whose process is gone (kill -9, reboot) shown as "killed"."""
    status = str(meta.get("status", "?"))
    if status in LIVE and not pid_alive(meta.get("pid"), meta.get("pid_start")):
        return "killed"
    return status


def check_run_id(run_id: str) -> None:
    """UserError unless run_id is a plain folder name (letters, digits, '-', '_', '.'; not starting with '.')."""
    if not run_id or "/" in run_id or run_id.startswith(".") or "\0" in run_id:
        raise UserError(f"invalid run id {run_id!r}: use letters, digits, '-' and '_'")


def runs_dir_error(exc: OSError, base: Path) -> UserError:
    """The one-line error for a runs folder that cannot be written (read-only, full, a file, …)."""
    fix = "set EVOFORGE_RUNS to a writable folder"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return UserError(f"no space left for runs in {base}: free some space or {fix}")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return UserError(f"the runs folder {base} is not writable ({exc.strerror}): {fix}")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST) or base.is_file():
        return UserError(f"the runs folder {base} is a file, not a folder: {fix}")
    return UserError(f"cannot create a run in {base}: {exc.strerror or exc}: {fix}")


def _unstarted(root: Path) -> bool:
    """Whether a run folder holds nothing but what a start writes before meta.json (an empty workspace, the
    first prompt, the lock, temp files)."""
    try:
        names = {p.name for p in root.iterdir() if not (p.name.startswith(".") and p.name.endswith(".tmp"))}
        return names <= {"workspace", "initial_state.json", "lock"} and not any(
            (root / "workspace").iterdir() if (root / "workspace").is_dir() else [])
    except OSError:
        return False


def is_training_run(path: Path) -> bool:
    """Whether a folder of the runs folder is a training run (`evoforge train`: config.yaml, no meta.json)."""
    return (path / "config.yaml").is_file() and not (path / "meta.json").exists()


def _is_run(path: Path) -> bool:
    return (path / "meta.json").is_file() or is_training_run(path)


def _runs_base(base: Path | None) -> Path:
    base = base or paths.runs_dir()
    if base.exists() and not base.is_dir():
        raise UserError(f"the runs folder {base} is a file, not a folder: set EVOFORGE_RUNS to a folder")
    return base


def find_run(ref: str, base: Path | None = None) -> Path:
    """The folder of the run named `ref`, or of the one run whose id starts with `ref`, or the run folder `ref` is
    the path of (with a `/` or a leading `.`: e.g. a campaign's attempt); UserError otherwise."""
    path = Path(ref).expanduser()
    if ("/" in ref or ref.startswith(".")) and path.is_dir():
        if not _is_run(path):
            raise UserError(f"{ref} is not a run's folder (no meta.json)")
        return path.resolve()
    base = _runs_base(base)
    check_run_id(ref)
    exact = base / ref
    if _is_run(exact):
        return exact
    matches = sorted(d for d in base.iterdir() if d.name.startswith(ref) and _is_run(d)) if base.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if not matches and exact.is_dir() and _unstarted(exact):
        raise UserError(f"run {ref!r} was stopped while starting, before anything ran: start it again (the same "
                        f"--run-id {ref} may be used)")
    if not matches:
        raise UserError(f"no run {ref!r} in {base} (see `evoforge runs list`)")
    names = ", ".join(d.name for d in matches[:5]) + (f" and {len(matches) - 5} more" if len(matches) > 5 else "")
    raise UserError(f"run id prefix {ref!r} matches {len(matches)} runs ({names}): give more of the id")


def training_summary(path: Path) -> dict[str, Any]:
    """A training run as `runs list` shows it: id, kind "train", env as task, last step, final accuracy."""
    import yaml

    row: dict[str, Any] = {"run_id": path.name, "kind": "train", "policy": "train", "status": "stopped"}
    try:
        cfg = yaml.safe_load((path / "config.yaml").read_text()) or {}
        row["task"] = f"train:{(cfg.get('env') or {}).get('name', '?')}"
        row["model"] = (cfg.get("model") or {}).get("preset")
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError):
        row["task"] = "train:?"
    metrics = path / "metrics.jsonl"
    try:
        lines = metrics.read_text().splitlines()
        row["created"] = datetime.fromtimestamp((path / "config.yaml").stat().st_mtime, UTC).isoformat()
        row["updated"] = datetime.fromtimestamp(metrics.stat().st_mtime, UTC).isoformat()
    except OSError:
        lines = []
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec.get("step"), int) and "event" not in rec:
            row["turns"] = rec["step"]
        if rec.get("event") == "eval":
            row["score"] = rec.get("greedy_accuracy")
            if rec.get("after") == "rl":
                row["status"] = "finished"
        elif rec.get("event") in ("stopped", "resume"):     # Ctrl-C (resumable), then a resume
            row["status"] = "interrupted" if rec["event"] == "stopped" else "stopped"
    return row


def list_runs(base: Path | None = None) -> list[dict[str, Any]]:
    """meta.json of every agent run, and a summary of every training run, under the runs folder, newest first."""
    base = _runs_base(base)
    if not base.is_dir():
        return []
    metas = []
    for d in base.iterdir():
        meta_path = d / "meta.json"
        if meta_path.is_file():
            try:
                meta = json.loads(meta_path.read_text())
                if not isinstance(meta, dict):
                    raise ValueError("not an object")
            except (OSError, ValueError):
                meta = {"status": "unreadable"}
            meta.setdefault("run_id", d.name)
            meta.setdefault("kind", "attempt")
            metas.append(meta)
        elif is_training_run(d):
            metas.append(training_summary(d))
    metas.sort(key=lambda m: str(m.get("created", "")), reverse=True)
    return metas


def remove_run(ref: str, base: Path | None = None) -> Path:
    """Delete a run's folder (agent or training run); returns the path removed."""
    root = find_run(ref, base)
    try:
        shutil.rmtree(root)
    except OSError as exc:
        raise UserError(f"cannot remove {root}: {exc.strerror or exc}") from None
    return root
