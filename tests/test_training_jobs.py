"""Training jobs: long-lived jobs in the local (bubblewrap) sandbox that survive a killed evoforge, are re-attached
by a sandbox opened over the same state folder and killed when it closes; the training-job tools over a real
trainer run; the anomaly detector on known faults."""

import json
import math
import subprocess
import sys
import time

import pytest

from agent.graph.sandboxes import open_sandbox
from agent.sandbox import Limits, docker_available, local_available
from agent.scaffold import load_scaffold
from agent.tools import TOOLS, ToolContext, anomalies, run_tool
from common.procs import pid_alive

needs_bwrap = pytest.mark.skipif(not local_available()[0], reason=f"bwrap unusable here: {local_available()[1]}")
SLEEPER = ["python", "-c", "import signal, sys, time\n"
           "signal.signal(signal.SIGTERM, lambda *a: (print('got TERM', flush=True), sys.exit(7)))\n"
           "print('up', flush=True)\ntime.sleep(120)"]


def _dirs(tmp_path):
    ws, pub, state = tmp_path / "ws", tmp_path / "pub", tmp_path / "state"
    for d in (ws, pub):
        d.mkdir()
    return ws, pub, state


def _wait(cond, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.2)
    return False


def _alive(sb, rec):
    return sb.job_poll(rec.handle)[0]


@needs_bwrap
def test_job_outlives_commands_stops_on_term_and_ends_with_the_sandbox(tmp_path):
    ws, pub, state = _dirs(tmp_path)
    sb = open_sandbox("local", ws, pub, limits=Limits(memory_mb=1024), state_dir=state)
    try:
        a = sb.jobs.start(SLEEPER, "/workspace/logs/a.log", 60)
        assert _wait(lambda: "up" in (ws / "logs" / "a.log").read_text() if (ws / "logs" / "a.log").exists() else False)
        r = sb.exec("ps -eo args | grep -c 'time.sleep' ; true")     # a command does not see (or end) the job
        assert sb.jobs.get(a.id).running and r.exit_code == 0
        stopped = sb.jobs.stop(a.id, grace_s=20)
        assert (stopped.state, stopped.exit_code) == ("stopped", 7)
        assert "got TERM" in (ws / "logs" / "a.log").read_text()
        b = sb.jobs.start(SLEEPER, "/workspace/logs/b.log", 60)
        assert sb.jobs.get(b.id).running
    finally:
        sb.close()
    rec = json.loads((state / "jobs" / f"{b.id}.json").read_text())
    assert rec["ended"]["how"] == "killed" and not pid_alive(rec["handle"]["pid"], rec["handle"]["start"])


@needs_bwrap
def test_job_deadline_and_job_cap(tmp_path):
    ws, pub, state = _dirs(tmp_path)
    sb = open_sandbox("local", ws, pub, limits=Limits(memory_mb=1024, jobs=1), state_dir=state)
    try:
        a = sb.jobs.start(["sleep", "60"], "/workspace/a.log", 2)
        with pytest.raises(Exception, match="at most 1 at once"):
            sb.jobs.start(["sleep", "1"], "/workspace/b.log", 5)
        assert _wait(lambda: not sb.jobs.get(a.id).running, 20)
        assert sb.jobs.get(a.id).state == "deadline"
    finally:
        sb.close()


_OWNER = """
import sys, time
from pathlib import Path
from agent.graph.sandboxes import open_sandbox
from agent.sandbox import Limits
ws, pub, state = map(Path, sys.argv[1:4])
sb = open_sandbox("local", ws, pub, limits=Limits(memory_mb=1024), state_dir=state)
rec = sb.jobs.start(["sleep", "120"], "/workspace/s.log", 90)
print(rec.id, flush=True)
time.sleep(600)
"""


@needs_bwrap
def test_job_survives_a_killed_owner_and_is_reattached_then_reaped(tmp_path):
    ws, pub, state = _dirs(tmp_path)
    owner = subprocess.Popen([sys.executable, "-c", _OWNER, str(ws), str(pub), str(state)], stdout=subprocess.PIPE,
                             text=True)
    try:
        job_id = owner.stdout.readline().strip()
        assert job_id == "job-1"
    finally:
        owner.kill()                       # kill -9: no close, no cleanup
        owner.wait()
    handle = json.loads((state / "jobs" / "job-1.json").read_text())["handle"]
    time.sleep(0.5)
    assert pid_alive(handle["pid"], handle["start"]), "the job died with its owner"
    sb = open_sandbox("local", ws, pub, limits=Limits(memory_mb=1024), state_dir=state)
    try:
        rec = sb.jobs.get("job-1")
        assert rec.running and rec.reattached == 1
    finally:
        sb.close()
    assert not pid_alive(handle["pid"], handle["start"])
    assert json.loads((state / "jobs" / "job-1.json").read_text())["ended"]["how"] == "killed"


