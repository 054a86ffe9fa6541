"""`evoforge replay` (from events.jsonl alone, on a copied folder too), the timeline it reads, and
`evoforge resume RUN --from-turn N` (a fork from LangGraph's checkpoint history)."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.graph.runner import start_run
from agent.graph.spec import RunSpec
from agent.runstore import RunStore
from agent.tui.timeline import EventTail, Timeline
from tests.toy import scripted, solved_run, toy_env, turn


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("replay")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in toy_env(root).items():
            mp.setenv(k, v)
        mp.delenv("OPENAI_BASE_URL", raising=False)
        solved_run(root / "runs", "h")
        yield root / "runs"


def evo(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_replay_prints_turns_of_a_copied_folder_without_the_runs_folder(runs, tmp_path, monkeypatch):
    copy = tmp_path / "elsewhere" / "h"
    shutil.copytree(runs / "h", copy)
    for name in ("checkpoint.sqlite", "meta.json", "workspace"):
        shutil.rmtree(copy / name) if (copy / name).is_dir() else (copy / name).unlink()
    monkeypatch.setenv("EVOFORGE_RUNS", str(tmp_path / "no-runs-here"))
    r = evo("replay", str(copy), "--print")
    assert r.exit_code == 0, r.output
    heads = [line for line in r.output.splitlines() if line.startswith("── ")]
    assert heads == ["── start · h ──"] + [f"── turn {k}/6 ──" for k in range(1, 7)]
    assert "grading: valid True" in r.output
    one = evo("replay", str(copy), "--turn", "5", "--print").output
    assert one.splitlines()[0] == "── turn 5/6 ──" and "validate_submission" in one and "list_files" not in one


def test_replay_search_and_bad_input(runs):
    r = evo("replay", "h", "--search", "validate_submission", "--print")
    assert r.exit_code == 0
    where = [line for line in r.output.splitlines() if line.startswith("turn ") and " · seq " in line]
    assert [w.split(" · ")[0] for w in where] == ["turn 5"] * len(where) and len(where) >= 2
    for args, message in ((("--turn", "7"), "the run has turns 0 to 6"), (("--speed", "0"), "--speed must be > 0"),
                          (("--search", "no such text anywhere"), "no event of h contains")):
        bad = evo("replay", "h", "--print", *args)
        assert bad.exit_code == 2 and message in bad.output


def test_the_timeline_reads_appended_torn_and_rewritten_records(tmp_path):
    path = tmp_path / "events.jsonl"
    ev = [{"seq": i, "ts": f"t{i}", "type": t} for i, t in enumerate(
        ["run_started", "model_turn", "tool_call", "model_turn", "tool_call"])]
    tail, tl = EventTail(path), Timeline()
    assert tail.read_new() == []
    path.write_text("".join(json.dumps(e) + "\n" for e in ev[:2]) + json.dumps(ev[2])[:10])   # a torn line
    tl.add(tail.read_new())
    assert [e["seq"] for e in tl.events] == [0, 1] and tl.n_turns == 1
    with open(path, "a") as f:
        f.write(json.dumps(ev[2])[10:] + "\n" + json.dumps(ev[3]) + "\n")
    assert tl.add(tail.read_new()) is None and tl.n_turns == 2 and list(tl.turn_range(1)) == [1, 2]
    # a resume drops events from seq 3 and writes them anew (the file replaced)
    redo = {"seq": 3, "ts": "t3b", "type": "model_turn"}
    tmp = tmp_path / "new"
    tmp.write_text("".join(json.dumps(e) + "\n" for e in ev[:3] + [redo, ev[4]]))
    os.replace(tmp, path)
    assert tl.add(tail.read_new()) == 3
    assert [e["ts"] for e in tl.events] == ["t0", "t1", "t2", "t3b", "t4"] and tl.n_turns == 2
    assert tl.search("T3B") == 3 and tl.search("model_turn", after=3) == 1 and tl.turn_of(4) == 2
    assert tl.find_all("seq") == [] and tl.find_all("TOOL_") == [2, 4]      # values are searched, not keys


def test_resume_from_a_turn_forks_a_new_run_that_names_its_origin(runs):
    r = evo("resume", "h", "--from-turn", "4", "--policy", "replay", "--replay-run", "h", "--run-id", "fk", "-q")
    assert r.exit_code == 0, r.output
    origin, fork = RunStore.open("h", base=runs), RunStore.open("fk", base=runs)
    meta = fork.read_meta()
    assert meta["forked_from"]["run_id"] == "h" and meta["forked_from"]["turn"] == 4
    assert meta["policy"] == "replay" and meta["status"] == "finished"
    a, b = origin.read_events(), fork.read_events()
    assert b[0]["forked_from"] == meta["forked_from"] and b[0]["run_id"] == "fk"
    cut = next(i for i, e in enumerate(a) if e.get("turn") == 4)
    assert b[1:cut] == a[1:cut]
    # the fork replays turns 4-6 of the origin: the same calls, the same grade
    calls = [(e["name"], e["arguments"]) for e in a[cut:] if e["type"] == "tool_call"]
    assert [(e["name"], e["arguments"]) for e in b[cut:] if e["type"] == "tool_call"] == calls
    assert [e["seq"] for e in b] == list(range(len(b)))
    assert json.loads(fork.score_path.read_text())["score"] == json.loads(origin.score_path.read_text())["score"]
    assert origin.read_meta().get("forked_from") is None and len(origin.read_events()) == len(a)


def test_fork_errors_are_one_line(runs, tmp_path):
    for args, message in ((("h", "--from-turn", "9"), "no checkpoint before turn 9 (it took 6 turns)"),
                          (("h", "--from-turn", "0"), "--from-turn must be 1 or more"),
                          (("h", "--policy", "llm"), "--policy only applies to a fork"),
                          (("h", "--from-turn", "2", "--policy", "magic"), "unknown policy 'magic'")):
        r = evo("resume", *args)
        assert r.exit_code == 2 and message in r.output, r.output
    start_run(RunSpec("toy-binary", sandbox="local", run_id="custom"),
              policy_impl=scripted([turn(("bash", {"command": "true"})), turn(("submit", {}))]))
    r = evo("resume", "custom", "--from-turn", "1")
    assert r.exit_code == 2 and "driven by a policy given in code" in r.output
    assert evo("resume", "custom", "--from-turn", "1", "--policy", "replay", "--replay-run", "h",
               "--run-id", "c2", "-q").exit_code in (0, 1)
    assert RunStore.open("c2", base=runs).read_meta()["forked_from"]["run_id"] == "custom"
