"""The TUI driven headless by Textual's Pilot (80x24), on records made by the real graph on the toy competition:
a finished run, a live run written by another process, replay forward and back, search, folding, a fork
from a turn, the start form, training-job curves, a run named by the path of its folder."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.runstore import RunStore
from agent.tui.app import EvoforgeApp
from agent.tui.attempt import AttemptScreen, EventBlock
from agent.tui.home import HomeScreen
from tests.toy import SOLVE, record_turns, solved_run, toy_env

EVOFORGE = [str(Path(sys.executable).parent / "evoforge")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A toy environment with one finished run, `done` (6 turns, SOLVE_CALLS replayed)."""
    root = tmp_path_factory.mktemp("tui")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in toy_env(root).items():
            mp.setenv(k, v)
        mp.delenv("OPENAI_BASE_URL", raising=False)
        solved_run(Path(os.environ["EVOFORGE_RUNS"]), "done")
        yield Path(os.environ["EVOFORGE_RUNS"])


def drive(app: EvoforgeApp, body) -> None:
    """Run `body(pilot)` against the app, headless, in an 80x24 terminal."""
    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await body(pilot)
    asyncio.run(main())


async def until(pilot, cond, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, "timed out"
        await pilot.pause(0.05)


def shown(screen: AttemptScreen) -> list[dict]:
    return [b.event for b in screen.query(EventBlock)]


def test_a_finished_run_opens_at_its_end_with_every_event_once(runs):
    events = [json.loads(line) for line in (runs / "done" / "events.jsonl").read_text().splitlines()]
    score = json.loads((runs / "done" / "meta.json").read_text())["score"]

    async def body(pilot):
        screen = pilot.app.screen
        assert isinstance(screen, AttemptScreen)
        assert screen.cursor == screen.timeline.n_turns == 6 and not screen._live()
        # every event but the tool starts (each replaced by its result), in order
        assert [e["seq"] for e in shown(screen)] == [e["seq"] for e in events if e["type"] != "tool_started"]
        title = str(screen.query_one("#title").render())
        assert "finished" in title and "END turn 6/6" in title and f"score {score:.4g}" in title
        assert "turns" in str(screen.query_one("#budgets").render())

    drive(EvoforgeApp(runs, open_run=runs / "done"), body)


def test_replay_steps_forward_and_back_jumps_and_searches(runs):
    async def body(pilot):
        screen = pilot.app.screen
        assert screen.cursor == 0 and [e["type"] for e in shown(screen)] == ["run_started"]
        await pilot.press("right", "right")
        assert screen.cursor == 2
        turns = [e["turn"] for e in shown(screen) if e["type"] == "model_turn"]
        assert turns == [1, 2] and shown(screen)[-1]["type"] == "tool_call"
        await pilot.press("left")
        assert screen.cursor == 1 and [e["turn"] for e in shown(screen) if e["type"] == "model_turn"] == [1]
        await pilot.press("g", "5", "enter")
        assert screen.cursor == 5 and "REPLAY" in str(screen.query_one("#title").render())
        await pilot.press("home")
        assert screen.cursor == 0
        await pilot.press("slash", *"validate_submission", "enter")
        hit = screen.timeline.events[screen.match]
        assert "validate_submission" in json.dumps(hit) and screen.cursor == screen.timeline.turn_of(screen.match) == 5
        assert [b.event["seq"] for b in screen.query(EventBlock) if b.has_class("match")] == [hit["seq"]]
        await pilot.press("n")          # the next match: the call's result, same turn
        assert screen.timeline.events[screen.match]["seq"] > hit["seq"]
        await pilot.press("end")
        assert screen.follow and screen.cursor == 6

    drive(EvoforgeApp(runs, open_run=runs / "done", replay=True), body)


def test_replay_plays_at_a_speed(runs):
    async def body(pilot):
        screen = pilot.app.screen
        await pilot.press("space")
        assert screen.playing and "PLAY ×4" in str(screen.query_one("#title").render())
        await until(pilot, lambda: not screen.playing, timeout=10)
        assert screen.cursor == 6

    drive(EvoforgeApp(runs, open_run=runs / "done", replay=True, speed=4), body)


def test_thinking_and_long_outputs_are_folded_until_unfolded(runs):
    async def body(pilot):
        screen = pilot.app.screen
        await pilot.press("right", "right")
        turn = next(b for b in screen.query(EventBlock) if b.event.get("turn") == 2)
        assert "▸ thinking" in turn.text and "▾" not in turn.text
        result = next(b for b in screen.query(EventBlock) if b.event["type"] == "tool_call" and b.event["name"] == "bash")
        assert "more lines" in result.text
        full = result.event["output"].rstrip().splitlines()
        result.focus()
        await pilot.press("enter")
        assert "more lines" not in result.text and all(line[:50] in result.text for line in full)
        await pilot.press("t")        # every thinking unfolded
        assert "▾ thinking" in turn.text and turn.event["thinking"] in turn.text

    drive(EvoforgeApp(runs, open_run=runs / "done", replay=True), body)


def test_home_lists_filters_sorts_and_opens_runs(runs, tmp_path):
    record_turns(runs, "other-src", [("bash", {"command": "true"})], task="spooky-author-identification")
    meta = json.loads((runs / "done" / "meta.json").read_text())

    async def body(pilot):
        home = pilot.app.screen
        assert isinstance(home, HomeScreen)
        assert {"done", "other-src"} <= set(home.order)
        assert home.rows["done"]["status"] == "finished" and home.rows["done"]["score"] == f"{meta['score']:.4g}"
        spent = meta["turns"] / meta["budgets"]["max_turns"]     # the only budget with a limit: turns
        assert home.rows["done"]["budget"] == f"{'█' * round(spent * 6):░<6} {spent:4.0%} turns"
        keys = " ".join(str(home.query_one("#keys").render()).split())
        assert keys.startswith("? Keys") and "/ Filter" in keys and "n New run" in keys
        await pilot.press("P")                     # the scores of the runs listed, through agent.plots
        png = runs / "plots" / "scores.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
        await pilot.press("slash", *"spooky")
        assert home.order == ["other-src"]
        await pilot.press("ctrl+a", "ctrl+k", "enter")         # clear the filter
        assert {"done", "other-src"} <= set(home.order)
        await pilot.press("s")
        assert home.sort == "status"
        home.query_one("#runs").move_cursor(row=home.order.index("done"))
        await pilot.press("enter")
        assert isinstance(pilot.app.screen, AttemptScreen) and pilot.app.screen.root.name == "done"
        await pilot.press("escape")
        assert pilot.app.screen is home

    drive(EvoforgeApp(runs), body)
    (runs / "other-src" / "meta.json").unlink()


SLOW = [("write_file", {"path": "solve.py", "content": SOLVE}),
        ("bash", {"command": "sleep 1; echo slow-a"}),
        ("run_python", {"path": "solve.py"}),
        ("bash", {"command": "sleep 1; echo slow-b"}),
        ("validate_submission", {}),
        ("submit", {})]


def test_a_live_run_of_another_process_is_followed_and_controlled(runs):
    record_turns(runs, "slow-src", SLOW)
    proc = subprocess.Popen(EVOFORGE + ["run", "toy-binary", "--replay-run", "slow-src", "--sandbox", "local",
                                        "--run-id", "live", "-q"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen: dict[str, bool] = {}

    async def body(pilot):
        home = pilot.app.screen
        await until(pilot, lambda: "live" in home.rows)
        home.query_one("#runs").move_cursor(row=home.order.index("live"))
        await pilot.press("enter")
        screen = pilot.app.screen
        assert isinstance(screen, AttemptScreen) and screen.follow

        def watch():
            if screen._live():
                seen["live"] = True
                seen["running_block"] |= any(b.event["type"] == "tool_started" for b in screen.query(EventBlock))
            return screen.timeline.last("run_finished") is not None

        seen["running_block"] = False
        await until(pilot, lambda: watch() or seen.get("live", False))     # watch() records each look
        await pilot.press("m", *"try a forest", "enter")
        await pilot.press("p")
        await pilot.press("x", "x")
        await until(pilot, watch, timeout=120)
        await pilot.pause(0.2)
        events = screen.timeline.events
        assert [e["seq"] for e in shown(screen)] == [e["seq"] for e in events if e["type"] != "tool_started"]
        assert screen.cursor == screen.timeline.n_turns <= len(SLOW)
        assert "finished" in str(screen.query_one("#title").render())

    try:
        drive(EvoforgeApp(runs), body)
    finally:
        proc.wait(timeout=120)
    assert seen["live"] and seen["running_block"]
    requests = [json.loads(p.read_text()) for p in sorted((runs / "live" / "control").glob("*.json"))]
    assert [(r["action"], r["text"]) for r in requests] == [("note", "try a forest"), ("pause", ""), ("stop", "")]
    store = RunStore(runs / "live")          # the run applied them: the note reached the model, the stop ended it
    notes = [e for e in store.read_events() if e["type"] == "user_note"]
    assert [e["text"] for e in notes] == ["try a forest"] and store.read_meta()["stop_kind"] == "user_stop"


def test_a_fork_from_a_turn_starts_a_new_run_that_names_its_origin(runs):
    async def body(pilot):
        screen = pilot.app.screen
        await pilot.press("right", "right", "right")
        await pilot.press("f", *"replay", "enter")   # its own turns again, from turn 3
        await until(pilot, lambda: pilot.app.screen is not screen, timeout=60)
        fork = pilot.app.screen
        assert isinstance(fork, AttemptScreen) and fork.root.name != "done"
        await until(pilot, lambda: fork.timeline.last("run_finished") is not None, timeout=90)
        assert "fork of done@3" in str(fork.query_one("#title").render())
        pilot.app.fork_root = fork.root

    app = EvoforgeApp(runs, open_run=runs / "done", replay=True)
    drive(app, body)
    meta = json.loads((app.fork_root / "meta.json").read_text())
    assert meta["forked_from"]["run_id"] == "done" and meta["forked_from"]["turn"] == 3
    assert meta["status"] == "finished" and meta["valid"] is True
    origin = [json.loads(x) for x in (runs / "done" / "events.jsonl").read_text().splitlines()]
    forked = [json.loads(x) for x in (app.fork_root / "events.jsonl").read_text().splitlines()]
    first_new = next(i for i, e in enumerate(origin) if e.get("turn") == 3)
    assert forked[1:first_new] == origin[1:first_new]          # the history before turn 3, as it was
    assert forked[0]["forked_from"]["turn"] == 3 and forked[first_new]["turn"] == 3


def test_the_start_form_launches_a_run_and_opens_it(runs):
    async def body(pilot):
        await pilot.press("n")
        form = pilot.app.screen
        form.query_one("#task").value = "toy-binary"
        form.query_one("#sandbox").value = "local"
        form.query_one("#max-turns").value = "3"
        await pilot.click("#start")
        await until(pilot, lambda: isinstance(pilot.app.screen, AttemptScreen), timeout=60)
        screen = pilot.app.screen
        await until(pilot, lambda: screen.timeline.last("run_finished") is not None, timeout=90)
        assert screen.meta["budgets"]["max_turns"] == 3 and screen.timeline.n_turns == 3

    drive(EvoforgeApp(runs), body)


def test_training_jobs_in_the_workspace_show_as_sparklines(runs):
    from trainer.metrics import RunLog

    job = runs / "done" / "workspace" / "jobs" / "j1"
    log = RunLog(job, enabled=True, tensorboard=False, echo=open(os.devnull, "w"))
    for step in range(5):
        log.write({"step": step, "phase": "rl", "loss": 1.0 - step / 10, "reward_mean": step / 5, "kl_rollout": 0.01})
    # what the agent links to outside its workspace is not read: a linked folder, a linked file
    outside = runs.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "metrics.jsonl").write_text(json.dumps({"step": 9, "reward_mean": 1.0}) + "\n")
    (job.parent / "evil").symlink_to(outside)
    (job.parent / "j2").mkdir()
    (job.parent / "j2" / "metrics.jsonl").symlink_to(outside / "metrics.jsonl")

    async def body(pilot):
        panel = pilot.app.screen.query_one("#jobs")
        assert panel.display
        text = str(panel.render())
        assert "job jobs/j1 step 4" in text and "reward ▁▃▅▆█ 0.8" in text and "loss" in text and "kl" in text
        assert "evil" not in text and "j2" not in text and len(panel.jobs) == 1
        log.write({"step": 5, "phase": "rl", "loss": 0.4, "reward_mean": 1.0, "kl_rollout": 0.02, "entropy": 2.5})
        await until(pilot, lambda: "step 5" in str(panel.render()), timeout=5)
        await pilot.press("P")                     # the curves as a PNG, through agent.plots
        png = runs / "done" / "plots" / "jobs_j1.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000

    try:
        drive(EvoforgeApp(runs, open_run=runs / "done"), body)
    finally:
        log.close()
        import shutil

        shutil.rmtree(runs / "done" / "workspace" / "jobs")


def test_the_budget_column_shows_the_budget_nearest_to_being_spent():
    from agent.tui.home import budget_cell

    meta = {"turns": 4, "tokens": 900, "elapsed_s": 30.0, "cost_usd": 0.1,
            "budgets": {"max_turns": 40, "tokens": 1000, "seconds": 600, "usd": None}}
    assert budget_cell(meta) == "█████░  90% tokens"
    assert budget_cell({**meta, "elapsed_s": 600.0}) == "██████ 100% time"
    assert budget_cell({"turns": 3, "budgets": {"max_turns": None}}) == "3 turns"


def test_a_run_is_named_by_the_path_of_its_folder_outside_the_runs_folder(tmp_path, monkeypatch):
    from agent.runstore import find_run
    from common.errors import UserError

    monkeypatch.setenv("EVOFORGE_RUNS", str(tmp_path / "runs"))
    attempt = tmp_path / "camp" / "attempts" / "toy-a-s0"
    attempt.mkdir(parents=True)
    (attempt / "meta.json").write_text("{}")
    assert find_run(str(attempt)) == attempt.resolve() and RunStore.open(str(attempt)).run_id == "toy-a-s0"
    with pytest.raises(UserError, match="not a run's folder"):
        find_run(str(attempt.parent))
    with pytest.raises(UserError, match="no run 'toy-a-s0'"):
        find_run("toy-a-s0")                       # by id: the runs folder only
