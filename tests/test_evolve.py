"""Self-evolution (agent/evolve): real git repositories (gitpython), the real graph, the real `local` sandbox
(bubblewrap) and toy competitions; the llm proposer talks to the scripted model over HTTP.

Attempts here use the heuristic policy. With a 60 s attempt budget its recipe books plan no recipe (the book
keeps 60 s in reserve), so an attempt submits its fallback in seconds; with 120 s it cross-validates recipes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest
import yaml
from typer.testing import CliRunner

from agent.evolve import loop
from agent.evolve.config import Budget, Plan
from agent.evolve.evaluate import Cache
from agent.evolve.gate import run_gate
from agent.evolve.propose_heuristic import HeuristicProposer, all_mutations, apply
from agent.evolve.repo import ScaffoldRepo
from agent.evolve.stats import paired, sign_p
from agent.evolve.store import EvolveStore
from agent.sandbox.factory import local_available
from tasks.mle_lite.toy import write_toy_competition
from tests import fake_llm_server as fake
from tests.toy import toy_env

pytestmark = pytest.mark.skipif(not local_available(), reason="needs bubblewrap (the local sandbox)")

DEV, HELD = "toy-dev", "toy-held"
# The toy's log-loss: the class prior scores ~0.69, the heuristic's recipes ~0.5 (a reference board between)
BOARD = [0.45, 0.5, 0.52, 0.55, 0.6, 0.65, 0.68, 0.7]
PRIOR_BOOK = """\
modalities: [tabular]
fallback: {name: prior, features: [{kind: numeric}], model: {family: prior}}
recipes:
  - name: prior_only
    time_share: 0.5
    features: [{kind: numeric}]
    model: {family: prior}
