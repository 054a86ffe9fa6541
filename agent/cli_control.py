"""`evoforge runs note|pause|unpause|stop RUN`: requests to a running attempt (agent/graph/control.py).

Each command queues one request in the run's record and returns at once; the attempt applies it at its
next model turn (a stop also ends a command that is running). A run that no process is working on (killed,
interrupted) reads its requests when it is resumed.
"""

from __future__ import annotations

from collections.abc import Callable

import typer
from rich.markup import escape

from agent.cli_output import err, out
from agent.cli_run import complete_run_id, runs_app

RUN_ARG = typer.Argument(..., metavar="RUN", help="The run: its id or a unique prefix.", autocompletion=complete_run_id)
WHEN = {
    "note": "its model reads the note before its next turn",
    "pause": "it waits between steps (status paused) until `evoforge runs unpause`; paused time does not count "
             "toward its time budget",
    "resume": "it goes on at its next step",
    "stop": "it ends now: a running command is stopped, the best candidate by validation score is graded",
}


def _send(run_id: str, action: str, send: Callable) -> None:
    from agent.runstore import RunStore

    store = RunStore.open(run_id)
    store.read_meta()                       # a damaged or training record: one line here
    req = send(store)
    word = "unpause" if action == "resume" else action
    if store.locked_by() is None:
        err.print(escape(f"run {store.run_id} is not running now; it applies the {word} request when resumed "
                         f"(`evoforge resume {store.run_id}`)"))
    out.print(escape(f"{word} sent to run {store.run_id} (request {req.id}): {WHEN[action]}"))


@runs_app.command("note")
def runs_note(run_id: str = RUN_ARG,
              text: str = typer.Argument(..., metavar="TEXT", help="What to tell the agent (a user message).")) -> None:
    """Send the running attempt a note: a user message its model reads before its next turn."""
    from agent.graph.control import send_note

    _send(run_id, "note", lambda store: send_note(store, text))


@runs_app.command("pause")
def runs_pause(run_id: str = RUN_ARG) -> None:
    """Pause the attempt between steps until `runs unpause` (the paused time does not count toward its budget)."""
    from agent.graph.control import request_pause

    _send(run_id, "pause", request_pause)


@runs_app.command("unpause")
def runs_unpause(run_id: str = RUN_ARG) -> None:
    """Let a paused attempt go on."""
    from agent.graph.control import request_resume

    _send(run_id, "resume", request_resume)


@runs_app.command("stop")
def runs_stop(run_id: str = RUN_ARG) -> None:
    """End the attempt gracefully now: its running command stopped, its best candidate graded, its reflection
    written (`kill` ends the process instead, and the run can be resumed)."""
    from agent.graph.control import request_stop

    _send(run_id, "stop", request_stop)


def register(app: typer.Typer) -> None:
    """The commands live in the `runs` group (added by agent.cli_run); importing this module adds them."""
