"""Campaigns: the queue, the supervisor, kills at random points, a model outage, reports and the CLI."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from agent.campaign import CampaignSpec, CampaignStore, ensure_campaign, run_campaign, start_detached
from agent.campaign.report import aggregate, compare
from agent.campaign.store import lock_holder
from agent.campaign.supervisor import supervisor_info
from agent.graph.budgets import Budgets
from agent.runstore import RunStore
from common.errors import UserError
from tests.campaign_helpers import campaign_env, llm_config, model_script
from tests.fake_llm_server import FakeLLMServer, call, text, tools

TASKS = ["toy-a", "toy-b", "toy-c"]


@pytest.fixture
def env(tmp_path, monkeypatch):
    for k, v in campaign_env(tmp_path, TASKS).items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return tmp_path


def _spec(name: str, tasks=TASKS, seeds=(0, 1), **kw) -> CampaignSpec:
    return CampaignSpec(name, tuple(tasks), tuple(seeds), sandbox="local", parallel=2, **kw)


def _finished_once(store: CampaignStore) -> dict[tuple[str, int], float]:
    """Check every attempt finished exactly once (one grading, one run_finished, one lesson); its scores."""
    scores = {}
    memory = Path(os.environ["EVOFORGE_MEMORY"]).read_text() if Path(os.environ["EVOFORGE_MEMORY"]).exists() else ""
    for row in store.rows():
        assert row["state"] == "done", row
        events = RunStore(store.record_dir(row["run_id"])).read_events()
        types = [e["type"] for e in events]
        assert types.count("run_finished") == 1 and types.count("grading") == 1 and types[-1] == "run_finished"
        assert memory.count(f"<!-- run: {row['run_id']} -->") <= 1
        scores[(row["task"], row["seed"])] = row["result"]["score"]
    finished = [e for e in store.events() if e["type"] == "attempt_finished"]
    assert sorted(e["key"] for e in finished) == sorted(r["key"] for r in store.rows())   # counted once each
    return scores


# -- aggregation: MLE-bench's way -----------------------------------------------------------------------
def _r(task, seed, medal=None, valid=True, above=False, pct=50.0):
    return {"task": task, "seed": seed, "state": "done", "medal": medal, "valid": valid, "above_median": above,
            "percentile": pct, "submission_exists": True}


def test_rates_are_per_seed_percentages_then_mean_and_standard_error_over_seeds():
    res = [_r("a", 0, "gold", above=True, pct=95), _r("b", 0, None, pct=40), _r("c", 0, "bronze", pct=70),
           _r("a", 1, None, pct=45), _r("b", 1, None, valid=False, pct=None), _r("c", 1, "silver", pct=85),
           _r("a", 2, "gold", pct=96), _r("b", 2, "bronze", pct=75), _r("c", 2, "bronze", pct=72)]
    agg = aggregate(res)
    # seed 0: 2/3 medals, seed 1: 1/3, seed 2: 3/3 -> 66.7, 33.3, 100 -> mean 66.7, SE = sd(ddof=1)/sqrt(3)
    assert agg["any_medal"]["mean"] == pytest.approx(200 / 3)
    assert agg["any_medal"]["se"] == pytest.approx(19.2450, abs=1e-3)
    assert agg["gold"]["mean"] == pytest.approx(200 / 9) and agg["valid_rate"]["mean"] == pytest.approx(800 / 9)
    assert agg["above_median"]["mean"] == pytest.approx(100 / 9)
    # percentile: an invalid attempt counts 0; per seed mean, then over seeds
    assert agg["mean_percentile"]["mean"] == pytest.approx((205 / 3 + 130 / 3 + 243 / 3) / 3)
    assert agg["seeds_averaged"] == 3 and agg["competitions_per_seed"] == 3


def test_only_complete_seeds_count_unless_missing_ones_are_padded():
    res = [_r("a", 0, "gold"), _r("b", 0, "gold"), _r("a", 1, "gold"), {**_r("b", 1), "state": "running"}]
    assert aggregate(res)["seeds"] == [0] and aggregate(res)["any_medal"]["mean"] == 100.0
    padded = aggregate(res, pad_missing=True)
    assert padded["seeds"] == [0, 1] and padded["any_medal"]["mean"] == 75.0 and padded["any_medal"]["se"] == 25.0


def test_a_paired_comparison_matches_competition_and_seed():
    a = [_r("a", 0, pct=50), _r("b", 0, pct=60), _r("a", 1, pct=40), _r("b", 1, pct=70)]
    b = [_r("a", 0, "gold", pct=90), _r("b", 0, pct=60), _r("a", 1, pct=60), _r("b", 1, valid=False),
         _r("c", 0, pct=99)]                                     # unpaired: left out
    c = compare(a, b)
    assert c["n"] == 4 and [p["delta"] for p in c["pairs"]] == [40, 0, 20, -70]
    assert (c["wins"], c["losses"], c["ties"]) == (2, 1, 1) and c["per_task"] == {"a": 30, "b": -35}
    assert c["a_any_medal"] == 0 and c["b_any_medal"] == 25 and c["b_valid_rate"] == 75
    assert c["sign_test_p"] == pytest.approx(1.0) and c["bootstrap_ci95"][0] < c["delta_percentile"]["mean"]


# -- plans, task sets, errors ---------------------------------------------------------------------------
def test_task_sets_ids_lite_families_and_files(env):
    from agent.campaign.tasksets import resolve_tasks

    assert len(resolve_tasks("lite")) == 22 and "toy-a" not in resolve_tasks("lite")
    assert resolve_tasks("toy-b,toy-a,toy-b") == ["toy-b", "toy-a"]
    assert set(TASKS) <= set(resolve_tasks("mle_lite")) and "spooky-author-identification" in resolve_tasks("text")
    f = env / "set.txt"
    f.write_text("# dev split\ntoy-c\ntoy-a  # two\n")
    assert resolve_tasks(f"@{f}") == ["toy-c", "toy-a"]
    with pytest.raises(UserError, match="unknown competition 'toy-z'.*sets: lite"):
        resolve_tasks("toy-a,toy-z")
    rl = resolve_tasks("rl_runs")                   # a family of tasks/registry.py: the rl_runs tasks
    assert len(rl) == 8 and "rl-nan-fault" in rl and resolve_tasks("rl-nan-fault,toy-a") == ["rl-nan-fault", "toy-a"]


def test_a_campaign_of_the_same_name_is_extended_never_redone_and_other_settings_are_refused(env):
    store = ensure_campaign(_spec("c", tasks=["toy-a"], seeds=(0,)))
    store.update(store.rows()[0]["key"], state="done", result={"score": 1.0})
    ensure_campaign(_spec("c", tasks=["toy-a", "toy-b"], seeds=(0,)))
    rows = store.rows()
    assert [(r["task"], r["state"]) for r in rows] == [("toy-a", "done"), ("toy-b", "pending")]
    with pytest.raises(UserError, match="other settings .*budgets"):
        ensure_campaign(_spec("c", tasks=["toy-a"], seeds=(0,), budgets=Budgets(seconds=60)))


# -- the whole thing, killed at random points ----------------------------------------------------------------
def _kill(pid: int | None, group: bool = False) -> None:
    if pid:
        try:
            (os.killpg if group else os.kill)(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def _wait_gone(store: CampaignStore, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while supervisor_info(store) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize("policy", [pytest.param("heuristic", marks=pytest.mark.slow), "llm"])
def test_random_kills_of_supervisor_and_attempts_lose_nothing_and_run_nothing_twice(env, policy):
    server = FakeLLMServer(model_script).start() if policy == "llm" else None
    kw = {"policy": "llm", "base_url": server.base_url, "config_file": str(llm_config(env))} if server else {}
    try:
        baseline = _finished_once(_run(_spec("calm", **kw)))
        store = ensure_campaign(_spec("wild", **kw))
        rng = random.Random(7)
        kills = {"supervisor": 0, "attempt": 0, "reboot": 0}
        for i in range(10):
            if all(r["state"] == "done" for r in store.rows()) or (i >= 5 and kills["attempt"] >= 2):
                break
            start_detached(store)
            time.sleep(rng.uniform(1.0, 4.0))
            victims = [lock_holder(store.lock_path(r["run_id"])) for r in store.rows() if r["state"] == "running"]
            victims = [v for v in victims if v and v.get("pid")]
            if i == 2 and victims:             # a reboot: every process at once, with all it started
                _kill((supervisor_info(store) or {}).get("pid"))
                for v in victims:
                    _kill(v["pid"], group=True)
                kills["reboot"] += 1
            elif victims and rng.random() < 0.8:
                _kill(rng.choice(victims)["pid"])
                kills["attempt"] += 1
            _kill((supervisor_info(store) or {}).get("pid"))
            kills["supervisor"] += 1
            _wait_gone(store)
        from agent.campaign import supervise

        assert supervise(store)["state"] == "finished"
        assert _finished_once(store) == baseline
        assert kills["attempt"] >= 2 and kills["supervisor"] >= 5
        resumed = [r for r in store.rows() if RunStore(store.record_dir(r["run_id"])).read_meta().get("resumed")]
        assert resumed, "no attempt was killed mid-run"
    finally:
        if server:
            server.stop()


def _run(spec: CampaignSpec) -> CampaignStore:
    run_campaign(spec)
    return CampaignStore.open(spec.name)


def test_a_model_outage_longer_than_the_retry_window_pauses_attempts_which_then_finish(env, monkeypatch):
    import agent.campaign.supervisor as sup

    monkeypatch.setattr(sup, "ENDPOINT_RETRY_S", (0.5, 1.0))
    policy = env / "scaffold" / "policy.yaml"
    data = yaml.safe_load(policy.read_text())
    data["model_outage"] = {"wait_s": 0.3, "wait_max_s": 0.6}
    policy.write_text(yaml.safe_dump(data))
    downs = []

    def script(body: dict, index: int) -> dict:
        if index == 4 and not downs:                          # mid-campaign: down for 6 s (window: 1 s)
            downs.append(server.outage_for(6.0, "503"))
        return model_script(body, index)

    with FakeLLMServer(script) as server:
        spec = _spec("outage", tasks=["toy-a", "toy-b"], policy="llm", base_url=server.base_url,
                     config_file=str(llm_config(env)))
        res = run_campaign(spec)
    store = CampaignStore.open("outage")
    assert downs and all(r["state"] == "done" and r["status"] == "finished" and r["valid"] for r in res)
    paused = [r for r in store.rows() if any(e["type"] == "model_outage" for e in
                                              RunStore(store.record_dir(r["run_id"])).read_events())]
    waited = [e for e in store.events() if e["type"] == "attempt_waiting"]
    assert paused or waited
    for r in paused:
        types = [e["type"] for e in RunStore(store.record_dir(r["run_id"])).read_events()]
        assert "model_back" in types
    _finished_once(store)


# -- the CLI ---------------------------------------------------------------------------------------------------
def test_cli_start_status_report_list_and_errors(env):
    from agent.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["campaign", "start", "--tasks", "toy-a,toy-b", "--seeds", "2", "--parallel", "2",
                            "--sandbox", "local", "--name", "cli", "--attempt-minutes", "5"])
    assert r.exit_code == 0, r.output
    assert "4 attempts, 2 at a time" in r.output and "any medal" in r.output
    doc = json.loads(runner.invoke(app, ["campaign", "status", "cli", "--json"]).output)
    assert doc["state"] == "finished" and doc["counts"]["done"] == 4 and doc["budgets"]["seconds"] == 300
    rep = json.loads(runner.invoke(app, ["campaign", "report", "cli", "--json"]).output)
    assert len(rep["attempts"]) == 4 and {"task", "seed", "status", "score", "medal", "valid", "seconds", "tokens",
                                          "cost_usd"} <= set(rep["attempts"][0])
    agg = rep["aggregate"]
    assert set(agg["any_medal"]) >= {"mean", "se"} and agg["valid_rate"]["mean"] == 100.0
    assert all(a["percentile"] is not None for a in rep["attempts"])
    report_dir = env / "runs" / "cli" / "report"
    assert (report_dir / "report.md").read_text().startswith("# Campaign cli")
    assert (report_dir / "medal_rates.png").stat().st_size > 1000
    again = runner.invoke(app, ["campaign", "start", "--tasks", "toy-a,toy-b", "--seeds", "2", "--parallel", "2",
                                "--sandbox", "local", "--name", "cli", "--attempt-minutes", "5"])
    assert again.exit_code == 0 and "start " not in again.output          # nothing ran twice
    assert "cli" in runner.invoke(app, ["campaign", "list"]).output
    bad = runner.invoke(app, ["campaign", "start", "--tasks", "toy-q", "--sandbox", "local"])
    assert bad.exit_code == 2 and "unknown competition 'toy-q'" in bad.output
    bad = runner.invoke(app, ["campaign", "status", "nope"])
    assert bad.exit_code == 2 and "no campaign 'nope'" in bad.output
    bad = runner.invoke(app, ["campaign", "start", "--tasks", "toy-a", "--seeds", "0", "--sandbox", "local"])
    assert bad.exit_code == 2 and "--seeds" in bad.output


# -- a hung attempt ------------------------------------------------------------------------------------------
def test_hung_means_a_stale_heartbeat_or_silence_past_the_wall_budget_never_a_paused_attempt():
    from datetime import UTC, datetime

    from agent.campaign.watchdog import HEARTBEAT_STALE_S, QUIET_GRACE_S, hung_reason

    def ago(s: float) -> str:
        return datetime.fromtimestamp(time.time() - s, UTC).isoformat()

    assert hung_reason({"heartbeat": ago(HEARTBEAT_STALE_S + 5)}, {"ts": ago(1)}, None).startswith("no heartbeat")
    assert hung_reason({"heartbeat": ago(2)}, {"ts": ago(10 ** 6)}, 60) is None       # beating: a long tool is fine
    relaunched = {"heartbeat": ago(10 ** 6)}     # the stale beat of the hung process before it; not yet its own
    assert hung_reason(relaunched, {"ts": ago(10 ** 6)}, 60, launched=time.time() - 5) is None
    assert hung_reason(relaunched, {"ts": ago(1)}, 60, launched=time.time() - HEARTBEAT_STALE_S - 5) is not None
    assert hung_reason({}, {"ts": ago(60 + QUIET_GRACE_S + 5)}, 60).startswith("no event")
    assert hung_reason({}, {"ts": ago(60 + QUIET_GRACE_S - 5)}, 60) is None
    assert hung_reason({}, {"ts": ago(10 ** 6)}, None) is None                          # no budget, no heartbeat
    assert hung_reason({}, {"ts": ago(10 ** 6)}, 60, launched=time.time() - 30) is None   # just relaunched
    assert hung_reason({"status": "paused", "heartbeat": ago(10 ** 6)}, {"ts": ago(10 ** 6)}, 60) is None


def test_the_supervisor_stops_a_hung_attempt_which_resumes_and_finishes(env, monkeypatch):
    """An attempt's process frozen mid-run (SIGSTOP: its heartbeat stops) is killed and resumed, once."""
    import agent.campaign.supervisor as sup
    import agent.campaign.watchdog as wd

    monkeypatch.setattr(wd, "HEARTBEAT_STALE_S", 25.0)    # beats come every 10 s; a loaded machine delays some
    monkeypatch.setattr(sup, "WATCH_EVERY_S", 0.5)
    monkeypatch.setattr(sup, "KILL_GRACE_S", 5.0)
    frozen: list[int] = []

    def freeze_the_attempt() -> None:
        locks = [RunStore(p.parent) for p in Path(os.environ["EVOFORGE_RUNS"]).rglob("lock") if p.is_file()]
        pids = [pid for pid in (s.locked_by() for s in locks) if pid and pid > 0]
        assert len(pids) == 1, pids
        frozen.append(pids[0])
        os.kill(pids[0], signal.SIGSTOP)

    def script(body: dict, index: int) -> dict:  # noqa: ARG001
        if not body.get("tools"):
            return text("Lesson: keep going.")
        done = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
        if done == 1 and not frozen:
            freeze_the_attempt()     # the answer waits in the socket of a process that no longer runs
        steps = [tools(call("bash", {"command": "echo hi"}), thinking="Look."),
                 tools(call("submit", {}), thinking="Submit."), tools(call("finish", {}), thinking="Done.")]
        return steps[done] if done < len(steps) else text("Done.")

    with FakeLLMServer(script) as server:
        spec = _spec("hang", tasks=["toy-a"], seeds=(0,), policy="llm", base_url=server.base_url,
                     config_file=str(llm_config(env)), budgets=Budgets(seconds=120))
        t0 = time.monotonic()
        res = run_campaign(spec)
    store = CampaignStore.open("hang")
    assert time.monotonic() - t0 < 240 and [r["state"] for r in res] == ["done"]
    hung = [e for e in store.events() if e["type"] == "attempt_hung"]
    assert frozen and hung and hung[0]["reason"].startswith("no heartbeat")
    assert any(e["type"] == "attempt_requeued" and "hung" in e["reason"] for e in store.events())
    types = [e["type"] for e in RunStore(store.record_dir(res[0]["run_id"])).read_events()]
    assert types.count("run_finished") == 1 and types.count("grading") == 1
    assert not Path(f"/proc/{frozen[0]}").exists() or "T" not in (Path(f"/proc/{frozen[0]}") / "stat").read_text(
    ).split()[2], "the frozen attempt outlived the campaign"


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# -- Ray ----------------------------------------------------------------------------------------------------
def test_a_campaign_on_a_local_ray_instance_gives_the_local_executors_results(env):
    pytest.importorskip("ray", reason="the Ray executor is an optional extra: pip install 'evoforge[ray]'")
    with FakeLLMServer(model_script) as server:
        kw = {"policy": "llm", "base_url": server.base_url, "config_file": str(llm_config(env))}
        local = _finished_once(_run(_spec("here", tasks=["toy-a", "toy-b"], seeds=(0,), **kw)))
        try:
            store = _run(_spec("ray", tasks=["toy-a", "toy-b"], seeds=(0,), executor="ray", **kw))
        finally:
            import ray

            ray.shutdown()
    assert _finished_once(store) == local
    launched = [e for e in store.events() if e["type"] == "attempt_launched"]
    assert len(launched) == 2 and all(e["pid"] is None for e in launched)     # Ray tasks, not our children
