"""The SVG screenshots of docs/TUI.md: each view of `evoforge tui` at 80x24, on a toy run made by the real graph.

    .venv/bin/python scripts/tui_screenshots.py [--out docs/img]

Makes a throw-away toy competition and runs folder (tests/toy.py), replays a short solving session in the
local sandbox, adds a training job's metrics to its workspace, and saves home, the attempt view (finished,
with the job's sparklines) and replay (turn 2, thinking unfolded, a search's match) through Textual's own export.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def _shoot(app, out: Path, name: str, keys: tuple[str, ...] = ()) -> None:
    async with app.run_test(headless=True, size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        if keys:
            await pilot.press(*keys)
            await pilot.pause(0.3)
        print(app.save_screenshot(filename=f"{name}.svg", path=str(out)))


def main() -> None:
    """Write tui-home.svg, tui-attempt.svg and tui-replay.svg into --out."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from tests.toy import record_turns, solved_run, toy_env

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(toy_env(Path(tmp)))
        os.environ.pop("OPENAI_BASE_URL", None)
        runs = Path(os.environ["EVOFORGE_RUNS"])
        solved_run(runs, "toy-demo")
        record_turns(runs, "spooky-notes", [("bash", {"command": "ls"})], task="spooky-author-identification")

        from trainer.metrics import RunLog

        with open(os.devnull, "w") as quiet:
            log = RunLog(runs / "toy-demo" / "workspace" / "jobs" / "rl", enabled=True, tensorboard=False,
                         echo=quiet)
            for step in range(24):
                log.write({"step": step, "phase": "rl", "loss": 1.2 - step / 30, "reward_mean": (step / 24) ** 0.5,
                           "kl_rollout": 0.002 * step, "entropy": 2.5 - step / 20})
            log.close()

        from agent.tui.app import EvoforgeApp

        asyncio.run(_shoot(EvoforgeApp(runs), args.out, "tui-home"))
        asyncio.run(_shoot(EvoforgeApp(runs, open_run=runs / "toy-demo"), args.out, "tui-attempt"))
        asyncio.run(_shoot(EvoforgeApp(runs, open_run=runs / "toy-demo", replay=True, turn=2, search="seq 1 60"),
                           args.out, "tui-replay", keys=("t",)))


if __name__ == "__main__":
    main()
