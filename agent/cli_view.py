"""The live view of a run: one small formatter per event type, and a progress line while something runs.

`format_event(event)` gives the lines for one event (rich markup); `LiveView` prints them as a run
writes its events and, while a tool call or a model call is in flight, shows what is running and for
how long (a status line on a terminal; a "still running" line every `interval` seconds when piped).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape

Event = dict[str, Any]


def _short(text: Any, n: int = 100) -> str:
    s = " ".join(str(text or "").split())
    return escape(s if len(s) <= n else s[: n - 1] + "…")


def _run_started(e: Event) -> list[str]:
    return [escape(f"run {e.get('run_id')} · task {e.get('task')} · policy {e.get('policy')}"
                   f" · model {e.get('model') or '-'} · sandbox {e.get('sandbox')}")]


def _model_turn(e: Event) -> list[str]:
    u = e.get("usage") or {}
    lines = [f"[bold cyan]turn {e.get('turn')}[/] [dim]({u.get('total_tokens', 0)} tok, {e.get('latency_s') or 0:.1f}s)[/]"]
    if e.get("thinking"):
        lines.append(f"  [dim italic]thinking: {_short(e['thinking'])}[/]")
    if e.get("content"):
        lines.append(f"  {_short(e['content'])}")
    lines += [f"  [yellow]→ {escape(str(c.get('name')))}[/] {_short(c.get('arguments'), 80)}"
              for c in e.get("tool_calls") or []]
    return lines


RECOVERED = {"finished": " (result from before the restart)", "interrupted": " (cut by a restart, not rerun)",
             "rerun": " (read-only, rerun after a restart)"}


def _tool_call(e: Event) -> list[str]:
    code = e.get("exit_code")
    out = [ln for ln in str(e.get("output") or "").strip().splitlines() if ln.strip() and not ln.startswith("[exit code")]
    colour = "green" if code == 0 else "red"
    return [f"  [{colour}]← {escape(str(e.get('name')))} exit {code}{RECOVERED.get(e.get('recovered'), '')}[/] "
            f"[dim]{e.get('duration_s') or 0:.2f}s {_short(out[-1] if out else '', 70)}[/]"]


def _context_compacted(e: Event) -> list[str]:
    why = "after a context overflow" if e.get("forced") else f"{e.get('turns_summarised')} turns summarised"
    return [f"[magenta]context compacted[/]: {e.get('before_tokens')} → {e.get('after_tokens')} tokens "
            f"({why}, {e.get('method')})"]


def _context_overflow(e: Event) -> list[str]:
    return [f"[magenta]context overflow[/]: {_short(e.get('error'), 150)}; compacting"]


def _budget_exhausted(e: Event) -> list[str]:
    return [f"[red]budget exhausted[/]: {_short(e.get('reason'), 200)}"]


def _model_outage(e: Event) -> list[str]:
    return [f"[yellow]model endpoint down[/] (try {e.get('attempt')}, since {str(e.get('since'))[11:19]}): "
            f"{_short(e.get('cause'), 120)}; paused, next try in {e.get('wait_s', 0):g}s"]


def _model_back(e: Event) -> list[str]:
    return [f"[green]model endpoint back[/] after {e.get('down_s', 0):.0f}s ({e.get('attempts')} failed tries)"]


def _submission(e: Event) -> list[str]:
    which = f" (candidate #{e['candidate']}, validation score {e.get('validation_score')})" if e.get("candidate") else ""
    return [f"[bold]submission[/] {_short(e.get('source'), 200)}{which}" + (" (auto)" if e.get("auto") else "")]


def _grading(e: Event) -> list[str]:
    error = f" · {_short(e['error'], 200)}" if e.get("error") else ""
    return [f"[bold]grading[/]: valid {e.get('valid')} · score {e.get('score')} · medal {e.get('medal') or '-'}{error}"]


def _reflection(e: Event) -> list[str]:
    if e.get("method") == "skipped":
        return [f"[blue]reflection[/] skipped: {_short(e.get('skipped'), 150)}"]
    if e.get("error"):
        return [f"[red]reflection[/] ({e.get('method')}) {_short(e.get('error'), 150)}"]
    return [f"[blue]reflection[/] ({e.get('method')}) appended to {_short(e.get('memory_file'), 150)}"]


def _candidate(e: Event) -> list[str]:
    score = e.get("validation_score")
    what = "valid" if e.get("valid") else f"[red]invalid[/]: {_short(e.get('error'), 120)}"
    note = f" · {_short(e.get('note'), 80)}" if e.get("note") else ""
    return [f"[bold]candidate #{e.get('n')}[/]: validation score {score if score is not None else '-'} · {what}{note}"]


def _user(e: Event) -> list[str]:
    kind = str(e.get("type"))[5:]
    text = f": {_short(e.get('text'), 150)}" if kind == "note" else ""
    return [f"[cyan]{kind} requested[/]{text}"]


def _run_finished(e: Event) -> list[str]:
    return [f"[bold]finished[/]: {_short(e.get('stop_reason'), 200)} · status {e.get('status')}"]


def _error(e: Event) -> list[str]:
    return [f"[red]error[/] in {e.get('where')}: {_short(e.get('error'), 300)}"]


FORMATTERS: dict[str, Callable[[Event], list[str]]] = {
    "run_started": _run_started, "model_turn": _model_turn, "tool_call": _tool_call,
    "context_compacted": _context_compacted, "context_overflow": _context_overflow,
    "budget_exhausted": _budget_exhausted, "model_outage": _model_outage, "model_back": _model_back,
    "submission": _submission, "grading": _grading, "reflection": _reflection, "run_finished": _run_finished,
    "error": _error, "candidate": _candidate, "user_note": _user, "user_pause": _user, "user_unpause": _user,
    "user_stop": _user,
}


def format_event(event: Event) -> list[str]:
    """The live view's lines (rich markup) for one event; none for types it does not show (tool_started)."""
    fmt = FORMATTERS.get(str(event.get("type")))
    return fmt(event) if fmt else []


