"""STAND-IN for agent.graph.control (the attempt's control channel, being built on its own branch).

Same four functions and signatures the TUI calls; each only records the request in `<run>/control.jsonl`,
which no run reads yet. Delete this file and import agent.graph.control in agent/tui/actions.py once that
module is on main.
"""

from __future__ import annotations

import json
import os

from agent.runstore import RunStore, now_iso


def _request(store: RunStore, action: str, **fields: str) -> None:
    line = json.dumps({"ts": now_iso(), "action": action, **fields}) + "\n"
    fd = os.open(store.root / "control.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def send_note(store: RunStore, text: str) -> None:
    """A user message for the run's next model turn."""
    _request(store, "note", text=text)


def request_pause(store: RunStore) -> None:
    """Ask the run to pause after its current step."""
    _request(store, "pause")


def request_resume(store: RunStore) -> None:
    """Ask a paused run to go on."""
    _request(store, "resume")


def request_stop(store: RunStore) -> None:
    """Ask the run to stop (graded as it stands)."""
    _request(store, "stop")
