"""The command line, in-process through typer's CliRunner: exit statuses, no silent choices, one-line errors
for environment problems, the Ctrl-C hint, tables, run-id prefixes, `runs rm`, `doctor`, --json and help."""

from __future__ import annotations

import errno
import io
import json
import os
import pathlib
import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

from agent import cli_output, cli_run
from agent.cli import app
from agent.runstore import RunStore
from common.errors import UserError
from tests.toy import record_turns, toy_env

SAMPLE = ("bash", {"command": "cp $DATA_DIR/sample_submission.csv submission.csv"})


@pytest.fixture
def env(tmp_path, monkeypatch):
    for k, v in toy_env(tmp_path).items():
        monkeypatch.setenv(k, v)
    for k in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "EVOFORGE_MODEL"):
        monkeypatch.delenv(k, raising=False)
    runs = tmp_path / "runs"
    record_turns(runs, "src-ok", [SAMPLE, ("submit", {})])
    record_turns(runs, "src-none", [("bash", {"command": "true"})])
    return tmp_path


def evo(*args: str):
    return CliRunner().invoke(app, list(args), prog_name="evoforge")


def one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, result.stderr
    return lines[0]


def replay(src: str, *extra: str):
    return evo("run", "toy-binary", "--replay-run", src, "--sandbox", "local", *extra)


# -- exit statuses ---------------------------------------------------------------------------------------
def test_exit_status_tells_the_truth_about_the_result(env):
    ok = replay("src-ok", "--run-id", "ok", "--json")
    assert ok.exit_code == 0, ok.output
    result = json.loads(ok.stdout)                  # --json: stdout holds the result alone
    assert result["valid"] is True and result["status"] == "finished" and result["exit_code"] == 0
    assert "run id: ok" in ok.stderr
    none = replay("src-none", "--run-id", "none", "-q")
    assert none.exit_code == 1 and "score None" in none.stdout     # no valid submission: exit 1


def test_a_bad_api_key_fails_the_run_with_exit_3_and_no_lesson(env, monkeypatch):
    from tests.fake_llm_server import FakeLLMServer, text

    monkeypatch.setenv("OPENAI_API_KEY", "wrong-key")
    with FakeLLMServer([text("never sent")], api_key="the-right-key") as server:
        r = evo("run", "toy-binary", "--base-url", server.base_url, "--sandbox", "local", "--run-id", "key")
    assert r.exit_code == 3, r.output
    assert "401" in r.output and "invalid api key" in r.output
    assert not (env / "MEMORY.md").exists()


@pytest.mark.timeout(120)
def test_an_unreachable_endpoint_at_start_exits_non_zero(env, tmp_path):
    """A closed port: the run must end non-zero with a clear line, not wait forever (with the model client's
    preflight check it fails before the run is recorded; without it the first turn fails the run)."""
    cfg = tmp_path / "llm.yaml"
    cfg.write_text("max_retries: 0\nconnect_timeout_s: 2\n")
    r = evo("run", "toy-binary", "--base-url", "http://127.0.0.1:9/v1", "--config", str(cfg), "--sandbox", "local")
    assert r.exit_code == 3, r.output
    assert "127.0.0.1:9" in r.output


# -- no silent choices -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "message"), [
    (("--policy", "heuristic", "--config", "x.yaml"), "--config only apply to --policy llm"),
    (("--policy", "heuristic", "--model", "m", "--base-url", "http://h/v1"), "--model, --base-url only apply"),
    (("--replay-run", "src-ok", "--model", "m"), "--model only apply to --policy llm (this run's policy is replay"),
    (("--policy", "llm", "--replay-run", "src-ok"), "--replay-run is only used with --policy replay"),
    (("--policy", "replay"), "--policy replay needs --replay-run"),
    (("--policy", "magic"), "unknown policy 'magic'"),
    (("--max-turns", "0"), "--max-turns must be > 0"),
])
def test_options_that_would_be_ignored_are_refused(env, args, message):
    line = one_line_error(evo("run", "toy-binary", "--sandbox", "local", *args))
    assert message in line
    assert sorted(p.name for p in (env / "runs").iterdir()) == ["src-none", "src-ok"]   # nothing was recorded


