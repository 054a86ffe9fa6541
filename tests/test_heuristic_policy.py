"""The heuristic policy's rules (draft, debug, improve, blend, register each candidate, finish) read from the
history alone, and real runs on the toy competition: it iterates past its first candidate, registers every
candidate with its CV score, the run grades the best by CV, and it resumes after a kill."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from agent.graph.policies.heuristic import HeuristicPolicy
from agent.graph.policies.heuristic_files import ENTRY
from agent.graph.runner import start_run
from agent.graph.spec import RunSpec
from agent.graph.stops import PolicyStop
from agent.runstore import RunStore
from agent.scaffold import load_scaffold
from tests.test_resume import _wait_for
from tests.toy import toy_env

EVOFORGE = [str(Path(sys.executable).parent / "evoforge")]
QUICK_BOOK = {
    "modalities": ["tabular"], "budget_s": 300, "reserve_s": 20, "min_recipe_s": 5,
    "cv": {"folds": 3}, "ensemble": {"enabled": True, "top_k": 3},
    "fallback": {"name": "prior", "features": [{"kind": "numeric"}], "model": {"family": "prior"}},
    "recipes": [
        {"name": "weak", "time_share": 0.3, "features": [{"kind": "numeric"}], "model": {"family": "knn", "n_neighbors": 3}},
        {"name": "linear", "time_share": 0.3, "features": [{"kind": "numeric"}], "model": {"family": "linear", "C": 1.0}},
    ],
}


class _Task:
    def __init__(self, modality="tabular"):
        sub = type("Sub", (), {"id_column": "id", "labels": None,
                               "columns": [type("Col", (), {"name": "target", "kind": "probability"})]})
        self.config = type("Cfg", (), {"submission": sub, "sample_submission": "sample_submission.csv",
                                       "metric": "log_loss", "modality": modality, "higher_is_better": False})


class Sim:
    """Plays the tools for the policy: each call gets the result `respond` gives, appended to the history."""

    def __init__(self, policy, respond):
        self.policy, self.respond = policy, respond
        self.messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
        self.calls: list[tuple[str, dict]] = []
        self.turns, self.elapsed = 0, 0.0

    def step(self):
        turn = self.policy({"messages": self.messages, "turns": self.turns, "elapsed_s": self.elapsed})
        self.turns += 1
        self.messages.append(turn.to_message())
        for c in turn.tool_calls:
            self.calls.append((c.name, c.args))
            self.messages.append({"role": "tool", "tool_call_id": c.id, "content": self.respond(c.name, c.args, self)})
        return turn

    def run(self, limit=60):
        with pytest.raises(PolicyStop):
            for _ in range(limit):
                self.step()
        return self.calls

    def engine(self):
        return [c[1]["args"] for c in self.calls if c[0] == "run_python" and c[1]["path"] == ENTRY]


def _policy(book=None, **budget):
    scaffold = load_scaffold()
    if book is not None:
        from agent.heuristic_engine.schema import validate_book

        scaffold.recipes.books["tabular"] = type("B", (), {"data": validate_book(book)})
    policy = HeuristicPolicy(_Task(), scaffold)
    for k, v in budget.items():
        setattr(policy, k, v)
    return policy


def _engine_ok(name, args, sim, cv=None, fail=()):
    """Tool results of a healthy engine: recipes get CV scores 0.6, 0.5, ... (lower is better here)."""
    if name == "list_files":
        return "/data:\n  100  train.csv"
    if name in ("bash", "write_file"):
        return "[exit code 0]" if name == "bash" else f"wrote 10 bytes to {args['path']}"
    if name == "validate_submission":
        return "valid: submission.csv matches the submission format"
    if name == "submit":
        return f"candidate registered: {args.get('path')} (valid); validation score {args.get('validation_score')}"
    if name == "finish":
        return "finishing"
    cmd = args.get("args", [])
    if cmd[:1] == ["inspect"]:
        return 'PLAN {"recipes": ["weak", "linear"], "fallback": "prior", "done": {}}\n[exit code 0]'
    if cmd[:1] == ["run"]:
        if cmd[1] in fail:
            return fail[cmd[1]]
        score = {"weak": 0.6, "linear": 0.5, "prior": 0.69}[cmd[1]]
        tag = {"name": cmd[1], "cv": score, "file": f"candidates/{cmd[1]}.csv", "best": cmd[1], "best_cv": score}
        return f'fold 1/3\nCANDIDATE {json.dumps(tag)}\n[exit code 0]'
    if cmd[:1] == ["ensemble"]:
        return ('CANDIDATE {"name": "ensemble", "cv": 0.45, "file": "candidates/ensemble.csv", "best": "ensemble", '
                '"best_cv": 0.45}\n[exit code 0]')
    return "[exit code 0]"


def test_draft_then_improve_then_blend_registering_each_candidate_then_finish():
    policy = _policy(QUICK_BOOK)
    sim = Sim(policy, _engine_ok)
    calls = sim.run()
    names = [c[0] for c in calls]
    assert names[:2] == ["list_files", "bash"] and names[-2:] == ["submit", "finish"]
    registered = [(c[1]["path"], c[1]["validation_score"]) for c in calls if c[0] == "submit"]
    assert registered == [("candidates/weak.csv", 0.6), ("candidates/linear.csv", 0.5),
                          ("candidates/ensemble.csv", 0.45)]      # each once, as it came, with its CV score
    assert names.index("submit") == names.index("run_python", names.index("run_python") + 2) - 1
    written = [c[1]["path"] for c in calls if c[0] == "write_file"]
    assert {"engine.py", "task.json", "recipes.json", "heuristic_engine/cli.py"} <= set(written)
    runs = sim.engine()
    assert [r[:2] for r in runs] == [["inspect"], ["run", "weak"], ["run", "linear"], ["ensemble"]]
    limit = float(runs[1][runs[1].index("--time-limit") + 1])
    assert limit == pytest.approx(0.3 * 300)    # the recipe's time share of the budget
    recipes = json.loads(next(c[1]["content"] for c in calls if c[1].get("path") == "recipes.json"))
    assert [r["name"] for r in recipes["recipes"]] == ["weak", "linear"] and recipes["cv"]["folds"] == 3


def test_a_budget_too_short_for_any_share_still_drafts_one_recipe_with_what_is_left():
    policy = _policy(QUICK_BOOK, budget_s=30.0)      # shares of 9 s, under min_recipe_s once the reserve is kept
    policy.book = dict(policy.book, min_recipe_s=10)
    sim = Sim(policy, _engine_ok)
    sim.run()
    runs = sim.engine()
    assert [r[:2] for r in runs] == [["inspect"], ["run", "weak"]] and sim.calls[-1][0] == "finish"
    limit = float(runs[1][runs[1].index("--time-limit") + 1])
    assert 10 <= limit <= 30 - 7.5       # what is left after the reserve (a quarter of the budget)


def test_a_failed_draft_falls_back_to_the_simple_recipe_then_goes_on():
    fail = {"weak": 'Traceback ...\nFAILED {"name": "weak", "error": "ValueError: boom"}\n[exit code 1]'}
    sim = Sim(_policy(QUICK_BOOK), lambda n, a, s: _engine_ok(n, a, s, fail=fail))
    sim.run()
    assert [r[:2] for r in sim.engine()][1:4] == [["run", "weak"], ["run", "prior"], ["run", "linear"]]


def test_a_recipe_killed_at_its_time_limit_is_retried_on_half_the_rows():
    killed = {"linear": "fold 1/3\n[command timed out after 150s and was killed]\n[exit code 124]"}
    sim = Sim(_policy(QUICK_BOOK), lambda n, a, s: _engine_ok(n, a, s, fail=killed))
    sim.run()
    runs = sim.engine()
    retry = runs[runs.index(next(r for r in runs if r[:2] == ["run", "linear"])) + 1]
    assert retry[:2] == ["run", "linear"] and retry[-2:] == ["--scale", "0.5"]
    assert sum(r[:2] == ["run", "linear"] for r in runs) == 2     # retried once, not forever


def test_an_interrupted_call_is_issued_again_not_taken_for_a_failure():
    state = {"cut": True}

    def respond(name, args, sim):
        if args.get("args", [None])[:2] == ["run", "linear"] and state.pop("cut", False):
            return "error: this call was interrupted: the agent's process was killed while it ran"
        return _engine_ok(name, args, sim)

    sim = Sim(_policy(QUICK_BOOK), respond)
    sim.run()
    runs = [r[:2] for r in sim.engine()]
    assert runs.count(["run", "linear"]) == 2 and ["run", "prior"] not in runs
    assert runs.index(["run", "linear"]) + 1 == len(runs) - runs[::-1].index(["run", "linear"]) - 1


def test_out_of_time_or_turns_it_stops_improving_and_submits_the_best():
    for budget in ({"budget_s": 60.0}, {"max_turns": 9}):
        def respond(name, args, sim):
            sim.elapsed += 25.0 if name == "run_python" else 0.0
            return _engine_ok(name, args, sim)

        sim = Sim(_policy(QUICK_BOOK, **budget), respond)
        sim.run()
        runs = [r[:1] for r in sim.engine()]
        assert runs.count(["run"]) < 2, (budget, runs)
        assert [c[0] for c in sim.calls[-2:]] == ["submit", "finish"] and sim.turns <= 12


def test_a_plan_lost_to_compaction_is_asked_for_again():
    sim = Sim(_policy(QUICK_BOOK), _engine_ok)
    for _ in range(5):
        sim.step()   # list, bash, write, inspect, run weak
    sim.messages = sim.messages[:2] + [{"role": "user", "content": "[Summary of earlier work] ..."}] + sim.messages[-2:]
    turn = sim.step()
    assert json.loads(turn.tool_calls[-1].arguments)["args"] == ["inspect"]
    assert turn.tool_calls[0].name == "submit"      # the candidate still in view is registered all the same


def test_when_the_engine_cannot_read_the_data_the_sample_submission_is_submitted():
    def respond(name, args, sim):
        if args.get("args", [None])[:1] == ["inspect"]:
            return "Traceback ...\nValueError: no table holds the submission's columns\n[exit code 1]"
        return _engine_ok(name, args, sim)

    sim = Sim(_policy(QUICK_BOOK), respond)
    calls = sim.run()
    fallback = next(c for c in calls if c[1].get("path") == "fallback.py")
    assert "sample_submission.csv" in fallback[1]["content"]
    assert [c[0] for c in calls][-4:] == ["run_python", "validate_submission", "submit", "finish"]
    assert "validation_score" not in calls[-2][1]        # the sample submission has no CV score


# ---- real runs on the toy competition ---------------------------------------------------------------------

@pytest.fixture
def env(tmp_path, monkeypatch):
    values = toy_env(tmp_path)
    (tmp_path / "scaffold" / "recipes" / "tabular.yaml").write_text(yaml.safe_dump(QUICK_BOOK, sort_keys=False))
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return dict(os.environ, **values)


def _tool_calls(store):
    return [e for e in store.read_events() if e["type"] == "tool_call"]


def test_a_run_iterates_past_its_first_candidate_and_submits_the_best_by_cv(env):
    store = start_run(RunSpec("toy-binary", policy="heuristic", sandbox="local", run_id="it"))
    engine = [json.loads(e["arguments"])["args"] for e in _tool_calls(store)
              if e["name"] == "run_python" and json.loads(e["arguments"])["path"] == ENTRY]
    assert [a[:2] for a in engine][:3] == [["inspect"], ["run", "weak"], ["run", "linear"]]
    ws = store.root / "workspace"
    reg = json.loads((ws / "candidates.json").read_text())
    scores = {c["name"]: c["cv"] for c in reg["candidates"]}
    assert {"weak", "linear"} <= set(scores) and scores["linear"] < scores["weak"]
    best = min(scores, key=scores.get)      # log-loss: lower is better
    assert reg["best"] == best
    chosen = next(c for c in reg["candidates"] if c["name"] == best)
    assert pd.read_csv(store.submission_path).equals(pd.read_csv(ws / chosen["csv"]))
    found = [e for e in store.read_events() if e["type"] == "candidate"]     # every CV candidate registered
    assert sorted(e["validation_score"] for e in found) == sorted(scores.values())
    graded = next(e for e in store.read_events() if e["type"] == "submission")
    assert graded["validation_score"] == scores[best] and store.read_meta()["candidates"] == len(found)
    grading = json.loads(store.score_path.read_text())
    assert grading["valid"] is True and grading["score"] < 0.69


def test_a_run_killed_mid_recipe_resumes_from_its_history_and_finishes(env, tmp_path):
    cmd = EVOFORGE + ["run", "toy-binary", "--policy", "heuristic", "--sandbox", "local", "--run-id", "k", "-q"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    events = tmp_path / "runs" / "k" / "events.jsonl"
    _wait_for(events, lambda e: e["type"] == "tool_started" and '"linear"' in e.get("arguments", ""), proc, 240)
    os.killpg(proc.pid, signal.SIGKILL)      # the harness and the recipe it was running
    proc.wait()
    r = subprocess.run(EVOFORGE + ["resume", "k", "-q"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    store = RunStore.open("k", base=tmp_path / "runs")
    calls = _tool_calls(store)
    linear = [e for e in calls if '"linear"' in e["arguments"] and e["name"] == "run_python"]
    assert [e.get("recovered") for e in linear] == ["interrupted", None]     # reported, then run again
    assert linear[1]["exit_code"] == 0 and "CANDIDATE" in linear[1]["output"]
    assert store.read_meta()["status"] == "finished" and calls[-1]["name"] == "finish"
    reg = json.loads((store.root / "workspace" / "candidates.json").read_text())
    assert {"weak", "linear"} <= {c["name"] for c in reg["candidates"]}
    killed = json.loads(store.score_path.read_text())
    assert killed["valid"] is True
    whole = start_run(RunSpec("toy-binary", policy="heuristic", sandbox="local", run_id="whole"))
    assert killed["score"] == pytest.approx(json.loads(whole.score_path.read_text())["score"])   # same result
