"""The kill/resume defects found by killing single attempts at random moments, one test each: one owner per
run (a lock that dies with its holder), no process of a killed attempt outliving it, a resume killed right
after it truncated the log, a kill before the first checkpoint, resuming a finished run, and a killed
heuristic attempt ending with the same result as an uninterrupted one."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from agent.graph.recovery import calls_in_flight, keep_cut_step
from agent.runstore import RunStore
from tests.test_resume import EVOFORGE, _wait_for
from tests.toy import SOLVE, record_turns, toy_env

TICKER = "for i in $(seq 1 400); do echo $i >> ticks.txt; sleep 0.05; done; echo done"
SCRIPT = [
    ("write_file", {"path": "solve.py", "content": SOLVE}),
    ("bash", {"command": TICKER}),
    ("run_python", {"path": "solve.py"}),
    ("submit", {"path": "submission.csv", "validation_score": 0.6}),
    ("finish", {"reason": "done"}),
]


@pytest.fixture
def env(tmp_path):
    values = dict(os.environ, **toy_env(tmp_path))
    values.pop("OPENAI_BASE_URL", None)
    runs = Path(values["EVOFORGE_RUNS"])
    record_turns(runs, "src", SCRIPT)
    return values, runs


def _start(values, run_id, sandbox="local"):
    cmd = EVOFORGE + ["run", "toy-binary", "--policy", "replay", "--replay-run", "src", "--sandbox", sandbox,
                      "--run-id", run_id, "-q"]
    return subprocess.Popen(cmd, env=values, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _kill_in_ticker(values, runs, run_id, sandbox="local"):
    """Start a run and kill -9 its process (only it, not its group) while the ticker command runs."""
    proc = _start(values, run_id, sandbox)
    ticks = runs / run_id / "workspace" / "ticks.txt"
    _wait_for(runs / run_id / "events.jsonl", lambda e: e["type"] == "tool_started" and e["name"] == "bash", proc)
    t0 = time.monotonic()
    while not ticks.exists() and time.monotonic() - t0 < 30:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return ticks


def _resume(values, run_id):
    return subprocess.run(EVOFORGE + ["resume", run_id, "-q"], env=values, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("sandbox", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_no_command_of_a_killed_attempt_goes_on_writing_into_its_workspace(env, sandbox):
    values, runs = env
    ticks = _kill_in_ticker(values, runs, f"orphan-{sandbox}", sandbox)
    time.sleep(3.0)                         # the sandbox notices its owner died (bwrap at once, docker's watchdog)
    before = ticks.read_text()
    time.sleep(1.5)
    assert ticks.read_text() == before, "a command of the killed attempt is still writing"


def test_two_resumes_started_together_cannot_both_run(env):
    values, runs = env
    _kill_in_ticker(values, runs, "twin")
    procs = [subprocess.Popen(EVOFORGE + ["resume", "twin", "-q"], env=values, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(180), *p.communicate()) for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 2], results                   # one ran to the end; the other was refused at once
    refused = next(r for r in results if r[0] == 2)
    assert "is being run by process" in refused[2]
    store = RunStore.open("twin", base=runs)
    evs = store.read_events()
    assert [e["seq"] for e in evs] == list(range(len(evs)))
    kinds = [e["type"] for e in evs]
    assert kinds.count("grading") == 1 and kinds.count("run_finished") == 1 and store.read_meta()["resumed"] == 1
    assert store.locked_by() is None                  # the lock died with its holder


def test_a_lock_is_held_by_one_process_and_dies_with_it(env):
    values, runs = env
    proc = _start(values, "held")
    _wait_for(runs / "held" / "events.jsonl", lambda e: e["type"] == "tool_started" and e["name"] == "bash", proc)
    store = RunStore.open("held", base=runs)
    assert store.locked_by() == proc.pid
    r = _resume(values, "held")
    assert r.returncode == 2 and f"is being run by process {proc.pid}" in r.stderr
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert store.locked_by() is None and store.read_meta()["status"] == "running"   # killed, resumable
    listed = subprocess.run(EVOFORGE + ["runs", "list", "--json"], env=values, capture_output=True, text=True)
    assert next(r for r in json.loads(listed.stdout) if r["run_id"] == "held")["status"] == "killed"


def test_a_resume_killed_right_after_truncating_the_log_still_knows_the_interrupted_call(env):
    values, runs = env
    _kill_in_ticker(values, runs, "trunc")
    store = RunStore.open("trunc", base=runs)
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver
    with sqlite3.connect(store.checkpoint_path) as conn:
        seq = SqliteSaver(conn).get_tuple({"configurable": {"thread_id": "trunc"}}).checkpoint["channel_values"]["seq"]
    cut = [e for e in store.read_events() if e["seq"] >= seq]
    assert calls_in_flight(cut)                        # the ticker started, with no result
    keep_cut_step(store, seq, cut)                     # what the first resume does...
    store.truncate_events(seq)                         # ...and where it was killed
    r = _resume(values, "trunc")
    assert r.returncode == 0, r.stdout + r.stderr
    evs = store.read_events()
    ticker = [e for e in evs if e["type"] == "tool_call" and e["name"] == "bash"]
    assert len(ticker) == 1 and ticker[0]["recovered"] == "interrupted" and ticker[0]["exit_code"] == 130
    started = [e for e in evs if e["type"] == "tool_started" and e["name"] == "bash"]
    assert len(started) == 1 and started[0].get("first_started_ts")     # the first start's time is kept
    assert "done" not in (store.workspace / "ticks.txt").read_text()    # not run a second time


def test_a_run_killed_before_its_first_checkpoint_is_resumed_from_its_first_state(env):
    values, runs = env
    _kill_in_ticker(values, runs, "early")
    store = RunStore.open("early", base=runs)
    for p in store.root.glob("checkpoint.sqlite*"):    # as if killed before the first checkpoint was written
        p.unlink()
    store.truncate_events(1)
    r = _resume(values, "early")
    assert r.returncode == 0, r.stdout + r.stderr
    meta = store.read_meta()
    assert meta["status"] == "finished" and meta["valid"] is True
    again = subprocess.run(EVOFORGE + ["run", "toy-binary", "--run-id", "early", "--policy", "heuristic"],
                           env=values, capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_resuming_a_finished_run_says_so_and_leaves_its_record_alone(env):
    values, runs = env
    proc = _start(values, "done")
    assert proc.wait(180) == 0, proc.stdout.read().decode()
    store = RunStore.open("done", base=runs)
    meta, events = store.meta_path.read_bytes(), store.events_path.read_bytes()
    r = _resume(values, "done")
    assert r.returncode == 0 and "had already finished" in r.stderr
    assert store.meta_path.read_bytes() == meta and store.events_path.read_bytes() == events
