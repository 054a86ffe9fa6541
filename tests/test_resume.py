"""kill -9 of `evoforge run` at several points, then `evoforge resume`: the run completes and
events.jsonl has no gap or duplicate in seq, and every tool call appears exactly once."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.llm.types import AssistantTurn
from agent.runstore import RunStore
from tests.toy import SOLVE, record_turns, tool_call, toy_env

EVOFORGE = [str(Path(sys.executable).parent / "evoforge")]
SCRIPT = [
    ("write_file", {"path": "solve.py", "content": SOLVE}),
    ("bash", {"command": "sleep 0.8; echo slow-a"}),
    ("bash", {"command": "sleep 0.8; echo slow-b"}),
    ("run_python", {"path": "solve.py"}),
    ("bash", {"command": "sleep 0.5; echo slow-c"}),
    ("validate_submission", {}),
    ("submit", {}),
]


@pytest.fixture
def env(tmp_path):
    values = dict(os.environ, **toy_env(tmp_path))
    values.pop("OPENAI_BASE_URL", None)
    runs = Path(values["EVOFORGE_RUNS"])
    record_turns(runs, "src", SCRIPT)
    return values, runs


def _start(values, run_id):
    cmd = EVOFORGE + ["run", "toy-binary", "--policy", "replay", "--replay-run", "src", "--sandbox", "local",
                      "--run-id", run_id, "-q"]
    return subprocess.Popen(cmd, env=values, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_for(path: Path, pred, proc, timeout=60.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    if pred(json.loads(line)):
                        return
                except json.JSONDecodeError:
                    pass
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.01)
    raise AssertionError("timed out waiting for an event")


def _resume(values, run_id, code=0):
    r = subprocess.run(EVOFORGE + ["resume", run_id, "-q"], env=values, capture_output=True, text=True, timeout=120)
    assert r.returncode == code, r.stdout + r.stderr
    return r


def _check(runs, run_id):
    store = RunStore.open(run_id, base=runs)
    evs = store.read_events()
    seqs = [e["seq"] for e in evs]
    assert seqs == list(range(len(seqs))), seqs
    calls = [e["call_id"] for e in evs if e["type"] == "tool_call"]
    assert calls == [f"call-{i + 1}" for i in range(len(SCRIPT))]
    turns = [e["turn"] for e in evs if e["type"] == "model_turn"]
    assert turns == list(range(1, len(SCRIPT) + 1))
    assert [e["type"] for e in evs].count("run_started") == 1
    assert [e["type"] for e in evs][-4:] == ["submission", "grading", "reflection", "run_finished"]
    meta = store.read_meta()
    assert meta["status"] == "finished" and meta["stop_reason"] == "replay_exhausted" and meta["resumed"] >= 1
    assert json.loads(store.score_path.read_text())["valid"] is True
    return store


KILL_POINTS = {
    # during a tool call: the model turn that asked for a slow bash command is recorded, its result is not
    "during_tool_call": lambda e: e["type"] == "model_turn" and e["turn"] == 2,
    # between steps: right after a fast tool's result is written (checkpoint, context step or next turn)
    "between_steps": lambda e: e["type"] == "tool_call" and e["call_id"] == "call-1",
    # late: after the submission was accepted, during grading/reflection
    "after_submit": lambda e: e["type"] == "submission",
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_kill9_then_resume_completes_without_lost_or_duplicated_events(env, point):
    values, runs = env
    if point == "after_submit":
        # grading takes a while, so the kill lands after the submission and before the run ends
        grade = Path(values["EVOFORGE_COMPETITIONS_PATH"]) / "toy-binary" / "grade.py"
        text = grade.read_text()
        head, sep, body = text.partition("def grade(")
        grade.write_text("import time\n" + head + sep + body.replace(":\n", ":\n    time.sleep(2.0)\n", 1))
    proc = _start(values, "k1")
    _wait_for(runs / "k1" / "events.jsonl", KILL_POINTS[point], proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert RunStore.open("k1", base=runs).read_meta()["status"] == "running"
    _resume(values, "k1")
    _check(runs, "k1")


def test_killed_twice_and_listed_as_killed(env):
    values, runs = env
    proc = _start(values, "k2")
    _wait_for(runs / "k2" / "events.jsonl", lambda e: e["type"] == "model_turn" and e["turn"] == 3, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    listed = subprocess.run(EVOFORGE + ["runs", "list", "--json"], env=values, capture_output=True, text=True)
    row = next(r for r in json.loads(listed.stdout) if r["run_id"] == "k2")
    assert row["status"] == "killed"
    resume = subprocess.Popen(EVOFORGE + ["resume", "k2", "-q"], env=values, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    _wait_for(runs / "k2" / "events.jsonl", lambda e: e["type"] == "model_turn" and e["turn"] == 5, resume)
    os.kill(resume.pid, signal.SIGKILL)
    resume.wait()
    _resume(values, "k2")
    store = _check(runs, "k2")
    assert store.read_meta()["resumed"] == 2
    shown = subprocess.run(EVOFORGE + ["runs", "show", "k2"], env=values, capture_output=True, text=True)
    assert "finished" in shown.stdout and "run_finished 1" in shown.stdout


def test_resume_unknown_run_is_a_user_error(env):
    values, _ = env
    r = subprocess.run(EVOFORGE + ["resume", "nope"], env=values, capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("error: no run 'nope'")


# -- tool calls cut by the kill ----------------------------------------------------------------------
# A child process runs the run and kills itself (SIGKILL) the moment a chosen event is on disk, so the
# kill lands at an exact point: after `tool_started` (the tool has not returned) or after `tool_call`
# (the result is recorded, the step's checkpoint is not).
KILL_AT = """
import os, signal, sys
from agent.graph.runner import start_run
from agent.graph.spec import RunSpec
kind, call_id, run_id, src = sys.argv[1:5]
def sink(ev):
    if ev["type"] == kind and ev.get("call_id") == call_id:
        os.kill(os.getpid(), signal.SIGKILL)
