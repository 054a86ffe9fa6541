"""The recipe engine the heuristic policy runs in the sandbox: every shipped recipe on a tiny data set of
each layout, its CV score against the grader's metric, candidates and blending, and its metrics."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from agent.graph.policies.heuristic_files import workspace_files
from agent.heuristic_engine import candidates, cli
from agent.heuristic_engine import metrics as engine_metrics
from agent.recipes import load_recipes
from common import paths
from tasks.mle_lite import metrics as grader_metrics
from tests import heuristic_data

BOOKS = load_recipes(paths.ROOT / "scaffold" / "recipes")


class _Task:   # what workspace_files reads of a task: its config
    def __init__(self, spec):
        sub = type("Sub", (), {"id_column": spec["id_column"], "labels": spec["labels"],
                               "columns": [type("Col", (), c) for c in spec["columns"]]})
        self.config = type("Cfg", (), {"submission": sub, "sample_submission": spec["sample_submission"],
                                       "metric": spec["metric"], "modality": spec["modality"],
                                       "higher_is_better": engine_metrics.HIGHER_IS_BETTER[spec["metric"]]})


def _workspace(tmp_path, monkeypatch, layout, folds=3):
    public, ws = tmp_path / "public", tmp_path / "ws"
    public.mkdir(parents=True)
    ws.mkdir()
    spec, answers = heuristic_data.WRITERS[layout](public)
    book = json.loads(json.dumps(BOOKS.for_modality(spec["modality"]).data))
    book["cv"]["folds"] = folds
    for rel, text in workspace_files(_Task(spec), book).items():
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text(text)
    monkeypatch.chdir(ws)
    monkeypatch.setenv("DATA_DIR", str(public))
    monkeypatch.setenv("WORKSPACE", str(ws))
    return ws, spec, answers


def _tags(out: str, tag: str) -> list[dict]:
    return [json.loads(line.split(" ", 1)[1]) for line in out.splitlines() if line.startswith(tag + " ")]


def _grade(spec, answers, sub) -> float:
    idc = spec["id_column"]
    merged = answers.merge(sub, on=idc, suffixes=("", "_pred"))
    assert len(merged) == len(answers)
    cols = [c["name"] for c in spec["columns"]]
    metric = spec["metric"]
    if metric == "auc":
        return grader_metrics.auc(merged[cols[0]], merged[cols[0] + "_pred"])
    if metric == "multiclass_log_loss":
        return grader_metrics.multiclass_log_loss(merged[cols].to_numpy(), merged[[c + "_pred" for c in cols]].to_numpy())
    if metric == "rmse":
        return grader_metrics.rmse(merged[cols[0]], merged[cols[0] + "_pred"])
    return float((merged[cols[0]].astype(str) == merged[cols[0] + "_pred"].astype(str)).mean())


# the score each tiny set's best candidate must reach on its held-out answers
GOOD = {"tabular": 0.75, "text": 0.5, "image": 0.9, "audio": 0.9, "pixels": 0.12, "sequence": 0.95}


@pytest.mark.parametrize("layout", list(heuristic_data.WRITERS))
def test_every_shipped_recipe_runs_and_the_best_by_cv_is_the_submission(tmp_path, monkeypatch, capsys, layout):
    ws, spec, answers = _workspace(tmp_path, monkeypatch, layout)
    assert cli.main(["inspect"]) == 0
    plan = _tags(capsys.readouterr().out, "PLAN")[0]
    book = BOOKS.for_modality(spec["modality"])
    assert plan["recipes"] and set(plan["recipes"]) <= set(book.names)
    for name in plan["recipes"] + [plan["fallback"]]:
        assert cli.main(["run", name, "--time-limit", "120"]) == 0, capsys.readouterr().out
        got = _tags(capsys.readouterr().out, "CANDIDATE")[0]
        assert got["name"] == name and math.isfinite(got["cv"]) and got["folds"] == 3
    if book.data["ensemble"]["enabled"]:
        assert cli.main(["ensemble"]) == 0
    assert cli.main(["select"]) == 0
    best = _tags(capsys.readouterr().out, "BEST")[0]
    reg = candidates.load(ws)
    assert {c["name"] for c in reg["candidates"]} >= set(plan["recipes"])
    assert best["name"] == candidates.best(reg)["name"]
    sub = pd.read_csv(ws / "submission.csv", dtype={spec["id_column"]: str}, keep_default_na=False)
    sample = pd.read_csv(tmp_path / "public" / spec["sample_submission"], dtype={spec["id_column"]: str})
    assert list(sub.columns) == list(sample.columns) and sub[spec["id_column"]].tolist() == sample[spec["id_column"]].tolist()
    assert sub.equals(pd.read_csv(ws / best["file"], dtype={spec["id_column"]: str}, keep_default_na=False))
    score = _grade(spec, answers.astype({spec["id_column"]: str}), sub)
    higher = engine_metrics.HIGHER_IS_BETTER[spec["metric"]]
    assert score >= GOOD[layout] if higher else score <= GOOD[layout], score


@pytest.mark.docker
def test_the_engine_runs_on_the_sandbox_images_python_stack(tmp_path, monkeypatch):
    """Every layout's draft recipe on Debian bookworm's numpy/pandas/scikit-learn, in the real docker sandbox."""
    from agent.sandbox import Limits, make_sandbox
    from tests.test_sandbox_helpers import require_docker

    require_docker()
    work, data = tmp_path / "work", tmp_path / "data"
    for layout in heuristic_data.WRITERS:
        _workspace(tmp_path / "made" / layout, monkeypatch, layout)
        (work / layout).parent.mkdir(exist_ok=True)
        (data / layout).parent.mkdir(exist_ok=True)
        (tmp_path / "made" / layout / "ws").rename(work / layout)
        (tmp_path / "made" / layout / "public").rename(data / layout)
    sb = make_sandbox("docker", workspace=work, public=data, limits=Limits(timeout_s=300))
    try:
        version = sb.exec("python -c 'import sklearn, pandas; print(sklearn.__version__, pandas.__version__)'")
        results = {}
        for layout in heuristic_data.WRITERS:
            go = f"cd {sb.workspace_path}/{layout} && DATA_DIR={sb.data_path}/{layout} python engine.py"
            plan = _tags(sb.exec(f"{go} inspect").output, "PLAN")[0]
            ran = sb.exec(f"{go} run {plan['recipes'][0]} --time-limit 60")
            results[layout] = (plan, ran, sb.exec(f"{go} select").output)
    finally:
        sb.close()
    assert version.exit_code == 0, version.output
    for layout, (plan, ran, select) in results.items():
        assert ran.exit_code == 0 and _tags(ran.output, "CANDIDATE"), (layout, ran.output[-2000:])
        assert _tags(select, "BEST")[0]["name"] == plan["recipes"][0]
        assert (work / layout / "submission.csv").is_file()


def test_learned_rules_beat_the_lookup_on_unseen_tokens(tmp_path, monkeypatch, capsys):
    _workspace(tmp_path, monkeypatch, "sequence")
    scores = {}
    for name in ("lookup", "lookup_rules"):
        assert cli.main(["run", name]) == 0
        scores[name] = _tags(capsys.readouterr().out, "CANDIDATE")[0]["cv"]
    assert scores["lookup_rules"] > scores["lookup"] + 0.05 and scores["lookup_rules"] > 0.95, scores


def test_a_recipe_that_cannot_run_is_reported_not_crashed(tmp_path, monkeypatch, capsys):
    ws, spec, _ = _workspace(tmp_path, monkeypatch, "tabular")
    book = json.loads((ws / "recipes.json").read_text())
    book["recipes"][0]["features"] = [{"kind": "tfidf", "column": "no_such_column"}]
    (ws / "recipes.json").write_text(json.dumps(book))
    assert cli.main(["run", book["recipes"][0]["name"]]) == 1
    failed = _tags(capsys.readouterr().out, "FAILED")[0]
    assert "no_such_column" in failed["error"] and not (ws / "submission.csv").exists()
    book["recipes"][0]["features"] = [{"kind": "hog"}]
    (ws / "recipes.json").write_text(json.dumps(book))
    assert cli.main(["run", book["recipes"][0]["name"]]) == 3
    assert "reads image inputs" in _tags(capsys.readouterr().out, "SKIPPED")[0]["reason"]


def test_a_recipe_stops_between_folds_at_its_time_limit(tmp_path, monkeypatch, capsys):
    _workspace(tmp_path, monkeypatch, "tabular", folds=5)
    assert cli.main(["run", "linear", "--time-limit", "0"]) == 0
    got = _tags(capsys.readouterr().out, "CANDIDATE")[0]
    assert got["folds"] == 1 and math.isfinite(got["cv"])
    reg = candidates.load(tmp_path / "ws")
    assert reg["candidates"][0]["complete"] is False


@pytest.mark.parametrize("metric", ["auc", "log_loss", "multiclass_log_loss", "mean_column_auc", "micro_auc",
                                    "rmse", "mean_column_rmsle", "accuracy", "quadratic_weighted_kappa"])
def test_engine_metrics_agree_with_the_graders(metric):
    rng = np.random.default_rng(1)
    n, k = 200, 4
    P = rng.random((n, k))
    codes = rng.integers(0, k, n)
    Y = (rng.random((n, k)) < P).astype(float)
    g = grader_metrics
    if metric in ("auc", "log_loss"):
        ours = engine_metrics.score(metric, Y[:, :1], P[:, :1])
        theirs = getattr(g, metric)(Y[:, 0], P[:, 0])
    elif metric == "multiclass_log_loss":
        ours = engine_metrics.score(metric, codes, P)
        theirs = g.multiclass_log_loss(engine_metrics.one_hot(codes, k), P)
    elif metric in ("mean_column_auc", "micro_auc"):
        ours = engine_metrics.score(metric, Y, P)
        theirs = getattr(g, metric)(Y, P)
    elif metric in ("rmse", "mean_column_rmsle"):
        T = rng.random((n, 2)) * 5
        ours = engine_metrics.score(metric, T, P[:, :2] * 5)
        theirs = g.rmse(T.ravel(), (P[:, :2] * 5).ravel()) if metric == "rmse" else g.mean_column_rmsle(T, P[:, :2] * 5)
    else:
        pred = rng.integers(0, k, n)
        ours = engine_metrics.score(metric, codes, P, pred)
        theirs = getattr(g, metric)(codes, pred)
    assert ours == pytest.approx(theirs, rel=1e-9)
