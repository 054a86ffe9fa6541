"""MiniMax-M2 tool-call markup in plain content (a server without a tool parser), through the real client
and the fake server over HTTP: parsed into tool calls, hidden from the visible text, returned verbatim."""

from __future__ import annotations

import json

import pytest

from agent.graph.runner import start_run
from agent.graph.spec import RunSpec
from agent.llm import LLMClient, LLMConfig
from agent.llm.xml_tools import MarkupStream, convert_value, extract_markup_calls
from agent.scaffold import load_scaffold
from agent.tools import TOOLS as TOOL_TABLE
from agent.tools import ToolContext, run_tool
from tests.fake_llm_server import FakeLLMServer, call, malformed_call, minimax_markup, text, tools, xml_tools
from tests.toy import SOLVE, toy_env

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_user_llm_env")]

TYPED = {"type": "function", "function": {"name": "train", "description": "train a model", "parameters": {
    "type": "object", "properties": {
        "name": {"type": "string"}, "epochs": {"type": "integer"}, "lr": {"type": "number"},
        "shuffle": {"type": "boolean"}, "layers": {"type": "array", "items": {"type": "integer"}},
        "opts": {"type": "object"}, "seed": {"type": ["integer", "null"]},
        "mode": {"anyOf": [{"type": "integer"}, {"type": "string"}]}}}}}