def test_an_unknown_competition_and_a_replay_of_another_task_are_one_line_errors(env):
    assert "unknown competition 'no-such'" in one_line_error(evo("run", "no-such", "--sandbox", "local"))
    record_turns(env / "runs", "src-other", [SAMPLE], task="spooky-author-identification")
    line = one_line_error(replay("src-other", "--run-id", "x"))
    assert "worked on 'spooky-author-identification', not 'toy-binary'" in line
    assert not (env / "runs" / "x").exists()


def test_the_default_policy_is_said_with_its_reason(env):
    r = evo("run", "toy-binary", "--sandbox", "local", "--max-turns", "1", "-q")
    assert r.exit_code == 1
    assert "policy: heuristic" in r.stderr and "no model endpoint is configured" in r.stderr


# -- environment errors: one line, nothing half-made -----------------------------------------------------
def test_a_runs_path_that_is_a_file(env, monkeypatch):
    f = env / "runs-file"
    f.write_text("not a folder")
    monkeypatch.setenv("EVOFORGE_RUNS", str(f))
    for args in (["run", "toy-binary", "--sandbox", "local"], ["runs", "list"], ["runs", "show", "x"],
                 ["resume", "x"]):
        assert "is a file, not a folder" in one_line_error(evo(*args))


def test_a_read_only_runs_folder(env, monkeypatch):
    real_mkdir = pathlib.Path.mkdir

    def mkdir(self, *a, **kw):                       # as on a read-only mount (root ignores chmod)
        if str(self).startswith(str(env / "runs")):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *a, **kw)

    monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
    line = one_line_error(evo("run", "toy-binary", "--sandbox", "local", "--run-id", "ro"))
    assert "not writable" in line and "EVOFORGE_RUNS" in line


def test_a_memory_file_that_cannot_be_written(env, monkeypatch):
    (env / "memdir").mkdir()
    monkeypatch.setenv("EVOFORGE_MEMORY", str(env / "memdir"))
    line = one_line_error(evo("run", "toy-binary", "--sandbox", "local", "--run-id", "m"))
    assert "memory file" in line and "EVOFORGE_MEMORY" in line
    assert not (env / "runs" / "m").exists()


def test_a_memory_file_that_fails_at_the_end_costs_the_lesson_not_the_run(env, monkeypatch):
    from agent import memory

    def refuse(*a, **kw):
        raise PermissionError(errno.EACCES, "Permission denied", str(env / "MEMORY.md"))

    monkeypatch.setattr(memory, "add", refuse)
    r = replay("src-ok", "--run-id", "memfail")
    assert r.exit_code == 0, r.output
    refl = next(e for e in RunStore.open("memfail").read_events() if e["type"] == "reflection")
    assert "Permission denied" in refl["error"] and "reflection" in r.stdout


@pytest.mark.parametrize(("content", "message"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not a text file"),
    (b"model: x\n  base_url: [unclosed\n", "cfg.yaml:2:"),
])
def test_a_binary_or_invalid_yaml_config(env, content, message):
    cfg = env / "cfg.yaml"
    cfg.write_bytes(content)
    assert message in one_line_error(evo("run", "toy-binary", "--policy", "llm", "--config", str(cfg)))


def test_invalid_scaffold_yaml_names_the_line(env):
    (env / "scaffold" / "policy.yaml").write_text("max_turns: 3\nreflection: [at_end\n")
    line = one_line_error(evo("run", "toy-binary", "--sandbox", "local"))
    assert re.search(r"policy\.yaml:\d+:\d+: invalid YAML", line)


def test_a_corrupt_meta_json(env):
    assert replay("src-ok", "--run-id", "c", "-q").exit_code == 0
    (env / "runs" / "c" / "meta.json").write_text('{"run_id": "c", "status": "fini')
    assert "corrupt" in one_line_error(evo("resume", "c"))
    shown = evo("runs", "show", "c")
    assert shown.exit_code == 0 and "corrupt" in shown.stderr and "run_finished 1" in shown.stdout
    listed = json.loads(evo("runs", "list", "--json").stdout)
    assert next(r for r in listed if r["run_id"] == "c")["status"] == "unreadable"


