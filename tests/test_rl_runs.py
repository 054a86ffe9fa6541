"""The rl_runs task family: its public files keep the fault private, the grader's rules (fixed settings, budget,
its own seed) cannot be bent by the submission, the CLI lists and validates it, the rule-based policy maps each
task's anomalies to its fault; slow: the grader retrains (the reference fix earns a medal, the broken config does
not) and the heuristic policy repairs a task end to end in the local sandbox."""

import json

import pytest
import yaml

from agent.graph.policies.rl_runs import propose_fix
from agent.sandbox import local_available
from tasks.rl_runs.grading import GRADER, check_config, grade_file, validate_file
from tasks.rl_runs.registry import get_task, list_tasks

# the anomalies (and evaluations) a probe of each broken set-up shows
PROBES = {"rl-sft-too-short": ({"no_reward"}, {"sft": 0.01}), "rl-warmup-starved": (set(), {"sft": 0.0}),
          "rl-nan-fault": ({"non_finite"}, {}), "rl-truncated-answers": ({"no_reward"}, {"sft": 0.0}),
          "rl-lr-collapse": ({"reward_collapse"}, {"sft": 0.5, "rl": 0.1}),
          "rl-sft-diverges": (set(), {"sft": 0.0}), "rl-frozen-policy": (set(), {"sft": 0.5, "rl": 0.47}),
          "rl-unbalanced-experts": ({"expert_imbalance"}, {"sft": 0.5, "rl": 0.8})}


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOFORGE_DATA", str(tmp_path / "data"))
    return tmp_path


def test_eight_tasks_whose_public_files_keep_the_fault_private(data):
    tasks = list_tasks()
    assert len(tasks) >= 8 and len({t.id for t in tasks}) == len(tasks)
    for t in tasks:
        t.prepare()
        files = sorted(p.name for p in t.public_dir.iterdir())
        assert files == ["config.yaml", "description.md"], files
        public = "".join(p.read_text() for p in t.public_dir.iterdir())
        assert t.fault not in public and "fix" not in yaml.safe_load((t.public_dir / "config.yaml").read_text())
        assert yaml.safe_load((t.public_dir / "config.yaml").read_text()) == t.broken_config()
        assert validate_file(t, t.public_dir / "config.yaml") is None
        assert t.is_prepared() and t.summary()["family"] == "rl_runs"


def test_the_submission_cannot_bend_the_rules(data, tmp_path):
    t = get_task("rl-lr-collapse")
    cfg = check_config(t, {**t.broken_config(), "run": {"seed": 7, "eval_problems": 1, "device": "cuda"}})
    assert cfg["run"] == {**cfg["run"], **GRADER["run"]}          # the grader's seed, device and evaluation size
    for change, why in [({"env": {"level": 0}}, "env.level"), ({"env": {"name": "sort"}}, "env.name"),
                        ({"model": {"preset": "small"}}, "model.preset"), ({"run": {"init_from": "/w/x.pt"}}, "init_from"),
                        ({"sft": {"steps": 100000}}, "budget"), ({"rl": {"prompts_per_step": 512}}, "budget"),
                        ({"rl": {"nope": 1}}, "unknown field"), ({"rl": {"lr": "fast"}}, "rl.lr")]:
        merged = {**t.broken_config(), **{k: {**t.broken_config().get(k, {}), **v} for k, v in change.items()}}
        f = tmp_path / "sub.yaml"
        f.write_text(yaml.safe_dump(merged))
        problem = validate_file(t, f)
        assert problem and why in problem, (change, problem)
    (tmp_path / "bad.yaml").write_text("rl: [1, 2\n")
    report = grade_file(t, tmp_path / "bad.yaml")
    assert not report.valid and "invalid YAML" in report.error and report.score is None


def test_rules_map_each_probe_to_the_private_fix():
    for t in list_tasks():
        kinds, evals = PROBES[t.id]
        fixed, why = propose_fix(t.broken_config(), kinds, evals)
        assert why, t.id
        got = check_config(t, fixed)
        for section, body in t.fix.items():
            for k, v in body.items():
                if section != "model" or k == "balance":
                    assert got[section][k] == v, (t.id, section, k, got[section].get(k))
    untouched, why = propose_fix(get_task("rl-lr-collapse").reference_config(), set(), {"sft": 0.5, "rl": 0.8})
    assert why == []                                                  # a healthy run is left alone


def _cli(*args: str):
    from typer.testing import CliRunner

    from agent.cli import app

    return CliRunner().invoke(app, ["tasks", *args], prog_name="evoforge")


def test_cli_lists_families_and_validates_configs(data, tmp_path):
    rows = json.loads(_cli("list", "--json").stdout)
    fams = {r["family"] for r in rows}
    assert fams == {"mle_lite", "rl_runs"}, fams
    rl = json.loads(_cli("list", "--json", "--family", "rl_runs").stdout)
    assert len(rl) >= 8 and {r["family"] for r in rl} == {"rl_runs"}
    bad = _cli("list", "--family", "chess")
    assert bad.exit_code == 2 and "unknown family" in bad.output
    t = get_task("rl-nan-fault")
    t.prepare()
    ok = _cli("validate", t.id, str(t.public_dir / "config.yaml"))
    assert ok.exit_code == 0 and ok.stdout.strip() == "valid", ok.output
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump({**t.broken_config(), "env": {"name": "arithmetic", "level": 3}}))
    no = _cli("validate", t.id, str(f))
    assert no.exit_code == 1 and "env.level must stay 1" in no.stdout
    shown = _cli("show", t.id)
    assert shown.exit_code == 0 and "submission.yaml" in shown.stdout and t.fault not in shown.stdout


@pytest.mark.slow
def test_grader_retrains_reference_earns_a_medal_broken_does_not(data, tmp_path):
    t = get_task("rl-truncated-answers")
    for which, cfg in (("fixed", t.reference_config()), ("broken", t.broken_config())):
        f = tmp_path / f"{which}.yaml"
        f.write_text(yaml.safe_dump(cfg))
        rep = grade_file(t, f)
        assert rep.valid and rep.details["exit_code"] == 0, rep
        if which == "fixed":
            assert rep.score >= t.thresholds["bronze"] and rep.medal, rep
        else:
            assert rep.score < t.thresholds["bronze"] and rep.medal is None, rep


@pytest.mark.slow
@pytest.mark.skipif(not local_available()[0], reason=f"bwrap unusable here: {local_available()[1]}")
def test_heuristic_policy_repairs_a_task_end_to_end(data, tmp_path, monkeypatch):
    from agent.graph.runner import start_run
    from agent.graph.spec import RunSpec

    monkeypatch.setenv("EVOFORGE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("EVOFORGE_MEMORY", str(tmp_path / "MEMORY.md"))
    store = start_run(RunSpec("rl-nan-fault", policy="heuristic", sandbox="local"))
    calls = [e["name"] for e in store.read_events() if e["type"] == "tool_call"]
    assert calls[:4] == ["bash", "launch_training", "training_status", "read_training_log"], calls
    assert "submit" in calls
    sub = yaml.safe_load(store.submission_path.read_text())
    assert sub["debug"]["nan_at_step"] == -1
    score = json.loads(store.score_path.read_text())
    assert score["valid"] and score["score"] >= get_task("rl-nan-fault").thresholds["bronze"], score
    jobs = json.loads((store.sandbox_state / "jobs" / "job-1.json").read_text())
    assert jobs["ended"]["how"] == "exited"