start_run(RunSpec("toy-binary", policy="replay", replay_run=src, sandbox="local", run_id=run_id), sink=sink)
"""


def _run_killed_at(values, kind, call_id, run_id, src="src"):
    r = subprocess.run([sys.executable, "-c", KILL_AT, kind, call_id, run_id, src], env=values,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stdout + r.stderr


def _tool_events(runs, run_id, call_id):
    evs = RunStore.open(run_id, base=runs).read_events()
    return [e for e in evs if e.get("call_id") == call_id and e["type"] in ("tool_started", "tool_call")]


def test_a_call_cut_mid_way_is_reported_as_interrupted_not_rerun(env):
    values, runs = env
    _run_killed_at(values, "tool_started", "call-2", "cut")
    before = RunStore.open("cut", base=runs).read_events()
    assert before[-1]["type"] == "tool_started" and before[-1]["call_id"] == "call-2"
    _resume(values, "cut")
    store = _check(runs, "cut")
    started, result = _tool_events(runs, "cut", "call-2")
    assert started["type"] == "tool_started" and started["recovered"] == "interrupted"
    assert started["first_started_ts"] == before[-1]["ts"]                        # when it really started
    assert result["recovered"] == "interrupted" and result["exit_code"] == 130
    assert "interrupted" in result["output"] and "effects are unknown" in result["output"]
    assert "slow-a" not in result["output"]                                       # it was not run again
    # every other call was started once and finished once
    evs = store.read_events()
    assert [e["call_id"] for e in evs if e["type"] == "tool_started"] == [f"call-{i + 1}" for i in range(len(SCRIPT))]
    assert [e.get("recovered") for e in evs if e["type"] == "tool_call"].count(None) == len(SCRIPT) - 1
    # the model reads the interruption as call-2's observation
    history = [m for m in _messages(store) if m.get("role") == "tool" and m.get("tool_call_id") == "call-2"]
    assert len(history) == 1 and "interrupted" in history[0]["content"]


def test_a_read_only_call_cut_mid_way_is_run_again(env):
    values, runs = env
    assert SCRIPT[5][0] == "validate_submission"          # read-only in the tool table
    _run_killed_at(values, "tool_started", "call-6", "ro")
    _resume(values, "ro")
    _check(runs, "ro")
    started, result = _tool_events(runs, "ro", "call-6")
    assert started["type"] == "tool_started" and started["recovered"] == "rerun" and started["first_started_ts"]
    assert result["recovered"] == "rerun" and result["exit_code"] == 0 and result["output"].startswith("valid")


def test_a_call_finished_before_its_step_was_saved_keeps_its_result(env):
    values, runs = env
    _run_killed_at(values, "tool_call", "call-2", "fin")
    _resume(values, "fin")
    _check(runs, "fin")
    started, result = _tool_events(runs, "fin", "call-2")
    assert started["recovered"] == result["recovered"] == "finished"
    assert result["exit_code"] == 0 and "slow-a" in result["output"]


def test_parallel_calls_cut_between_them_run_each_at_most_once(env):
    values, runs = env
    src = RunStore.create("src2", base=runs)
    src.write_meta({"run_id": "src2", "task": "toy-binary", "policy": "scripted", "status": "finished"})
    t = AssistantTurn(content="two at once", tool_calls=[
        tool_call("call-a", "bash", {"command": "echo a >> log.txt"}),
        tool_call("call-b", "bash", {"command": "echo b >> log.txt"}),
        tool_call("call-c", "read_file", {"path": "log.txt"})])
    src.append_event(0, 0, "model_turn", **t.to_event(), message=t.to_message())
    _run_killed_at(values, "tool_started", "call-b", "par", src="src2")
    _resume(values, "par", code=1)          # it ends without a submission: exit status 1
    store = RunStore.open("par", base=runs)
    assert (store.workspace / "log.txt").read_text() == "a\n"      # a ran once, b never ran
    results = {e["call_id"]: e for e in store.read_events() if e["type"] == "tool_call"}
    assert results["call-a"]["recovered"] == "finished" and results["call-a"]["exit_code"] == 0
    assert results["call-b"]["recovered"] == "interrupted"
    assert "recovered" not in results["call-c"] and results["call-c"]["output"] == "a\n"
    assert store.read_meta()["status"] == "finished"


def _messages(store: RunStore) -> list[dict]:
    """The last checkpointed history of a run."""
    import sqlite3
    from contextlib import closing

    from langgraph.checkpoint.sqlite import SqliteSaver

    with closing(sqlite3.connect(store.checkpoint_path, check_same_thread=False)) as conn:
        tup = SqliteSaver(conn).get_tuple({"configurable": {"thread_id": store.run_id}})
    return tup.checkpoint["channel_values"]["messages"]