# -- the tools over a real trainer run --------------------------------------------------------------------------
TINY = ["sft.steps=6", "rl.steps=3", "rl.prompts_per_step=4", "rl.group_size=4", "run.eval_problems=16",
        "log.tensorboard=false"]


@pytest.fixture
def tctx(tmp_path):
    ws, pub, state = _dirs(tmp_path)
    sb = open_sandbox("local", ws, pub, limits=Limits(memory_mb=2048), state_dir=state)
    yield ToolContext(sandbox=sb, workspace=ws, public=pub)
    sb.close()


def _call(ctx, tool, **args):
    return run_tool(ctx, load_scaffold(known_tools=set(TOOLS)).tools, tool, args)


@needs_bwrap
def test_training_tools_refuse_bad_arguments(tctx, tmp_path):
    (tmp_path / "secret.yaml").write_text("rl: {lr: 1}\n")
    for args, why in [({"config": "../secret.yaml"}, "outside"), ({"config": str(tmp_path / "secret.yaml")}, "outside"),
                      ({"config": "nope.yaml"}, "no such config"),
                      ({"config": "tiny_cpu", "overrides": ["--run-dir=/etc"]}, "section.field=value"),
                      ({"config": "tiny_cpu", "name": "../x"}, "name"),
                      ({"config": "tiny_cpu", "resume": True, "name": "never"}, "nothing to resume")]:
        rec = _call(tctx, "launch_training", **args)
        assert rec["exit_code"] != 0 and why in rec["output"], (args, rec["output"])
    for tool, args in [("training_status", {"job_id": "job-9"}), ("stop_training", {"job_id": "../x"}),
                       ("read_training_log", {"job_id": "job-1"})]:
        rec = _call(tctx, tool, **args)
        assert rec["exit_code"] != 0 and "no job" in rec["output"]
    assert "no training jobs yet" in _call(tctx, "training_status")["output"]


@pytest.mark.slow
@needs_bwrap
def test_launch_watch_and_read_a_trainer_run(tctx):
    (tctx.workspace / "cfg.yaml").write_text("run: {seed: 1, device: cpu}\nrl: {lr: 1.0e-4}\n")
    rec = _call(tctx, "launch_training", config="cfg.yaml", overrides=TINY + ["debug.nan_at_step=7"], name="nan")
    assert rec["exit_code"] == 0 and rec["extra"]["job_id"] == "job-1", rec["output"]
    assert _wait(lambda: "running" not in _call(tctx, "training_status", job_id="job-1")["output"].split("\n")[0], 240)
    status = _call(tctx, "training_status", job_id="job-1")
    assert status["extra"]["state"] == "exited" and status["extra"]["exit_code"] == 1, status["output"]
    assert "non_finite@7" in status["output"] and "last lines of the output" in status["output"]
    found = _call(tctx, "read_training_log", job_id="job-1", mode="anomalies")
    assert found["extra"]["anomalies"][0] == {"kind": "non_finite", "step": 7}
    tail = _call(tctx, "read_training_log", job_id="job-1", mode="tail", lines=5)
    assert tail["exit_code"] == 0 and tail["output"]
    window = _call(tctx, "read_training_log", job_id="job-1", mode="summary", start_step=0, end_step=3, keys=["loss"])
    assert "steps 0..3 (4 records)" in window["output"] and "loss" in window["output"]
    assert (tctx.workspace / "runs" / "nan" / "config.yaml").is_file()


# -- the anomaly detector ---------------------------------------------------------------------------------------
def _rl(n, **series):
    return [{"step": i, "phase": "rl", **{k: v[i] for k, v in series.items()}} for i in range(n)]


