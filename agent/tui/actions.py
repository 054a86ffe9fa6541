"""What the TUI does to the world: control requests to a running attempt, and runs it starts.

Runs (new runs and forks) start as their own detached `evoforge` processes, so they outlive the TUI like
any run started from another terminal; the TUI then only follows their record. Each process's output goes
to `<runs>/.tui/<run-id>.log`, where a start that fails leaves its one-line error.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

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
    """An `evoforge` process the TUI started for run `run_id`."""

    run_id: str
    proc: subprocess.Popen
    log: Path

    def state(self) -> str:
        """"started" once the run's record exists, "starting" before, or "failed: <why>" when the process gave up."""
        if (paths.runs_dir() / self.run_id / "meta.json").is_file():
            return "started"
        if self.proc.poll() is None:
            return "starting"
        lines = [ln for ln in self.log.read_text(errors="replace").splitlines() if ln.strip()] if self.log.exists() else []
        return "failed: " + (lines[-1] if lines else f"exit status {self.proc.returncode}")


def launch(args: list[str], run_id: str) -> Launch:
    """Start `evoforge ARGS` (which must create run `run_id`) as a detached process."""
    check_run_id(run_id)
    log = paths.runs_dir() / ".tui" / f"{run_id}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as f:
        proc = subprocess.Popen([sys.executable, "-m", "agent.cli", *args], stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=str(paths.ROOT))
    return Launch(run_id, proc, log)


def start_run(task: str, policy: str, sandbox: str, max_turns: int | None) -> Launch:
    """`evoforge run TASK` with the form's choices."""
    run_id = new_run_id(task)
    args = ["run", task, "--policy", policy, "--sandbox", sandbox, "--run-id", run_id, "-q"]
    if max_turns:
        args += ["--max-turns", str(max_turns)]
    return launch(args, run_id)


def fork(origin: str, turn: int, policy: str | None = None) -> Launch:
    """`evoforge resume ORIGIN --from-turn TURN` (with another policy when given)."""
    run_id = new_run_id(RunStore(paths.runs_dir() / origin).read_meta().get("task") or "fork")
    args = ["resume", origin, "--from-turn", str(turn), "--run-id", run_id, "-q"]
    if policy:
        args += ["--policy", policy]
        if policy == "replay":
            args += ["--replay-run", origin]
    return launch(args, run_id)
