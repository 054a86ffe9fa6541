"""Tools: path containment, exact edits, truncation, training-log summaries, error observations."""

import json
import os

import pytest

from agent.graph.sandboxes import open_sandbox
from agent.sandbox import Limits
from agent.scaffold import load_scaffold
from agent.tools import TOOLS, ToolContext, ToolError, run_tool, tool_schemas, truncate
from agent.tools.confine import locate
from agent.tools.logs import summarize_jsonl


@pytest.fixture
def ctx(tmp_path):
    ws, pub, priv = tmp_path / "ws", tmp_path / "pub", tmp_path / "private"
    for d in (ws, pub, priv):
        d.mkdir()
    (pub / "train.csv").write_text("id,x\n1,2\n")
    (priv / "answers.csv").write_text("id,y\n1,SECRET\n")
    sb = open_sandbox("local", ws, pub, limits=Limits(memory_mb=1024))
    c = ToolContext(sandbox=sb, workspace=ws, public=pub, memory_path=tmp_path / "MEMORY.md")
    yield c
    sb.close()


@pytest.fixture
def specs():
    return load_scaffold(known_tools=set(TOOLS)).tools


def test_paths_map_views_and_refuse_escapes(ctx, tmp_path, specs):
    assert locate(ctx, "/data/train.csv").host == (tmp_path / "pub" / "train.csv").resolve()
    assert locate(ctx, "a/b.txt", write=True).host == (tmp_path / "ws" / "a" / "b.txt").resolve()
    for bad in ("/data/../private/answers.csv", "../private/answers.csv", "/etc/passwd", str(tmp_path / "private")):
        with pytest.raises(ToolError):
            locate(ctx, bad)
    os.symlink(tmp_path / "private", tmp_path / "ws" / "link")
    rec = run_tool(ctx, specs, "read_file", {"path": "link/answers.csv"})
    assert rec["exit_code"] == 1 and "symbolic link" in rec["output"] and "SECRET" not in rec["output"]
    with pytest.raises(ToolError, match="read-only"):
        locate(ctx, "/data/new.csv", write=True)


def test_escape_attempt_is_an_observation_without_the_secret(ctx, specs):
    rec = run_tool(ctx, specs, "read_file", json.dumps({"path": "/data/../private/answers.csv"}))
    assert rec["exit_code"] != 0 and rec["output"].startswith("error:") and "SECRET" not in rec["output"]
    rec = run_tool(ctx, specs, "write_file", {"path": "/data/x.csv", "content": "x"})
    assert rec["exit_code"] != 0 and "read-only" in rec["output"]
    assert not (ctx.public / "x.csv").exists()


def test_edit_file_needs_exactly_one_match(ctx, specs):
    run_tool(ctx, specs, "write_file", {"path": "f.py", "content": "a = 1\nb = 1\n"})
    rec = run_tool(ctx, specs, "edit_file", {"path": "f.py", "old_string": "= 1", "new_string": "= 2"})
    assert rec["exit_code"] == 1 and "2 times" in rec["output"]
    rec = run_tool(ctx, specs, "edit_file", {"path": "f.py", "old_string": "zzz", "new_string": "y"})
    assert rec["exit_code"] == 1 and "not found" in rec["output"]
    rec = run_tool(ctx, specs, "edit_file", {"path": "f.py", "old_string": "b = 1", "new_string": "b = 3"})
    assert rec["exit_code"] == 0
    assert (ctx.workspace / "f.py").read_text() == "a = 1\nb = 3\n"


def test_unknown_and_malformed_calls_are_error_observations(ctx, specs):
    rec = run_tool(ctx, specs, "rm_rf", "{}")
    assert rec["exit_code"] == 127 and "unknown tool 'rm_rf'" in rec["output"] and "bash" in rec["output"]
    rec = run_tool(ctx, specs, "bash", '{"command": "ls"')
    assert rec["exit_code"] == 2 and "not valid JSON" in rec["output"]
    rec = run_tool(ctx, specs, "bash", "{}")
    assert rec["exit_code"] == 1 and "missing required argument 'command'" in rec["output"]


def test_bash_and_run_python_through_the_sandbox(ctx, specs):
    rec = run_tool(ctx, specs, "bash", {"command": "echo hi; ls $DATA_DIR; exit 3"})
    assert rec["exit_code"] == 3 and "hi" in rec["output"] and "train.csv" in rec["output"]
    run_tool(ctx, specs, "write_file", {"path": "p.py", "content": "import sys; print(sys.argv[1:])"})
    rec = run_tool(ctx, specs, "run_python", {"path": "p.py", "args": ["a", "b"]})
    assert rec["exit_code"] == 0 and "['a', 'b']" in rec["output"]
    rec = run_tool(ctx, specs, "bash", {"command": "sleep 5", "timeout_s": 0.5})
    assert rec["exit_code"] != 0 and "timed out" in rec["output"]


def test_truncation_keeps_head_and_tail_and_states_the_cut(ctx, specs):
    text = "HEAD" + "x" * 10000 + "TAIL"
    out = truncate(text, 1000)
    assert out.startswith("HEAD") and out.endswith("TAIL") and len(out.encode()) < 1100
    cut = len(text) - len(out.split("\n[")[0]) - len(out.split("…]\n")[1])
    assert f"[… {cut} bytes cut …]" in out
    specs["bash"].output_limit_bytes = 500
    rec = run_tool(ctx, specs, "bash", {"command": "python -c \"print('a'*5000)\""})
    assert "bytes cut" in rec["output"] and "[exit code 0]" in rec["output"]


def test_training_log_summary_tail_and_grep(ctx, specs):
    lines = [{"step": i, "loss": 1.0 / (i + 1), "acc": None if i == 2 else i / 10} for i in range(5)]
    (ctx.workspace / "m.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    s = summarize_jsonl((ctx.workspace / "m.jsonl").read_text().splitlines())
    row = next(r for r in s.splitlines() if r.startswith("loss"))
    assert row.split()[1:6] == ["5", "1", "0.2", "0.2", "1"]
    acc = next(r for r in s.splitlines() if r.startswith("acc"))
    assert acc.split()[-1] == "1" and "1 unparsable" in s
    rec = run_tool(ctx, specs, "read_training_log", {"path": "m.jsonl", "mode": "tail", "lines": 1})
    assert rec["output"] == "not json"
    rec = run_tool(ctx, specs, "read_training_log", {"path": "m.jsonl", "mode": "grep", "pattern": '"step": 3'})
    assert rec["output"].startswith("4:")


def test_list_search_and_memory(ctx, specs):
    run_tool(ctx, specs, "write_file", {"path": "src/a.py", "content": "def f():\n    return 42\n"})
    rec = run_tool(ctx, specs, "list_files", {"path": "."})
    assert "src/a.py" in rec["output"]
    rec = run_tool(ctx, specs, "search_files", {"pattern": r"return \d+"})
    assert "a.py:2:" in rec["output"]
    run_tool(ctx, specs, "append_memory", {"note": "LightGBM overfit; use CV", "title": "t1"})
    rec = run_tool(ctx, specs, "read_memory", {})
    assert "- note: t1: LightGBM overfit; use CV" in rec["output"] and "## general" in rec["output"]


def test_schemas_follow_the_scaffold(specs):
    schemas = tool_schemas(specs)
    names = [s["function"]["name"] for s in schemas]
    assert names == list(specs) and "submit" in names
    bash = next(s for s in schemas if s["function"]["name"] == "bash")
    assert bash["function"]["description"] == specs["bash"].description
    assert bash["function"]["parameters"]["required"] == ["command"]
