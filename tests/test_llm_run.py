"""The model client inside a run: the preflight stops a run with a refused key before its first turn, and the
window a server states in /v1/models reaches the graph's compaction (the smaller of the scaffold's and the
model's wins)."""

import pytest
import yaml

from agent.graph.runner import start_run
from agent.llm import EndpointUnusable
from tests.fake_llm_server import FakeLLMServer, text
from tests.test_e2e_llm import env, solver  # noqa: F401 - env is a fixture

pytestmark = pytest.mark.timeout(120)


def test_a_refused_key_stops_the_run_before_its_first_turn(env, monkeypatch):  # noqa: F811
    monkeypatch.setenv("OPENAI_API_KEY", "wrong")
    with FakeLLMServer(solver("reasoning_content"), api_key="right") as server:
        with pytest.raises(EndpointUnusable, match="HTTP 401.*OPENAI_API_KEY"):
            start_run("toy-binary", policy="llm", sandbox="local", base_url=server.base_url, run_id="key")
    assert server.calls == 0 and [r["path"] for r in server.requests] == ["/v1/models"]


def test_the_servers_window_drives_compaction(env):  # noqa: F811
    p = env / "scaffold" / "policy.yaml"
    data = yaml.safe_load(p.read_text())
    data.update(compact_at_fraction=0.5, keep_recent_turns=2)   # context_window_tokens stays 128000
    p.write_text(yaml.safe_dump(data))

    def script(body: dict, index: int) -> dict:
        if not body.get("tools") and "Summarise" in body["messages"][-1]["content"]:
            return text("SUMMARY: listed data, read the header, wrote solve.py.")
        return solver("reasoning_content")(body, index)

    # the scaffold's window (128k tokens) is far larger: only the server's 1000 can make it compact
    with FakeLLMServer(script, max_model_len=1000) as server:
        store = start_run("toy-binary", policy="llm", sandbox="local", base_url=server.base_url, run_id="win")
    evs = store.read_events()
    comp = [e for e in evs if e["type"] == "context_compacted"]
    assert comp and comp[0]["method"] == "model"
    assert next(e for e in evs if e["type"] == "grading")["valid"] is True
