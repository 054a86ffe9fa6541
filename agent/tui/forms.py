"""The forms that start things from home: a run (`n`) and a campaign (`C`).

Each form is a modal with its fields, Start and Cancel; Start hands the fields to agent/tui/actions, which checks
them (a bad value: its one-line error under the fields, nothing started) and starts a detached `evoforge`
process; the form closes with its Launch, which home follows.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static

from agent.tui import actions
from common.errors import UserError

POLICIES = ("heuristic", "llm")
SANDBOXES = ("auto", "docker", "local", "unsafe-local")


def choice(options: Iterable[str], id: str) -> Select:  # noqa: A002 - a widget's id
    """A Select of `options`, the first chosen."""
    options = list(options)
    return Select([(o, o) for o in options], value=options[0], allow_blank=False, id=id)


class FormScreen(ModalScreen[actions.Launch | None]):
    """A form that starts something: TITLE, the widgets of `fields()`, Start and Cancel; `launch()` starts it."""

    TITLE = ""
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def fields(self) -> ComposeResult:
        """The form's fields."""
        raise NotImplementedError

    def launch(self) -> actions.Launch:
        """Start what the fields say; UserError (one line) for a value that cannot work."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(self.TITLE)
            yield from self.fields()
            yield Static(id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("Start", variant="primary", id="start")
                yield Button("Cancel", id="cancel")

    def value(self, field: str) -> str:
        """The text or choice of field `field` ("" when blank)."""
        widget = self.query_one(f"#{field}")
        value = widget.value
        return "" if value is Select.BLANK or value is None else str(value).strip()

    def number(self, field: str, kind: type = int) -> int | float | None:
        """Field `field` as a number (None when blank); UserError naming the field otherwise."""
        text = self.value(field)
        try:
            return kind(text) if text else None
        except ValueError:
            raise UserError(f"{field.replace('-', ' ')}: {text!r} is not a number") from None

    @on(Button.Pressed, "#start")
    def start(self) -> None:
        """Start, and close the form with the launch; a bad value: its error under the fields."""
        try:
            launch = self.launch()
        except (UserError, OSError) as exc:
            error = self.query_one("#form-error", Static)
            error.update(str(exc))
            error.display = True
            self.notify(str(exc), severity="error")
            return
        self.dismiss(launch)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close the form."""
        self.dismiss(None)


def pair(*widgets: Widget) -> Horizontal:
    """Fields side by side on one row."""
    return Horizontal(*widgets, classes="pair")


class NewRunScreen(FormScreen):
    """Start a run: competition, policy, sandbox, turn cap."""

    TITLE = "Start a run"

    def fields(self) -> ComposeResult:
        from tasks.registry import all_ids

        try:
            tasks = sorted(all_ids())
        except Exception:  # noqa: BLE001 - a broken competition folder must not close the form
            tasks = []
        yield Select([(t, t) for t in tasks], prompt="competition", id="task")
        yield choice(POLICIES, "policy")
        yield choice(SANDBOXES, "sandbox")
        yield Input(placeholder="max turns (blank: the scaffold's)", id="max-turns", type="integer")

    def launch(self) -> actions.Launch:
        if not self.value("task"):
            raise UserError("pick a competition")
        return actions.start_run(self.value("task"), self.value("policy"), self.value("sandbox"),
                                 self.number("max-turns"))


class NewCampaignScreen(FormScreen):
    """Start a campaign: task set, seeds, policy, parallel attempts, minutes per attempt, sandbox, name."""

    TITLE = "Start a campaign (runs detached: it outlives the TUI)"

    def fields(self) -> ComposeResult:
        yield Input(placeholder="tasks: ids (a,b), lite, a family (tabular…) or @FILE", id="tasks")
        yield pair(Input(placeholder="seeds: 1 (a count) or 0,1,2", id="seeds"),
                   Input(placeholder="parallel: 1", id="parallel", type="integer"))
        yield pair(choice(POLICIES, "policy"), choice(SANDBOXES, "sandbox"))
        yield pair(Input(placeholder="minutes per attempt", id="attempt-minutes", type="number"),
                   Input(placeholder="name (default: campaign-<time>)", id="name"))

    def launch(self) -> actions.Launch:
        parallel = self.number("parallel")
        return actions.start_campaign(self.value("tasks"), self.value("seeds") or "1", self.value("policy"),
                                      self.value("sandbox"), 1 if parallel is None else parallel,
                                      self.number("attempt-minutes", float), self.value("name") or None)
