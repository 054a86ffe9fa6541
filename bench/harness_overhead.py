"""Harness overhead per graph step (instant policy, no-op tool), with and without the SQLite checkpointer,
and events written per second against a bare write+flush loop.

    .venv/bin/python bench/harness_overhead.py [--turns 300] [--events 3000]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from langgraph.checkpoint.sqlite import SqliteSaver  # noqa: E402

from agent.graph.budgets import Budgets  # noqa: E402
from agent.graph.build import RunContext, build_graph  # noqa: E402
from agent.graph.state import initial_state  # noqa: E402
from agent.llm.types import AssistantTurn, ToolCall  # noqa: E402
from agent.runstore import RunStore  # noqa: E402
from agent.scaffold import ToolSpec, load_scaffold  # noqa: E402
from agent.tools import TOOLS, ToolContext, ToolResult  # noqa: E402
from agent.tools.registry import Tool  # noqa: E402


class _Task:
    id = "bench"

    def grade(self, path: Path) -> dict:
        return {"valid": False, "error": "no submission", "score": None, "medal": None, "above_median": None}

    def validate(self, path: Path) -> None:
        return None


def _noop(ctx: ToolContext, args: dict) -> ToolResult:
    return ToolResult("ok")


def run_graph(root: Path, name: str, turns: int, checkpoint: bool) -> tuple[float, int]:
    """Seconds and graph steps for `turns` model turns each calling the no-op tool."""
    TOOLS["noop"] = Tool(_noop, {"type": "object", "properties": {}})
    scaffold = load_scaffold()
    scaffold.tools = {"noop": ToolSpec("noop", "does nothing", 10.0, 20000)}
    scaffold.policy.max_turns = turns + 1
    scaffold.policy.reflect_at_end = False
    store = RunStore.create(name, base=root)
    store.write_meta({"run_id": name})
    turn = AssistantTurn(content="", tool_calls=[ToolCall("n", "noop", "{}", {})])
    ctx = RunContext(store, _Task(), scaffold, lambda state: turn,
                     ToolContext(None, store.workspace, root, memory_path=root / "M.md"), Budgets(max_turns=turns))
    conn = sqlite3.connect(store.checkpoint_path, check_same_thread=False) if checkpoint else None
    if conn:  # the same settings as agent.graph.runner
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    graph = build_graph(ctx, SqliteSaver(conn) if conn else None)
    config = {"configurable": {"thread_id": name}, "recursion_limit": 10 * turns + 50}
    state = initial_state([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}])
    t0 = time.perf_counter()
    final = graph.invoke(state, config, **({"durability": "sync"} if checkpoint else {}))
    dt = time.perf_counter() - t0
    if conn:
        conn.close()
    return dt, final["step"]


def events_per_second(root: Path, n: int) -> dict[str, float]:
    """RunStore.append_event (write + fsync per event) against bare write+flush and write+flush+fsync loops."""
    store = RunStore.create("events", base=root)
    t0 = time.perf_counter()
    for i in range(n):
        store.append_event(i, i, "tool_call", name="noop", output="ok", exit_code=0)
    store_rate = n / (time.perf_counter() - t0)
    line = store.events_path.read_text().splitlines()[0] + "\n"
    with open(root / "bare.jsonl", "w") as f:
        t0 = time.perf_counter()
        for _ in range(n):
            f.write(line)
            f.flush()
        bare = n / (time.perf_counter() - t0)
    with open(root / "bare_fsync.jsonl", "w") as f:
        t0 = time.perf_counter()
        for _ in range(n):
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        bare_fsync = n / (time.perf_counter() - t0)
    return {"runstore": store_rate, "bare_flush": bare, "bare_flush_fsync": bare_fsync}


def main() -> None:
    """Print the measurements side by side."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--turns", type=int, default=300)
    ap.add_argument("--events", type=int, default=3000)
    ap.add_argument("--dir", default=None, help="where to write (default: a temp dir)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=a.dir) as d:
        root = Path(d)
        run_graph(root, "warmup", 5, True)
        plain_s, plain_steps = run_graph(root, "plain", a.turns, False)
        ckpt_s, ckpt_steps = run_graph(root, "sqlite", a.turns, True)
        ev = events_per_second(root, a.events)
    p = plain_s / plain_steps * 1e3
    c = ckpt_s / ckpt_steps * 1e3
    print(f"graph steps: {ckpt_steps} ({a.turns} turns of model → no-op tool → context, then finish/reflect)")
    print(f"{'per-step overhead, no checkpointer (baseline)':<52}{p:8.3f} ms")
    print(f"{'per-step overhead, SqliteSaver durability=sync':<52}{c:8.3f} ms   ratio {c / p:5.2f}x   target <= 2 ms")
    print(f"{'events/s, bare f.write+flush (baseline)':<52}{ev['bare_flush']:10.0f}")
    print(f"{'events/s, bare f.write+flush+fsync':<52}{ev['bare_flush_fsync']:10.0f}   ratio "
          f"{ev['bare_flush_fsync'] / ev['bare_flush']:6.3f}")
    print(f"{'events/s, RunStore.append_event (json+fsync)':<52}{ev['runstore']:10.0f}   ratio "
          f"{ev['runstore'] / ev['bare_flush']:6.3f}")


if __name__ == "__main__":
    main()
