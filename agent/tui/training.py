"""A training run (`evoforge train`) of the runs folder: its curves from metrics.jsonl, followed as it grows."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from agent.runstore import training_summary
from agent.tui.jobs import JobsPanel
from agent.tui.keys import HELP, KeyLine


class TrainingScreen(Screen):
    """A training run's summary and its reward, loss and KL sparklines."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back"), HELP]

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)

    def compose(self) -> ComposeResult:
        summary = training_summary(self.root)
        yield Static(f"{self.root.name} · {summary.get('task')} · {summary.get('status')} · "
                     f"step {summary.get('turns', '-')} · accuracy {summary.get('score', '-')}", id="title")
        yield JobsPanel(self.root, id="jobs")
        yield KeyLine(id="keys")