"""


@pytest.fixture
def evo_env(tmp_path, monkeypatch, no_user_llm_env):
    """Toy dev and held-out competitions with boards, a scaffold copy in a git checkout, memory, runs."""
    env = toy_env(tmp_path, DEV)
    for cid in (DEV, HELD):
        write_toy_competition(tmp_path / "competitions", cid, leaderboard=BOARD)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)
    for k in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(k, "t")
    for k in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(k, "t@example.com")
    user = git.Repo.init(tmp_path)
    user.git.add("scaffold")
    user.git.commit("-q", "--no-gpg-sign", "-m", "the user's scaffold")
    return tmp_path


def _plan(name: str, **kw) -> Plan:
    values = dict(name=name, dev=[DEV], heldout=[HELD], seeds=1, rounds=2, sandbox="local",
                  budget=Budget(seconds=60.0), smoke_seconds=60.0, control_max_k=2)
    values.update(kw)
    return Plan(**values)


def _tree_hash(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def _records(store: EvolveStore) -> list[Path]:
    """Every attempt's run record (each evaluation is a campaign under the run's campaigns/)."""
    return sorted(store.path("campaigns").glob("*/attempts/*/events.jsonl"))


def _attempt_starts(store: EvolveStore) -> dict[str, int]:
    """run record -> how many times the attempt was started from scratch (run_started events)."""
    out = {}
    for d in (p.parent for p in _records(store)):
        events = [json.loads(x) for x in (d / "events.jsonl").read_text().splitlines() if x.strip()]
        out[f"{d.parent.parent.name}/{d.name}"] = sum(e["type"] == "run_started" for e in events)
    return out


# -- statistics and the proposer's mutations (no attempts) ------------------------------------------------
def test_paired_tests_decide_on_consistent_gains_only():
    up = paired({("a", 0): 60, ("a", 1): 55, ("b", 0): 40}, {("a", 0): 50, ("a", 1): 50, ("b", 0): 30},
                confidence=0.8)
    assert up.confident and up.wins == 2 and up.n_tasks == 2 and up.mean_delta == pytest.approx(8.75)
    mixed = paired({("a", 0): 60, ("b", 0): 20}, {("a", 0): 50, ("b", 0): 40}, confidence=0.8)
    assert not mixed.confident and mixed.mean_delta < 0
    tie = paired({("a", 0): 50}, {("a", 0): 50})
    assert not tie.confident and tie.p_value == 1.0 and tie.ties == 1
    assert sign_p(3, 0) == pytest.approx(0.125) and sign_p(0, 0) == 1.0
    assert not paired({("a", 0): 60}, {("a", 0): 50}, test="sign", confidence=0.8).confident   # 1 task: p=.5


def test_heuristic_mutations_edit_recipe_books_and_policy_keeping_comments(tmp_path):
    import shutil

    from agent.scaffold import load_scaffold
    from common import paths

    scaffold = tmp_path / "scaffold"
    shutil.copytree(paths.ROOT / "scaffold", scaffold)
    muts = all_mutations(scaffold, {"tabular"})
    files = {m.file for m in muts}
    assert files == {"recipes/tabular.yaml", "policy.yaml"}          # only the book serving the dev families
    assert {m.kind for m in muts} >= {"order", "drop", "share", "knob", "cv", "ensemble", "loop"}
    assert not any(m.file == "policy.yaml" and m.path[0] == "sandbox" for m in muts)   # never a sandbox limit
    for m in [next(x for x in muts if x.kind == k) for k in ("order", "drop", "share", "cv", "loop")]:
        before = (scaffold / m.file).read_text()
        apply(scaffold, m)
        after = (scaffold / m.file).read_text()
        assert after != before and after.count("#") == before.count("#")   # comments kept
        load_scaffold(scaffold)                                       # still a valid scaffold
        (scaffold / m.file).write_text(before)


# -- the gate ----------------------------------------------------------------------------------------
def test_gate_refuses_an_edit_outside_the_scaffold(evo_env):
    store = loop.create(_plan("scope"))
    repo = ScaffoldRepo(store.path("repo"))
    parent = repo.head()
    (repo.root / "agent").mkdir()
    (repo.root / "agent" / "grading.py").write_text("def grade(): return 1.0\n")
    child = repo.commit_candidate(1, "outside")
    lp = loop.Loop(store, proposer=HeuristicProposer())
    gate = run_gate(repo, parent, lp.node(child), store.plan(), lp.evaluator)
    assert not gate.ok and gate.decision == "refused" and "agent/grading.py" in gate.reason
    assert not _records(store)                                      # nothing ran


# -- the heuristic loop, end to end ------------------------------------------------------------------
def test_heuristic_evolve_records_lineage_commits_gate_and_paired_decisions(evo_env):
    user_scaffold = _tree_hash(evo_env / "scaffold")
    store = loop.create(_plan("heur", rounds=2))
    state = loop.run(store)
    assert state["status"] == "finished" and state["why"] == "2 rounds done"
    nodes = store.nodes()
    assert [n["round"] for n in nodes] == [0, 1, 2] and nodes[0]["decision"] == "initial"
    repo = ScaffoldRepo(store.path("repo"))
    for n in nodes[1:]:
        assert n["decision"] in ("kept", "reverted")                   # the heuristic's edits pass the gate
        assert n["mutation"]["key"] and n["files"] and all(f.startswith("scaffold/") for f in n["files"])
        assert repo.resolve(f"round-{n['round']}") == n["commit"]       # each candidate is a commit on its branch
        msg = repo.message(n["commit"])
        assert "Hypothesis:" in msg and f"Parent: {n['parent']}" in msg
        assert f"decision: {n['decision']}" in repo.read_note(n["commit"])
        p = n["paired"]
        assert p["test"] == "bootstrap" and p["n_cells"] == 1 and "confidence" in n["reason"]
        assert {g["name"] for g in n["gate"]["checks"]} == {"scope", "load", "prompts", "tools", "smoke"}
        assert n["seconds"]["harness"] >= 0
    assert nodes[1]["mutation"]["key"] != nodes[2]["mutation"]["key"]    # never the same change twice
    kept = [n["commit"] for n in nodes if n["decision"] == "kept"]
    assert repo.head() == (kept[-1] if kept else nodes[0]["commit"])
    # the parent's dev results come from the cache: every (commit, task, seed, budget) ran once
    cache = Cache(store.path("evals.jsonl")).all()
    keys = [r.key for r in cache]
    assert len(keys) == len(set(keys)) == len(_records(store))
    dev_commits = {r.commit for r in cache if r.arm == "dev"}
    assert dev_commits == {nodes[0]["commit"], nodes[1]["commit"], nodes[2]["commit"]}
    assert set(_attempt_starts(store).values()) == {1}
    assert _tree_hash(evo_env / "scaffold") == user_scaffold            # the user's checkout is untouched
    with pytest.raises(Exception, match="has finished"):
        loop.resume_state(store)

    runner = CliRunner()
    from agent.cli import app

    shown = runner.invoke(app, ["evolve", "show", "heur", "--json"])
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.stdout)
    assert [n["round"] for n in doc["nodes"]] == [0, 1, 2]
    assert all({"commit", "parent", "decision", "delta", "ci", "p_value", "files"} <= set(n) for n in doc["nodes"])
    status = runner.invoke(app, ["evolve", "status", "heur", "--json"])
    assert status.exit_code == 0 and json.loads(status.stdout)["status"] == "finished"
    node = runner.invoke(app, ["evolve", "show", "heur", "--node", "1"])
    assert node.exit_code == 0 and "Hypothesis:" in node.stdout and "diff --git" in node.stdout

    # the held-out report: initial, final and the control arm, never seen by a proposer
    assert HELD not in "".join(p.read_text() for p in store.path("evidence").rglob("*") if p.is_file())
    rep = runner.invoke(app, ["evolve", "report", "heur", "--json"])
    assert rep.exit_code == 0, rep.output
    data = json.loads(rep.stdout)
    held = data["heldout"]
    assert set(held["arms"]) == {"initial", "final", "control"} and held["seeds"] == [1000]
    assert all({"mean_pct", "ci_low", "ci_high", "valid_rate", "medal_rate"} <= set(a) for a in held["arms"].values())
    assert set(held["paired"]) == {"final_vs_initial", "final_vs_control", "control_vs_initial"}
    assert held["control"]["k"] == 2 and held["control"]["k_matched"] > 2     # capped by control_max_k
    control_seeds = sorted(r["seed"] for r in held["results"]["control"])
    assert control_seeds == [1000, 2001]
    for f in ("report.md", "report.json", "lineage.png", "dev_by_round.png", "heldout.png"):
        assert (store.path("report") / f).stat().st_size > 0
    assert "control" in (store.path("report") / "report.md").read_text()

    # promote: refused over uncommitted edits, then writes round 1's scaffold into the user's checkout
    (evo_env / "scaffold" / "system.md").write_text(user_scaffold["system.md"] + "\nmy edit\n")
    refused = runner.invoke(app, ["evolve", "promote", "heur", "--node", "1"])
    assert refused.exit_code == 2 and "uncommitted edits" in refused.output
    (evo_env / "scaffold" / "system.md").write_text(user_scaffold["system.md"])
    done = runner.invoke(app, ["evolve", "promote", "heur", "--node", "1"])
    assert done.exit_code == 0, done.output
    changed = {f"scaffold/{k}" for k, v in _tree_hash(evo_env / "scaffold").items() if user_scaffold.get(k) != v}
    assert changed == set(nodes[1]["files"])


def test_stop_then_resume_continues_without_redoing(evo_env):
    store = loop.create(_plan("stopper", rounds=1))
    store.sink = lambda e: store.request_stop() if e["type"] == "attempt_finished" else None
    state = loop.run(store)
    assert state["status"] == "stopped" and state["round"] == 1       # stopped after the baseline's attempt
    assert [n["round"] for n in store.nodes()] == [0]
    store.sink = None
    state = loop.run(store)
    assert state["status"] == "finished" and [n["round"] for n in store.nodes()] == [0, 1]
    assert set(_attempt_starts(store).values()) == {1}               # the baseline was not run again
    types = [e["type"] for e in store.events()]
    assert types.count("evolve_stopped") == 1 and "evolve_resumed" in types


# -- the llm proposer over HTTP ----------------------------------------------------------------------
def _edit_round(*calls: dict, hypothesis: str) -> list[dict]:
    return [fake.tools(c) for c in calls] + [fake.tools(fake.call("propose", {"hypothesis": hypothesis,
                                                                               "rationale": "test"}))]


def _llm_plan(name: str, server: fake.FakeLLMServer, **kw) -> Plan:
    return _plan(name, proposer="llm", policy="heuristic", model="MiniMax-M2", base_url=server.base_url, **kw)


def test_llm_proposer_broken_edits_are_caught_by_the_gate_and_outside_writes_refused(evo_env):
    start = (evo_env / "scaffold" / "phases" / "start.md").read_text()
    tools_yaml = yaml.safe_load((evo_env / "scaffold" / "tools.yaml").read_text())
    tools_yaml["enabled"].remove("submit")
    script = (
        _edit_round(fake.call("write_file", {"path": "/scaffold/policy.yaml", "content": "max_turns: [1,\n"}),
                    hypothesis="invalid yaml")
        + _edit_round(fake.call("write_file", {"path": "/scaffold/phases/start.md",
                                               "content": start.replace("$description", "(the task)")}),
                      hypothesis="a prompt without its description")
        + _edit_round(fake.call("write_file", {"path": "/scaffold/tools.yaml", "content": yaml.safe_dump(tools_yaml)}),
                      hypothesis="no submit tool")
        + [fake.tools(fake.call("write_file", {"path": "/scaffold/../agent/grading.py", "content": "x = 1\n"})),
           fake.tools(fake.call("write_file", {"path": "/evidence/dev_results.json", "content": "{}"})),
           fake.tools(fake.call("edit_file", {"path": "/scaffold/phases/nudge.md", "old_string": "zzz-not-there", "new_string": "a"}))]
        + _edit_round(fake.call("edit_file", {"path": "/scaffold/system.md", "old_string": "zzz-not-there", "new_string": "x"}),
                      hypothesis="(nothing)")
        + [fake.text("I have nothing more to change.")] * 3
    )
    with fake.FakeLLMServer(script) as server:
        store = loop.create(_llm_plan("broken", server, rounds=4))
        state = loop.run(store)
    assert state["status"] == "finished", state
    nodes = {n["round"]: n for n in store.nodes()}
    for r, needle in ((1, "policy.yaml"), (2, "placeholder $description is missing"), (3, "submit is disabled")):
        assert nodes[r]["decision"] == "broken", nodes[r]
        assert needle in nodes[r]["reason"]
        assert "smoke" not in {c["name"] for c in nodes[r]["gate"]["checks"]}    # caught before any attempt
    assert nodes[4]["decision"] == "refused"
    assert not (evo_env / "agent").exists()
    refused = nodes[4].get("refused") or []
    assert any("grading.py" in x for x in refused) and any("dev_results.json" in x for x in refused)
    repo = ScaffoldRepo(store.path("repo"))
    assert repo.head() == nodes[0]["commit"]                       # nothing broken ever became the head
    assert {r.arm for r in Cache(store.path("evals.jsonl")).all()} == {"dev"}   # only the baseline ran


@pytest.mark.slow
def test_llm_proposer_helpful_edit_is_kept_and_harmful_one_reverted(evo_env):
    """The user's tabular book holds only the class prior; round 1 restores real recipes (better: kept),
    round 2 goes back to the prior (worse: reverted). Attempts of 120 s run the recipes on the toy."""
    book = evo_env / "scaffold" / "recipes" / "tabular.yaml"
    good = book.read_text()
    book.write_text(PRIOR_BOOK)
    script = (_edit_round(fake.call("write_file", {"path": "/scaffold/recipes/tabular.yaml", "content": good}),
                          hypothesis="cross-validated recipes beat the class prior")
              + _edit_round(fake.call("write_file", {"path": "/scaffold/recipes/tabular.yaml",
                                                     "content": PRIOR_BOOK}), hypothesis="the prior is enough"))
    with fake.FakeLLMServer(script) as server:
        store = loop.create(_llm_plan("helpful", server, seeds=2, budget=Budget(seconds=120.0),
                                      smoke_seconds=120.0))
        state = loop.run(store)
    assert state["status"] == "finished"
    nodes = {n["round"]: n for n in store.nodes()}
    assert nodes[1]["decision"] == "kept", nodes[1]["reason"]
    assert nodes[1]["paired"]["mean_delta"] > 0 and nodes[1]["paired"]["confident"]
    assert nodes[2]["decision"] == "reverted", nodes[2]["reason"]
    assert nodes[2]["paired"]["mean_delta"] < 0
    repo = ScaffoldRepo(store.path("repo"))
    assert repo.head() == nodes[1]["commit"]
    # round 2's parent (round 1's child) was not run again: its results came from the cache
    dev = [r for r in Cache(store.path("evals.jsonl")).all() if r.arm == "dev"]
    assert sum(r.commit == nodes[1]["commit"] for r in dev) == 2


# -- kill -9 and resume --------------------------------------------------------------------------------
@pytest.mark.slow
def test_kill_9_mid_round_and_resume_lose_nothing_and_never_evaluate_twice(evo_env):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cmd = [sys.executable, "-m", "agent.cli", "evolve"]
    args = ["start", "--dev", DEV, "--heldout", HELD, "--seeds", "2", "--rounds", "2", "--attempt-minutes", "1",
            "--smoke-seconds", "60", "--sandbox", "local", "--name", "killed"]
    proc = subprocess.Popen(cmd + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    store_dir = evo_env / "runs" / "evolve" / "killed"
    events = store_dir / "events.jsonl"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:      # kill during round 1's evaluation, an attempt in flight
            lines = events.read_text().splitlines() if events.exists() else []
            seen = [json.loads(x) for x in lines if x.strip()]
            last = seen[-1] if seen else {}
            if any(e["type"] == "gate" for e in seen) and last.get("type") == "campaign_started" \
                    and list(store_dir.glob(f"campaigns/{last['campaign']}/attempts/*/checkpoint.sqlite")):
                break
            time.sleep(0.2)
        else:
            pytest.fail("round 1 never reached its evaluation")
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    store = EvolveStore.open("killed")
    assert store.state()["round"] == 1 and store.state()["stage"] == "evaluate"
    done = subprocess.run(cmd + ["resume", "killed"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [n["round"] for n in store.nodes()] == [0, 1, 2]
    keys = [r.key for r in Cache(store.path("evals.jsonl")).all()]
    assert len(keys) == len(set(keys)) == len(_records(store))
    assert set(_attempt_starts(store).values()) == {1}             # the cut attempt was resumed, not restarted
    assert "evolve_resumed" in {e["type"] for e in store.events()}
