"""The TUI on a large record and on a live one: time to the first screen of a 10,000-event run (opened at its
end, and in replay at turn 0), a jump and steps in replay, and the live view's lag behind the record.

    .venv/bin/python bench/tui_speed.py [--events 10000] [--live 200]

Baselines measured in the same run: opening a 100-event run the same way (so the ratio shows what the record's
size costs), a bare Textual app showing one line (Textual's own start), and plain json.loads of every line. The live lag is the time from an event's
append (by another process, fsync'd like a run's) to its block being mounted, against the view's poll period.
Headless (Textual's run_test) in an 80x24 terminal. Medians of --repeat openings; `cpu` is the process's CPU
time over the same span (what the wall time would be on an idle core, less waiting on the disk).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.runstore import RunStore  # noqa: E402
from agent.tui import attempt  # noqa: E402
from agent.tui.app import EvoforgeApp  # noqa: E402

OUTPUT = "\n".join(f"row {i}: loss 0.{i:04d} auc 0.{9000 - i:04d}" for i in range(60))
WRITER = """
import sys, time
from pathlib import Path
from agent.runstore import RunStore
store, n, gap = RunStore(Path(sys.argv[1])), int(sys.argv[2]), float(sys.argv[3])
seq = len(store.read_events())
for i in range(n):
    store.append_event(seq + i, seq + i, "model_turn", turn=10_000 + i, content=f"live {i}", tool_calls=[],
                       written=time.time())
    time.sleep(gap)
"""


def write_record(runs: Path, run_id: str, n_events: int, status: str = "finished") -> Path:
    """A run folder whose events.jsonl holds `n_events` events: turns of model_turn, tool_started, tool_call."""
    store = RunStore.create(run_id, base=runs)
    store.write_meta({"run_id": run_id, "task": "toy-binary", "policy": "replay", "status": status,
                      "turns": n_events // 3, "budgets": {"max_turns": n_events}})
    lines = [{"seq": 0, "step": 0, "ts": "2026-01-01T00:00:00+00:00", "type": "run_started", "task": "toy-binary"}]
    turn = 0
    while len(lines) < n_events:
        turn += 1
        cid = f"call-{turn}"
        call = {"id": cid, "name": "bash", "arguments": json.dumps({"command": f"python train.py --fold {turn}"})}
        for kind, extra in (("model_turn", {"turn": turn, "content": f"fold {turn}", "thinking": "plan " * 80,
                                            "tool_calls": [call]}),
                            ("tool_started", {"call_id": cid, "name": "bash", "arguments": call["arguments"]}),
                            ("tool_call", {"call_id": cid, "name": "bash", "arguments": call["arguments"],
                                           "output": OUTPUT, "ok": True, "seconds": 1.5})):
            lines.append({"seq": len(lines), "step": turn, "ts": "2026-01-01T00:00:01+00:00", "type": kind, **extra})
    store.events_path.write_text("".join(json.dumps(e) + "\n" for e in lines[:n_events]))
    return store.root


async def _open(runs: Path, root: Path, replay: bool, moves: bool) -> dict[str, float]:
    """Seconds to the first screen; with `moves`, also a jump to the middle turn and a step back and forward."""
    t0, c0 = time.perf_counter(), time.process_time()
    app = EvoforgeApp(runs, open_run=root, replay=replay)
    async with app.run_test(headless=True, size=(80, 24)) as pilot:
        await pilot.pause()
        out = {"first_screen": time.perf_counter() - t0, "cpu": time.process_time() - c0}
        if moves:
            screen = app.screen
            mid = screen.timeline.n_turns // 2
            t = time.perf_counter()
            screen.go_to(mid)
            await pilot.pause()
            out["jump"] = time.perf_counter() - t
            assert screen.cursor == mid, (screen.cursor, mid)
            t = time.perf_counter()
            screen.action_step(-1)
            await pilot.pause()
            out["step_back"] = time.perf_counter() - t
            t = time.perf_counter()
            screen.action_step(1)
            await pilot.pause()
            out["step_forward"] = time.perf_counter() - t
    return out


async def _bare() -> float:
    """Seconds to the first screen of a bare Textual app showing one line (Textual's own start)."""
    from textual.app import App
    from textual.widgets import Static

    class Bare(App):
        def compose(self):
            yield Static("hello")

    t0 = time.perf_counter()
    async with Bare().run_test(headless=True, size=(80, 24)) as pilot:
        await pilot.pause()
        return time.perf_counter() - t0


async def _live(runs: Path, root: Path, n: int, gap: float) -> list[float]:
    """Lag (s) of each of `n` events appended by another process behind their blocks in the followed view."""
    app = EvoforgeApp(runs, open_run=root)
    async with app.run_test(headless=True, size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        start = len(screen.timeline.events)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(n), str(gap)], cwd=ROOT,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
        while writer.poll() is None or len(screen.timeline.events) < start + n:
            await pilot.pause(0.01)
            if writer.poll() not in (None, 0):
                raise SystemExit(f"the writer failed with status {writer.returncode}")
        await pilot.pause(0.2)
        return [screen.shown_at[i] - screen.timeline.events[i]["written"] for i in range(start, start + n)]


def main() -> None:
    """Print the measurements and their ratios to the baselines."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--live", type=int, default=200, help="events appended by the writer process")
    ap.add_argument("--gap", type=float, default=0.02, help="seconds between the writer's events")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        os.environ["EVOFORGE_RUNS"] = str(runs)
        big, small = write_record(runs, "big", args.events), write_record(runs, "small", 100)
        t = time.perf_counter()
        for line in (big / "events.jsonl").read_text().splitlines():
            json.loads(line)
        parse = time.perf_counter() - t
        print(f"record: {args.events} events, {(big / 'events.jsonl').stat().st_size / 1e6:.1f} MB; "
              f"json.loads of every line: {parse * 1000:.0f} ms")
        bare = statistics.median(asyncio.run(_bare()) for _ in range(args.repeat))
        print(f"bare Textual app (one line), first screen: {bare * 1000:.0f} ms")
        rows = []
        for label, replay in (("open at the end (finished run)", False), ("open in replay at turn 0", True)):
            for name, root in (("10k", big), ("100", small)):
                runs_ = [asyncio.run(_open(runs, root, replay, moves=replay and name == "10k"))
                         for _ in range(args.repeat)]
                rows.append((label, name, {k: statistics.median(r[k] for r in runs_) for k in runs_[0]}))
        for label, name, r in rows:
            print(f"{label:32s} {name:>4s} events: first screen {r['first_screen'] * 1000:6.0f} ms "
                  f"(cpu {r['cpu'] * 1000:.0f} ms)" +
                  "".join(f", {k} {v * 1000:.0f} ms" for k, v in r.items() if k not in ("first_screen", "cpu")))
        for label in dict.fromkeys(r[0] for r in rows):
            a, b = (r[2]["first_screen"] for r in rows if r[0] == label)
            print(f"{label}: 10k / 100 events = {a / b:.2f}x; 10k / bare app = {a / bare:.2f}x")
        live = write_record(runs, "live", 30, status="running")
        lags = sorted(asyncio.run(_live(runs, live, args.live, args.gap)))
        p95 = lags[int(0.95 * (len(lags) - 1))]
        print(f"live lag over {len(lags)} events (one each {args.gap * 1000:.0f} ms): median "
              f"{statistics.median(lags) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms; "
              f"poll period {attempt.POLL_S * 1000:.0f} ms (median / poll = {statistics.median(lags) / attempt.POLL_S:.2f}x)")


if __name__ == "__main__":
    main()
