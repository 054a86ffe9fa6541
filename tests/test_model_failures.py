"""The graph's reaction to the model client's failure kinds, driven by scripted policies that raise them:
an unusable endpoint fails the run (no lesson in memory), an outage pauses it (never fails it), a context
overflow compacts and retries; and every model call's tokens and cost count in the totals."""

from __future__ import annotations

import pytest
import yaml

from agent.graph.budgets import Budgets
from agent.graph.runner import start_run
from agent.graph.spec import RunSpec
from agent.llm.types import AssistantTurn, ContextOverflow, EndpointDown, EndpointUnusable, Usage
from tests.toy import scripted, toy_env, turn

SAMPLE = ("bash", {"command": "cp $DATA_DIR/sample_submission.csv submission.csv"})


@pytest.fixture
def env(tmp_path, monkeypatch):
    for k, v in toy_env(tmp_path).items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return tmp_path


def _policy_yaml(env, **fields):
    p = env / "scaffold" / "policy.yaml"
    data = yaml.safe_load(p.read_text())
    for k, v in fields.items():
        if isinstance(v, dict):
            data.setdefault(k, {}).update(v)
        else:
            data[k] = v
    p.write_text(yaml.safe_dump(data))


def _types(store, kind=None):
    return [e for e in store.read_events() if kind is None or e["type"] == kind]


def test_an_unusable_endpoint_fails_the_run_with_its_reason_and_writes_no_lesson(env):
    policy = scripted([EndpointUnusable("model endpoint refused the request: HTTP 401: invalid api key "
                                        "(check OPENAI_API_KEY)", status_code=401)])
    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="bad-key"), policy_impl=policy)
    meta = store.read_meta()
    assert meta["status"] == "failed" and meta["stop_kind"] == "endpoint_unusable"
    assert "invalid api key" in meta["stop_reason"] and "OPENAI_API_KEY" in meta["stop_reason"]
    assert [e["type"] for e in _types(store)][-4:] == ["error", "grading", "reflection", "run_finished"]
    assert _types(store, "reflection")[0]["method"] == "skipped"
    assert not (env / "MEMORY.md").exists()            # an infrastructure failure is not a lesson
    from agent.cli_run import result_of

    assert result_of(store)["exit_code"] == 3


def test_another_model_error_fails_the_run_too(env):
    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="boom"),
                      policy_impl=scripted([turn(SAMPLE), RuntimeError("the policy broke")]))
    meta = store.read_meta()
    assert meta["status"] == "failed" and meta["stop_kind"] == "model_error" and "the policy broke" in meta["stop_reason"]
    assert _types(store, "grading")[0]["valid"] is True       # what was written is still graded
    assert not (env / "MEMORY.md").exists()


def test_an_outage_pauses_the_run_then_it_goes_on_and_the_pause_is_not_billed_as_work(env):
    _policy_yaml(env, model_outage={"wait_s": 0.4, "wait_max_s": 0.6})
    down = EndpointDown("model endpoint failed 7 time(s) in a row; last cause: connection error", retryable=True)
    script = [turn(("bash", {"command": "true"})), down, down, down, turn(SAMPLE), turn(("submit", {}), ("finish", {}))]
    statuses = []

    def sink(event):
        if event["type"] in ("model_outage", "model_back"):
            statuses.append((event["type"], store_status()))

    def store_status():
        from agent.runstore import RunStore

        return RunStore.open("out").read_meta()["status"]

    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="out", budgets=Budgets(seconds=1.0)),
                      policy_impl=scripted(script), sink=sink)
    outages = _types(store, "model_outage")
    assert [e["attempt"] for e in outages] == [1, 2, 3] and [e["wait_s"] for e in outages] == [0.4, 0.6, 0.6]
    assert len({e["since"] for e in outages}) == 1 and "connection error" in outages[0]["cause"]
    back = _types(store, "model_back")
    assert len(back) == 1 and back[0]["attempts"] == 3 and back[0]["down_s"] >= 1.6
    assert statuses == [("model_outage", "paused")] * 3 + [("model_back", "running")]
    meta = store.read_meta()
    # 1.6 s paused, yet a 1 s wall-time budget was not used up: the pause is not counted by default
    assert meta["status"] == "finished" and meta["stop_reason"] == "finish" and meta["valid"] is True
    assert meta["paused_s"] >= 1.6 and meta["elapsed_s"] < 1.0
    assert not _types(store, "budget_exhausted")


def test_an_outage_waits_as_long_as_the_server_asks(env):
    _policy_yaml(env, model_outage={"wait_s": 0.1, "wait_max_s": 5})
    busy = EndpointDown("HTTP 429: rate limited", retry_after_s=0.7)
    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="429"),
                      policy_impl=scripted([busy, turn(SAMPLE), turn(("submit", {}), ("finish", {}))]))
    assert [e["wait_s"] for e in _types(store, "model_outage")] == [0.7]
    assert store.read_meta()["paused_s"] >= 0.7 and store.read_meta()["valid"] is True


