"""The graph driven by scripted and heuristic policies on a toy competition in the local sandbox."""

import json

import pytest
import yaml

from agent import memory
from agent.graph.budgets import Budgets
from agent.graph.runner import resume_run, start_run
from agent.graph.spec import RunSpec
from agent.runstore import RunStore
from agent.scaffold import load_scaffold
from agent.tools import TOOLS
from common.errors import UserError
from tests.toy import SOLVE, scripted, toy_env, turn


@pytest.fixture
def env(tmp_path, monkeypatch):
    values = toy_env(tmp_path)
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return tmp_path


def _events(store, type_=None):
    evs = store.read_events()
    return [e for e in evs if type_ is None or e["type"] == type_]


def _set_policy(env, **fields):
    p = env / "scaffold" / "policy.yaml"
    data = yaml.safe_load(p.read_text())
    data.update(fields)
    p.write_text(yaml.safe_dump(data))


def test_scripted_run_survives_bad_calls_and_escapes_then_is_graded(env):
    policy = scripted([
        turn(("read_file", {"path": "/data/../private/answers.csv"}), thinking="try to peek"),
        turn(("no_such_tool", {}), ("bash", '{"command": "ls"')),   # unknown tool + malformed JSON, parallel
        turn(("write_file", {"path": "solve.py", "content": SOLVE})),
        turn(("run_python", {"path": "solve.py"})),
        turn(("validate_submission", {})),
        turn(("submit", {}), ("finish", {})),
    ])
    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="s1"), policy_impl=policy)
    calls = _events(store, "tool_call")
    assert [c["name"] for c in calls] == ["read_file", "no_such_tool", "bash", "write_file", "run_python",
                                         "validate_submission", "submit", "finish"]
    assert calls[0]["exit_code"] != 0 and "outside" in calls[0]["output"]
    assert calls[1]["exit_code"] == 127 and calls[2]["exit_code"] == 2
    assert calls[4]["exit_code"] == 0 and calls[5]["output"].startswith("valid")
    answers = (env / "data" / "mle_lite" / "toy-binary" / "private" / "answers.csv").read_text()
    secret_row = answers.splitlines()[1]
    assert secret_row not in store.events_path.read_text()
    grading = _events(store, "grading")[0]
    assert grading["valid"] is True and grading["score"] < 0.69  # better than the constant 0.5
    score = json.loads(store.score_path.read_text())
    assert score["score"] == grading["score"] and score["stop_reason"] == "finish"
    meta = store.read_meta()
    assert meta["status"] == "finished" and meta["turns"] == 6 and meta["tool_errors"] == 3
    assert meta["scaffold_commit"]
    turns = _events(store, "model_turn")
    assert turns[0]["thinking"] == "try to peek" and turns[0]["message"]["reasoning_content"] == "try to peek"
    seqs = [e["seq"] for e in _events(store)]
    assert seqs == list(range(len(seqs)))
    assert _events(store)[-1]["type"] == "run_finished"
    assert "s1" in memory.recorded_runs(env / "MEMORY.md")


def test_budget_ends_run_with_reason_and_grades_what_exists(env):
    policy = scripted([
        turn(("write_file", {"path": "solve.py", "content": SOLVE})),
        turn(("run_python", {"path": "solve.py"})),
        turn(("bash", {"command": "echo still working"})),
    ])
    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="b1", budgets=Budgets(max_turns=2)), policy_impl=policy)
    ex = _events(store, "budget_exhausted")
    assert len(ex) == 1 and ex[0]["reason"].startswith("max_turns")
    assert len(_events(store, "model_turn")) == 2
    sub = _events(store, "submission")
    assert sub and sub[0]["auto"] is True
    assert _events(store, "grading")[0]["valid"] is True
    assert store.read_meta()["stop_reason"].startswith("max_turns")
    assert _events(store, "reflection")


def test_token_budget(env):
    policy = scripted([turn(("bash", {"command": "true"}), tokens=30)])
    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="t1", budgets=Budgets(tokens=100)), policy_impl=policy)
    assert len(_events(store, "model_turn")) == 2  # 60 then 120 tokens
    assert _events(store, "budget_exhausted")[0]["reason"].startswith("token budget")
    assert _events(store, "grading")[0]["valid"] is False


def test_compaction_keeps_recent_turns_and_pairs(env):
    _set_policy(env, context_window_tokens=3000, compact_at_fraction=0.5, keep_recent_turns=2)
    big = "echo " + "y" * 1500
    steps = [turn(("bash", {"command": big + f" {i}"}), content=f"step {i}") for i in range(5)]
    steps.append(turn(("bash", {"command": "cp $DATA_DIR/sample_submission.csv submission.csv"}), content="step 5"))
    seen: list[list[dict]] = []

    def policy(state):
        seen.append(state["messages"])
        return scripted(steps + [turn(("submit", {}), ("finish", {}))])(state)

    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="c1"), policy_impl=policy)
    comp = _events(store, "context_compacted")
    assert comp and comp[0]["after_tokens"] < comp[0]["before_tokens"] and comp[0]["method"] == "extractive"
    last = seen[-1]
    assert any(m["role"] == "user" and m["content"].startswith("[Summary of earlier work") for m in last)
    assert last[0]["role"] == "system" and "toy-binary" in last[1]["content"]
    # the two most recent turns are verbatim, and every tool result follows its call
    assistants = [m for m in last if m["role"] == "assistant"]
    assert [m["content"] for m in assistants[-2:]] == ["step 4", "step 5"]
    ids = {c["id"] for m in last if m["role"] == "assistant" for c in m.get("tool_calls", [])}
    assert all(m["tool_call_id"] in ids for m in last if m["role"] == "tool")
    assert "step 0" in comp[0]["summary"]
    assert store.read_meta()["stop_reason"] == "finish" and len(seen) == 7