def _in_flight(event: Event) -> str | None:
    """What runs after this event until the next one: a tool, the model, or nothing worth a progress line."""
    kind = event.get("type")
    if kind == "tool_started":
        return f"{event.get('name')} running: {' '.join(str(event.get('arguments') or '').split())[:60]}"
    if kind == "model_outage":
        return "model endpoint down, waiting"
    if kind in ("run_started", "tool_call", "context_compacted", "model_back", "context_overflow"):
        return "waiting for the model"
    return None


class LiveView:
    """The sink a run's events go to: prints each, and a progress line while a call is in flight."""

    def __init__(self, console: Console, interval: float = 30.0) -> None:
        self.console, self.interval = console, interval
        self._lock = threading.Lock()
        self._what: str | None = None
        self._since = 0.0
        self._wake = threading.Event()
        self._status: Any = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def __call__(self, event: Event) -> None:
        """Print one event (called by the run for every event it writes)."""
        with self._lock:
            self._hide()
            for line in format_event(event):
                self.console.print(line)
            self._what, self._since = _in_flight(event), time.monotonic()
        if self._what and self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._tick, name="live-view", daemon=True)
            self._thread.start()
        self._wake.set()

    def close(self) -> None:
        """Stop the progress line (at the end of a run, or when it is interrupted)."""
        with self._lock:
            self._what, self._closed = None, True
            self._hide()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def _hide(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _tick(self) -> None:
        last_line = time.monotonic()
        while True:
            self._wake.wait(1.0)
            self._wake.clear()
            with self._lock:
                if self._closed:
                    return
                if self._what is None:
                    continue
                elapsed = time.monotonic() - self._since
                text = f"{escape(self._what)} [dim]({elapsed:.0f}s)[/]"
                if self.console.is_terminal:
                    if elapsed < 1.0:
                        continue
                    if self._status is None:
                        self._status = self.console.status(text)
                        self._status.start()
                    else:
                        self._status.update(text)
                elif elapsed >= self.interval and time.monotonic() - last_line >= self.interval:
                    self.console.print(f"  … {text}")
                    last_line = time.monotonic()
