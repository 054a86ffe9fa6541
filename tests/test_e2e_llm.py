"""End to end with a scripted model: the fake OpenAI-compatible server (real HTTP), the real client,
the graph and tools in a sandbox; the submission is graded and earlier thinking goes back each turn."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.graph.runner import start_run
from agent.graph.spec import RunSpec
from agent.runstore import RunStore
from tests.fake_llm_server import FakeLLMServer, call, slow, text, tools
from tests.toy import SOLVE, toy_env

EVOFORGE = [str(Path(sys.executable).parent / "evoforge")]
PLAN = [
    ("I should look at the data first.", call("list_files", {"path": "/data"})),
    ("Peek at the training file header.", call("bash", {"command": "head -3 $DATA_DIR/train.csv"})),
    ("A logistic regression on x1..x3 will do.", call("write_file", {"path": "solve.py", "content": SOLVE})),
    ("Run it.", call("run_python", {"path": "solve.py"})),
    ("Check the format.", call("validate_submission", {})),
    ("Valid; submit.", call("submit", {})),
    ("Registered; done.", call("finish", {"reason": "one solution"})),
]


def solver(fmt: str, slow_turn: int | None = None, delay: float = 0.0):
    """A dynamic script: the next planned call from the number of assistant turns in the request."""
    def script(body: dict, index: int) -> dict:
        if not body.get("tools"):  # summary or reflection request
            return text("### What worked\n- logistic regression\n### What failed\n- nothing\n"
                        "### What to try next\n- feature interactions", thinking="Reflect briefly.", fmt=fmt,
                        usage={"prompt_tokens": 300, "completion_tokens": 50})
        # progress from the last call made (stable across compaction, which drops older turns)
        done = [c["function"]["name"] for m in body["messages"] if m.get("role") == "assistant"
                for c in m.get("tool_calls") or []]
        names = [p[1]["name"] for p in PLAN]
        n = names.index(done[-1]) + 1 if done else 0
        thought, c = PLAN[min(n, len(PLAN) - 1)]
        step = tools(c, thinking=f"{thought} (step {n})", fmt=fmt, usage={"prompt_tokens": 100, "completion_tokens": 20})
        return slow(step, delay) if slow_turn is not None and n == slow_turn else step
    return script


@pytest.fixture
def env(tmp_path, monkeypatch):
    for k, v in toy_env(tmp_path).items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("EVOFORGE_MODEL", raising=False)
    return tmp_path


def _solve(sandbox: str, fmt: str, run_id: str) -> tuple[RunStore, FakeLLMServer]:
    with FakeLLMServer(solver(fmt), strict_thinking=True) as server:
        store = start_run(RunSpec("toy-binary", policy="llm", model="MiniMax-M2", sandbox=sandbox, base_url=server.base_url, run_id=run_id))
    return store, server


def _check_solved(store: RunStore, server: FakeLLMServer, fmt: str) -> None:
    evs = store.read_events()
    turns = [e for e in evs if e["type"] == "model_turn"]
    assert len(turns) == len(PLAN)
    assert all(t["thinking_format"] == fmt and "(step " in t["thinking"] for t in turns)
    calls = [e for e in evs if e["type"] == "tool_call"]
    assert [c["name"] for c in calls] == [p[1]["name"] for p in PLAN]
    assert all(c["exit_code"] == 0 for c in calls), [c["output"] for c in calls if c["exit_code"]]
    grading = next(e for e in evs if e["type"] == "grading")
    assert grading["valid"] is True and grading["score"] < 0.69
    assert json.loads(store.score_path.read_text())["score"] == grading["score"]
    meta = store.read_meta()
    assert meta["policy"] == "llm" and meta["model"] == "MiniMax-M2" and meta["status"] == "finished"
    assert meta["tokens"] == 120 * len(PLAN) + 350     # every turn, and the reflection too
    refl = next(e for e in evs if e["type"] == "reflection")
    assert refl["method"] == "model" and "logistic regression" in refl["text"]
    # every earlier turn's thinking came back, in its own form, in every later request
    server.assert_thinking_returned(min_checked=len(PLAN) * (len(PLAN) - 1) // 2)
    assert [e["seq"] for e in evs] == list(range(len(evs)))


@pytest.mark.parametrize("fmt", ["think_tags", "reasoning_content", "reasoning_details"])
def test_scripted_model_solves_a_competition_in_the_local_sandbox(env, fmt):
    store, server = _solve("local", fmt, f"llm-{fmt}")
    _check_solved(store, server, fmt)
    assert store.read_meta()["sandbox"] == "local"


def _docker_ready() -> str | None:
    try:
        from agent.sandbox import docker_available
    except ModuleNotFoundError:
        return "agent.sandbox is not installed in this checkout"
    ok = docker_available()
    if isinstance(ok, tuple):
        ok = ok[0]
    return None if ok else "no reachable Docker engine with the sandbox image"


@pytest.mark.docker
def test_scripted_model_solves_a_competition_in_the_docker_sandbox(env):
    reason = _docker_ready()
    if reason:
        pytest.skip(reason)
    store, server = _solve("docker", "think_tags", "llm-docker")
    _check_solved(store, server, "think_tags")
    assert store.read_meta()["sandbox"] == "docker"
    listing = next(e for e in store.read_events() if e["type"] == "tool_call" and e["name"] == "list_files")
    assert listing["output"].startswith("/data")


def test_kill9_during_a_model_call_then_resume(env):
    """The run process is killed while the model is answering (a slow first byte); resume completes it."""
    script = solver("reasoning_content", slow_turn=3, delay=30.0)
    with FakeLLMServer(script) as server:
        values = dict(os.environ)
        prices = env / "llm.yaml"      # USD per million tokens: a tool turn costs 0.14, the reflection 0.40
        prices.write_text("input_price_per_mtok: 1000\noutput_price_per_mtok: 2000\n")
        proc = subprocess.Popen(EVOFORGE + ["run", "toy-binary", "--policy", "llm", "--base-url", server.base_url,
                                            "--config", str(prices), "--sandbox", "local", "--run-id", "m1", "-q"],
                                env=values, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        while not any(sum(m.get("role") == "assistant" for m in b["messages"]) == 3 for b in server.chat_requests
                      if b.get("tools")):
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() - t0 < 60
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        server.script = solver("reasoning_content")  # the endpoint answers promptly now
        r = subprocess.run(EVOFORGE + ["resume", "m1", "-q"], env=values, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
    store = RunStore.open("m1", base=env / "runs")
    evs = store.read_events()
    assert [e["seq"] for e in evs] == list(range(len(evs)))
    assert [e["turn"] for e in evs if e["type"] == "model_turn"] == list(range(1, len(PLAN) + 1))
    assert [e["name"] for e in evs if e["type"] == "tool_call"] == [p[1]["name"] for p in PLAN]
    meta = store.read_meta()
    assert meta["status"] == "finished" and next(e for e in evs if e["type"] == "grading")["valid"]
    # the totals survive the kill: turns before it (checkpointed), turns after it, and the reflection
    assert meta["tokens"] == 120 * len(PLAN) + 350 and meta["cost_usd"] == pytest.approx(0.14 * len(PLAN) + 0.40)


def test_a_model_that_keeps_failing_ends_the_run_failed_graded_and_teaches_nothing(env):
    from tests.fake_llm_server import error

    with FakeLLMServer(lambda body, i: error(400, message="bad request: model not found")) as server:
        store = start_run(RunSpec("toy-binary", policy="llm", sandbox="local", base_url=server.base_url, run_id="fail"))
    evs = store.read_events()
    err = next(e for e in evs if e["type"] == "error")
    assert err["where"] == "model" and "model not found" in err["error"]
    assert [e["type"] for e in evs][-4:] == ["error", "grading", "reflection", "run_finished"]
    meta = store.read_meta()
    assert meta["status"] == "failed" and meta["stop_kind"] in ("model_error", "endpoint_unusable")
    assert "model not found" in meta["stop_reason"]
    # an endpoint failure is no lesson about the task: nothing goes into memory
    assert next(e for e in evs if e["type"] == "reflection")["method"] == "skipped"
    assert not (env / "MEMORY.md").exists() or "fail" not in (env / "MEMORY.md").read_text()


def test_the_model_writes_the_compaction_summary(env):
    import yaml

    p = env / "scaffold" / "policy.yaml"
    data = yaml.safe_load(p.read_text())
    data.update(context_window_tokens=1000, compact_at_fraction=0.5, keep_recent_turns=2)
    p.write_text(yaml.safe_dump(data))
    summaries = []

    def script(body: dict, index: int) -> dict:
        if not body.get("tools"):
            last = body["messages"][-1]["content"]
            if "Summarise" in last:
                summaries.append(body)
                return text("SUMMARY: listed data, read the header, wrote solve.py.")
        return solver("reasoning_content")(body, index)

    with FakeLLMServer(script) as server:
        store = start_run(RunSpec("toy-binary", policy="llm", sandbox="local", base_url=server.base_url, run_id="cmp"))
        server.assert_thinking_returned()
    evs = store.read_events()
    comp = [e for e in evs if e["type"] == "context_compacted"]
    assert comp and comp[0]["method"] == "model" and comp[0]["summary"].startswith("SUMMARY:")
    assert summaries and any(m.get("role") == "assistant" for m in summaries[0]["messages"])
    later = [b for b in server.chat_requests if b.get("tools")][-1]["messages"]
    assert any("SUMMARY:" in str(m.get("content")) for m in later)
    assert next(e for e in evs if e["type"] == "grading")["valid"] is True


def test_malformed_and_unknown_calls_from_the_endpoint_become_observations(env):
    from tests.fake_llm_server import malformed_call

    def script(body: dict, index: int) -> dict:
        if not body.get("tools"):
            return text("critique")
        if index == 0:
            return tools(call("teleport", {"to": "mars"}), malformed_call("bash"), thinking="Try odd calls.",
                         fmt="reasoning_content")
        return solver("reasoning_content")(body, index)

    with FakeLLMServer(script) as server:
        store = start_run(RunSpec("toy-binary", policy="llm", sandbox="local", base_url=server.base_url, run_id="odd"))
    calls = [e for e in store.read_events() if e["type"] == "tool_call"]
    assert calls[0]["name"] == "teleport" and calls[0]["exit_code"] == 127 and "unknown tool" in calls[0]["output"]
    assert calls[1]["name"] == "bash" and calls[1]["exit_code"] == 2 and "JSON" in calls[1]["output"]
    second = server.chat_requests[1]["messages"]
    tool_msgs = [m for m in second if m.get("role") == "tool"]
    assert len(tool_msgs) == 2 and all(m["content"].startswith("error:") for m in tool_msgs)
    assert next(e for e in store.read_events() if e["type"] == "grading")["valid"] is True
