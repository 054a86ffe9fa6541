"""The campaign view: every attempt of a campaign as a table, followed live from the campaign's folder (its queue
and each attempt's run record, written by the supervisor and its workers in other processes), the aggregates
as the campaign report computes them (agent.campaign.report), budget gauges, and control (stop, resume, plots).

The queue is re-read every POLL_S; an attempt's row is recomputed when its queue row or (live) its record
changed, or every LIVE_S while it is live, and its cells are updated in place. A finished attempt's result is the queue's copy (what the
supervisor read from its record when it finished): reading 66 records at every look would cost seconds.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from agent.campaign.control import attempt_status, campaign_state, result_of
from agent.campaign.report import aggregate
from agent.campaign.store import FINAL, CampaignStore
from agent.runstore import RunStore
from agent.tui import tables
from agent.tui.keys import HELP, KeyLine, go_back
from agent.tui.render import bar, budget_line, human
from agent.tui.timeline import file_sig
from common.errors import UserError

POLL_S = 0.5
LIVE_S = 5.0       # a live attempt whose record did not change is looked at again after this (a hang shows)
COLUMNS = (("task", "task"), ("seed", "seed"), ("status", "status"), ("score", "score"), ("medal", "medal"),
           ("valid", "valid"), ("time", "time"), ("turns", "turns"), ("tokens", "tokens"), ("cost", "$"))


def attempt_cells(a: dict[str, Any]) -> dict[str, str]:
    """The table's cells of one attempt, from `attempt_status` (hung attempts say so)."""
    score, secs, cost = a.get("score"), a.get("seconds"), a.get("cost_usd")
    valid = a.get("valid")
    return {"task": str(a["task"]), "seed": str(a["seed"]), "status": "hung" if a.get("hung") else str(a["status"]),
            "score": f"{score:.4g}" if isinstance(score, int | float) else "-", "medal": str(a.get("medal") or "-"),
            "valid": "-" if valid is None else ("yes" if valid else "no"),
            "time": f"{secs:.0f}s" if isinstance(secs, int | float) else "-", "turns": str(a.get("turns") or "-"),
            "tokens": human(a.get("tokens")) if a.get("tokens") else "-",
            "cost": f"{cost:.2f}" if isinstance(cost, int | float) else "-"}


def _pm(m: dict[str, float], unit: str = "") -> str:
    return "-" if math.isnan(m["mean"]) else f"{m['mean']:.1f}±{m['se']:.1f}{unit}"


def aggregate_lines(agg: dict[str, Any]) -> str:
    """The report's aggregates (mean ± SE over complete seeds) in two lines."""
    if not agg["seeds_averaged"]:
        return (f"rates: no complete seed yet ({agg['finished']}/{agg['attempts']} attempts finished; a seed counts "
                f"once each of its {agg['competitions_per_seed']} competitions has finished)\n")
    left = f" · {len(agg['incomplete_seeds'])} incomplete left out" if agg["incomplete_seeds"] else ""
    return (f"any medal {_pm(agg['any_medal'], '%')}  gold {_pm(agg['gold'])}  silver {_pm(agg['silver'])}  "
            f"bronze {_pm(agg['bronze'])}\n"
            f"valid {_pm(agg['valid_rate'], '%')}  above median {_pm(agg['above_median'])}  "
            f"percentile {_pm(agg['mean_percentile'])}  over {agg['seeds_averaged']} seed(s){left}")


def _live_metas(store: CampaignStore, rows: list[dict]) -> list[dict[str, Any]]:
    metas = []
    for r in rows:
        if r["state"] == "running":
            try:
                metas.append(RunStore(store.record_dir(r["run_id"])).read_meta())
            except UserError:
                pass
    return metas


def campaign_row(store: CampaignStore) -> dict[str, str]:
    """The home screen's row of a campaign: state (and attempts paused on a model outage), rates, progress."""
    spec, rows = store.spec(), store.rows()
    agg = aggregate([result_of(store, r, read_record=False) for r in rows])
    state = campaign_state(store)
    paused = [m for m in _live_metas(store, rows) if m.get("status") == "paused"]
    running = sum(r["state"] == "running" for r in rows)
    if state == "running" and paused:
        outage = any(m.get("pause_cause") != "paused by the user" for m in paused)
        state = (("paused (model outage)" if outage else "paused") if len(paused) == running
                 else f"running ({len(paused)} paused)")
    done = sum(r["state"] in FINAL for r in rows)
    seeds = agg["seeds_averaged"]
    return {"key": f"campaign/{store.name}", "run_id": store.name, "kind": "campaign", "status": state,
            "score": f"{agg['mean_percentile']['mean']:.1f} pct" if seeds else "-",
            "medal": f"{agg['any_medal']['mean']:.0f}% any" if seeds else "-",
            "budget": f"{bar(done, len(rows) or 1, 6)} {done}/{len(rows)}", "task": ",".join(spec.tasks),
            "started": spec.created}


