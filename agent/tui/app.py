"""`evoforge tui`: the terminal application over the runs folder (Textual).

Screens: home (agent/tui/home.py: every run, live status, filter and sort), attempt (agent/tui/attempt.py:
one run's conversation, live or replayed, with control), training (agent/tui/training.py). Everything is
read from the records on disk, so what another process runs shows up as it writes.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from agent.tui.attempt import AttemptScreen
from agent.tui.home import HomeScreen


class EvoforgeApp(App):
    """The evoforge TUI: home, and optionally a run opened at start (live, or in replay)."""

    CSS_PATH = "tui.tcss"
    TITLE = "evoforge"
    BINDINGS = [Binding("ctrl+c", "quit", "Quit", show=False, priority=True)]

    def __init__(self, runs_dir: Path, open_run: Path | None = None, replay: bool = False, turn: int | None = None,
                 speed: float = 1.0, search: str | None = None) -> None:
        super().__init__()
        self.runs_dir, self.open_run = Path(runs_dir), open_run
        self.replay, self.turn, self.speed, self.search = replay, turn, speed, search

    def on_mount(self) -> None:
        self.push_screen(HomeScreen(self.runs_dir))
        if self.open_run is not None:
            turn = self.turn if self.turn is not None else (0 if self.replay else None)
            self.push_screen(AttemptScreen(self.open_run, follow=not self.replay and turn is None, turn=turn,
                                           speed=self.speed, search=self.search))
