"""A campaign's folder under runs/: its plan, durable queue, log, locks and every attempt's run record.

    runs/<name>/campaign.json      the plan (CampaignSpec) and the scaffold commit it was made on
    runs/<name>/queue.sqlite       one row per attempt (competition × seed): state, tries, worker, result
    runs/<name>/events.jsonl       the campaign's own log, one JSON line per transition (fsync'd)
    runs/<name>/supervisor.lock    held (flock) by the live supervisor: one at a time, gone with it
    runs/<name>/attempts/<run-id>/ each attempt's run record (EVOFORGE_RUNS of its process)
    runs/<name>/locks/<run-id>     held (flock) by the process working that attempt
    runs/<name>/logs/<run-id>.log  that process's output

The queue is a SQLite database (WAL, synchronous FULL): every transition is one committed transaction,
so a kill -9 at any point leaves each attempt in the state it was last in, and readers (status, the TUI)
never see a half-written row. The supervisor is its only writer.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.campaign.spec import CampaignSpec, attempt_run_id
from agent.runstore import check_run_id, now_iso
from common import paths
from common.errors import UserError

PLAN = "campaign.json"
STATES = ("pending", "running", "done", "failed")
FINAL = ("done", "failed")
SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    key TEXT PRIMARY KEY, ord INTEGER, task TEXT NOT NULL, seed INTEGER NOT NULL, run_id TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', tries INTEGER NOT NULL DEFAULT 0, stalls INTEGER NOT NULL DEFAULT 0,
    pid INTEGER, pid_start TEXT, handle TEXT, launched REAL, first_launched REAL, finished REAL,
    not_before REAL NOT NULL DEFAULT 0, progress INTEGER NOT NULL DEFAULT 0, note TEXT, result TEXT);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value TEXT);
"""


def attempt_key(task: str, seed: int) -> str:
    """The queue's key of one attempt."""
    return f"{task}#{seed}"


def is_campaign(path: Path) -> bool:
    """Whether a folder of the runs folder is a campaign."""
    return (path / PLAN).is_file()


