"""End to end through the installed `evoforge` command (the subprocess smoke tests; the other CLI tests run
in-process in test_cli.py): a heuristic run, Ctrl-C of a real process, and shipped competitions."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.runstore import RunStore
from tests.toy import toy_env

EVOFORGE = [str(Path(sys.executable).parent / "evoforge")]


@pytest.fixture
def env(tmp_path):
    values = dict(os.environ, **toy_env(tmp_path))
    values.pop("OPENAI_BASE_URL", None)
    return values


def test_cli_run_defaults_to_heuristic_and_prints_the_run_id_first(env):
    r = subprocess.run(EVOFORGE + ["run", "toy-binary", "--sandbox", "local"], env=env, capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith("run id: ")
    run_id = first.split(": ", 1)[1]
    assert "turn 1" in r.stdout and "→ list_files" in r.stdout and "grading: valid True" in r.stdout
    store = RunStore.open(run_id, base=Path(env["EVOFORGE_RUNS"]))
    meta = store.read_meta()
    assert meta["policy"] == "heuristic" and meta["status"] == "finished" and meta["sandbox"] == "local"
    assert json.loads(store.score_path.read_text())["valid"] is True
    listed = subprocess.run(EVOFORGE + ["runs", "list", "--json"], env=env, capture_output=True, text=True)
    rows = json.loads(listed.stdout)
    assert rows[0]["run_id"] == run_id and rows[0]["status"] == "finished" and rows[0]["score"] == meta["score"]
    table = subprocess.run(EVOFORGE + ["runs", "list"], env=env, capture_output=True, text=True)
    header, row = table.stdout.splitlines()       # piped: TSV with a header, the id whole
    assert header.split("\t") == ["id", "status", "score", "medal"]
    assert row.split("\t")[:2] == [run_id, "finished"]


def test_ctrl_c_of_a_real_process_says_how_to_resume(env, tmp_path):
    from tests.toy import record_turns

    record_turns(Path(env["EVOFORGE_RUNS"]), "slow", [("bash", {"command": "sleep 30"})])
    proc = subprocess.Popen(EVOFORGE + ["run", "toy-binary", "--replay-run", "slow", "--sandbox", "local",
                                        "--run-id", "int"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=_default_sigint)    # a background job of a shell ignores it
    events = Path(env["EVOFORGE_RUNS"]) / "int" / "events.jsonl"
    deadline = time.monotonic() + 60
    while not (events.exists() and '"tool_started"' in events.read_text()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    while not _running("sleep 30"):       # the command is running (a signal during the fork itself is lost)
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "continue it with: evoforge resume int" in err and "Traceback" not in err
    assert RunStore.open("int", base=Path(env["EVOFORGE_RUNS"])).read_meta()["status"] == "interrupted"


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _running(cmdline: str) -> bool:
    """Whether some process on the machine runs exactly this command line."""
    for p in Path("/proc").iterdir():
        try:
            if p.name.isdigit() and (p / "cmdline").read_bytes().replace(b"\0", b" ").strip() == cmdline.encode():
                return True
        except OSError:
            continue
    return False


SHIPPED = Path(__file__).resolve().parent.parent / "tasks" / "mle_lite" / "competitions"
CANDIDATES = ["spooky-author-identification", "denoising-dirty-documents", "tabular-playground-series-dec-2021"]


@pytest.mark.slow
@pytest.mark.parametrize("cid", CANDIDATES)
def test_heuristic_on_a_shipped_competition(tmp_path, cid):
    if not (SHIPPED / cid / "config.yaml").is_file():
        pytest.skip(f"competition {cid} is not in this checkout")
    env = dict(os.environ, EVOFORGE_RUNS=str(tmp_path / "runs"), EVOFORGE_MEMORY=str(tmp_path / "M.md"))
    env.pop("OPENAI_BASE_URL", None)
    r = subprocess.run(EVOFORGE + ["run", cid, "--policy", "heuristic", "--sandbox", "local", "--run-id", "h", "-q"],
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    score = json.loads((tmp_path / "runs" / "h" / "score.json").read_text())
    assert score["valid"] is True and score["score"] is not None


@pytest.mark.docker
def test_escape_attempts_in_the_docker_sandbox_are_observations_and_the_run_goes_on(tmp_path, monkeypatch):
    try:
        from agent.sandbox import docker_available
    except ModuleNotFoundError:
        pytest.skip("agent.sandbox is not installed in this checkout")
    ok = docker_available()
    if not (ok[0] if isinstance(ok, tuple) else ok):
        pytest.skip("no reachable Docker engine with the sandbox image")
    from agent.graph.runner import start_run
    from agent.graph.spec import RunSpec
    from tests.toy import SOLVE, scripted, turn

    for k, v in toy_env(tmp_path).items():
        monkeypatch.setenv(k, v)
    private = tmp_path / "data" / "mle_lite" / "toy-binary" / "private"
    policy = scripted([
        turn(("bash", {"command": f"cat {private}/answers.csv; cat /data/../private/answers.csv"})),
        turn(("bash", {"command": "touch /data/hacked"})),
        turn(("bash", {"command": "while true; do :; done", "timeout_s": 2})),
        turn(("write_file", {"path": "solve.py", "content": SOLVE})),
        turn(("run_python", {"path": "solve.py"})),
        turn(("submit", {}), ("finish", {})),
    ])
    store = start_run(RunSpec("toy-binary", sandbox="docker", run_id="esc"), policy_impl=policy)
    calls = [e for e in store.read_events() if e["type"] == "tool_call"]
    assert [c["exit_code"] != 0 for c in calls[:3]] == [True, True, True]
    answers = (private / "answers.csv").read_text().splitlines()[1]
    assert answers not in calls[0]["output"]
    assert not (tmp_path / "data" / "mle_lite" / "toy-binary" / "public" / "hacked").exists()
    assert "timed out" in calls[2]["output"] or calls[2]["extra"].get("timed_out")
    assert store.read_meta()["status"] == "finished"
    assert next(e for e in store.read_events() if e["type"] == "grading")["valid"] is True
