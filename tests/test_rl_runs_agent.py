"""The agent's own training runs, end to end through the real graph: a scripted model over HTTP (the `llm` policy,
the real openai client) debugs an rl_runs task with the training-job tools — launches the broken set-up, reads its
anomalies, launches a fix, stops a run it does not need, relaunches, submits the config with its validation score
and finishes — and the grader retrains the submission. A second run is stopped (SIGTERM, as a campaign stops it)
while its job trains: the job outlives the stop, the resumed attempt re-attaches to it, and it ends with the attempt.

The task is a tiny one of the family's format (EVOFORGE_RL_RUNS_TASKS), so that the grader's retraining takes
seconds; the shipped tasks are graded in tests/test_rl_runs.py (slow)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import yaml

from agent.graph.runner import resume_run, start_run
from agent.graph.spec import RunSpec
from agent.runstore import RunStore
from agent.sandbox import local_available
from common import paths
from tests.fake_llm_server import FakeLLMServer, call, text, tools
from tests.test_training_jobs import _wait

pytestmark = pytest.mark.skipif(not local_available()[0], reason=f"bwrap unusable here: {local_available()[1]}")

TASK = "rl-tiny-nan"
TASKS = {
    "base": {"model": {"preset": "tiny"}, "run": {"device": "cpu", "eval_problems": 20}, "env": {"name": "arithmetic",
             "level": 1}, "sft": {"steps": 10, "batch_size": 32, "lr": 3.0e-3},
             "rl": {"steps": 1, "prompts_per_step": 4, "group_size": 4, "loss": "cispo", "minibatches": 1,
                    "lr": 1.0e-4},
             "optim": {"warmup_steps": 2, "grad_clip": 1.0}, "log": {"ckpt_every": 1000, "tensorboard": False}},
    "budget": {"sft_steps": 4000, "rl_steps": 10, "rollouts_per_step": 64, "grade_timeout_s": 600},
    "tasks": {TASK: {"title": "A tiny run that dies", "description": "The run stops early with an error.",
                     "broken": {"debug": {"nan_at_step": 3}}, "fault": "a NaN injected at step 3",
                     "fix": {"debug": {"nan_at_step": -1}},
                     "thresholds": {"gold": 0.9, "silver": 0.8, "bronze": 0.7, "median": 0.5}}},
}


@pytest.fixture
def env(tmp_path, monkeypatch):
    defs = tmp_path / "rl_tasks.yaml"
    defs.write_text(yaml.safe_dump(TASKS))
    values = {"EVOFORGE_RL_RUNS_TASKS": str(defs), "EVOFORGE_DATA": str(tmp_path / "data"),
              "EVOFORGE_RUNS": str(tmp_path / "runs"), "EVOFORGE_MEMORY": str(tmp_path / "MEMORY.md"),
              "EVOFORGE_LLM_CONFIG": str(tmp_path / "no-llm-config.yaml"), "OPENAI_API_KEY": "sk-test"}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return values


def _script(turns):
    """The model: turn n plays turns[n] (calls with ids t<n>-<k>), counted from the history it is sent."""
    def step(body: dict, index: int) -> dict:
        if not body.get("tools"):
            return text("### What worked\n- reading the anomalies\n### What failed\n- nothing")
        n = sum(1 for m in body["messages"] if m.get("role") == "assistant" and m.get("tool_calls"))
        if n >= len(turns):
            return tools(call("finish", {"reason": "script done"}, id=f"t{n}-0"))
        return tools(*[call(name, args, id=f"t{n}-{k}") for k, (name, args) in enumerate(turns[n])],
                     thinking=f"step {n}")
    return step


def _fixed(**extra) -> str:
    cfg = {**TASKS["base"], "debug": {"nan_at_step": -1}}
    for key, value in extra.items():
        section, name = key.split("__")
        cfg = {**cfg, section: {**cfg[section], name: value}}
    return yaml.safe_dump(cfg)


DEBUG_TURNS = [
    [("bash", {"command": "cp /data/config.yaml probe.yaml"})],
    [("launch_training", {"config": "probe.yaml", "name": "probe"})],
    [("training_status", {"job_id": "job-1", "wait_s": 300})],
    [("read_training_log", {"job_id": "job-1", "mode": "anomalies"})],
    [("write_file", {"path": "long.yaml", "content": _fixed(sft__steps=4000)}),
     ("launch_training", {"config": "long.yaml", "name": "long"})],
    [("training_status", {"job_id": "job-2"}), ("stop_training", {"job_id": "job-2", "grace_s": 20})],
    [("write_file", {"path": "submission.yaml", "content": _fixed()}),
     ("launch_training", {"config": "submission.yaml", "name": "check"})],
    [("training_status", {"job_id": "job-3", "wait_s": 300})],
    [("validate_submission", {"path": "submission.yaml"}),
     ("submit", {"path": "submission.yaml", "validation_score": 0.5, "note": "NaN injection removed"})],
    [("finish", {"reason": "the fixed run trains cleanly"})],
]


def _outputs(store: RunStore) -> dict[str, dict]:
    return {e["call_id"]: e for e in store.read_events() if e["type"] == "tool_call"}


def test_scripted_model_debugs_a_run_with_the_job_tools_and_the_grader_retrains(env):
    with FakeLLMServer(_script(DEBUG_TURNS)) as server:
        store = start_run(RunSpec(TASK, policy="llm", model="MiniMax-M2", sandbox="local", base_url=server.base_url,
                                  run_id="rl-debug"))
    out = _outputs(store)
    status = out["t2-0"]
    assert status["exit_code"] == 0 and "exit code 1" in status["output"], status["output"]
    anomalies = out["t3-0"]
    assert "non_finite from step 3" in anomalies["output"], anomalies["output"]
    assert ": running" in out["t5-0"]["output"].split("\n")[0], out["t5-0"]["output"]
    assert out["t5-1"]["exit_code"] == 0 and "stopped" in out["t5-1"]["output"], out["t5-1"]["output"]
    assert "exited" in out["t7-0"]["output"] and "exit code 0" in out["t7-0"]["output"], out["t7-0"]["output"]
    assert out["t8-0"]["output"].startswith("valid") and out["t8-1"]["exit_code"] == 0
    jobs = {j: json.loads((store.sandbox_state / "jobs" / f"{j}.json").read_text())["ended"]["how"]
            for j in ("job-1", "job-2", "job-3")}
    assert jobs == {"job-1": "exited", "job-2": "stopped", "job-3": "exited"}
    cands = [e for e in store.read_events() if e["type"] == "candidate"]
    assert [(c["valid"], c["validation_score"]) for c in cands] == [(True, 0.5)]
    assert yaml.safe_load(store.submission_path.read_text())["debug"]["nan_at_step"] == -1
    score = json.loads(store.score_path.read_text())          # the grader's own run of the submitted config
    assert score["valid"] and 0.0 <= score["score"] <= 1.0, score
    assert score["details"]["exit_code"] == 0 and score["details"]["steps"] == 11, score
    assert store.read_meta()["status"] == "finished"


RESUME_TURNS = [
    [("write_file", {"path": "long.yaml", "content": _fixed(sft__steps=4000)})],
    [("launch_training", {"config": "long.yaml", "name": "long"})],
    [("bash", {"command": "while [ ! -e go ]; do sleep 0.5; done"})],     # the attempt is stopped while this runs
    [("training_status", {"job_id": "job-1"})],
    [("stop_training", {"job_id": "job-1", "grace_s": 20})],
    [("write_file", {"path": "submission.yaml", "content": _fixed()}),
     ("submit", {"path": "submission.yaml", "validation_score": 0.1})],
    [("finish", {"reason": "done"})],
]


def test_a_stopped_attempt_keeps_its_job_and_the_resumed_one_reattaches_it(env, tmp_path):
    runs = tmp_path / "runs"
    record = runs / "rl-resume"
    with FakeLLMServer(_script(RESUME_TURNS)) as server:
        proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", TASK, "--policy", "llm", "--model",
                                 "MiniMax-M2", "--base-url", server.base_url, "--sandbox", "local", "--run-id",
                                 "rl-resume"], cwd=paths.ROOT, env={**os.environ, **env},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            metrics = record / "workspace" / "runs" / "long" / "metrics.jsonl"
            if not _wait(lambda: metrics.is_file() and metrics.stat().st_size > 0, 240):
                proc.kill()
                pytest.fail(f"the job never wrote metrics: {proc.communicate()[1][-2000:]}")
            assert _wait(lambda: any(e.get("name") == "bash" for e in RunStore(record).read_events()
                                     if e["type"] == "tool_started"), 120)
            proc.send_signal(signal.SIGTERM)             # as `campaign stop` and Ctrl-C stop an attempt
            assert proc.wait(timeout=120) == 130, proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
        store = RunStore(record)
        assert store.read_meta()["status"] == "interrupted"
        rec = json.loads((store.sandbox_state / "jobs" / "job-1.json").read_text())
        assert rec["ended"] is None, rec                 # the job outlived its attempt's process
        size = metrics.stat().st_size
        assert _wait(lambda: metrics.stat().st_size > size, 60), "the job stopped training"
        (record / "workspace" / "go").touch()
        store = resume_run("rl-resume")
    out = _outputs(store)
    status = out["t3-0"]["output"]
    assert ": running" in status.split("\n")[0], status
    rec = json.loads((store.sandbox_state / "jobs" / "job-1.json").read_text())
    assert rec["reattached"] == 1 and rec["ended"]["how"] == "stopped", rec
    assert store.read_meta()["status"] == "finished"