def test_no_half_made_record_when_the_sandbox_cannot_open(env):
    assert "unknown sandbox" in one_line_error(evo("run", "toy-binary", "--sandbox", "nope", "--run-id", "sb"))
    assert not (env / "runs" / "sb").exists()


def test_a_full_disk_mid_run_is_one_line_and_the_run_resumes_after(env, monkeypatch):
    real = RunStore.append_event

    def append(self, seq, step, type, **fields):
        if seq == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.events_path))
        return real(self, seq, step, type, **fields)

    monkeypatch.setattr(RunStore, "append_event", append)
    line = one_line_error(replay("src-ok", "--run-id", "full"))
    assert "No space left on device" in line and "evoforge resume full" in line
    assert RunStore.open("full").read_meta()["status"] == "failed"
    monkeypatch.setattr(RunStore, "append_event", real)
    r = evo("resume", "full", "-q")
    assert r.exit_code == 0, r.output
    evs = RunStore.open("full").read_events()
    assert [e["seq"] for e in evs] == list(range(len(evs))) and evs[-1]["type"] == "run_finished"


# -- Ctrl-C ----------------------------------------------------------------------------------------------
def test_ctrl_c_says_how_to_resume_and_resume_finishes(env, monkeypatch):
    class Interrupting(cli_run.LiveView):
        def __call__(self, event):
            super().__call__(event)
            if event["type"] == "tool_call":
                raise KeyboardInterrupt

    monkeypatch.setattr(cli_run, "LiveView", Interrupting)
    r = replay("src-ok", "--run-id", "cc")
    assert r.exit_code == 130
    assert "continue it with: evoforge resume cc" in r.stderr and "Traceback" not in r.output
    assert RunStore.open("cc").read_meta()["status"] == "interrupted"
    monkeypatch.setattr(cli_run, "LiveView", cli_run.LiveView.__mro__[1])
    done = evo("resume", "c", "-q")                   # a unique prefix is enough
    assert done.exit_code == 0, done.output
    assert RunStore.open("cc").read_meta()["status"] == "finished"
    again = evo("resume", "cc")
    assert again.exit_code == 0 and "had already finished" in again.stderr


# -- tables, prefixes, rm, training runs -----------------------------------------------------------------
def _terminal(monkeypatch, width: int = 80) -> io.StringIO:
    buf = io.StringIO()
    monkeypatch.setattr(cli_output, "out", Console(file=buf, width=width, force_terminal=True, color_system=None,
                                                   highlight=False, soft_wrap=True))
    return buf


