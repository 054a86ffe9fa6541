"""An evolve run's folder under runs/evolve/<name>/: plan, state, lineage, evaluation cache, events, lock.

    plan.json       the plan (agent.evolve.config.Plan), written once
    state.json      where the loop is: round, stage, the candidate and what is known of it (atomic writes)
    nodes.jsonl     the lineage: one line per decided node (append-only, fsync'd)
    evals.jsonl     the evaluation cache: one line per finished attempt, keyed by commit, task, seed, budget
    events.jsonl    a timeline for live views: rounds, proposals, gates, attempts, decisions (append-only)
    repo/           the scaffold's git repository (agent.evolve.repo)
    checkouts/      worktrees of evaluated nodes; campaigns/ the evaluations (one campaign per node, arm and budget,
                    with its attempts' run records); memories/ each campaign's copy of its node's memory
    evidence/       what the proposer may read (dev results, lineage, memory), rebuilt each round
    report/         `evolve report`'s Markdown, JSON and PNG files
    owner.lock      held (flock) by the one process working on the run; it holds the owner's pid
    stop            present when `evolve stop` asked the owner to stop

The formats are documented in docs/EVOLVE.md ("Record format").
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.evolve.config import Plan
from agent.runstore import now_iso
from common import paths
from common.errors import UserError
from common.jsonlines import append_jsonl, read_jsonl, write_json

SCHEMA_VERSION = 1


def evolve_root() -> Path:
    """The folder holding every evolve run (runs/evolve)."""
    return paths.runs_dir() / "evolve"


@dataclass
class EvolveStore:
    """One evolve run's folder."""

    root: Path
    sink: Callable[[dict], None] | None = field(default=None, compare=False)   # sees every event (live views)

    @property
    def name(self) -> str:
        """The run's name."""
        return self.root.name

    def path(self, name: str) -> Path:
        """A file or folder of the run."""
        return self.root / name

    @classmethod
    def create(cls, plan: Plan) -> EvolveStore:
        """A new run folder with its plan; UserError when the name is taken."""
        root = evolve_root() / plan.name
        if root.exists():
            raise UserError(f"an evolve run named {plan.name!r} exists ({root}): resume it with `evoforge evolve "
                            f"resume {plan.name}` or pick another --name")
        root.mkdir(parents=True)
        for sub in ("checkouts", "campaigns", "memories", "evidence", "report"):
            (root / sub).mkdir()
        write_json(root / "plan.json", plan.to_dict())
        return cls(root)

    @classmethod
    def open(cls, name: str) -> EvolveStore:
        """An existing run (by name, or a unique prefix); UserError naming the runs there are when none matches."""
        base = evolve_root()
        exact = base / name
        if (exact / "plan.json").is_file():
            return cls(exact)
        found = sorted(p for p in base.iterdir() if p.name.startswith(name) and (p / "plan.json").is_file()) \
            if base.is_dir() else []
        if len(found) == 1:
            return cls(found[0])
        known = ", ".join(p.name for p in list_runs()[:8]) or "none yet"
        if found:
            raise UserError(f"evolve run prefix {name!r} matches {len(found)} runs: give more of the name")
        raise UserError(f"no evolve run {name!r} in {base} (runs: {known})")

    def plan(self) -> Plan:
        """The plan."""
        return Plan.from_dict(json.loads((self.root / "plan.json").read_text()))

    # -- state, lineage, events --------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Where the loop is ({} before the first round)."""
        try:
            return json.loads((self.root / "state.json").read_text())
        except FileNotFoundError:
            return {}

    def save_state(self, **fields: Any) -> dict[str, Any]:
        """Update state.json with these fields (atomic)."""
        state = {**self.state(), **fields, "updated": now_iso()}
        write_json(self.root / "state.json", state)
        return state

    def nodes(self) -> list[dict[str, Any]]:
        """The lineage's decided nodes, in order."""
        return read_jsonl(self.root / "nodes.jsonl")

    def add_node(self, node: dict[str, Any]) -> dict[str, Any]:
        """Record a decided node (once per round: a round already recorded is not written again)."""
        if any(n.get("round") == node.get("round") for n in self.nodes()):
            return node
        return append_jsonl(self.root / "nodes.jsonl", {"schema_version": SCHEMA_VERSION, **node})

    def event(self, type: str, **fields: Any) -> dict[str, Any]:
        """Append an event to the timeline (and show it to the sink)."""
        event = append_jsonl(self.root / "events.jsonl", {"ts": now_iso(), "type": type, **fields})
        if self.sink is not None:
            try:
                self.sink(event)
            except Exception:  # noqa: BLE001 - a display error must never stop the loop
                pass
        return event

    def events(self) -> list[dict[str, Any]]:
        """The timeline."""
        return read_jsonl(self.root / "events.jsonl")

    # -- one owner, and stop requests -----------------------------------------------------------------
    @contextmanager
    def owner(self):
        """Hold the run's lock while working on it; UserError when another process holds it."""
        path = self.root / "owner.lock"
        f = open(path, "a+")
        try:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UserError(f"evolve run {self.name!r} is running (pid {self.owner_pid() or '?'}): stop it "
                                f"with `evoforge evolve stop {self.name}` first") from None
            f.seek(0)
            f.truncate()
            f.write(str(os.getpid()))
            f.flush()
            (self.root / "stop").unlink(missing_ok=True)
            yield
        finally:
            f.close()

    def owner_pid(self) -> int | None:
        """The pid of the process working on the run, when one is (None otherwise)."""
        path = self.root / "owner.lock"
        if not path.exists():
            return None
        with open(path, "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.seek(0)
                text = f.read().strip()
                return int(text) if text.isdigit() else -1
            fcntl.flock(f, fcntl.LOCK_UN)
        return None

    def request_stop(self) -> None:
        """Ask the owner to stop at the next safe point."""
        (self.root / "stop").write_text(now_iso())

    def stop_requested(self) -> bool:
        """Whether `evolve stop` asked to stop."""
        return (self.root / "stop").exists()


def list_runs() -> list[EvolveStore]:
    """Every evolve run, oldest first."""
    base = evolve_root()
    if not base.is_dir():
        return []
    found = [EvolveStore(p) for p in base.iterdir() if (p / "plan.json").is_file()]
    return sorted(found, key=lambda s: (s.root / "plan.json").stat().st_mtime)
