"""The fake server itself: routes, dynamic scripts, exhaustion, and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from agent.llm import LLMClient, LLMConfig, LLMError
from common.paths import ROOT
from tests.fake_llm_server import FakeLLMServer, call, text, tools

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_user_llm_env")]


def get_json(url: str) -> dict:
    """GET a URL and parse its JSON body."""
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def test_models_route_and_recording():
    with FakeLLMServer([], model="MiniMax-M2") as server:
        data = get_json(server.base_url + "/models")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server.base_url + "/nothing", timeout=10)
    assert data["data"][0]["id"] == "MiniMax-M2"
    assert err.value.code == 404
    assert [r["path"] for r in server.requests] == ["/v1/models", "/v1/nothing"]


def test_dynamic_script_sees_each_request():
    def script(req: dict, i: int) -> dict:
        last = req["messages"][-1]
        if last["role"] == "tool":
            return text(f"tool said {last['content']}", thinking=f"call {i}")
        return tools(call("bash", {"command": "echo 42"}), thinking="ask the tool")

    tool_schema = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]
    with FakeLLMServer(script, strict_thinking=True) as server:
        client = LLMClient(LLMConfig.from_env(base_url=server.base_url, api_key="k"))
        msgs = [{"role": "user", "content": "go"}]
        t1 = client.complete(msgs, tool_schema)
        msgs += [t1.to_message(), {"role": "tool", "tool_call_id": t1.tool_calls[0].id, "content": "42"}]
        t2 = client.complete(msgs, tool_schema)
        server.assert_thinking_returned()
    assert t2.content == "tool said 42" and t2.thinking == "call 1"


def test_exhausted_script_is_a_clear_permanent_error():
    with FakeLLMServer([text("only one")]) as server:
        client = LLMClient(LLMConfig.from_env(base_url=server.base_url, api_key="k"))
        client.complete([{"role": "user", "content": "a"}], None)
        with pytest.raises(LLMError, match="script exhausted"):
            client.complete([{"role": "user", "content": "b"}], None)
    assert server.calls == 2


def test_command_line_serves_a_script_file(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"steps": [{"content": "hello from file", "thinking": "t",
                                             "thinking_format": "reasoning_content"}], "loop": True}))
    proc = subprocess.Popen([sys.executable, "-m", "tests.fake_llm_server", "--script", str(script)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "OPENAI_BASE_URL=" in line, line + proc.stderr.read() if proc.poll() is not None else line
        url = line.split("OPENAI_BASE_URL=")[1].split()[0]
        client = LLMClient(LLMConfig.from_env(base_url=url, api_key="k"))
        turns = [client.complete([{"role": "user", "content": "hi"}], None) for _ in range(2)]   # loops
        assert [t.content for t in turns] == ["hello from file"] * 2
        assert turns[0].thinking == "t" and turns[0].thinking_format == "reasoning_content"
        assert get_json(url + "/models")["data"][0]["id"] == "MiniMax-M2"
    finally:
        proc.terminate()
        t0 = time.monotonic()
        proc.wait(timeout=10)
        assert time.monotonic() - t0 < 10
