"""`evoforge tasks …` in-process through typer's CliRunner (the MLE-bench import check through the installed
entry point): JSON shapes, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tasks.mle_lite.toy import write_toy_competition

ROOT = Path(__file__).resolve().parent.parent
EVOFORGE = ROOT / ".venv" / "bin" / "evoforge"
REPORT_KEYS = {"valid", "error", "score", "medal", "above_median"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    write_toy_competition(root / "comps")
    return {**os.environ, "EVOFORGE_DATA": str(root / "data"), "EVOFORGE_COMPETITIONS_PATH": str(root / "comps"),
            "NO_COLOR": "1", "COLUMNS": "200"}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def evo(env, *args: str) -> Result:
    from typer.testing import CliRunner

    from agent.cli import app

    r = CliRunner().invoke(app, ["tasks", *args], env=env, prog_name="evoforge")
    return Result(int(r.exit_code), r.stdout, r.stderr)


def evo_process(env, *args: str) -> subprocess.CompletedProcess:
    if not EVOFORGE.exists():
        pytest.skip(f"{EVOFORGE} is not installed (run scripts/setup)")
    return subprocess.run([str(EVOFORGE), "tasks", *args], capture_output=True, text=True, env=env, timeout=120)


def test_list_json_shape(env):
    res = evo(env, "list", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert isinstance(rows, list) and rows
    for row in rows:
        assert {"id", "modality", "metric", "higher_is_better", "source", "name", "synthetic", "prepared"} <= set(row)
        assert isinstance(row["higher_is_better"], bool)
    toy = next(r for r in rows if r["id"] == "toy-binary")
    assert toy["metric"] == "log_loss" and toy["source"] == "synthetic" and toy["higher_is_better"] is False


def test_prepare_validate_grade_baseline(env, tmp_path):
    res = evo(env, "prepare", "toy-binary")
    assert res.returncode == 0, res.stderr
    assert "toy-binary" in res.stderr
    again = evo(env, "prepare", "toy-binary")
    assert again.returncode == 0 and "already prepared" in again.stderr
    public = Path(env["EVOFORGE_DATA"]) / "mle_lite" / "toy-binary" / "public"
    sample = public / "sample_submission.csv"

    res = evo(env, "validate", "toy-binary", str(sample))
    assert (res.returncode, res.stdout.strip()) == (0, "valid")

    bad = tmp_path / "bad.csv"
    frame = pd.read_csv(sample)
    frame.assign(target=1.7).to_csv(bad, index=False)
    res = evo(env, "validate", "toy-binary", str(bad))
    assert res.returncode == 1
    assert res.stdout.strip().startswith("invalid: column 'target' holds probabilities") and res.stdout.count("\n") == 1

    res = evo(env, "grade", "toy-binary", str(sample), "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert set(report) == REPORT_KEYS
    assert report["valid"] is True and report["error"] is None
    assert report["score"] == pytest.approx(0.6931471805599453)
    assert report["medal"] is None and report["above_median"] is None  # toy has no leaderboard

    res = evo(env, "grade", "toy-binary", str(bad), "--json")
    assert res.returncode == 1
    report = json.loads(res.stdout)
    assert set(report) == REPORT_KEYS and report["valid"] is False and "[0, 1]" in report["error"]
    assert report["score"] is None and report["medal"] is None and report["above_median"] is None

    res = evo(env, "baseline", "toy-binary", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [r["id"] for r in rows] == ["toy-binary"]
    assert REPORT_KEYS | {"id", "metric", "seconds"} <= set(rows[0])
    assert rows[0]["valid"] is True and 0.6 < rows[0]["score"] < 0.7

    res = evo(env, "baseline", "toy-binary")
    assert res.returncode == 0 and "toy-binary" in res.stdout and "log_loss" in res.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("validate", "toy-binry", "x.csv"), "error: unknown competition 'toy-binry'; did you mean toy-binary?"),
        (("grade", "toy-binary", "/nonexistent/sub.csv", "--json"), "error: submission file not found"),
        (("prepare",), "error: give one or more competition ids, or --all"),
        (("show", "nothing-like-this"), "error: unknown competition"),
        (("--mlebench-dir", "/nonexistent", "list"), "error: --mlebench-dir /nonexistent is not a directory"),
    ],
)
def test_user_errors_are_one_line_exit_2(env, args, message):
    res = evo(env, *args)
    assert res.returncode == 2
    assert res.stderr.startswith(message), res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


def test_show_prints_description_and_paths(env):
    res = evo(env, "show", "toy-binary")
    assert res.returncode == 0
    assert "# Toy binary classification" in res.stdout and "public data:" in res.stdout


def test_mlebench_dir_lists_and_grades(env, tmp_path):
    from test_tasks_core import make_mlebench_fixture

    repo, data = make_mlebench_fixture(tmp_path)
    menv = {**env, "PYTHONPATH": str(repo)}
    res = evo_process(menv, "--mlebench-dir", str(data), "list", "--json")
    assert res.returncode == 0, res.stderr
    row = next(r for r in json.loads(res.stdout) if r["id"] == "mlebench:aerial-cactus-identification")
    assert row["source"] == "mlebench" and row["metric"] == "auc" and row["higher_is_better"] is True
    res = evo_process(menv, "--mlebench-dir", str(data), "grade", "mlebench:aerial-cactus-identification",
              str(tmp_path / "perfect.csv"), "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == {"valid": True, "error": None, "score": 1.0, "medal": "gold", "above_median": True}
    res = evo_process({**env, "EVOFORGE_MLEBENCH_DIR": str(data)}, "grade", "mlebench:aerial-cactus-identification",
              str(tmp_path / "perfect.csv"), "--json")  # no mlebench package importable
    report = json.loads(res.stdout)
    assert res.returncode == 1 and report["valid"] is False and "install" in report["error"]