def _limits(b: dict[str, Any]) -> str:
    parts = [f"{human(b[key])}{unit}" for key, unit in (("seconds", " s"), ("max_turns", " turns"),
                                                         ("tokens", " tokens"), ("usd", " $")) if b.get(key)]
    return ", ".join(parts) or "no limits"


class CampaignScreen(Screen):
    """A campaign's attempts, aggregates and budgets, live; enter opens an attempt, x stops, r resumes."""

    BINDINGS = [
        HELP,
        Binding("escape,q", "back", "Back"),
        Binding("enter", "open", "Open attempt"),
        Binding("x", "stop", "Stop"),
        Binding("r", "resume", "Resume"),
        Binding("P", "plot", "Plots"),
    ]

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.store = CampaignStore(Path(root))
        self.cells: dict[str, dict[str, str]] = {}        # run id -> its cells as shown
        self.status: dict[str, dict[str, Any]] = {}       # run id -> attempt_status
        self.results: dict[str, dict[str, Any]] = {}      # run id -> its entry of `results`
        self.seen: dict[str, tuple] = {}                  # run id -> its queue row (and record) when last computed
        self.looked: dict[str, float] = {}                # run id -> when it was last computed
        self.order: list[str] = []
        self.state = ""
        self._stop_armed = 0.0
        self.busy = ""                                    # the control action running in a thread, if any

    def compose(self) -> ComposeResult:
        yield Static(id="title", classes="lines")
        yield Static(id="aggregate", classes="lines")
        yield Static(id="camp-budgets", classes="lines")
        yield DataTable(id="attempts", cursor_type="row", zebra_stripes=True)
        yield Static(id="detail", classes="lines")
        yield KeyLine(id="keys")

    def on_mount(self) -> None:
        table = self.query_one("#attempts", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.refresh_view()
        self.set_interval(POLL_S, self.refresh_view)
        table.focus()

    # -- following the campaign's folder --------------------------------------------------------------
    def refresh_view(self) -> None:
        """Re-read the queue, recompute the rows that may have changed, and update what is shown in place."""
        try:
            spec, rows = self.store.spec(), self.store.rows()
            self.state = campaign_state(self.store)
        except UserError as exc:
            self.query_one("#title", Static).update(str(exc))
            return
        now = time.monotonic()
        for row in rows:
            rid = row["run_id"]
            sig: tuple = (row["state"], row["tries"], row["finished"], row["note"], row["launched"])
            if row["state"] not in FINAL:      # a live attempt: when its record changed, and every LIVE_S
                rec = self.store.record_dir(rid)
                sig += (file_sig(rec / "events.jsonl"), file_sig(rec / "meta.json"))
            if self.seen.get(rid) != sig or (row["state"] not in FINAL and now - self.looked.get(rid, 0) > LIVE_S):
                self.status[rid] = attempt_status(self.store, row)
                self.results[rid] = result_of(self.store, row, read_record=False)
                self.seen[rid], self.looked[rid] = sig, now
        self._update_table([r["run_id"] for r in rows])
        agg = aggregate([self.results[r["run_id"]] for r in rows])
        self._update_header(spec, rows, agg)
        self._update_detail()

    def _update_table(self, order: list[str]) -> None:
        new = {rid: attempt_cells(self.status[rid]) for rid in order}
        tables.sync(self.query_one("#attempts", DataTable), [k for k, _ in COLUMNS], self.cells, self.order, new,
                    order)
        self.cells, self.order = new, order

    def _update_header(self, spec: Any, rows: list[dict], agg: dict[str, Any]) -> None:
        counts = {s: sum(r["state"] == s for r in rows) for s in ("done", "failed", "running", "pending")}
        hung = sum(bool(self.status[r["run_id"]].get("hung")) for r in rows)
        paused = sum(self.status[r["run_id"]].get("status") == "paused" for r in rows)
        done = counts["done"] + counts["failed"]
        extra = "".join(f" · {n} {w}" for n, w in ((paused, "paused"), (hung, "hung")) if n)
        self.query_one("#title", Static).update(Text.assemble(
            (f"campaign {self.store.name}", "bold"), " · ", (self.state.upper(), "reverse"),
            f" · {spec.policy}{' ' + spec.model if spec.model else ''} · {spec.parallel} at a time{extra}\n",
            f"{done}/{len(rows)} finished: {counts['done']} done, {counts['failed']} failed, {counts['running']} "
            f"running, {counts['pending']} pending" + (f" · {self.busy}…" if self.busy else "")))
        self.query_one("#aggregate", Static).update(aggregate_lines(agg))
        spent = float(self.store.counter("active_s", 0.0)) / 3600
        hours = (f"hours {bar(spent, spec.total_hours, 6)} {spent:.2f}/{spec.total_hours:g}" if spec.total_hours
                 else f"{spent:.2f} h spent (no total)")
        self.query_one("#camp-budgets", Static).update(Text(
            f"{hours} · done {bar(done, len(rows) or 1, 6)} · each attempt: {_limits(spec.budgets.to_dict())}",
            no_wrap=True, overflow="ellipsis"))

    def _update_detail(self) -> None:
        rid = self.selected()
        a = self.status.get(rid or "")
        if a is None:
            self.query_one("#detail", Static).update("")
            return
        if a.get("hung"):
            what = f"HUNG: {a['hung']}"
        elif a.get("alive") and a.get("quiet_s") is not None:
            what = f"last event {a.get('last_event')} {a['quiet_s']:.0f}s ago"
        else:
            what = str(a.get("note") or "")
        line1 = f"{rid} · try {a.get('tries')}" + (f" · {what}" if what else "")
        budgets = budget_line(a.get("turns"), a.get("seconds"), a.get("tokens"), a.get("cost_usd"),
                              self.store.spec().budgets.to_dict(), width=4)
        self.query_one("#detail", Static).update(Text(line1[:200] + "\n" + budgets, no_wrap=True, overflow="ellipsis"))

    @on(DataTable.RowHighlighted, "#attempts")
    def highlighted(self) -> None:
        """The detail line follows the cursor."""
        self._update_detail()

    def selected(self) -> str | None:
        """The run id of the attempt under the cursor."""
        return tables.cursor_key(self.query_one("#attempts", DataTable), self.order)

    # -- actions -----------------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#attempts")
    def action_open(self) -> None:
        """Open the attempt under the cursor in the attempt view (live while it runs)."""
        from agent.tui.attempt import AttemptScreen

        rid = self.selected()
        if rid is None:
            return
        root = self.store.record_dir(rid)
        if not (root / "events.jsonl").is_file():
            self.notify(f"{rid} has not started yet", severity="warning")
            return
        self.app.push_screen(AttemptScreen(root))

    def action_stop(self) -> None:
        """Stop the campaign (press x twice): as `evoforge campaign stop`, its attempts save and stop."""
        if self.state != "running":
            self.notify("the campaign is not running", severity="warning")
        elif time.monotonic() - self._stop_armed > 3.0:
            self._stop_armed = time.monotonic()
            self.notify("press x again to stop the campaign")
        else:
            from agent.campaign.control import stop_campaign

            self._stop_armed = 0.0
            self._in_thread("stopping", lambda: f"campaign {self.store.name}: {stop_campaign(self.store)}")

    def action_resume(self) -> None:
        """Resume the campaign in the background, as `evoforge campaign resume --detach`."""
        if self.state == "running":
            self.notify("the campaign is running", severity="warning")
            return
        from agent.campaign.control import start_detached

        self._in_thread("resuming", lambda: f"campaign {self.store.name} resumed (supervisor pid "
                                            f"{start_detached(self.store)})")

    def action_plot(self) -> None:
        """Write the campaign's report with its PNG plots (agent.plots) into its report/ folder."""
        from agent import plots
        from agent.campaign import report

        if not plots.available():
            self.notify("matplotlib is not installed: pip install 'evoforge[plots]'", severity="warning")
            return

        def write() -> str:
            doc, _ = report.write(self.store)
            names = ", ".join(Path(p).name for p in doc["plots"]) or "no plot (no score yet)"
            return f"wrote {self.store.report_dir}: report.md, {names}"
        self._in_thread("writing plots", write)

    def _in_thread(self, what: str, work: Any) -> None:
        """Run a control action that waits (stop, resume, plots) off the screen's loop; say how it ended."""
        if self.busy:
            self.notify(f"still {self.busy}", severity="warning")
            return
        self.busy = what

        def run() -> None:
            try:
                said, severity = work(), "information"
            except (UserError, OSError) as exc:
                said, severity = str(exc), "error"
            self.app.call_from_thread(self._done, said, severity)
        self.run_worker(run, thread=True, exit_on_error=False)

    def _done(self, said: str, severity: str) -> None:
        self.busy = ""
        self.notify(said, severity=severity, timeout=8)
        self.refresh_view()

    def action_back(self) -> None:
        """Back to the list (or quit when this was the first screen)."""
        go_back(self.app)

