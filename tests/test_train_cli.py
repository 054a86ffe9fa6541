"""The training command (`evoforge train` and `python -m trainer`, both trainer.job): configs and recipes from any
directory, --json, exit codes, one-line errors for bad configs and disks, Ctrl-C and kill with a working resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
FAST = ["run.device=cpu", "sft.steps=2", "sft.batch_size=8", "rl.steps=2", "rl.prompts_per_step=2",
        "rl.group_size=2", "run.eval_problems=4", "log.ckpt_every=2", "log.tensorboard=false"]
SETS = [a for s in FAST for a in ("--set", s)]


def _steps(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines() if '"phase"' in x]


def _cli(args: list[str], runs: Path, cwd: Path, module: str = "agent.cli") -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", module] + (["train"] if module == "agent.cli" else []) + args
    env = {**os.environ, "EVOFORGE_RUNS": str(runs), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def _main(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.fixture
def runs(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("EVOFORGE_RUNS", str(tmp_path / "runs"))
    return tmp_path / "runs"


def test_evoforge_train_json_and_resume(tmp_path):
    """The evoforge CLI end to end (subprocesses): a recipe by name from outside the checkout, --json, --resume."""
    runs, elsewhere = tmp_path / "runs", tmp_path / "elsewhere"
    elsewhere.mkdir()
    ok = _cli(["tiny_cpu", "--run-id", "t1", "--json", *SETS, "--set", "rl.steps=1"], runs, elsewhere)
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)                                    # stdout holds only the JSON document
    assert out["status"] == "done" and out["step"] == 3 and out["run_dir"] == str(runs / "t1")
    assert out["metrics"]["phase"] == "rl" and set(out["eval"]) == {"sft", "rl"} and out["error"] is None
    assert "step 2 [rl]" in ok.stderr                              # progress went to stderr
    again = _cli(["--run-id", "t1", "--resume", "--set", "rl.steps=2"], runs, elsewhere)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1].startswith(f"done: {runs / 't1'} (step 4; greedy accuracy")
    assert [r["step"] for r in _steps(runs / "t1")] == [0, 1, 2, 3]


def test_configs_resolve_from_any_directory_and_exit_codes(tmp_path, runs, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)                                    # outside the checkout
    code, out, _ = _main(["trainer/configs/tiny_cpu.yaml", "--run-id", "p", *SETS, "--set", "rl.steps=0"], capsys)
    assert code == 0 and out.splitlines()[-1].startswith(f"done: {runs / 'p'} (step 2")
    code, _, err = _main(["tiny_gpu"], capsys)
    assert code == 2 and err.startswith("error: config not found: tiny_gpu") and "tiny_cpu" in err
    code, _, err = _main(["tiny_cpu", "--set", "rl.group_size=x"], capsys)
    assert code == 2 and err.startswith("error: config: rl.group_size")
    code, _, err = _main(["tiny_cpu", "--run-id", "n", *SETS, "--set", "debug.nan_at_step=1"], capsys)
    assert code == 1 and err.startswith("error: non-finite loss") and err.count("\n") == 1


def test_empty_config_says_it_trains_on_the_defaults(tmp_path, runs, capsys):
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing set yet\n")
    code, out, err = _main([str(empty), "--run-id", "e", *SETS], capsys)
    assert code == 0 and out.splitlines()[-1].startswith("done:")
    assert f"warning: config {empty} is empty: every field not set by --set has its default" in err
    assert "env:\n  name: arithmetic" in (runs / "e" / "config.yaml").read_text()   # the defaults, written down


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "is not a text (UTF-8 YAML) file: byte 0x89 at offset 0"),
    (b"rl:\n  lr: 1e-4\n  steps: [3\n", "line 4, column 1: invalid YAML"),
    (b"rl:\n  lr: 1\x00\n", "line 2: invalid YAML: unacceptable character #x0000"),
    (b"- just\n- a list\n", "config: the top level must be a mapping of sections"),
])
def test_bad_config_files_are_one_line_errors(tmp_path, runs, capsys, content, message):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(content)
    code, out, err = _main([str(bad), "--run-id", "b"], capsys)
    assert code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert not (runs / "b").exists()                                  # nothing was written


def test_disk_errors_are_one_line_with_the_fix(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "runs-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("EVOFORGE_RUNS", str(blocker))
    code, _, err = _main(["tiny_cpu", "--run-id", "x", *SETS], capsys)
    assert code == 2 and err.startswith("error: cannot write the run: ") and "Not a directory" in err
    assert "choose another --run-dir" in err and err.count("\n") == 1
    full = tmp_path / "full"                                          # a disk that is full: writes fail with ENOSPC
    full.mkdir()
    (full / "metrics.jsonl").symlink_to("/dev/full")
    code, _, err = _main(["tiny_cpu", "--run-dir", str(full), *SETS], capsys)
    assert code == 2 and "No space left on device" in err and "free space there" in err and err.count("\n") == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_runs_directory_is_one_line_with_the_fix(tmp_path, monkeypatch, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    monkeypatch.setenv("EVOFORGE_RUNS", str(ro))
    try:
        code, _, err = _main(["tiny_cpu", "--run-id", "x", *SETS], capsys)
    finally:
        ro.chmod(0o755)
    assert code == 2 and "Permission denied" in err and f"make {ro / 'x'} writable" in err and err.count("\n") == 1


def _start(args: list[str], runs: Path) -> subprocess.Popen:
    env = {**os.environ, "EVOFORGE_RUNS": str(runs), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "trainer", *args], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_steps(run_dir: Path, n: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        path = run_dir / "metrics.jsonl"
        if path.exists() and path.read_text().rpartition("\n")[0].count('"phase"') >= n:   # whole lines only
            return
        time.sleep(0.1)
    raise AssertionError(f"no {n} steps: {proc.poll()} {proc.stderr.read() if proc.poll() is not None else ''}")


def test_ctrl_c_stops_with_a_checkpoint_and_prints_a_working_resume_command(tmp_path):
    runs = tmp_path / "runs"
    proc = _start(["tiny_cpu", "--run-id", "c", *SETS, "--set", "sft.steps=100000", "--set", "log.ckpt_every=1000"],
                  runs)
    _wait_for_steps(runs / "c", 3, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "SIGINT: stopping after this step with a checkpoint" in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("stopped at step ") and line.endswith("resume with: python -m trainer --run-id c --resume")
    stopped = int(line.split()[3].rstrip(";"))
    lines = [json.loads(x) for x in (runs / "c" / "metrics.jsonl").read_text().splitlines()]
    assert {"event": "stopped", "step": stopped, "reason": "requested"} in lines
    cmd = line.split("resume with: ")[1].split()[3:]                 # the printed command, finishing quickly
    done = _cli(cmd + ["--set", f"sft.steps={stopped + 1}", "--set", "rl.steps=0"], runs, ROOT, module="trainer")
    assert done.returncode == 0, done.stderr
    assert [r["step"] for r in _steps(runs / "c")][-1] == stopped
    assert {"event": "resume", "from_step": stopped} in [json.loads(x) for x in
                                                          (runs / "c" / "metrics.jsonl").read_text().splitlines()]


def test_killed_before_the_first_checkpoint_resumes_from_step_0(tmp_path):
    runs = tmp_path / "runs"
    proc = _start(["tiny_cpu", "--run-id", "k", *SETS, "--set", "sft.steps=100000", "--set", "log.ckpt_every=1000"],
                  runs)
    _wait_for_steps(runs / "k", 2, proc)
    proc.kill()
    proc.communicate(timeout=60)
    assert not (runs / "k" / "ckpt" / "last.pt").exists()
    rerun = _cli(["tiny_cpu", "--run-id", "k", *SETS], runs, ROOT, module="trainer")
    assert rerun.returncode == 2
    assert "already holds a run; continue it with `python -m trainer --run-id k --resume`" in rerun.stderr
    done = _cli(["--run-id", "k", "--resume", "--set", "sft.steps=2", "--set", "rl.steps=0"], runs, ROOT,
                module="trainer")
    assert done.returncode == 0, done.stderr
    assert "starting it again from step 0" in done.stderr + done.stdout
    assert (runs / "k" / "ckpt" / "last.pt").exists()