def test_an_outage_counts_toward_the_time_budget_when_configured_so(env):
    _policy_yaml(env, model_outage={"wait_s": 0.6, "wait_max_s": 0.6})
    down = EndpointDown("endpoint down", retryable=True)
    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="billed",
                              budgets=Budgets(seconds=1.0, seconds_include_outages=True)),
                      policy_impl=scripted([down, down, turn(SAMPLE), turn(("submit", {}), ("finish", {}))]))
    assert _types(store, "budget_exhausted")[0]["reason"].startswith("time budget")
    assert store.read_meta()["status"] == "finished"          # a budget stop, not a failure


def _big(i: int):
    return turn(("bash", {"command": f"echo {'y' * 1200} {i}"}), content=f"step {i}")


def test_a_context_overflow_compacts_the_history_at_once_and_retries_the_turn(env):
    _policy_yaml(env, keep_recent_turns=2)                     # the window itself is far away
    seen: list[int] = []
    inner = scripted([_big(0), _big(1), _big(2), _big(3),
                      ContextOverflow("This model's maximum context length is 2048 tokens"),
                      turn(SAMPLE), turn(("submit", {}), ("finish", {}))])

    def policy(state):
        seen.append(len(state["messages"]))
        return inner(state)

    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="ovf"), policy_impl=policy)
    overflow = _types(store, "context_overflow")
    compacted = _types(store, "context_compacted")
    assert len(overflow) == 1 and "maximum context length" in overflow[0]["error"]
    assert len(compacted) == 1 and compacted[0]["forced"] is True
    assert compacted[0]["after_tokens"] < compacted[0]["before_tokens"]
    assert seen[5] < seen[4]                                   # the retried request is shorter, not the same one
    meta = store.read_meta()
    assert meta["status"] == "finished" and meta["valid"] is True and meta["turns"] == 6


def test_an_overflow_that_compaction_cannot_fix_stops_the_run_with_a_clear_reason(env):
    policy = scripted([ContextOverflow("request (9100 tokens) exceeds the context window (8192)")])
    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="tiny-window"), policy_impl=policy)
    meta = store.read_meta()
    assert meta["status"] == "failed" and meta["stop_kind"] == "context_overflow"
    assert "cannot be compacted further" in meta["stop_reason"] and "larger window" in meta["stop_reason"]
    assert "exceeds the context window" in meta["stop_reason"]
    assert not (env / "MEMORY.md").exists()


class _Writer:
    """A model-like policy: scripted turns, and summaries and reflections that cost tokens and money."""

    def __init__(self, turns):
        self.play = scripted(turns)

    def __call__(self, state):
        return self.play(state)

    def summarize(self, old, prompt):
        return AssistantTurn(content="SUMMARY of earlier work", usage=Usage(500, 40, 540), cost_usd=0.05)

    def reflect(self, prompt, context):
        return AssistantTurn(content="### What worked\n- a lesson", usage=Usage(300, 60, 360), cost_usd=0.02)


def test_summaries_and_reflections_count_in_tokens_and_cost(env):
    _policy_yaml(env, context_window_tokens=2000, compact_at_fraction=0.5, keep_recent_turns=1)
    turns = [_big(0), _big(1), _big(2), turn(SAMPLE, cost_usd=0.01), turn(("submit", {}), ("finish", {}), cost_usd=0.01)]
    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="costs"), policy_impl=_Writer(turns))
    compactions = _types(store, "context_compacted")
    assert compactions and all(c["method"] == "model" and c["tokens"] == 540 for c in compactions)
    n = len(compactions)
    meta = store.read_meta()
    assert meta["tokens"] == 5 * 20 + n * 540 + 360              # turns + summaries + the reflection
    assert meta["cost_usd"] == pytest.approx(0.02 + n * 0.05 + 0.02)
    assert _types(store, "run_finished")[0]["totals"]["tokens"] == meta["tokens"]
    assert _types(store, "reflection")[0]["method"] == "model"


def test_one_turn_cap_the_flag_overrides_the_scaffold_and_the_prompt_says_the_same(env):
    import json

    _policy_yaml(env, max_turns=2)
    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="cap", budgets=Budgets(max_turns=3)),
                      policy_impl=scripted([turn(("bash", {"command": "true"}))]))
    assert len(_types(store, "model_turn")) == 3
    assert _types(store, "budget_exhausted")[0]["reason"] == "max_turns: 3 turns taken (limit 3)"
    system = json.loads((store.root / "initial_state.json").read_text())["messages"][0]["content"]
    assert "3 turns" in system and store.read_meta()["budgets"]["max_turns"] == 3
    plain = start_run(RunSpec("toy-binary", sandbox="local", run_id="cap2"),
                      policy_impl=scripted([turn(("bash", {"command": "true"}))]))
    assert len(_types(plain, "model_turn")) == 2 and plain.read_meta()["budgets"]["max_turns"] == 2
