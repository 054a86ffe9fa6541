"""The control channel of a running attempt: notes, pause, unpause and stop, sent by people and the TUI.

Each request is one small JSON file in `runs/<id>/control/`, written whole (a temp file renamed into
place), named `<time_ns>-<pid>-<random>.json` so that names sort in the order they were sent. The
attempt reads the requests it has not yet applied at the start of each model turn (the ids it applied
are in its checkpointed state, so a request is applied once, also across a kill and resume):

- note:    the text goes into the history as a user message before the next model turn (`user_note`);
- pause:   the attempt waits between steps (status "paused", heartbeat fresh) until unpause or stop;
- unpause: the attempt goes on;
- stop:    the attempt ends gracefully: the best candidate is graded and the reflection written. A
           command that is running when a stop is sent is stopped (the run's heartbeat thread sees it).

Requests sent to a run that is not running (killed, interrupted) wait for `evoforge resume`.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass

from agent.runstore import RunStore, now_iso, write_json
from common.errors import UserError

ACTIONS = ("note", "pause", "resume", "stop")
MAX_NOTE_CHARS = 20_000


@dataclass(frozen=True)
class Request:
    """One request as the attempt reads it."""

    id: str
    action: str
    text: str
    ts: str


def _send(store: RunStore, action: str, text: str = "") -> Request:
    """Write one request file (atomically) and return it."""
    if store.read_meta().get("status") in ("finished", "failed"):
        raise UserError(f"run {store.run_id} has ended ({store.read_meta().get('status')}); there is nothing to "
                        f"{'tell' if action == 'note' else action}")
    store.control_dir.mkdir(exist_ok=True)
    rid = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(3)}"
    req = Request(rid, action, text, now_iso())
    write_json(store.control_dir / f"{rid}.json", req.__dict__)
    return req


def send_note(store: RunStore, text: str) -> Request:
    """Queue a note: a user message the attempt's model reads before its next turn."""
    text = str(text).strip()
    if not text:
        raise UserError("the note is empty: give the text to send")
    if len(text) > MAX_NOTE_CHARS:
        raise UserError(f"the note is {len(text)} characters long; keep it under {MAX_NOTE_CHARS}")
    return _send(store, "note", text)


def request_pause(store: RunStore) -> Request:
    """Ask the attempt to wait between steps until `request_resume` (or `request_stop`)."""
    return _send(store, "pause")


def request_resume(store: RunStore) -> Request:
    """Ask a paused attempt to go on."""
    return _send(store, "resume")


def request_stop(store: RunStore) -> Request:
    """Ask the attempt to end now, gracefully: its best candidate graded, its reflection written."""
    return _send(store, "stop")


def requests(store: RunStore, done: list[str] | set[str] = ()) -> list[Request]:
    """The requests not in `done` (ids already applied), in the order they were sent; unreadable files skipped."""
    folder = store.control_dir
    if not folder.is_dir():
        return []
    seen = set(done)
    out = []
    for path in sorted(folder.glob("*.json")):
        if path.stem in seen:
            continue
        try:
            d = json.loads(path.read_text())
            if d.get("action") in ACTIONS:
                out.append(Request(path.stem, d["action"], str(d.get("text") or ""), str(d.get("ts") or "")))
        except (OSError, ValueError, AttributeError):
            continue
    return out


def stop_requested(store: RunStore, done: list[str] | set[str] = ()) -> bool:
    """Whether a stop request is waiting."""
    return any(r.action == "stop" for r in requests(store, done))
