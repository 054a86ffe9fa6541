"""Run records under `runs/<run-id>/`: append-only events.jsonl, meta.json, workspace, submission, score."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import paths
from common.errors import UserError

SCHEMA_VERSION = 1
EVENT_TYPES = frozenset(
    {
        "run_started",
        "model_turn",
        "tool_started",
        "tool_call",
        "context_compacted",
        "budget_exhausted",
        "submission",
        "grading",
        "reflection",
        "run_finished",
        "error",
    }
)


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
    def submission_path(self) -> Path:
        """Where the submitted file is copied."""
        return self.root / "submission.csv"

    @property
    def score_path(self) -> Path:
        """Where the grading report is written."""
        return self.root / "score.json"

    # -- creation / lookup -------------------------------------------------
    @classmethod
    def create(cls, run_id: str, base: Path | None = None) -> RunStore:
        """Create a fresh run directory; UserError if the id is taken or malformed."""
        if not run_id or "/" in run_id or run_id.startswith(".") or run_id in ("..",):
            raise UserError(f"invalid run id {run_id!r}: use letters, digits, '-' and '_'")
        root = (base or paths.runs_dir()) / run_id
        if root.exists():
            raise UserError(f"run {run_id!r} already exists at {root}; pick another --run-id")
        (root / "workspace").mkdir(parents=True)
        return cls(root)

    @classmethod
    def open(cls, run_id: str, base: Path | None = None) -> RunStore:
        """Open an existing run; UserError naming the runs folder if it is not there."""
        root = (base or paths.runs_dir()) / run_id
        if not (root / "meta.json").is_file():
            raise UserError(f"no run {run_id!r} in {root.parent} (see `evoforge runs list`)")
        return cls(root)

    # -- meta --------------------------------------------------------------
    def read_meta(self) -> dict[str, Any]:
        """meta.json as a dict ({} when missing)."""
        try:
            return json.loads(self.meta_path.read_text())
        except FileNotFoundError:
            return {}

    def write_meta(self, meta: dict[str, Any], sync: bool = True) -> None:
        """Replace meta.json atomically (write a temp file, fsync when sync, rename)."""
        meta = dict(meta)
        meta["updated"] = now_iso()
        tmp = self.meta_path.with_suffix(".json.tmp")
        with open(tmp, "w") as f:
            json.dump(meta, f, indent=2, sort_keys=True, default=str)
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.replace(tmp, self.meta_path)

    def update_meta(self, sync: bool = True, **fields: Any) -> dict[str, Any]:
        """Merge fields into meta.json and return the result."""
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
        line = json.dumps(event, default=str, ensure_ascii=False) + "\n"
        fd = os.open(self.events_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return event

    def read_events(self) -> list[dict[str, Any]]:
        """Every complete event in events.jsonl (a torn last line is ignored)."""
        if not self.events_path.exists():
            return []
        events = []
        for line in self.events_path.read_text().splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return events

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


def list_runs(base: Path | None = None) -> list[dict[str, Any]]:
    """meta.json of every run under the runs folder, newest first."""
    base = base or paths.runs_dir()
    if not base.is_dir():
        return []
    metas = []
    for d in base.iterdir():
        meta_path = d / "meta.json"
        if meta_path.is_file():
            try:
                meta = json.loads(meta_path.read_text())
            except json.JSONDecodeError:
                meta = {"status": "unreadable"}
            meta.setdefault("run_id", d.name)
            metas.append(meta)
    metas.sort(key=lambda m: str(m.get("created", "")), reverse=True)
    return metas