def test_idle_turns_get_a_nudge_then_end(env):
    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="i1"), policy_impl=scripted([turn(content="thinking aloud")]))
    assert len(_events(store, "model_turn")) == 3  # max_idle_turns: 2 nudges, then stop
    assert store.read_meta()["stop_reason"] == "no_tool_calls"


def test_heuristic_policy_gets_a_valid_graded_submission_and_memory_carries_over(env):
    store = start_run(RunSpec("toy-binary", policy="heuristic", sandbox="local", run_id="h1"))
    g = _events(store, "grading")[0]
    assert g["valid"] is True and g["score"] < 0.69
    assert store.submission_path.exists() and store.read_meta()["policy"] == "heuristic"
    text = (env / "MEMORY.md").read_text()
    assert "## family: tabular" in text and "- worked: A valid submission was graded" in text and "runs: h1" in text
    store2 = start_run(RunSpec("toy-binary", policy="heuristic", sandbox="local", run_id="h2"))
    first_prompt = json.loads((store2.root / "initial_state.json").read_text())["messages"][1]["content"]
    assert "For tabular tasks:" in first_prompt and "- worked: A valid submission was graded" in first_prompt
    assert "runs: h1, h2" in (env / "MEMORY.md").read_text()     # the same lesson again: one line, two runs


def test_replay_reissues_recorded_turns(env):
    src = start_run(RunSpec("toy-binary", policy="heuristic", sandbox="local", run_id="src"))
    rep = start_run(RunSpec("toy-binary", policy="replay", replay_run="src", sandbox="local", run_id="rep"))
    a = [(e["name"], e["arguments"]) for e in _events(src, "tool_call")]
    b = [(e["name"], e["arguments"]) for e in _events(rep, "tool_call")]
    assert a == b and _events(rep, "grading")[0]["score"] == _events(src, "grading")[0]["score"]


def test_resume_of_a_finished_run_changes_nothing(env):
    store = start_run(RunSpec("toy-binary", policy="heuristic", sandbox="local", run_id="f1"))
    before = store.events_path.read_text()
    resume_run("f1")
    assert store.events_path.read_text() == before
    assert RunStore.open("f1").read_meta()["status"] == "finished"


def test_scaffold_validation_names_file_and_field(env):
    _set_policy(env, compact_at_fraction=3)
    with pytest.raises(UserError, match=r"policy.yaml: field 'compact_at_fraction'"):
        load_scaffold(known_tools=set(TOOLS))
    _set_policy(env, compact_at_fraction=0.5)
    tools = env / "scaffold" / "tools.yaml"
    data = yaml.safe_load(tools.read_text())
    data["enabled"].append("teleport")
    tools.write_text(yaml.safe_dump(data))
    with pytest.raises(UserError, match=r"tools.yaml: field 'enabled' names unknown tool 'teleport'"):
        load_scaffold(known_tools=set(TOOLS))
    with pytest.raises(UserError, match="tools.yaml"):
        start_run(RunSpec("toy-binary", policy="heuristic", sandbox="local", run_id="bad"))


def test_wall_time_budget(env):
    policy = scripted([turn(("bash", {"command": "sleep 0.4"}))])
    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="w1", budgets=Budgets(seconds=1.0)), policy_impl=policy)
    reason = _events(store, "budget_exhausted")[0]["reason"]
    assert reason.startswith("time budget")
    assert 2 <= len(_events(store, "model_turn")) <= 3
    assert store.read_meta()["elapsed_s"] >= 1.0


def test_resuming_a_live_run_is_refused(env):
    import os

    store = RunStore.create("live", base=env / "runs")
    store.write_meta({"run_id": "live", "task": "toy-binary", "policy": "heuristic", "status": "running",
                      "pid": os.getppid()})
    (store.root / "initial_state.json").write_text("{}")
    with pytest.raises(UserError, match="is being run by process"):
        resume_run("live")


def test_midrun_self_check_at_the_scaffold_cadence(env):
    p = env / "scaffold" / "policy.yaml"
    data = yaml.safe_load(p.read_text())
    data["reflection"]["every_turns"] = 2
    p.write_text(yaml.safe_dump(data))
    seen = []

    def policy(state):
        seen.append(state["messages"][-1])
        return scripted([turn(("bash", {"command": "true"}))] * 4 + [turn(("submit", {}), ("finish", {}))])(state)

    start_run(RunSpec("toy-binary", sandbox="local", run_id="mid", budgets=Budgets(max_turns=5)), policy_impl=policy)
    checks = [m for m in seen if m["role"] == "user" and m["content"].startswith("Progress check after")]
    assert [c["content"].split()[3] for c in checks] == ["2", "4"]