def _train_run(runs: pathlib.Path, name: str, finished: bool = True) -> None:
    d = runs / name
    (d / "ckpt").mkdir(parents=True)
    (d / "config.yaml").write_text("model:\n  preset: tiny\nenv:\n  name: sort\n")
    lines = [{"step": 1, "phase": "sft", "loss": 1.0}, {"step": 2, "phase": "rl", "reward_mean": 0.1}]
    lines += [{"event": "eval", "after": "rl", "step": 3, "greedy_accuracy": 0.25}] if finished else []
    (d / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_runs_list_fits_80_columns_with_whole_ids_wide_and_tsv(env, monkeypatch):
    long_id = "20261128-101010-tabular-playground-series-d-1a2b"
    assert replay("src-ok", "--run-id", long_id, "-q").exit_code == 0
    _train_run(env / "runs", "train-tiny_cpu-20261128-101500")
    buf = _terminal(monkeypatch)
    assert evo("runs", "list").exit_code == 0
    text = buf.getvalue()
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert long_id in text and "train-tiny_cpu-20261128-101500" in text and "tokens" not in text
    buf = _terminal(monkeypatch, width=200)
    assert evo("runs", "list", "--wide").exit_code == 0
    assert "tokens" in buf.getvalue() and "train:sort" in buf.getvalue()
    monkeypatch.setattr(cli_output, "out", Console(highlight=False, soft_wrap=True))
    piped = evo("runs", "list")                       # not a terminal: TSV, a header, one line per run
    header, *rows = piped.stdout.splitlines()
    assert header == "id\tstatus\tscore\tmedal"
    assert {r.split("\t")[0] for r in rows} >= {long_id, "train-tiny_cpu-20261128-101500", "src-ok"}


def test_training_runs_are_listed_and_shown(env):
    _train_run(env / "runs", "train-a")
    _train_run(env / "runs", "train-b", finished=False)
    rows = {r["run_id"]: r for r in json.loads(evo("runs", "list", "--json").stdout)}
    assert rows["train-a"]["kind"] == "train" and rows["train-a"]["status"] == "finished"
    assert rows["train-a"]["score"] == 0.25 and rows["train-a"]["task"] == "train:sort"
    assert rows["train-b"]["status"] == "stopped" and rows["train-b"]["turns"] == 2
    shown = json.loads(evo("runs", "show", "train-a", "--json").stdout)
    assert shown["kind"] == "train" and shown["turns"] == 2


def test_run_id_prefixes(env):
    line = one_line_error(evo("runs", "show", "src"))
    assert "matches 2 runs" in line and "src-none" in line and "src-ok" in line
    shown = json.loads(evo("runs", "show", "src-o", "--json").stdout)
    assert shown["meta"]["run_id"] == "src-ok"
    assert "no run 'zzz'" in one_line_error(evo("runs", "show", "zzz"))


def test_runs_rm(env):
    _train_run(env / "runs", "train-x")
    live = RunStore.create("live", base=env / "runs")
    live.write_meta({"run_id": "live", "status": "running", "pid": os.getpid()})
    assert "still running" in one_line_error(evo("runs", "rm", "live", "src-none"))
    assert (env / "runs" / "src-none").exists()        # nothing is removed when one name is refused
    r = evo("runs", "rm", "src-n", "train-x")
    assert r.exit_code == 0 and not (env / "runs" / "src-none").exists() and not (env / "runs" / "train-x").exists()
    assert evo("runs", "rm", "--force", "live").exit_code == 0 and not (env / "runs" / "live").exists()


# -- --json, --version, completion, --debug, help --------------------------------------------------------
def test_json_outputs(env):
    assert replay("src-ok", "--run-id", "j", "-q").exit_code == 0
    doc = json.loads(evo("runs", "show", "j", "--json", "--events").stdout)
    assert doc["status"] == "finished" and doc["score"]["valid"] is True and doc["event_counts"]["run_finished"] == 1
    assert doc["events"][0]["type"] == "run_started" and doc["reflection"]
    task = json.loads(evo("tasks", "show", "toy-binary", "--json").stdout)
    assert task["id"] == "toy-binary" and "Toy binary" in task["description"] and task["public_dir"]


def test_version_completion_and_debug(env):
    v = evo("--version")
    assert v.exit_code == 0 and v.stdout.startswith("evoforge ")
    comp = evo("--show-completion", "bash")
    assert comp.exit_code == 0 and "_EVOFORGE_COMPLETE" in comp.stdout
    plain = evo("runs", "show", "nope")
    assert plain.exit_code == 2 and plain.exception is None or isinstance(plain.exception, SystemExit)
    debug = evo("--debug", "runs", "show", "nope")
    assert isinstance(debug.exception, UserError)    # --debug: the exception itself, with its traceback
    assert cli_run.complete_run_id("src-") == ["src-none", "src-ok"]


@pytest.mark.parametrize("cmd", [[], ["run"], ["resume"], ["runs", "list"], ["runs", "show"], ["runs", "rm"],
                                 ["tasks", "list"], ["doctor"], ["sandbox", "prune"]])
def test_help_shows_flags_without_a_value_placeholder(env, cmd):
    r = evo(*cmd, "--help")
    assert r.exit_code == 0 and "<bool>" not in r.stdout and "Usage: evoforge" in r.stdout


@pytest.mark.parametrize("cmd", ["run", "resume"])
def test_help_states_the_local_sandbox_caveat_and_exit_codes(env, cmd):
    text = " ".join(evo(cmd, "--help").stdout.split())
    assert "unsafe-local runs commands without isolation" in text and "Exit status: 0" in text


# -- doctor ----------------------------------------------------------------------------------------------
def test_doctor_reports_endpoint_paths_and_sandbox(env, monkeypatch):
    r = evo("doctor", "--json")
    assert r.exit_code == 0, r.output
    checks = {(c["section"], c["name"]): c for c in json.loads(r.stdout)}
    assert checks[("model endpoint", "endpoint")]["value"].startswith("none configured")
    assert checks[("paths", "runs")]["value"] == str(env / "runs")
    assert checks[("sandboxes", "auto picks")]["value"].split()[0] in ("docker", "local", "bwrap")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    (env / "runs-file").write_text("x")
    monkeypatch.setenv("EVOFORGE_RUNS", str(env / "runs-file"))
    r = evo("doctor")
    assert r.exit_code == 1
    assert "http://127.0.0.1:8000/v1" in r.stdout and re.search(r"FAIL\s+runs\s+.*is a file", r.stdout)


# -- old records and the live view -----------------------------------------------------------------------
OLD = pathlib.Path(__file__).parent / "data" / "record-v1"   # a run recorded before typed stops and RunSpec


def test_a_run_recorded_by_an_earlier_version_is_shown_and_listed(env):
    import shutil

    rid = "20261123-061803-toy-binary-b09f"
    shutil.copytree(OLD / rid, env / "runs" / rid)
    shown = evo("runs", "show", "20261123", "--events")
    assert shown.exit_code == 0, shown.output
    assert "status: finished" in shown.stdout and "grading: valid True" in shown.stdout
    assert "← submit exit 0" in shown.stdout and "finished: submitted" in shown.stdout
    row = next(r for r in json.loads(evo("runs", "list", "--json").stdout) if r["run_id"] == rid)
    assert row["status"] == "finished" and row["score"] == pytest.approx(0.6931471805599453)
    from agent.graph.spec import RunSpec

    spec = RunSpec.from_meta(json.loads((OLD / rid / "meta.json").read_text()))
    assert spec.policy == "replay" and spec.replay_run == "src" and spec.sandbox == "local"


def test_every_event_type_has_a_formatter_and_unknown_ones_print_nothing():
    from agent.cli_view import FORMATTERS, format_event
    from agent.runstore import EVENT_TYPES

    assert set(FORMATTERS) == EVENT_TYPES - {"tool_started"}     # tool_started shows as the progress line
    for kind in EVENT_TYPES - {"tool_started"}:
        assert format_event({"type": kind}), kind                 # sparse (old) events format too
    assert format_event({"type": "tool_started", "name": "bash"}) == []
    assert format_event({"type": "from-the-future"}) == []
    outage = format_event({"type": "model_outage", "attempt": 2, "since": "2026-11-28T10:00:00", "cause": "503",
                           "wait_s": 10})
    assert "model endpoint down" in outage[0] and "try 2" in outage[0] and "next try in 10s" in outage[0]


def test_a_long_tool_call_shows_progress_when_piped():
    import time

    from agent.cli_view import LiveView

    buf = io.StringIO()
    view = LiveView(Console(file=buf, width=100, highlight=False), interval=0.3)
    view({"type": "tool_started", "name": "run_python", "arguments": '{"path": "train.py"}'})
    time.sleep(1.5)
    view({"type": "tool_call", "name": "run_python", "exit_code": 0, "duration_s": 1.5, "output": "done"})
    view.close()
    lines = buf.getvalue().splitlines()
    progress = [ln for ln in lines if "run_python running" in ln]
    assert progress and all("train.py" in ln and re.search(r"\(\d+s\)", ln) for ln in progress)
    assert lines[-1].strip().startswith("← run_python exit 0")


def test_doctor_checks_a_configured_endpoint(env, monkeypatch):
    from tests.fake_llm_server import FakeLLMServer, text

    with FakeLLMServer([text("unused")], max_model_len=8192) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        r = evo("doctor", "--json")
    assert r.exit_code == 0, r.output
    reach = next(c for c in json.loads(r.stdout) if c["name"] == "reachable")
    assert reach["state"] == "ok" and "model served" in reach["value"] and "window 8192" in reach["value"]
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")       # nothing listens there
    r = evo("doctor")
    assert r.exit_code == 1 and re.search(r"FAIL\s+reachable\s+.*127\.0\.0\.1:9", r.stdout)
