"""The SVG screenshots of docs/TUI.md: each view of `evoforge tui` at 80x24, on records made by the real code.

    .venv/bin/python scripts/tui_screenshots.py [--out docs/img] [--only attempt,campaign,evolve]

attempt: a throw-away toy competition and runs folder (tests/toy.py), a short solving session replayed in the
local sandbox, a training job's metrics in its workspace; saves home, the attempt view (finished, with the
job's sparklines) and replay (turn 2, thinking unfolded, a search's match).
campaign: a campaign of 3 toy competitions × 2 seeds run by the scripted model over HTTP (tests/campaign_helpers.py).
evolve: a 2-round evolve run (heuristic proposer and policy) and its report with the held-out arms.
Each is saved through Textual's own export.
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


def attempt_views(out: Path) -> None:
    """tui-home.svg, tui-attempt.svg and tui-replay.svg."""
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

        asyncio.run(_shoot(EvoforgeApp(runs), out, "tui-home"))
        asyncio.run(_shoot(EvoforgeApp(runs, open_run=runs / "toy-demo"), out, "tui-attempt"))
        asyncio.run(_shoot(EvoforgeApp(runs, open_run=runs / "toy-demo", replay=True, turn=2, search="seq 1 60"),
                           out, "tui-replay", keys=("t",)))


def campaign_view(out: Path) -> None:
    """tui-campaign.svg: 3 toy competitions × 2 seeds, 2 at a time, the scripted model over HTTP."""
    from agent.campaign import CampaignSpec, run_campaign
    from agent.graph.budgets import Budgets
    from tests.campaign_helpers import campaign_env, llm_config, model_script
    from tests.fake_llm_server import FakeLLMServer

    tasks = ["toy-tabular", "toy-churn", "toy-fraud"]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(campaign_env(Path(tmp), tasks))
        os.environ.pop("OPENAI_BASE_URL", None)
        board = Path(tmp) / "competitions" / "toy-churn" / "leaderboard.csv"     # a weaker field: medals here
        board.write_text("teamName,score\n" + "".join(f"t{i},{0.57 + i / 50}\n" for i in range(10)))
        with FakeLLMServer(model_script) as server:
            run_campaign(CampaignSpec("toy-campaign", tuple(tasks), (0, 1), policy="llm", model="scripted",
                                      base_url=server.base_url, config_file=str(llm_config(Path(tmp))),
                                      sandbox="local", parallel=2, budgets=Budgets(20, None, 300, None),
                                      total_hours=1.0))
        from agent.tui.app import EvoforgeApp

        runs = Path(os.environ["EVOFORGE_RUNS"])
        asyncio.run(_shoot(EvoforgeApp(runs, campaign=runs / "toy-campaign"), out, "tui-campaign", keys=("down",)))


def evolve_view(out: Path) -> None:
    """tui-evolve.svg: a 2-round evolve run on a toy dev competition, reported on a held-out one."""
    import git

    from agent.evolve import loop, report
    from agent.evolve.config import Budget, Plan
    from tasks.mle_lite.toy import write_toy_competition
    from tests.toy import toy_env

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ.update(toy_env(root, "toy-dev"))
        os.environ.pop("OPENAI_BASE_URL", None)
        for cid in ("toy-dev", "toy-held"):
            write_toy_competition(root / "competitions", cid, leaderboard=[0.45, 0.5, 0.52, 0.55, 0.6, 0.65, 0.7])
        for k, v in (("GIT_AUTHOR_NAME", "t"), ("GIT_COMMITTER_NAME", "t"), ("GIT_AUTHOR_EMAIL", "t@example.com"),
                     ("GIT_COMMITTER_EMAIL", "t@example.com")):
            os.environ[k] = v
        os.chdir(root)
        user = git.Repo.init(root)
        user.git.add("scaffold")
        user.git.commit("-q", "--no-gpg-sign", "-m", "the user's scaffold")
        store = loop.create(Plan(name="toy-evolve", dev=["toy-dev"], heldout=["toy-held"], seeds=1, rounds=2,
                                 sandbox="local", budget=Budget(seconds=60.0), smoke_seconds=60.0, control_max_k=1))
        loop.run(store)
        report.build(store)
        from agent.tui.app import EvoforgeApp

        runs = Path(os.environ["EVOFORGE_RUNS"])
        asyncio.run(_shoot(EvoforgeApp(runs, evolve=store.root), out, "tui-evolve", keys=("down",)))
        os.chdir(ROOT)


VIEWS = {"attempt": attempt_views, "campaign": campaign_view, "evolve": evolve_view}


def main() -> None:
    """Write the screenshots of the views asked for into --out."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--only", default=",".join(VIEWS), help="comma-separated: " + ", ".join(VIEWS))
    args = ap.parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only.split(","):
        VIEWS[name.strip()](args.out)


if __name__ == "__main__":
    main()