@dataclass
class CampaignStore:
    """One campaign's folder."""

    root: Path

    # -- where things are ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The campaign's name (its folder's name)."""
        return self.root.name

    @property
    def attempts_dir(self) -> Path:
        """The runs folder of the attempts (each attempt's record is a run record in it)."""
        return self.root / "attempts"

    def record_dir(self, run_id: str) -> Path:
        """The run record of one attempt."""
        return self.attempts_dir / run_id

    def lock_path(self, run_id: str) -> Path:
        """The lock the process working an attempt holds."""
        return self.root / "locks" / run_id

    def log_path(self, run_id: str) -> Path:
        """The output of the processes that worked an attempt."""
        return self.root / "logs" / f"{run_id}.log"

    @property
    def report_dir(self) -> Path:
        """Where `campaign report` writes its Markdown, JSON and plots."""
        return self.root / "report"

    # -- create / open ---------------------------------------------------------------------------------
    @classmethod
    def create(cls, spec: CampaignSpec, scaffold_commit: str, base: Path | None = None) -> CampaignStore:
        """Make the campaign's folder, plan and queue; UserError when the name is taken by something else."""
        check_run_id(spec.name)
        base = base or paths.runs_dir()
        root = base / spec.name
        if root.exists() and not is_campaign(root):
            if any(root.iterdir()):
                raise UserError(f"{root} exists and is not a campaign: pick another --name")
        store = cls(root)
        try:
            for sub in ("attempts", "locks", "logs"):
                (root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot make the campaign folder {root}: {exc.strerror or exc}") from None
        store.add_attempts(spec.attempts())
        store._write_plan({"spec": spec.to_dict(), "scaffold_commit": scaffold_commit, "version": 1})
        store.log("campaign_created", attempts=len(spec.attempts()), scaffold_commit=scaffold_commit)
        return store

    @classmethod
    def open(cls, name: str, base: Path | None = None) -> CampaignStore:
        """An existing campaign by name (or unique prefix); UserError listing what there is otherwise."""
        base = base or paths.runs_dir()
        check_run_id(name)
        if is_campaign(base / name):
            return cls(base / name)
        found = [c for c in list_campaigns(base) if c.name.startswith(name)]
        if len(found) == 1:
            return found[0]
        if not found:
            known = ", ".join(c.name for c in list_campaigns(base)[:8]) or "none"
            raise UserError(f"no campaign {name!r} in {base} (campaigns: {known})")
        raise UserError(f"campaign prefix {name!r} matches {', '.join(c.name for c in found)}: give more of it")

    # -- plan ------------------------------------------------------------------------------------------
    def _write_plan(self, plan: dict[str, Any]) -> None:
        tmp = self.root / (PLAN + ".tmp")
        with open(tmp, "w") as f:
            json.dump(plan, f, indent=2, sort_keys=True, default=str)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / PLAN)

    def plan(self) -> dict[str, Any]:
        """campaign.json: {"spec": …, "scaffold_commit": …}."""
        try:
            return json.loads((self.root / PLAN).read_text())
        except (OSError, ValueError) as exc:
            raise UserError(f"{self.root / PLAN} cannot be read ({exc}); the campaign's plan is lost") from None

    def spec(self) -> CampaignSpec:
        """The campaign's spec."""
        return CampaignSpec.from_dict(self.plan()["spec"])

    def update_spec(self, **changes: Any) -> CampaignSpec:
        """Change what may change between sessions (parallel, total_hours, tasks, seeds); returns the new spec."""
        plan = self.plan()
        spec = CampaignSpec.from_dict({**plan["spec"], **changes})
        spec.validate()
        plan["spec"] = spec.to_dict()
        self._write_plan(plan)
        return spec

    # -- queue -----------------------------------------------------------------------------------------
    @contextmanager
    def db(self, write: bool = True):
        """A connection to the queue; a transaction that commits on leaving (rolls back on an error)."""
        path = self.root / "queue.sqlite"
        new = not path.exists()
        conn = sqlite3.connect(path, timeout=60, isolation_level=None)
        with closing(conn):
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA synchronous=FULL")
            if new:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(SCHEMA)
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def add_attempts(self, pairs: list[tuple[str, int]]) -> int:
        """Queue the attempts not yet in the queue; returns how many were new."""
        with self.db() as db:
            n = db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]
            added = 0
            for task, seed in pairs:
                cur = db.execute("INSERT OR IGNORE INTO attempts (key, ord, task, seed, run_id) VALUES (?,?,?,?,?)",
                                 (attempt_key(task, seed), n + added, task, seed, attempt_run_id(task, seed)))
                added += cur.rowcount
        return added

    def rows(self) -> list[dict[str, Any]]:
        """Every attempt of the queue, in plan order (result decoded)."""
        with self.db(write=False) as db:
            rows = [dict(r) for r in db.execute("SELECT * FROM attempts ORDER BY ord")]
        for r in rows:
            r["result"] = json.loads(r["result"]) if r["result"] else None
        return rows

    def update(self, key: str, **fields: Any) -> None:
        """Change one attempt's row (one committed transaction)."""
        if "result" in fields and fields["result"] is not None:
            fields["result"] = json.dumps(fields["result"], default=str)
        if "state" in fields and fields["state"] not in STATES:
            raise ValueError(f"unknown attempt state {fields['state']!r}")
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self.db() as db:
            db.execute(f"UPDATE attempts SET {cols} WHERE key = ?", (*fields.values(), key))

    def counter(self, name: str, default: Any = None) -> Any:
        """A campaign-wide value (supervisor time spent, stop requested, …)."""
        with self.db(write=False) as db:
            row = db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_counter(self, name: str, value: Any) -> None:
        """Set a campaign-wide value."""
        with self.db() as db:
            db.execute("INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)", (name, json.dumps(value)))

    # -- log -------------------------------------------------------------------------------------------
    def log(self, type: str, **fields: Any) -> dict[str, Any]:
        """Append one line to events.jsonl (fsync'd) and return it."""
        event = {"ts": now_iso(), "t": round(time.time(), 3), "type": type, **fields}
        fd = os.open(self.root / "events.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, (json.dumps(event, default=str) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return event

    def events(self) -> list[dict[str, Any]]:
        """Every complete line of events.jsonl."""
        path = self.root / "events.jsonl"
        out = []
        for line in path.read_text().splitlines() if path.exists() else []:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out


def list_campaigns(base: Path | None = None) -> list[CampaignStore]:
    """Every campaign in the runs folder, newest first."""
    base = base or paths.runs_dir()
    if not base.is_dir():
        return []
    found = [CampaignStore(d) for d in base.iterdir() if is_campaign(d)]
    return sorted(found, key=lambda c: (c.root / PLAN).stat().st_mtime, reverse=True)


# -- locks that die with their holder -------------------------------------------------------------------
class FileLock:
    """An exclusive flock on a file, with the holder's pid written in it; released when the holder dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        from common.procs import process_start

        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "pid_start": process_start(os.getpid()),
                                  "since": now_iso()}).encode(), 0)
        self.fd = fd
        return True

    def release(self) -> None:
        """Let go of the lock."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def lock_holder(path: Path) -> dict[str, Any] | None:
    """The {pid, pid_start, since} of the live process holding the lock at `path`, or None when nobody holds it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                return json.loads(os.pread(fd, 4096, 0) or b"{}")
            except ValueError:
                return {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