def test_anomalies_name_the_fault_and_its_first_step():
    nan = [{"step": i, "phase": "sft", "loss": 2.0 if i < 4 else math.nan, "grad_norm": 1.0} for i in range(6)]
    assert [(a.kind, a.step) for a in anomalies.detect(nan)] == [("non_finite", 4)]
    collapse = _rl(12, reward_mean=[0.3, 0.4, 0.5, 0.6, 0.6, 0.5, 0.2, 0.05, 0.0, 0.0, 0.0, 0.0],
                   entropy=[2.0] * 7 + [0.05] * 5, grad_norm=[0.5] * 12, kl_rollout=[0.001] * 12)
    kinds = {a.kind: a.step for a in anomalies.detect(collapse)}
    assert kinds == {"reward_collapse": 6, "entropy_collapse": 7}
    assert [a.kind for a in anomalies.detect(_rl(5, reward_mean=[0.0] * 5, grad_norm=[0.0] * 5))] == [
        "no_reward", "no_learning"]
    kl = _rl(8, kl_rollout=[0.001] * 5 + [0.9, 1.0, 1.0], reward_mean=[0.5] * 8)
    assert [(a.kind, a.step) for a in anomalies.detect(kl)] == [("kl_spike", 5)]
    skew = [{"step": i, "phase": "sft", "loss": 1.0,
             "expert_load": [[0.125] * 8, [0.9] + [0.1 / 7] * 7 if i >= 8 else [0.125] * 8]} for i in range(30)]
    assert [(a.kind, a.step) for a in anomalies.detect(skew)] == [("expert_imbalance", 9)]
    early = [{**r, "expert_load": [[0.125] * 8, [0.9] + [0.1 / 7] * 7 if r["step"] < 8 else [0.125] * 8]}
             for r in skew]                                     # skewed at initialisation only: not an anomaly
    assert anomalies.detect(early) == []
    for share, flagged in ((0.34, True), (0.226, False)):     # rl-unbalanced-experts' probe vs a balanced run
        rest = [(1 - share) / 7] * 7
        run = [{"step": i, "phase": "rl", "loss": 1.0, "expert_load": [[share] + rest] * 2} for i in range(20)]
        assert [a.kind for a in anomalies.detect(run)] == (["expert_imbalance"] if flagged else []), share
    healthy = _rl(10, reward_mean=[0.1 * i for i in range(10)], entropy=[2.0] * 10, grad_norm=[0.3] * 10,
                  kl_rollout=[0.001] * 10, tokens_per_s=[1000.0] * 10)
    assert anomalies.detect(healthy) == []


def test_window_summary_counts_non_finite():
    recs = [{"step": i, "phase": "sft", "loss": float(i) if i != 2 else math.inf} for i in range(5)]
    out = anomalies.window_summary(recs, ["loss"], 1, 3)
    assert "steps 1..3 (3 records)" in out
    row = next(ln for ln in out.splitlines() if ln.startswith("loss"))
    assert row.split()[1:3] == ["2", "1"] and row.split()[-1] == "1"


_DOCKER_OWNER = _OWNER.replace('open_sandbox("local", ws, pub,', 'open_sandbox("docker", ws, pub, name=sys.argv[4],')


@pytest.mark.docker
@pytest.mark.skipif(not docker_available()[0], reason=f"docker unavailable: {docker_available()[1]}")
def test_docker_watchdog_spares_a_container_with_a_live_job_for_the_resumed_run(tmp_path):
    """A killed owner's container is removed by its watchdog, unless a job runs in it: then the resumed run
    re-attaches to it, and closing that sandbox removes it."""
    from agent.sandbox.engine import client

    ws, pub, state = _dirs(tmp_path)
    name = f"jobs-{tmp_path.name[-12:]}"
    owner = subprocess.Popen([sys.executable, "-c", _DOCKER_OWNER, str(ws), str(pub), str(state), name],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout.readline().strip() == "job-1"
    finally:
        owner.kill()                       # kill -9: the watchdog sees the pipe close without a word
        owner.wait()
    time.sleep(3)
    assert any(c.name == f"evoforge-{name}" for c in client().containers.list()), "the container was removed"
    sb = open_sandbox("docker", ws, pub, limits=Limits(memory_mb=1024), name=name, state_dir=state)
    try:
        rec = sb.jobs.get("job-1")
        assert rec.running and rec.reattached == 1, rec
    finally:
        sb.close()
    assert not any(c.name == f"evoforge-{name}" for c in client().containers.list(all=True))
    assert json.loads((state / "jobs" / "job-1.json").read_text())["ended"]["how"] == "killed"
