"""What the TUI does to the world: control requests to a running attempt, and the runs and campaigns it starts.

Runs (new runs and forks) and campaigns start as their own detached `evoforge` processes, so they outlive the TUI
like any started from another terminal; the TUI then only follows their record. Each process's output goes to
`<runs>/.tui/<run-id or campaign name>.log`, where a start that fails leaves its one-line error.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from agent.campaign.spec import default_campaign_name, parse_seeds
from agent.campaign.store import PLAN
from agent.campaign.tasksets import resolve_tasks
from agent.graph import control
from agent.runstore import RunStore, check_run_id, new_run_id
from common import paths
from common.errors import UserError


def send_note(root: Path, text: str) -> None:
    """A user message for the run's next model turn (recorded as such)."""
    if not text.strip():
        raise UserError("an empty note: type what the agent should read")
    control.send_note(RunStore(root), text.strip())


def pause(root: Path) -> None:
    """Ask the run to pause."""
    control.request_pause(RunStore(root))


def unpause(root: Path) -> None:
    """Ask a paused run to go on."""
    control.request_resume(RunStore(root))


def stop(root: Path) -> None:
    """Ask the run to stop; what it submitted is graded."""
    control.request_stop(RunStore(root))


@dataclass
class Launch:
    """An `evoforge` process the TUI started for run or campaign `name`, whose record is `root`."""

    name: str
    root: Path
    kind: str                 # "run" or "campaign"
    proc: subprocess.Popen
    log: Path

    def state(self) -> str:
        """"started" once the record exists, "starting" before, or "failed: <why>" when the process gave up."""
        if (self.root / ("meta.json" if self.kind == "run" else PLAN)).is_file():
            return "started"
        if self.proc.poll() is None:
            return "starting"
        lines = [ln for ln in self.log.read_text(errors="replace").splitlines() if ln.strip()] if self.log.exists() else []
        return "failed: " + (lines[-1] if lines else f"exit status {self.proc.returncode}")


def launch(args: list[str], name: str, kind: str = "run") -> Launch:
    """Start `evoforge ARGS` (which must create run or campaign `name` in the runs folder) as a detached process."""
    check_run_id(name)
    log = paths.runs_dir() / ".tui" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as f:
        proc = subprocess.Popen([sys.executable, "-m", "agent.cli", *args], stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=str(paths.ROOT))
    return Launch(name, paths.runs_dir() / name, kind, proc, log)


def start_run(task: str, policy: str, sandbox: str, max_turns: int | None) -> Launch:
    """`evoforge run TASK` with the form's choices."""
    run_id = new_run_id(task)
    args = ["run", task, "--policy", policy, "--sandbox", sandbox, "--run-id", run_id, "-q"]
    if max_turns:
        args += ["--max-turns", str(max_turns)]
    return launch(args, run_id)


def start_campaign(tasks: str, seeds: str, policy: str, sandbox: str, parallel: int, attempt_minutes: float | None,
                   name: str | None) -> Launch:
    """`evoforge campaign start --detach` with the form's choices; UserError (one line) for a bad task set,
    seeds, count or name before anything starts."""
    resolve_tasks(tasks)
    parse_seeds(seeds)
    if parallel < 1:
        raise UserError(f"parallel must be >= 1, got {parallel}")
    if attempt_minutes is not None and not attempt_minutes > 0:
        raise UserError(f"attempt minutes must be > 0, got {attempt_minutes}")
    name = name or default_campaign_name()
    args = ["campaign", "start", "--tasks", tasks, "--seeds", seeds, "--policy", policy, "--sandbox", sandbox,
            "--parallel", str(parallel), "--name", name, "--detach"]
    if attempt_minutes:
        args += ["--attempt-minutes", str(attempt_minutes)]
    return launch(args, name, "campaign")


def fork(origin: Path, turn: int, policy: str | None = None) -> Launch:
    """`evoforge resume ORIGIN --from-turn TURN` (with another policy when given): a new run in the runs folder.

    `origin` is a run folder: one of the runs folder, or an attempt of a campaign (given to `resume` by its path).
    """
    ref = origin.name if origin.parent == paths.runs_dir() else str(origin)
    run_id = new_run_id(RunStore(origin).read_meta().get("task") or "fork")
    args = ["resume", ref, "--from-turn", str(turn), "--run-id", run_id, "-q"]
    if policy:
        args += ["--policy", policy]
        if policy == "replay":
            args += ["--replay-run", ref]
    return launch(args, run_id)
