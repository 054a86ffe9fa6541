"""CLI: `evoforge tui` (the terminal application) and `evoforge replay` (a recorded run, turn by turn).

Replay reads events.jsonl alone, so it works on a run folder copied from elsewhere: no sandbox, no model,
no checkpoint. On a terminal it opens the TUI's replay; piped, or with `--print`, it prints the turns.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.markup import escape

from agent.cli_output import out
from agent.cli_run import complete_run_id
from agent.cli_view import format_event
from agent.tui.timeline import Timeline
from common import paths
from common.errors import UserError


def resolve_run(ref: str) -> Path:
    """The folder of an agent run: a run id (or unique prefix) of the runs folder, or the path of a run folder."""
    from agent.runstore import find_run, is_training_run

    path = Path(ref).expanduser()
    if ("/" in ref or ref.startswith(".")) and path.is_dir():
        root = path
    else:
        root = find_run(ref)
        if is_training_run(root):
            raise UserError(f"{root.name} is a training run (evoforge train): it has no events to replay; "
                            f"open it with `evoforge tui`")
    if not (root / "events.jsonl").is_file():
        raise UserError(f"{root} has no events.jsonl: not an agent run's folder")
    return root


def tui(
    run_id: str = typer.Argument(None, metavar="[RUN]", autocompletion=complete_run_id,
                                 help="Open this run (id, prefix or folder) and follow it; default: the list of runs."),
) -> None:
    """The terminal UI: every run live (status, budgets, scores), one run's conversation, replay and control."""
    from agent.tui.app import EvoforgeApp

    root = resolve_run(run_id) if run_id else None
    EvoforgeApp(paths.runs_dir(), open_run=root).run()


def replay(
    run_id: str = typer.Argument(..., metavar="RUN", autocompletion=complete_run_id,
                                 help="The run: its id, a unique prefix, or the path of a (copied) run folder."),
    turn: int = typer.Option(None, "--turn", metavar="N", help="Start at turn N (printing: print only turn N)."),
    speed: float = typer.Option(None, "--speed", metavar="TURNS_PER_S",
                                help="Play at this many turns a second (TUI: space plays; printing: waits "
                                     "between turns; default 1 in the TUI, no wait when printing)."),
    search: str = typer.Option(None, "--search", metavar="TEXT",
                               help="Go to the first event containing TEXT (printing: print every such event)."),
    print_: bool = typer.Option(False, "--print", help="Print instead of opening the TUI (the default when piped)."),
) -> None:
    """Replay a recorded run from its events.jsonl alone: step turn by turn, jump, search, play at a speed."""
    root = resolve_run(run_id)
    if speed is not None and not speed > 0:
        raise UserError(f"--speed must be > 0 turns a second, got {speed}")
    timeline = Timeline.load(root / "events.jsonl")
    if turn is not None and not 0 <= turn <= timeline.n_turns:
        raise UserError(f"--turn {turn}: the run has turns 0 to {timeline.n_turns}")
    if not (print_ or not sys.stdout.isatty()):
        from agent.tui.app import EvoforgeApp

        EvoforgeApp(paths.runs_dir(), open_run=root, replay=True, turn=turn, speed=speed or 1.0,
                    search=search).run()
        return
    if search:
        hits = timeline.find_all(search)
        for i in hits:
            _print_event(timeline, i)
        if not hits:
            raise UserError(f"no event of {root.name} contains {search!r}")
        return
    turns = [turn] if turn is not None else range(timeline.n_turns + 1)
    for k in turns:
        if speed and k != turns[0]:
            time.sleep(1.0 / speed)
        out.print(f"[bold]── turn {k}/{timeline.n_turns} ──[/]" if k else f"[bold]── start · {escape(root.name)} ──[/]")
        for i in timeline.turn_range(k):
            for line in format_event(timeline.events[i]):
                out.print(line)


def _print_event(timeline: Timeline, index: int) -> None:
    ev = timeline.events[index]
    out.print(f"[dim]turn {timeline.turn_of(index)} · seq {ev.get('seq')} · {escape(str(ev.get('type')))}[/]")
    for line in format_event(ev) or [escape(str(ev.get("type")))]:
        out.print(line)


def register(app: typer.Typer) -> None:
    """Add `tui` and `replay` to the root app."""
    app.command("tui")(tui)
    app.command("replay")(replay)