BASH = {"type": "function", "function": {"name": "bash", "description": "run a command", "parameters": {
    "type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}}
READ = {"type": "function", "function": {"name": "read_file", "description": "read a file", "parameters": {
    "type": "object", "properties": {"path": {"type": "string"}, "start_line": {"type": "integer"}},
    "required": ["path"]}}}
TOOLS = [BASH, READ, TYPED]


def make_client(server: FakeLLMServer, **kw) -> LLMClient:
    kw.setdefault("backoff_base_s", 0.01)
    return LLMClient(LLMConfig.from_env(base_url=server.base_url, api_key="k", config_file=None, **kw))


def converse(client: LLMClient, n: int) -> list:
    """Drive the client like the graph: each turn's message, then one tool result per call."""
    messages = [{"role": "user", "content": "Solve it."}]
    turns = []
    for _ in range(n):
        turn = client.complete(messages, TOOLS)
        turns.append(turn)
        messages.append(turn.to_message())
        messages += [{"role": "tool", "tool_call_id": c.id, "content": c.error or "ok"} for c in turn.tool_calls]
    return turns


@pytest.mark.parametrize("fmt,stream", [("think_tags", True), ("think_tags_open", True),
                                        ("reasoning_content", True), ("reasoning_details", True),
                                        ("think_tags", False)])
def test_markup_round_trip_through_the_openai_client(fmt, stream):
    script = [xml_tools(call("bash", {"command": "ls -la data | head"}), content="Let me look at the data.",
                        thinking="plan: list <the> data", fmt=fmt, chunk_chars=3),
              text("All done.", thinking="finish", fmt=fmt)]
    with FakeLLMServer(script, strict_thinking=True) as server:
        first, _ = converse(make_client(server, stream=stream), 2)
        server.assert_thinking_returned(min_checked=1)
        server.assert_markup_returned(min_checked=1)
    assert server.chat_requests[0]["stream"] is stream
    (c,) = first.tool_calls
    assert (c.name, c.args, c.error, c.source) == ("bash", {"command": "ls -la data | head"}, None, "minimax_xml")
    assert json.loads(c.arguments) == c.args and c.id.startswith("call_")
    assert first.content == "Let me look at the data." and first.thinking == "plan: list <the> data"
    assert first.thinking_format == ("think_tags" if fmt.startswith("think") else fmt)
    # the history holds the model's own markup once, and no tool_calls that a template would render again
    sent = next(m for m in server.chat_requests[1]["messages"] if m["role"] == "assistant")
    assert minimax_markup([call("bash", {"command": "ls -la data | head"})]) in sent["content"]
    assert sent["content"].count("<minimax:tool_call>") == 1 and "tool_calls" not in sent
    ev = first.to_event()
    assert ev["content"] == "Let me look at the data." and ev["tool_calls"][0]["source"] == "minimax_xml"


def test_several_invokes_and_blocks_in_one_turn_keep_their_order():
    calls = [call("bash", {"command": "nproc"}), call("read_file", {"path": "a.txt"}),
             call("bash", {"command": "echo '<b>'"})]
    step = xml_tools(*calls[:2], content="Two things.",
                     markup="\nand one more:\n" + minimax_markup([calls[2]]), chunk_chars=4)
    with FakeLLMServer([step]) as server:
        turn = make_client(server).complete([{"role": "user", "content": "go"}], TOOLS)
    assert [(c.name, c.args) for c in turn.tool_calls] == [(c["name"], c["arguments"]) for c in calls]
    assert len({c.id for c in turn.tool_calls}) == 3 and all(c.error is None for c in turn.tool_calls)
    assert turn.content == "Two things.\n\nand one more:"
    assert turn.finish_reason == "stop"


def test_typed_parameters_follow_the_tool_schema():
    args = {"name": "007", "epochs": 3, "lr": 0.5, "shuffle": True, "layers": [64, 32], "opts": {"k": [1, "x"]},
            "seed": None, "mode": 2}
    with FakeLLMServer([xml_tools(call("train", args), chunk_chars=5)]) as server:
        turn = make_client(server).complete([{"role": "user", "content": "go"}], TOOLS)
    got = turn.tool_calls[0].args
    assert got == args
    assert isinstance(got["name"], str) and isinstance(got["epochs"], int) and isinstance(got["lr"], float)
    assert got["shuffle"] is True and got["seed"] is None


def test_value_conversion_edge_cases():
    assert convert_value("True", {"type": "boolean"}) is True
    assert convert_value(" 12 ", {"type": "integer"}) == 12
    assert convert_value("12", {"type": "number"}) == 12
    assert convert_value("twelve", {"type": "integer"}) == "twelve"        # the tool's own check reports it
    assert convert_value("[1, 2]", {"type": "string"}) == "[1, 2]"         # strings stay text
    assert convert_value("null", {"type": ["string", "null"]}) is None     # nullable: null is None
    assert convert_value("null", {"type": "string"}) == "null"
    assert convert_value("null", {"type": ["integer", "null"]}) is None
    assert convert_value("{\"a\": 1}", None) == "{\"a\": 1}"               # unknown parameter: text
    body = '<minimax:tool_call>\n<invoke name="bash">\n<parameter name="command">\n  indented\n</parameter>\n' \
           '</invoke>\n</minimax:tool_call>'
    _, (slot,) = extract_markup_calls(body, TOOLS)
    assert json.loads(slot["arguments"]) == {"command": "  indented"}      # only the layout newlines go


MALFORMED = {
    "unclosed parameter": '<minimax:tool_call>\n<invoke name="bash">\n<parameter name="command">ls</invoke>\n'
                          "</minimax:tool_call>",
    "no invoke name": '<minimax:tool_call>\n<invoke>\n<parameter name="command">ls</parameter>\n</invoke>\n'
                      "</minimax:tool_call>",
    "stray text": '<minimax:tool_call>\nbash ls -la\n</minimax:tool_call>',
    "cut off": '<minimax:tool_call>\n<invoke name="bash">\n<parameter name="command">python tr',
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_markup_is_the_same_observation_as_a_malformed_native_call(case, tmp_path):
    with FakeLLMServer([xml_tools(markup=MALFORMED[case], content="Trying.", chunk_chars=6),
                        tools(malformed_call("bash", '{"command": "ls", '))]) as server:
        client = make_client(server)
        turn = client.complete([{"role": "user", "content": "go"}], TOOLS)
        native = client.complete([{"role": "user", "content": "go"}], TOOLS).tool_calls[0]
    (c,) = turn.tool_calls
    assert c.args is None and c.error.startswith("malformed <minimax:tool_call> markup"), c.error
    assert turn.content == "Trying." and "<invoke" not in turn.content
    # through the tool runner (what the graph does with a call): the same kind of error observation
    ws = tmp_path / "ws"
    ws.mkdir()
    ctx = ToolContext(sandbox=None, workspace=ws, public=ws)
    specs = load_scaffold(known_tools=set(TOOL_TABLE)).tools
    ours = run_tool(ctx, specs, c.name, c.arguments, c.error)
    theirs = run_tool(ctx, specs, native.name, native.arguments, native.error)
    assert ours["exit_code"] == theirs["exit_code"] == 2
    assert ours["output"].startswith("error: malformed <minimax:tool_call> markup")
    assert ours["output"].endswith("resend the call with a JSON object of arguments")
    assert theirs["output"].endswith("resend the call with a JSON object of arguments")


def test_unknown_tool_in_markup_is_reported_like_a_native_one():
    with FakeLLMServer([xml_tools(call("launch_rockets", {"n": 3}))]) as server:
        turn = make_client(server).complete([{"role": "user", "content": "go"}], TOOLS)
    assert turn.tool_calls[0].error.startswith("unknown tool 'launch_rockets'")


def test_thinking_and_markup_together_stream_as_thinking_content_and_tool():
    # the thinking mentions the tag while planning: only the visible part's markup is a call
    step = xml_tools(call("bash", {"command": "echo hi"}), content="Running it.", fmt="think_tags",
                     thinking="I will write <minimax:tool_call> with bash", chunk_chars=2)
    seen: list[tuple[str, str]] = []
    with FakeLLMServer([step]) as server:
        turn = make_client(server).complete([{"role": "user", "content": "go"}], TOOLS,
                                            on_delta=lambda k, t: seen.append((k, t)))
    by_kind = {k: "".join(t for kk, t in seen if kk == k) for k in ("thinking", "content", "tool")}
    assert by_kind["thinking"].strip() == "I will write <minimax:tool_call> with bash" == turn.thinking
    assert by_kind["content"].strip() == "Running it." == turn.content
    assert by_kind["tool"] == minimax_markup([call("bash", {"command": "echo hi"})])
    assert [(c.name, c.args) for c in turn.tool_calls] == [("bash", {"command": "echo hi"})]
    msg = turn.to_message()
    assert msg["content"].startswith("<think>\nI will write") and msg["content"].endswith("</minimax:tool_call>")


def test_markup_stream_holds_back_split_tags():
    s = MarkupStream()
    out = []
    for piece in ["ok <mini", "max:tool_", "call>\n<inv", "oke/></minimax:tool", "_call> tail <", "x"]:
        out += s.feed(piece)
    out += s.finish()
    text_ = "".join(t for k, t in out if k == "content")
    tool = "".join(t for k, t in out if k == "tool")
    assert text_ == "ok  tail <x" and tool == "<minimax:tool_call>\n<invoke/></minimax:tool_call>"


def test_the_switch_turns_parsing_off():
    step = xml_tools(call("bash", {"command": "ls"}), content="Here.")
    with FakeLLMServer([step]) as server:
        turn = make_client(server, xml_tool_calls=False).complete([{"role": "user", "content": "go"}], TOOLS)
    assert turn.tool_calls == [] and "<minimax:tool_call>" in turn.content


PLAN = [
    call("list_files", {"path": "/data", "max_depth": 1}),
    call("write_file", {"path": "solve.py", "content": SOLVE}),
    call("run_python", {"path": "solve.py", "args": []}),
    call("validate_submission", {}),
    call("submit", {}),
    call("finish", {}),
]


def test_a_run_driven_by_markup_calls_is_solved(tmp_path, monkeypatch):
    for k, v in toy_env(tmp_path).items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)

    def script(body: dict, index: int) -> dict:
        if not body.get("tools"):
            return text("### What worked\n- markup calls", thinking="reflect")
        n = sum(1 for m in body["messages"] if m.get("role") == "assistant")
        return xml_tools(PLAN[min(n, len(PLAN) - 1)], thinking=f"step {n}", content=f"Step {n}.")

    with FakeLLMServer(script, strict_thinking=True) as server:
        store = start_run(RunSpec("toy-binary", policy="llm", model="MiniMax-M2", sandbox="local", base_url=server.base_url, run_id="xml"))
        server.assert_markup_returned(min_checked=len(PLAN) - 1)
        server.assert_thinking_returned(min_checked=len(PLAN) - 1)
    evs = store.read_events()
    calls = [e for e in evs if e["type"] == "tool_call"]
    assert [c["name"] for c in calls] == [c["name"] for c in PLAN]
    assert all(c["exit_code"] == 0 for c in calls), [c["output"] for c in calls]
    assert next(e for e in evs if e["type"] == "grading")["valid"] is True


def test_the_switch_is_read_from_the_config_file_and_checked(tmp_path):
    from common.errors import UserError

    path = tmp_path / "llm.yaml"
    path.write_text("model: MiniMax-M2\nxml_tool_calls: false\n")
    assert LLMConfig.from_env(config_file=str(path)).xml_tool_calls is False
    path.write_text("model: MiniMax-M2\nxml_tool_calls: maybe\n")
    with pytest.raises(UserError, match="xml_tool_calls must be true or false"):
        LLMConfig.from_env(config_file=str(path))


def test_compaction_summary_names_calls_written_as_markup():
    from agent.graph.context import extractive_summary

    msg = {"role": "assistant", "content": "<think>x</think>Look.\n" + minimax_markup([call("bash", {"command": "ls"})])}
    summary = extractive_summary([msg, {"role": "tool", "content": "a.csv"}])
    assert 'called bash({"command": "ls"})' in summary and "<invoke" not in summary
