"""The attempt view: one run's conversation, followed live from its record or replayed turn by turn.

The record is read incrementally (agent.tui.timeline.EventTail, polled every POLL_S); the conversation
holds a window of at most WINDOW turns ending at the cursor turn, changed in place as the cursor moves
or events arrive (whole blocks mounted or removed, never the screen redrawn). Following (live), the
cursor stays on the last turn; stepping back, jumping or searching switches to replay, and `end`
follows again.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Static

from agent.runstore import RunStore, effective_status
from agent.tui import actions
from agent.tui.jobs import JobsPanel
from agent.tui.keys import HELP, KeyLine
from agent.tui.render import FOLDABLE, bar, event_text, human
from agent.tui.timeline import EventTail, Timeline
from common.errors import UserError

POLL_S = 0.05          # how often the record is looked at (a stat; a read only when it grew)
WINDOW = 10            # turns shown at once (more are a step, a jump or `home` away)
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)   # replay speeds, turns per second


class EventBlock(Static, can_focus=True):
    """One event of the conversation; enter or a click folds and unfolds it."""

    BINDINGS = [Binding("enter", "toggle", "Fold", show=False)]

    def __init__(self, event: dict[str, Any], index: int) -> None:
        self.event, self.index, self.expanded = event, index, False
        super().__init__(event_text(event), classes=f"ev ev-{event.get('type')}")

    @property
    def text(self) -> str:
        """What the block shows, as plain text."""
        return event_text(self.event, self.expanded).plain

    def set_event(self, event: dict[str, Any], index: int) -> None:
        """Show another event in this block (a tool's start replaced by its result)."""
        self.event, self.index = event, index
        self.set_class(False, "ev-tool_started")
        self.add_class(f"ev-{event.get('type')}")
        self.update(event_text(event, self.expanded))

    def action_toggle(self) -> None:
        """Fold or unfold."""
        if self.event.get("type") in FOLDABLE:
            self.expanded = not self.expanded
            self.update(event_text(self.event, self.expanded))

    def on_click(self) -> None:
        self.action_toggle()


class Conversation(VerticalScroll, inherit_bindings=False):
    """The scrolled list of event blocks; its keys (arrows, home, end) are the screen's, not scrolling's."""


class AttemptScreen(Screen):
    """A run's conversation, budgets and training jobs, live or in replay; control of a live run."""

    AUTO_FOCUS = None          # nothing focused: the keys are the screen's (up/down then focus an event)

    BINDINGS = [
        HELP,
        Binding("escape,q", "back", "Back"),
        Binding("left,comma", "step(-1)", "Turn -1"),
        Binding("right,full_stop", "step(1)", "Turn +1"),
        Binding("space", "play", "Play"),
        Binding("plus,equals_sign", "speed(1)", "Faster", show=False),
        Binding("minus", "speed(-1)", "Slower", show=False),
        Binding("home", "jump(0)", "Start", show=False),
        Binding("end", "follow", "Live/end"),
        Binding("up", "focus_block(-1)", "Up", show=False),
        Binding("down", "focus_block(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("g", "prompt('turn')", "Go to turn"),
        Binding("slash", "prompt('search')", "Search"),
        Binding("n", "search_next(False)", "Next", show=False),
        Binding("N", "search_next(True)", "Previous", show=False),
        Binding("t", "toggle_thinking", "Thinking"),
        Binding("m", "prompt('note')", "Note"),
        Binding("p", "pause", "Pause/go"),
        Binding("x", "stop", "Stop"),
        Binding("f", "prompt('fork')", "Fork"),
        Binding("P", "plot", "Plot jobs", show=False),
    ]

    def __init__(self, root: Path, follow: bool = True, turn: int | None = None, speed: float = 1.0,
                 search: str | None = None) -> None:
        super().__init__()
        self.root = Path(root)
        self.store = RunStore(self.root)
        self.tail = EventTail(self.store.events_path)
        self.timeline = Timeline()
        self.follow = follow and turn is None
        self.cursor = 0
        self.first = 0                       # first turn in the window
        self.blocks: dict[int, list[EventBlock]] = {}   # turn -> its blocks, in order
        self.by_call: dict[str, EventBlock] = {}        # call_id -> the block of its tool_started
        self.meta: dict[str, Any] = {}
        self._meta_mtime = 0.0
        self.speed = speed
        self.playing = False
        self._play_timer: Any = None
        self._start_turn = turn
        self.query_text = search or ""
        self.match: int | None = None
        self.mode = ""                       # what the prompt input is asking for
        self.shown_at: dict[int, float] = {}    # seq -> when its block was mounted (the live-lag benchmark)
        self._stop_armed = 0.0
        self.launched: actions.Launch | None = None

    # -- layout --------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="title")
        with Conversation(id="conversation", can_focus=False):
            yield Static(id="more", classes="more")
        yield JobsPanel(self.store.workspace, id="jobs")
        yield Static(id="budgets")
        yield Input(id="prompt")
        yield KeyLine(id="keys")

    def on_mount(self) -> None:
        self._read_meta()
        self.timeline.add(self.tail.read_new())
        n = self.timeline.n_turns
        self.cursor = n if self.follow else max(0, min(self._start_turn or 0, n))
        self._render_window()
        if self.query_text:
            self._search(False)
        self._update_status()
        self.set_interval(POLL_S, self.poll)
        self.call_after_refresh(self.set_focus, None)

    # -- following the record ------------------------------------------------------------------
    def poll(self) -> None:
        """Take in what the run wrote since the last look."""
        meta_changed = self._read_meta()
        new = self.tail.read_new()
        if new:
            start = len(self.timeline.events)
            rewound = self.timeline.add(new)
            if rewound is not None:
                if self.follow or self.cursor > self.timeline.n_turns:
                    self.cursor = self.timeline.n_turns
                self._render_window()
            elif self.follow:
                self._show_new(start)
        if new or meta_changed:
            self._update_status()
        if self.launched is not None:
            self._check_launch()

    def _read_meta(self) -> bool:
        try:
            mtime = self.store.meta_path.stat().st_mtime
        except OSError:
            return False
        if mtime == self._meta_mtime:
            return False
        try:
            self.meta = self.store.read_meta()
        except UserError:
            return False
        self._meta_mtime = mtime
        return True

    def _show_new(self, start: int) -> None:
        """Mount the blocks of events from index `start` on (following: the cursor moves to the last turn)."""
        conv = self.query_one("#conversation", Conversation)
        at_end = conv.scroll_offset.y >= conv.max_scroll_y - 1
        new: list[EventBlock] = []
        for i in range(start, len(self.timeline.events)):
            ev = self.timeline.events[i]
            turn = self.timeline.turn_of(i)
            if turn > self.cursor:
                self.cursor = turn
            block = self._block_for(ev, i, turn)
            if block is not None:
                new.append(block)
        if new:
            conv.mount_all(new)
        self._trim()
        now = time.time()
        for i in range(start, len(self.timeline.events)):
            self.shown_at[i] = now
        if at_end:
            conv.scroll_end(animate=False, immediate=True)

    def _block_for(self, ev: dict, index: int, turn: int) -> EventBlock | None:
        """A new block for the event, or None when it updates one already shown (a tool's result)."""
        cid = ev.get("call_id")
        if ev.get("type") == "tool_call" and cid in self.by_call:
            self.by_call.pop(cid).set_event(ev, index)
            return None
        block = EventBlock(ev, index)
        if ev.get("type") == "tool_started" and cid:
            self.by_call[cid] = block
        self.blocks.setdefault(turn, []).append(block)
        return block

    def _trim(self) -> None:
        """Drop the oldest turns beyond the window."""
        while self.cursor - self.first + 1 > WINDOW:
            for block in self.blocks.pop(self.first, []):
                block.remove()
            self.first += 1
        self._update_more()

    def _render_window(self) -> None:
        """Show turns [cursor-WINDOW+1, cursor] afresh (a jump, or a record rewritten by a resume)."""
        conv = self.query_one("#conversation", Conversation)
        self.blocks, self.by_call = {}, {}
        self.first = max(0, self.cursor - WINDOW + 1)
        widgets: list[EventBlock] = []
        for turn in range(self.first, self.cursor + 1):
            for i in self.timeline.turn_range(turn):
                block = self._block_for(self.timeline.events[i], i, turn)
                if block is not None:
                    widgets.append(block)
        with self.app.batch_update():
            conv.query(EventBlock).remove()
            conv.mount_all(widgets)
        self._update_more()
        now = time.time()
        for i in range(len(self.timeline.events)):
            self.shown_at.setdefault(i, now)
        self.call_after_refresh(conv.scroll_end, animate=False)

    def _update_more(self) -> None:
        more = self.query_one("#more", Static)
        more.update(f"… {self.first} earlier turns (home: the start, g: a turn)" if self.first else "")
        more.display = bool(self.first)

    # -- moving through the turns --------------------------------------------------------------
    def go_to(self, turn: int) -> None:
        """Show the conversation up to the end of `turn` (replay mode)."""
        turn = max(0, min(turn, self.timeline.n_turns))
        conv = self.query_one("#conversation", Conversation)
        if turn == self.cursor + 1 and turn - self.first + 1 <= WINDOW + 1:       # one step forward: append
            self.cursor = turn
            new = [b for i in self.timeline.turn_range(turn)
                   if (b := self._block_for(self.timeline.events[i], i, turn)) is not None]
            conv.mount_all(new)
            self._trim()
            conv.scroll_end(animate=False)
        elif turn == self.cursor - 1 and turn >= self.first:                      # one step back: remove
            for block in self.blocks.pop(self.cursor, []):
                block.remove()
            self.cursor = turn
            self.by_call = {k: b for k, b in self.by_call.items() if b.index < self.timeline.turn_range(turn).stop}
            conv.scroll_end(animate=False)
        elif turn != self.cursor:
            self.cursor = turn
            self._render_window()
        self._update_status()

    def action_step(self, delta: int) -> None:
        """One turn back or forward."""
        self.follow = False
        self.go_to(self.cursor + delta)

    def action_jump(self, turn: int) -> None:
        """Go to a turn (0: the start)."""
        self.follow = False
        self.go_to(turn)

    def action_follow(self) -> None:
        """Go to the last turn and follow what the run writes."""
        self._stop_playing()
        self.follow = True
        self.go_to(self.timeline.n_turns)

    def action_play(self) -> None:
        """Play the turns at the chosen speed, or pause the playing."""
        if self.playing:
            self._stop_playing()
        else:
            self.follow = False
            if self.cursor >= self.timeline.n_turns:
                self.go_to(0)
            self.playing = True
            self._play_timer = self.set_interval(1.0 / self.speed, self._play_step)
        self._update_status()

    def _play_step(self) -> None:
        if self.cursor >= self.timeline.n_turns:
            self._stop_playing()
            self._update_status()
            return
        self.go_to(self.cursor + 1)

    def _stop_playing(self) -> None:
        self.playing = False
        if self._play_timer is not None:
            self._play_timer.stop()
            self._play_timer = None

    def action_speed(self, direction: int) -> None:
        """Replay faster or slower."""
        i = min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - self.speed))
        self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, i + direction))]
        if self.playing:
            self._stop_playing()
            self.action_play()
        self._update_status()

    def action_focus_block(self, delta: int) -> None:
        """Move to the previous or next event (enter then folds or unfolds it)."""
        blocks = list(self.query(EventBlock))
        if not blocks:
            return
        at = blocks.index(self.focused) if self.focused in blocks else (len(blocks) if delta < 0 else -1)
        target = blocks[max(0, min(len(blocks) - 1, at + delta))]
        target.focus()
        target.scroll_visible(animate=False)

    def action_page(self, delta: int) -> None:
        """Scroll the conversation a page up or down."""
        conv = self.query_one("#conversation", Conversation)
        (conv.scroll_page_down if delta > 0 else conv.scroll_page_up)(animate=False)

    def action_toggle_thinking(self) -> None:
        """Unfold (or fold) every model turn shown."""
        turns = [b for bs in self.blocks.values() for b in bs if b.event.get("type") == "model_turn"]
        unfold = not all(b.expanded for b in turns)
        for b in turns:
            if b.expanded != unfold:
                b.action_toggle()

    # -- search, jump, note, fork: one prompt line -----------------------------------------------
    PROMPTS = {"search": "search the events (enter; then n / N)", "turn": "go to turn number",
               "note": "note to the agent, read at its next turn", "fork": "fork from turn {turn}: policy "
               "(enter: this run's; or heuristic, llm, replay)"}

    def action_prompt(self, mode: str) -> None:
        """Ask for a search text, a turn, a note or a fork's policy on the prompt line."""
        self.mode = mode
        box = self.query_one("#prompt", Input)
        box.placeholder = self.PROMPTS[mode].format(turn=max(1, self.cursor))
        box.value = self.query_text if mode == "search" else ""
        box.display = True
        box.focus()

    @on(Input.Submitted, "#prompt")
    def prompt_submitted(self, message: Input.Submitted) -> None:
        """Act on what was typed in the prompt line."""
        value, mode = message.value.strip(), self.mode
        self._close_prompt()
        try:
            if mode == "search":
                self.query_text = value
                self._search(False)
            elif mode == "turn":
                if not value.isdigit():
                    raise UserError(f"not a turn number: {value!r}")
                self.action_jump(int(value))
            elif mode == "note":
                actions.send_note(self.root, value)
                self.notify("note sent: the agent reads it at its next turn")
            elif mode == "fork":
                self.fork(max(1, self.cursor), value or None)
        except UserError as exc:
            self.notify(str(exc), severity="error")

    def key_escape(self) -> None:
        if self.query_one("#prompt").display:
            self._close_prompt()
        else:
            self.action_back()

    def _close_prompt(self) -> None:
        box = self.query_one("#prompt", Input)
        box.display = False
        self.mode = ""
        self.set_focus(None)

    def _search(self, backwards: bool) -> None:
        after = self.match if self.match is not None else self.timeline.turn_range(self.cursor).stop - 1
        found = self.timeline.search(self.query_text, after, backwards)
        if found is None:
            self.notify(f"not found: {self.query_text}", severity="warning")
            return
        self.match = found
        self.follow = False
        self.go_to(self.timeline.turn_of(found))
        for block in self.query(EventBlock):
            block.set_class(block.index == found, "match")
            if block.index == found:
                block.scroll_visible(animate=False)
                block.focus()
        self._update_status()

    def action_search_next(self, backwards: bool) -> None:
        """The next (or previous) event matching the search."""
        if self.query_text:
            self._search(backwards)

    def action_plot(self) -> None:
        """PNG curves (reward, KL, entropy) of each training job, into <run>/plots/ (agent.plots)."""
        from agent import plots

        jobs = [j for j in self.query_one("#jobs", JobsPanel).jobs.values() if j.steps]
        if not jobs or not plots.available():
            self.notify("no training job with steps yet" if not jobs else "matplotlib is not installed: "
                        "pip install 'evoforge[plots]'", severity="warning")
            return
        written = [plots.training_curves(j.steps, self.root / "plots" / f"{j.name.replace('/', '_')}.png",
                                         title=f"{self.root.name} · {j.name}") for j in jobs]
        self.notify("wrote " + ", ".join(str(p) for p in written))

    # -- control of a live run -----------------------------------------------------------------
    def _live(self) -> bool:
        return effective_status(self.meta) in ("running", "paused")

    def action_pause(self) -> None:
        """Pause a running run, or let a paused one go on."""
        if not self._live():
            self.notify("the run is not running", severity="warning")
        elif self.meta.get("status") == "paused":
            actions.unpause(self.root)
            self.notify("asked the run to go on")
        else:
            actions.pause(self.root)
            self.notify("asked the run to pause")

    def action_stop(self) -> None:
        """Stop the run (press x twice): what it submitted is graded."""
        if not self._live():
            self.notify("the run is not running", severity="warning")
        elif time.monotonic() - self._stop_armed > 3.0:
            self._stop_armed = time.monotonic()
            self.notify("press x again to stop the run")
        else:
            actions.stop(self.root)
            self._stop_armed = 0.0
            self.notify("asked the run to stop")

    def fork(self, turn: int, policy: str | None) -> None:
        """Start a new run from the state before `turn`, and follow it once its record exists."""
        if policy not in (None, "heuristic", "llm", "replay"):
            raise UserError(f"unknown policy {policy!r}: use heuristic, llm or replay (or nothing)")
        self.launched = actions.fork(self.root.name, turn, policy)
        self.notify(f"forking {self.root.name} at turn {turn} as {self.launched.run_id}")

    def _check_launch(self) -> None:
        state = self.launched.state()
        if state == "started":
            run_id, self.launched = self.launched.run_id, None
            self.app.push_screen(AttemptScreen(self.root.parent / run_id))
        elif state.startswith("failed"):
            self.launched = None
            self.notify(state, severity="error", timeout=10)

    def action_back(self) -> None:
        """Back to the list (or quit when this was the first screen)."""
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()

    # -- the title and budget lines ------------------------------------------------------------
    def _update_status(self) -> None:
        m, n = self.meta, self.timeline.n_turns
        status = effective_status(m) if m else "?"
        if self.follow:
            mode = "LIVE" if status in ("running", "paused") else "END"
        else:
            mode = ("PLAY" if self.playing else "REPLAY") + f" ×{self.speed:g}"
        score = m.get("score")
        graded = f" · score {score:.4g}" if isinstance(score, int | float) else ""
        medal = f" · {m['medal']}" if m.get("medal") else ""
        origin = m.get("forked_from") or {}
        fork = f" · fork of {origin.get('run_id')}@{origin.get('turn')}" if origin else ""
        self.query_one("#title", Static).update(Text.assemble(
            (f"{self.root.name}", "bold"), f" · {m.get('task', '?')} · {status}{graded}{medal}{fork}\n",
            (f"{mode}", "reverse"), f" turn {self.cursor}/{n}",
            f" · search “{self.query_text}”" if self.query_text else ""))
        b = m.get("budgets") or {}
        totals = m.get("totals") or {}
        elapsed = totals.get("elapsed_s") or self._elapsed()
        self.query_one("#budgets", Static).update(
            f"turns {bar(m.get('turns'), b.get('max_turns'), 6)} {m.get('turns', 0)}/{human(b.get('max_turns'))}  "
            f"time {bar(elapsed, b.get('seconds'), 6)} {elapsed:.0f}s  "
            f"tokens {bar(m.get('tokens'), b.get('tokens'), 6)} {human(m.get('tokens'))}  "
            f"$ {bar(m.get('cost_usd'), b.get('usd'), 6)} {m.get('cost_usd') or 0:.2f}")

    def _elapsed(self) -> float:
        from datetime import datetime

        evs = self.timeline.events
        if not evs:
            return 0.0
        try:
            first = datetime.fromisoformat(str(evs[0].get("ts")))
            last = datetime.fromisoformat(str(evs[-1].get("ts")))
        except ValueError:
            return 0.0
        return max(0.0, (last - first).total_seconds())
