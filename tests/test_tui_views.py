"""The campaign view, the evolve view and home's rows for them, driven headless by Textual's Pilot at 80x24, on
real records: campaigns really run (the scripted model over HTTP on toy competitions, the local sandbox), one
of them followed live while its detached supervisor writes it and stopped from the view; a tiny evolve run
really run (heuristic proposer and policy) and reported (held out with its control arm)."""

from __future__ import annotations

import json
import shutil
import time

import git
import pytest

from agent.campaign import CampaignSpec, CampaignStore, results, run_campaign, start_detached, stop_campaign
from agent.campaign.report import aggregate
from agent.campaign.supervisor import supervisor_info
from agent.graph.budgets import Budgets
from agent.sandbox.factory import local_available
from agent.tui.app import EvoforgeApp
from agent.tui.attempt import AttemptScreen
from agent.tui.campaign import CampaignScreen, aggregate_lines
from agent.tui.evolve import EvolveScreen, NodeScreen
from agent.tui.home import HomeScreen
from tests.campaign_helpers import campaign_env, llm_config, model_script
from tests.fake_llm_server import FakeLLMServer
from tests.test_tui import drive, until

pytestmark = pytest.mark.skipif(not local_available(), reason="needs bubblewrap (the local sandbox)")

TASKS = ["toy-a", "toy-b"]
DEV, HELD = "toy-dev", "toy-held"
BOARD = [0.45, 0.5, 0.52, 0.55, 0.6, 0.65, 0.68, 0.7]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A runs folder holding a finished campaign `done` (2 toy competitions × 1 seed, the scripted model over
    HTTP); toy competitions for an evolve run; a git checkout of the scaffold. The env stays set."""
    from tasks.mle_lite.toy import write_toy_competition

    root = tmp_path_factory.mktemp("views")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in campaign_env(root, TASKS).items():
            mp.setenv(k, v)
        for cid in (DEV, HELD):
            write_toy_competition(root / "competitions", cid, leaderboard=BOARD)
        mp.delenv("OPENAI_BASE_URL", raising=False)
        for k in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
            mp.setenv(k, "t")
        for k in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
            mp.setenv(k, "t@example.com")
        mp.chdir(root)
        user = git.Repo.init(root)
        user.git.add("scaffold")
        user.git.commit("-q", "--no-gpg-sign", "-m", "the user's scaffold")
        with FakeLLMServer(model_script) as server:
            run_campaign(CampaignSpec("done", tuple(TASKS), (0,), policy="llm", base_url=server.base_url,
                                      config_file=str(llm_config(root)), sandbox="local", parallel=2,
                                      budgets=Budgets(seconds=120)))
        yield root


@pytest.fixture(scope="module")
def evo(world):
    """A finished evolve run `evo` in the world's runs folder (1 round, heuristic proposer and policy), reported
    (held out: initial, final and the control arm)."""
    from agent.evolve import loop, report
    from agent.evolve.config import Budget, Plan

    store = loop.create(Plan(name="evo", dev=[DEV], heldout=[HELD], seeds=1, rounds=1, sandbox="local",
                             budget=Budget(seconds=60.0), smoke_seconds=60.0, control_max_k=1))
    loop.run(store)
    report.build(store)
    return store.root


def test_a_finished_campaign_shows_its_attempts_the_reports_rates_and_opens_an_attempt(world):
    runs = world / "runs"
    store = CampaignStore(runs / "done")
    res = results(store)
    for f in ("medal_rates.png", "score_over_time.png"):
        (store.report_dir / f).unlink(missing_ok=True)

    async def body(pilot):
        screen = pilot.app.screen
        assert isinstance(screen, CampaignScreen)
        assert screen.order == [r["run_id"] for r in res]
        for r in res:                     # the report's numbers, cell by cell
            cells = screen.cells[r["run_id"]]
            assert (cells["task"], cells["seed"], cells["status"]) == (r["task"], str(r["seed"]), "finished")
            assert cells["score"] == f"{r['score']:.4g}" and cells["valid"] == "yes"
            assert cells["turns"] == str(r["turns"]) and cells["medal"] == (r["medal"] or "-")
        assert str(screen.query_one("#aggregate").render()) == aggregate_lines(aggregate(res))
        assert "valid 100.0±0.0%" in str(screen.query_one("#aggregate").render())
        assert "FINISHED" in str(screen.query_one("#title").render())
        assert "each attempt: 120 s" in str(screen.query_one("#camp-budgets").render())
        await pilot.press("x")                          # not running: nothing to stop
        assert store.counter("stop_requested", False) is False
        await pilot.press("P")                          # the report's plots, through agent.plots
        await until(pilot, lambda: not screen.busy, timeout=60)
        for f in ("medal_rates.png", "score_over_time.png"):
            assert (store.report_dir / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        await pilot.press("down", "enter")
        attempt = pilot.app.screen
        assert isinstance(attempt, AttemptScreen) and attempt.root == store.record_dir(res[1]["run_id"])
        assert attempt.timeline.last("run_finished") is not None
        await pilot.press("escape")
        assert pilot.app.screen is screen

    drive(EvoforgeApp(runs, campaign=runs / "done"), body)


def test_home_lists_campaigns_and_evolve_runs_with_status_and_progress_and_opens_them(world, evo):
    runs = world / "runs"

    async def body(pilot):
        home = pilot.app.screen
        assert isinstance(home, HomeScreen)
        camp, evo = home.rows["campaign/done"], home.rows["evolve/evo"]
        assert (camp["kind"], camp["status"], camp["run_id"]) == ("campaign", "finished", "done")
        assert camp["budget"].endswith(" 2/2") and camp["score"].endswith(" pct") and camp["medal"].endswith("% any")
        assert (evo["kind"], evo["status"]) == ("evolve", "finished") and evo["budget"].endswith(" r1/1")
        assert not [k for k, r in home.rows.items() if r["kind"] == "attempt"]   # attempts stay in their campaign
        await pilot.press("slash", *"evolve", "enter")
        assert home.order == ["evolve/evo"]
        await pilot.press("enter")
        assert isinstance(pilot.app.screen, EvolveScreen)
        await pilot.press("escape")
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"campaign", "enter")
        assert home.order == ["campaign/done"]
        await pilot.press("enter")
        assert isinstance(pilot.app.screen, CampaignScreen) and pilot.app.screen.store.name == "done"

    drive(EvoforgeApp(runs), body)


def test_a_live_campaign_is_followed_as_its_supervisor_writes_it_and_stopped_and_resumed_from_the_view(world):
    """1 competition × 2 seeds, one at a time; the second attempt's model answers slowly, so it is still
    running when the first has finished: x x stops the campaign, r resumes it."""
    runs = world / "runs"

    def slow_second(body: dict, index: int) -> dict:
        if int(body.get("seed", 0)) == 1:
            time.sleep(1.5)
        return model_script(body, index)

    seen: dict[str, list[str]] = {}
    with FakeLLMServer(slow_second) as server:
        from agent.campaign import ensure_campaign

        store = ensure_campaign(CampaignSpec("live", ("toy-a",), (0, 1), policy="llm", base_url=server.base_url,
                                             config_file=str(llm_config(world)), sandbox="local", parallel=1,
                                             budgets=Budgets(seconds=120)))
        rid0, rid1 = (r["run_id"] for r in store.rows())
        start_detached(store)

        async def body(pilot):
            screen = pilot.app.screen
            assert isinstance(screen, CampaignScreen)

            def watch() -> dict[str, str]:
                for rid, cells in screen.cells.items():
                    if not seen.setdefault(rid, []) or seen[rid][-1] != cells["status"]:
                        seen[rid].append(cells["status"])
                return {rid: c["status"] for rid, c in screen.cells.items()}

            await until(pilot, lambda: watch()[rid0] == "finished" and watch()[rid1] in ("running", "starting"),
                        timeout=120)
            assert screen.state == "running" and screen.cells[rid0]["score"] != "-"
            await pilot.press("x", "x")                 # as `campaign stop`: the worker saves and stops
            await until(pilot, lambda: not screen.busy and screen.state != "running", timeout=150)
            watch()
            assert screen.state == "stopped" and supervisor_info(store) is None
            rows = {r["run_id"]: r for r in store.rows()}
            assert rows[rid0]["state"] == "done" and rows[rid1]["state"] == "pending"
            await pilot.press("r")                      # as `campaign resume --detach`
            await until(pilot, lambda: not screen.busy, timeout=60)
            await until(pilot, lambda: screen.state == "running", timeout=10)

        try:
            drive(EvoforgeApp(runs, campaign=runs / "live"), body)
        finally:
            stop_campaign(store)
    assert seen[rid0][0] in ("queued", "starting", "running") and seen[rid0][-1] == "finished"
    assert "running" in seen[rid1] or "starting" in seen[rid1]
    assert store.counter("stop_requested", False) is True


def test_the_evolve_view_shows_the_lineage_tree_dev_by_round_held_out_and_a_nodes_evidence_and_diff(world, evo):
    from agent.evolve.store import EvolveStore

    runs = world / "runs"
    store = EvolveStore(runs / "evolve" / "evo")
    nodes = store.nodes()
    child = nodes[1]
    assert child["decision"] in ("kept", "reverted") and child["files"]
    for f in ("lineage.png", "dev_by_round.png"):
        (store.path("report") / f).unlink(missing_ok=True)

    async def body(pilot):
        screen = pilot.app.screen
        assert isinstance(screen, EvolveScreen)
        tree = screen.query_one("#lineage")
        assert [n.data["round"] for n in tree.root.children] == [0]            # the initial scaffold is the root
        shown = _tree_nodes(tree.root)
        assert [n["round"] for n in shown] == [0, 1]
        line = str(tree.get_node_at_line(1).label)
        assert line.startswith({"kept": "✓", "reverted": "✗"}[child["decision"]] + " r1 ") and child["decision"] in line
        chart = str(screen.query_one("#chart").render())
        assert chart.startswith("dev head") and "over 1 round(s)" in chart
        held = str(screen.query_one("#heldout").render())
        assert all(arm in held for arm in ("initial", "final", "control")) and "final−initial" in held
        assert "FINISHED" in str(screen.query_one("#title").render())
        await pilot.press("P")
        for f in ("lineage.png", "dev_by_round.png"):
            assert (store.path("report") / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        await pilot.press("down", "enter")
        node = pilot.app.screen
        assert isinstance(node, NodeScreen) and node.node["round"] == 1
        evidence = str(node.query_one("#evidence").render())
        p = child["paired"]
        assert f"paired dev delta {p['mean_delta']:+.2f}" in evidence and f"p={p['p_value']:.3f}" in evidence
        assert f"{DEV}: " in evidence and "gate passed" in evidence and "✓ smoke" in evidence
        diff = str(node.query_one("#diff").render())
        assert "Hypothesis:" in diff and f"+++ b/{child['files'][0]}" in diff
        assert any(ln.startswith("+") and not ln.startswith("+++") for ln in diff.splitlines())
        await pilot.press("d")
        assert node.query_one("#node-body").scroll_offset.y > 0
        await pilot.press("escape")
        assert pilot.app.screen is screen

    drive(EvoforgeApp(runs, evolve=runs / "evolve" / "evo"), body)


def test_the_evolve_view_adds_nodes_in_place_as_the_lineage_grows(evo, tmp_path):
    """A copy of the run whose lineage file is cut after round 0; its real round-1 line is then appended."""
    src = evo
    copy = tmp_path / "runs" / "evolve" / "evo"
    shutil.copytree(src, copy, symlinks=True, ignore=shutil.ignore_patterns("checkouts", "campaigns"))
    lines = (src / "nodes.jsonl").read_text().splitlines(keepends=True)
    (copy / "nodes.jsonl").write_text(lines[0])

    async def body(pilot):
        screen = pilot.app.screen
        tree = screen.query_one("#lineage")
        first = tree.root.children[0]
        assert [n["round"] for n in _tree_nodes(tree.root)] == [0]
        with open(copy / "nodes.jsonl", "a") as f:
            f.write(lines[1])
        await until(pilot, lambda: len(_tree_nodes(tree.root)) == 2, timeout=10)
        assert tree.root.children[0] is first                 # the tree grew in place
        assert "over 1 round(s)" in str(screen.query_one("#chart").render())

    drive(EvoforgeApp(tmp_path / "runs", evolve=copy), body)
    assert json.loads(lines[1])["round"] == 1


def _tree_nodes(node) -> list[dict]:
    out = []
    for child in node.children:
        out.append(child.data)
        out += _tree_nodes(child)
    return out


def test_the_cli_opens_a_campaign_or_an_evolve_run_and_refuses_two(world, evo, monkeypatch):
    from typer.testing import CliRunner

    from agent.cli import app

    monkeypatch.setenv("EVOFORGE_RUNS", str(world / "runs"))
    bad = CliRunner().invoke(app, ["tui", "--campaign", "done", "--evolve", "evo"])
    assert bad.exit_code == 2 and "one thing at a time" in bad.output
    bad = CliRunner().invoke(app, ["tui", "--campaign", "nope"])
    assert bad.exit_code == 2 and "no campaign 'nope'" in bad.output


def test_a_campaign_or_evolve_run_that_cannot_be_read_is_a_row_that_says_so(tmp_path):
    from agent.tui.home import group_rows

    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "campaign.json").write_text("{not json")
    (tmp_path / "evolve" / "half").mkdir(parents=True)
    (tmp_path / "evolve" / "half" / "plan.json").write_text("[]")
    rows = {r["key"]: r for r in group_rows(tmp_path)}
    assert rows["campaign/broken"]["status"] == "unreadable" and "cannot be read" in rows["campaign/broken"]["budget"]
    assert rows["evolve/half"]["status"] == "unreadable"


def test_the_campaign_form_starts_a_detached_campaign_whose_row_shows_on_home(world, tmp_path, monkeypatch):
    """C on home: a bad task set is its one-line error and starts nothing; a good one starts `evoforge campaign
    start --detach` (the heuristic on a toy competition), whose record appears and whose row opens its view."""
    runs = tmp_path / "runs"
    monkeypatch.setenv("EVOFORGE_RUNS", str(runs))

    async def body(pilot):
        home = pilot.app.screen
        await pilot.press("C")
        form = pilot.app.screen
        form.query_one("#tasks").value = "toy-a,nope"
        await pilot.click("#start")
        error = str(form.query_one("#form-error").render())
        assert pilot.app.screen is form and "nope" in error and "\n" not in error.strip()
        assert not runs.exists()                                   # nothing started
        form.query_one("#tasks").value = "toy-a"
        form.query_one("#seeds").value = "2"
        form.query_one("#parallel").value = "2"
        form.query_one("#sandbox").value = "local"
        form.query_one("#attempt-minutes").value = "0.2"
        form.query_one("#name").value = "formed"
        assert form.query_one("#start").region.bottom <= 24                        # the form fits 80x24
        pilot.app.clear_notifications()
        form.query_one("#start").press()      # by the button itself: after the first error a click can miss it
        await pilot.pause()
        for _ in range(100):
            if pilot.app.screen is home:
                break
            await pilot.pause(0.1)
        assert pilot.app.screen is home, str(form.query_one("#form-error").render())     # the launch's error, if any
        await until(pilot, lambda: "campaign/formed" in home.rows, timeout=60)
        await until(pilot, lambda: home.selected() == "campaign/formed", timeout=10)
        await pilot.press("enter")
        view = pilot.app.screen
        assert isinstance(view, CampaignScreen) and view.store.name == "formed"
        await until(pilot, lambda: view.state == "running", timeout=30)      # its supervisor, detached

    try:
        drive(EvoforgeApp(runs), body)
        store = CampaignStore(runs / "formed")
        spec = store.spec()
        assert (spec.tasks, spec.seeds, spec.policy, spec.sandbox, spec.parallel) == (("toy-a",), (0, 1), "heuristic",
                                                                                     "local", 2)
        assert spec.budgets.seconds == 12.0
    finally:
        if (runs / "formed").is_dir():
            stop_campaign(CampaignStore(runs / "formed"))
            assert supervisor_info(CampaignStore(runs / "formed")) is None


def test_a_fork_of_a_campaign_attempt_is_a_new_run_of_the_runs_folder_that_names_its_origin(world, tmp_path,
                                                                                           monkeypatch):
    runs = tmp_path / "runs"
    monkeypatch.setenv("EVOFORGE_RUNS", str(runs))
    store = CampaignStore(world / "runs" / "done")
    attempt = store.record_dir(store.rows()[0]["run_id"])

    async def body(pilot):
        screen = pilot.app.screen
        await pilot.press("right", "right", "right")
        await pilot.press("f", *"replay", "enter")     # the attempt's own turns again, from turn 3
        await until(pilot, lambda: pilot.app.screen is not screen, timeout=60)
        fork = pilot.app.screen
        assert isinstance(fork, AttemptScreen) and fork.root.parent == runs
        await until(pilot, lambda: fork.timeline.last("run_finished") is not None, timeout=90)
        pilot.app.fork_root = fork.root

    app = EvoforgeApp(runs, open_run=attempt, replay=True)
    drive(app, body)
    meta = json.loads((app.fork_root / "meta.json").read_text())
    assert meta["forked_from"] == {**meta["forked_from"], "run_id": attempt.name, "turn": 3, "path": str(attempt.resolve())}
    assert meta["status"] == "finished" and meta["valid"] is True
    assert not (attempt.parent / app.fork_root.name).exists()     # the campaign is left as it was
