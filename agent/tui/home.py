"""The home screen: every run of the runs folder with its live status, progress and result; filter, sort, open.

The list is re-read every REFRESH_S seconds (each run's meta.json) and changed in place: a cell that
changed is updated, rows are only rebuilt when the set or the order of runs changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from agent.runstore import effective_status, list_runs
from agent.tui import actions
from agent.tui.keys import HELP, KeyLine
from agent.tui.render import bar
from common.errors import UserError

REFRESH_S = 1.0
COLUMNS = (("run_id", "run"), ("kind", "kind"), ("status", "status"), ("score", "score"), ("medal", "medal"),
           ("budget", "budget"))
SORTS = ("started", "status", "score", "task")
STALE_S = 90.0     # a live run whose heartbeat is older than this is shown as "stale?"


def run_row(meta: dict[str, Any]) -> dict[str, str]:
    """The cells of one run (agent or training run) as the home screen shows them."""
    score = meta.get("score")
    status = effective_status(meta)
    if status in ("running", "paused") and _stale(meta.get("heartbeat")):
        status += " stale?"
    return {"run_id": str(meta.get("run_id")), "kind": str(meta.get("kind", "attempt")), "status": status,
            "score": f"{score:.4g}" if isinstance(score, int | float) else "-", "medal": str(meta.get("medal") or "-"),
            "budget": budget_cell(meta), "task": str(meta.get("task") or ""), "started": str(meta.get("created") or "")}


BUDGETS = (("turns", "turns", "max_turns"), ("time", "elapsed_s", "seconds"), ("tokens", "tokens", "tokens"),
           ("$", "cost_usd", "usd"))


def budget_cell(meta: dict[str, Any]) -> str:
    """The bar of the budget nearest to being spent (turns, time, tokens or $), named; `-` without limits."""
    limits = meta.get("budgets") or {}
    used = [(float(meta.get(key) or 0) / limits[lim], name) for name, key, lim in BUDGETS
            if isinstance(limits.get(lim), int | float) and limits[lim] > 0]
    if not used:
        return f"{meta.get('turns') or 0} turns"
    frac, name = max(used)
    return f"{bar(frac, 1.0, 6)} {name}"


def _stale(heartbeat: Any) -> bool:
    from datetime import UTC, datetime

    if not heartbeat:
        return False
    try:
        beat = datetime.fromisoformat(str(heartbeat))
    except ValueError:
        return False
    return (datetime.now(UTC) - beat).total_seconds() > STALE_S


class HomeScreen(Screen):
    """Runs, newest first; / filters, s sorts, enter opens, n starts a run."""

    BINDINGS = [
        HELP,
        Binding("enter", "open", "Open"),
        Binding("r", "replay", "Replay"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("n", "new_run", "New run"),
        Binding("P", "plot", "Plot scores", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, runs_dir: Path) -> None:
        super().__init__()
        self.runs_dir = runs_dir
        self.sort = "started"
        self.filter = ""
        self.rows: dict[str, dict[str, str]] = {}
        self.order: list[str] = []
        self.launched: actions.Launch | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="home-title")
        yield Input(placeholder="/ filter: a word of the id, task, status or kind", id="filter")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield KeyLine(id="keys")

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.refresh_runs()
        self.set_interval(REFRESH_S, self.refresh_runs)
        table.focus()

    def refresh_runs(self) -> None:
        """Re-read the runs folder and bring the table up to date in place."""
        try:
            rows = [run_row(m) for m in list_runs(self.runs_dir)]
        except UserError as exc:
            self.query_one("#home-title", Static).update(str(exc))
            return
        word = self.filter.lower()
        rows = [r for r in rows if not word or any(word in r[k].lower() for k in ("run_id", "task", "status", "kind"))]
        rows = self._sorted(rows)
        table = self.query_one("#runs", DataTable)
        order = [r["run_id"] for r in rows]
        new = {r["run_id"]: r for r in rows}
        if order != self.order:
            keep = self.order[table.cursor_row] if self.order and 0 <= table.cursor_row < len(self.order) else None
            table.clear()
            for r in rows:
                table.add_row(*(r[k] for k, _ in COLUMNS), key=r["run_id"])
            if keep in new:
                table.move_cursor(row=order.index(keep))
        else:
            for rid, r in new.items():
                old = self.rows.get(rid, {})
                for key, _ in COLUMNS:
                    if old.get(key) != r[key]:
                        table.update_cell(rid, key, r[key])
        self.rows, self.order = new, order
        live = sum(r["status"].startswith(("running", "paused")) for r in rows)
        self.query_one("#home-title", Static).update(
            f"evoforge · {len(rows)} runs ({live} live) in {self.runs_dir} · sorted by {self.sort}"
            + (f" · filter “{self.filter}”" if self.filter else ""))
        if self.launched is not None:
            self._check_launch()

    def _sorted(self, rows: list[dict[str, str]]) -> list[dict[str, str]]:
        if self.sort == "status":
            return sorted(rows, key=lambda r: (r["status"], r["started"]))
        if self.sort == "score":
            return sorted(rows, key=lambda r: (r["score"] == "-", r["score"]))
        if self.sort == "task":
            return sorted(rows, key=lambda r: (r["task"], r["started"]))
        return sorted(rows, key=lambda r: r["started"], reverse=True)

    def selected(self) -> str | None:
        """The run id under the cursor."""
        table = self.query_one("#runs", DataTable)
        return self.order[table.cursor_row] if self.order and 0 <= table.cursor_row < len(self.order) else None

    def action_open(self, replay: bool = False) -> None:
        """Open the run under the cursor (an agent run: its conversation; a training run: its curves)."""
        rid = self.selected()
        if rid is None:
            return
        from agent.tui.attempt import AttemptScreen
        from agent.tui.training import TrainingScreen

        root = self.runs_dir / rid
        if self.rows[rid]["kind"] == "train":
            self.app.push_screen(TrainingScreen(root))
        else:
            self.app.push_screen(AttemptScreen(root, follow=not replay, turn=0 if replay else None))

    def action_replay(self) -> None:
        """Open the run under the cursor in replay, at its start."""
        self.action_open(replay=True)

    @on(DataTable.RowSelected, "#runs")
    def row_selected(self) -> None:
        """Enter or a click on a row opens it."""
        self.action_open()

    def action_filter(self) -> None:
        """Type a filter."""
        self.query_one("#filter", Input).focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self, message: Input.Changed) -> None:
        """Filter as the text is typed."""
        self.filter = message.value.strip()
        self.refresh_runs()

    @on(Input.Submitted, "#filter")
    def filter_done(self) -> None:
        """Back to the list."""
        self.query_one("#runs", DataTable).focus()

    def action_sort(self) -> None:
        """Sort by the next key: started, status, score, task."""
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.refresh_runs()

    def action_plot(self) -> None:
        """The graded scores of the runs listed against time, as a PNG (agent.plots) in <runs>/plots/."""
        from agent import plots
        from agent.tui.timeline import score_points

        if not plots.available():
            self.notify("matplotlib is not installed: pip install 'evoforge[plots]'", severity="warning")
            return
        series = {rid: pts for rid in self.order
                  if self.rows[rid]["score"] != "-" and (pts := score_points(self.runs_dir / rid))}
        if not series:
            self.notify("no run listed has a score yet", severity="warning")
            return
        title = f"scores of {len(series)} runs" + (f" matching “{self.filter}”" if self.filter else "")
        self.notify(f"wrote {plots.scores_over_time(series, self.runs_dir / 'plots' / 'scores.png', title)}")

    def action_new_run(self) -> None:
        """The form that starts a run."""
        def started(launch: actions.Launch | None) -> None:
            if launch is not None:
                self.launched = launch
                self.notify(f"starting {launch.run_id}")
        self.app.push_screen(NewRunScreen(), started)

    def _check_launch(self) -> None:
        from agent.tui.attempt import AttemptScreen

        state = self.launched.state()
        if state == "started":
            run_id, self.launched = self.launched.run_id, None
            self.app.push_screen(AttemptScreen(self.runs_dir / run_id))
        elif state.startswith("failed"):
            self.launched = None
            self.notify(state, severity="error", timeout=10)


class NewRunScreen(ModalScreen[actions.Launch | None]):
    """Start a run: competition, policy, sandbox, turn cap."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        from tasks.registry import all_ids

        try:
            tasks = sorted(all_ids())
        except Exception:  # noqa: BLE001 - a broken competition folder must not close the form
            tasks = []
        with Vertical(id="form"):
            yield Label("Start a run")
            yield Select([(t, t) for t in tasks], prompt="competition", id="task")
            yield Select([(p, p) for p in ("heuristic", "llm")], value="heuristic", allow_blank=False, id="policy")
            yield Select([(s, s) for s in ("auto", "docker", "local", "unsafe-local")], value="auto",
                         allow_blank=False, id="sandbox")
            yield Input(placeholder="max turns (blank: the scaffold's)", id="max-turns", type="integer")
            with Horizontal():
                yield Button("Start", variant="primary", id="start")
                yield Button("Cancel", id="cancel")

    @on(Button.Pressed, "#start")
    def start(self) -> None:
        """Launch the run and close the form."""
        task = self.query_one("#task", Select).value
        if task is Select.BLANK or not task:
            self.notify("pick a competition", severity="error")
            return
        turns = self.query_one("#max-turns", Input).value.strip()
        try:
            launch = actions.start_run(str(task), str(self.query_one("#policy", Select).value),
                                       str(self.query_one("#sandbox", Select).value), int(turns) if turns else None)
        except (UserError, OSError) as exc:
            self.notify(str(exc), severity="error")
            return
        self.dismiss(launch)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close the form."""
        self.dismiss(None)
