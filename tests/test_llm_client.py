"""The model client against the fake OpenAI-compatible server over real HTTP: thinking, tools, usage, cost."""

from __future__ import annotations

import json

import pytest

from agent.llm import AssistantTurn, BudgetExceeded, LLMClient, LLMConfig, LLMError
from tests.fake_llm_server import FakeLLMServer, call, malformed_call, text, tools

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_user_llm_env")]

TOOLS = [
    {"type": "function", "function": {"name": "bash", "description": "run a command",
                                      "parameters": {"type": "object", "properties": {"command": {"type": "string"}},
                                                     "required": ["command"]}}},
    {"type": "function", "function": {"name": "read_file", "description": "read a file",
                                      "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                                                     "required": ["path"]}}},
]
FORMATS = ["think_tags", "think_tags_open", "reasoning_content", "reasoning", "reasoning_details"]
EXPECTED_FORMAT = {"think_tags": "think_tags", "think_tags_open": "think_tags", "reasoning_content": "reasoning_content",
                   "reasoning": "reasoning_content", "reasoning_details": "reasoning_details"}


def make_client(server: FakeLLMServer, **kw) -> LLMClient:
    """A client for the fake server with fast retries."""
    kw.setdefault("backoff_base_s", 0.01)
    kw.setdefault("backoff_max_s", 0.05)
    return LLMClient(LLMConfig.from_env(base_url=server.base_url, api_key="test-key", config_file=None, **kw))


def run_conversation(client: LLMClient, n_turns: int, tools_schema=TOOLS) -> tuple[list[dict], list[AssistantTurn]]:
    """Drive the client like the graph does: append each turn's message and a tool result per call."""
    messages = [{"role": "system", "content": "You are an ML engineer."}, {"role": "user", "content": "Solve it."}]
    turns = []
    for _ in range(n_turns):
        turn = client.complete(messages, tools_schema)
        turns.append(turn)
        messages.append(turn.to_message())
        for tc in turn.tool_calls:
            messages.append({"role": "tool", "tool_call_id": tc.id, "content": tc.error or f"ran {tc.args}"})
    return messages, turns


@pytest.mark.parametrize("fmt", FORMATS)
def test_thinking_round_trips_in_the_form_given(fmt, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    script = [
        tools(call("bash", {"command": "ls data"}), thinking=f"first thought ({fmt}): list the data", fmt=fmt),
        tools(call("read_file", {"path": "data/train.csv"}), content="Reading.", thinking="second thought: read it",
              fmt=fmt),
        text("All done.", thinking="third thought: finish", fmt=fmt),
    ]
    with FakeLLMServer(script, strict_thinking=True) as server:
        _, turns = run_conversation(make_client(server), 3)
        # every later request carried every earlier turn's thinking, in the same form
        server.assert_thinking_returned(min_checked=1 + 2)
    assert [t.thinking_format for t in turns] == [EXPECTED_FORMAT[fmt]] * 3
    assert turns[0].thinking == f"first thought ({fmt}): list the data"
    assert turns[1].thinking == "second thought: read it"
    assert turns[1].content == "Reading."
    assert turns[2].content == "All done."
    assert "<think>" not in turns[2].content and "</think>" not in turns[2].content
    assert turns[0].tool_calls[0].args == {"command": "ls data"}
    # the third request held both earlier assistant turns with their thinking
    third = server.chat_requests[2]["messages"]
    assistants = [m for m in third if m["role"] == "assistant"]
    assert len(assistants) == 2
    msg = assistants[1]
    if EXPECTED_FORMAT[fmt] == "think_tags":
        assert msg["content"].startswith("<think>") and "second thought: read it" in msg["content"]
    elif fmt == "reasoning_details":
        assert msg["reasoning_details"][0]["text"] == "second thought: read it"
        assert msg["reasoning_details"][0]["type"] == "reasoning.text"
    else:
        assert msg[fmt] == "second thought: read it"


def test_strict_server_rejects_history_with_thinking_dropped():
    script = [tools(call("bash", {"command": "ls"}), thinking="secret plan", fmt="reasoning_content"),
              text("never sent")]
    with FakeLLMServer(script, strict_thinking=True) as server:
        client = make_client(server)
        messages = [{"role": "user", "content": "go"}]
        turn = client.complete(messages, TOOLS)
        dropped = {k: v for k, v in turn.to_message().items() if k != "reasoning_content"}
        messages += [dropped, {"role": "tool", "tool_call_id": turn.tool_calls[0].id, "content": "ok"}]
        with pytest.raises(LLMError) as err:
            client.complete(messages, TOOLS)
    assert err.value.status_code == 400 and err.value.attempts == 1
    assert "reasoning_content" in str(err.value)
    assert server.thinking_problems


@pytest.mark.parametrize("interleave", [False, True])
def test_parallel_tool_calls_accumulate_by_index(interleave):
    cmds = [f"python step{i}.py --flag {'x' * 30}" for i in range(3)]
    step = tools(*(call("bash", {"command": c}) for c in cmds), call("read_file", {"path": "a.txt"}),
                 thinking="run all at once", interleave_tools=interleave, chunk_chars=5)
    with FakeLLMServer([step]) as server:
        turn = make_client(server).complete([{"role": "user", "content": "go"}], TOOLS)
    assert [tc.name for tc in turn.tool_calls] == ["bash", "bash", "bash", "read_file"]
    assert [tc.args for tc in turn.tool_calls] == [{"command": c} for c in cmds] + [{"path": "a.txt"}]
    assert len({tc.id for tc in turn.tool_calls}) == 4
    assert all(tc.error is None for tc in turn.tool_calls)
    assert turn.finish_reason == "tool_calls"
    msg = turn.to_message()
    assert [json.loads(t["function"]["arguments"]) for t in msg["tool_calls"]][3] == {"path": "a.txt"}


def test_malformed_json_and_unknown_tool_become_tool_call_errors():
    step = tools(malformed_call("bash", '{"command": "ls", '), call("launch_rockets", {"n": 3}),
                 call("bash", '["not", "an", "object"]'), call("bash", {"command": "pwd"}))
    with FakeLLMServer([step]) as server:
        turn = make_client(server).complete([{"role": "user", "content": "go"}], TOOLS)
    bad_json, unknown, not_object, good = turn.tool_calls
    assert bad_json.args is None and "not valid JSON" in bad_json.error
    assert bad_json.arguments == '{"command": "ls", '          # the raw text is kept for the model to see
    assert unknown.error.startswith("unknown tool 'launch_rockets'") and "bash" in unknown.error
    assert not_object.args is None and "JSON object" in not_object.error
    assert good.error is None and good.args == {"command": "pwd"}
    assert turn.retries == 0 and server.calls == 1                # not retried: the model gets to see the error


def test_usage_latency_and_cost_per_turn():
    step = text("hello", thinking="hm", fmt="reasoning_content",
                usage={"prompt_tokens": 120_000, "completion_tokens": 30_000})
    with FakeLLMServer([step, step]) as server:
        client = make_client(server, input_price_per_mtok=0.30, output_price_per_mtok=1.20)
        turn = client.complete([{"role": "user", "content": "hi"}], None)
        client.complete([{"role": "user", "content": "hi"}], None)
    assert (turn.usage.prompt_tokens, turn.usage.completion_tokens, turn.usage.total_tokens) == (120_000, 30_000,
                                                                                              150_000)
    assert not turn.usage.estimated
    assert turn.cost_usd == pytest.approx(0.12 * 0.30 + 0.03 * 1.20)
    assert 0 < turn.first_token_s <= turn.latency_s < 30
    assert client.totals.turns == 2 and client.totals.cost_usd == pytest.approx(2 * turn.cost_usd)
    ev = turn.to_event()
    json.dumps(ev)
    assert ev["usage"]["prompt_tokens"] == 120_000 and ev["thinking"] == "hm" and ev["cost_usd"] == turn.cost_usd
    assert server.chat_requests[0]["stream_options"] == {"include_usage": True}


def test_usage_is_estimated_and_flagged_when_the_endpoint_sends_none():
    long_text = "word " * 400
    with FakeLLMServer([text(long_text, usage=False)]) as server:
        turn = make_client(server, input_price_per_mtok=1.0, output_price_per_mtok=2.0).complete(
            [{"role": "user", "content": "x" * 4000}], None)
    assert turn.usage.estimated
    assert 900 <= turn.usage.prompt_tokens <= 1200          # ~4 characters a token
    assert 400 <= turn.usage.completion_tokens <= 600
    assert turn.cost_usd == pytest.approx((turn.usage.prompt_tokens + 2 * turn.usage.completion_tokens) / 1e6)


def test_zero_cost_when_prices_unknown():
    with FakeLLMServer([text("hi", usage={"prompt_tokens": 10, "completion_tokens": 5})]) as server:
        turn = make_client(server).complete([{"role": "user", "content": "hi"}], None)
    assert turn.cost_usd == 0.0 and turn.usage.total_tokens == 15


@pytest.mark.parametrize("fmt", ["think_tags", "reasoning_content", "reasoning_details"])
def test_non_streaming_mode(fmt):
    step = tools(call("bash", {"command": "ls"}), content="Looking.", thinking="plan", fmt=fmt)
    with FakeLLMServer([step, text("ok")], strict_thinking=True) as server:
        client = make_client(server, stream=False)
        messages, turns = run_conversation(client, 2)
        server.assert_thinking_returned()
    assert server.chat_requests[0]["stream"] is False
    assert turns[0].thinking == "plan" and turns[0].content == "Looking."
    assert turns[0].tool_calls[0].args == {"command": "ls"}


def test_on_delta_streams_thinking_content_and_tools_live():
    step = tools(call("bash", {"command": "echo hi"}), content="Running it.", thinking="I should echo",
                 fmt="think_tags", chunk_chars=3)
    seen: list[tuple[str, str]] = []
    with FakeLLMServer([step]) as server:
        turn = make_client(server).complete([{"role": "user", "content": "go"}], TOOLS,
                                            on_delta=lambda kind, t: seen.append((kind, t)))
    by_kind = {k: "".join(t for kk, t in seen if kk == k) for k in ("thinking", "content", "tool")}
    assert by_kind["thinking"].strip() == "I should echo" == turn.thinking
    assert by_kind["content"].strip() == "Running it."
    assert "bash" in by_kind["tool"] and '{"command": "echo hi"}' in by_kind["tool"]
    assert len(seen) > 5                                      # really incremental, not one blob


def test_broken_display_callback_does_not_break_the_turn():
    def boom(kind, text):
        raise RuntimeError("terminal gone")

    with FakeLLMServer([text("fine", thinking="t")]) as server:
        turn = make_client(server).complete([{"role": "user", "content": "go"}], None, on_delta=boom)
    assert turn.content == "fine" and turn.retries == 0


def test_reasoning_split_is_requested_only_where_asked(monkeypatch):
    with FakeLLMServer([text("a"), text("b")]) as server:
        make_client(server).complete([{"role": "user", "content": "x"}], None)
        make_client(server, reasoning_split=True).complete([{"role": "user", "content": "x"}], None)
    assert "reasoning_split" not in server.chat_requests[0]
    assert server.chat_requests[1]["reasoning_split"] is True
    assert LLMConfig(base_url="https://api.minimax.io/v1").use_reasoning_split()
    assert not LLMConfig(base_url="http://localhost:8000/v1").use_reasoning_split()


def test_request_carries_model_tools_and_api_key():
    with FakeLLMServer([text("ok")], api_key="sekret", model="MiniMax-M2") as server:
        client = LLMClient(LLMConfig.from_env(model="MiniMax-M2", base_url=server.base_url, api_key="sekret",
                                              temperature=1.0, max_tokens=512))
        turn = client.complete([{"role": "user", "content": "x"}], TOOLS)
        bad = LLMClient(LLMConfig.from_env(base_url=server.base_url, api_key="wrong"))
        with pytest.raises(LLMError) as err:
            bad.complete([{"role": "user", "content": "x"}], None)
    body = server.chat_requests[0]
    assert body["model"] == "MiniMax-M2" and body["stream"] is True and body["tools"] == TOOLS
    assert body["temperature"] == 1.0 and body["max_tokens"] == 512
    assert turn.model == "MiniMax-M2"
    assert err.value.status_code == 401 and err.value.attempts == 1   # auth errors are not retried
    assert "OPENAI_API_KEY" in str(err.value)


def test_client_budget_cap_stops_further_calls():
    step = text("hi", usage={"prompt_tokens": 1_000_000, "completion_tokens": 0})
    with FakeLLMServer([step, step]) as server:
        client = make_client(server, input_price_per_mtok=1.0, max_cost_usd=0.5)
        client.complete([{"role": "user", "content": "x"}], None)
        with pytest.raises(BudgetExceeded, match="limit"):
            client.complete([{"role": "user", "content": "x"}], None)
    assert server.calls == 1


def test_live_display_learns_that_the_template_opens_think():
    step = text("Answer.", thinking="deep thought", fmt="think_tags_open", chunk_chars=4)
    seen: list[list[tuple[str, str]]] = [[], []]
    with FakeLLMServer([step, step]) as server:
        client = make_client(server)
        for i in range(2):
            turn = client.complete([{"role": "user", "content": "q"}], None,
                                   on_delta=lambda k, t, i=i: seen[i].append((k, t)))
            assert (turn.thinking, turn.content) == ("deep thought", "Answer.")   # always split right
    second = {k: "".join(t for kk, t in seen[1] if kk == k).strip() for k in ("thinking", "content")}
    assert second == {"thinking": "deep thought", "content": "Answer."}


def test_null_and_double_encoded_arguments_are_accepted():
    step = tools(call("read_file", "null"), call("bash", '"{\\"command\\": \\"ls\\"}"'))
    with FakeLLMServer([step]) as server:
        turn = make_client(server).complete([{"role": "user", "content": "go"}], TOOLS)
    assert [(tc.args, tc.error) for tc in turn.tool_calls] == [({}, None), ({"command": "ls"}, None)]


def test_whole_tool_calls_reusing_index_zero_stay_separate():
    step = tools(call("bash", {"command": "ls"}), call("read_file", {"path": "b"}), whole_tool_calls=True)
    with FakeLLMServer([step]) as server:
        turn = make_client(server).complete([{"role": "user", "content": "go"}], TOOLS)
    assert [(tc.name, tc.args) for tc in turn.tool_calls] == [("bash", {"command": "ls"}), ("read_file", {"path": "b"})]


def test_incremental_reasoning_details_and_usage_in_the_final_chunk():
    step = text("Done.", thinking="step one, then step two", fmt="reasoning_details", details_incremental=True,
                usage={"prompt_tokens": 77, "completion_tokens": 11}, usage_in_final_chunk=True, chunk_chars=4)
    with FakeLLMServer([step, text("ok")], strict_thinking=True) as server:
        client = make_client(server)
        turn = client.complete([{"role": "user", "content": "go"}], None)
        client.complete([{"role": "user", "content": "go"}, turn.to_message(), {"role": "user", "content": "more"}],
                        None)
        server.assert_thinking_returned()
    assert turn.thinking == "step one, then step two" and turn.thinking_format == "reasoning_details"
    assert len(turn.reasoning_details) == 1 and turn.reasoning_details[0]["text"] == turn.thinking
    assert (turn.usage.prompt_tokens, turn.usage.completion_tokens, turn.usage.estimated) == (77, 11, False)
