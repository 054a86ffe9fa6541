"""FLAML at a fixed wall time per attempt on the tabular and text competitions: the AutoML anchor a user would
pick instead of evoforge's heuristic engineer, graded and aggregated exactly like a campaign, and paired with one.

    pip install -e '.[automl]'
    python bench/automl_anchor.py --tasks tabular,text --seeds 3 --attempt-minutes 1 --compare lite1m-p2

Each attempt reads the competition's public data (the same reader as the heuristic engine), does what a user
would do before calling FLAML (id column dropped, dates split into numbers, text columns as TF-IDF, other
strings as categories), fits one `flaml.AutoML` per submission column with the attempt's seed, within what is
left of the attempt's wall time (reading and featurising count), predicts, and grades the submission with the
private answers. Results go to runs/<name>/results.jsonl, one line per attempt; a re-run skips the attempts
already there. With --compare, a campaign's attempts on the same competitions and seeds are paired with these
(B = FLAML against A = the campaign) and both are aggregated the way `campaign report` does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

AUC_METRICS = ("auc", "mean_column_auc", "micro_auc")
MARGIN_S = 3.0          # left for predicting, writing and grading after the last fit


def _datetimes(col: pd.Series) -> pd.DataFrame | None:
    """Year, month, day, hour and weekday of a column of date strings; None if it is not one."""
    sample = col.dropna().astype(str).head(200)
    if sample.empty or not sample.str.match(r"^\d{4}-\d{2}-\d{2}").all():
        return None
    t = pd.to_datetime(col, errors="coerce", utc=True)
    return pd.DataFrame({f"{col.name}_{k}": getattr(t.dt, k) for k in ("year", "month", "day", "hour", "dayofweek")})


def features(problem) -> tuple[object, object]:
    """(X_train, X_test): a DataFrame of numbers and categories, or a sparse matrix when text columns exist."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    from agent.heuristic_engine.layout import is_text

    train, test = problem.train.copy(), problem.test.copy()
    drop = [c for c in train.columns if c == problem.id_column or c not in test.columns]
    train, test = train.drop(columns=drop), test.drop(columns=[c for c in drop if c in test.columns])
    both = pd.concat([train, test], keys=["tr", "te"])
    texts, parts = [], []
    for c in list(both.columns):
        s = both[c]
        if pd.api.types.is_numeric_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype):
            continue
        dates = _datetimes(s)
        if dates is not None:
            parts.append(dates.set_index(both.index))
        elif is_text(s):
            texts.append(c)
            continue
        elif s.nunique() <= 0.5 * len(s):
            parts.append(s.astype("category").to_frame())
        both = both.drop(columns=[c])
    both = pd.concat([both.apply(pd.to_numeric, errors="coerce"), *parts], axis=1)
    xtr, xte = both.loc["tr"], both.loc["te"]
    if not texts:
        return xtr, xte
    mats_tr, mats_te = [], []
    for c in texts:
        for min_df in (2, 1):     # a column of unique tokens (names, urls) has no term seen twice
            vec = TfidfVectorizer(ngram_range=(1, 2), min_df=min_df, max_features=50000, sublinear_tf=True)
            try:
                mats_tr.append(vec.fit_transform(train[c].fillna("").astype(str)))
            except ValueError:
                continue
            mats_te.append(vec.transform(test[c].fillna("").astype(str)))
            break
    num = [c for c in xtr.columns if str(xtr[c].dtype) != "category"]
    mats_tr.append(sparse.csr_matrix(np.nan_to_num(xtr[num].to_numpy(dtype=float))))
    mats_te.append(sparse.csr_matrix(np.nan_to_num(xte[num].to_numpy(dtype=float))))
    return sparse.hstack(mats_tr).tocsr(), sparse.hstack(mats_te).tocsr()


def _fit(xtr, y, task: str, metric: str, seconds: float, seed: int, n_jobs: int):
    """`flaml.AutoML` fitted within `seconds`; on sparse (TF-IDF) inputs, if LightGBM breaks, the linear learner
    alone with the time left (what a user would do next)."""
    from flaml import AutoML

    learners = ["lgbm", "rf", "extra_tree"] + (["lrl1"] if task == "classification" else [])
    if hasattr(xtr, "tocsr"):
        learners = ["lrl1", "lgbm"] if task == "classification" else ["lgbm"]
    t0 = time.monotonic()
    tries = [learners] + ([learners[:1]] if len(learners) > 1 else [])
    for i, chosen in enumerate(tries):
        automl = AutoML()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                automl.fit(X_train=xtr, y_train=y, task=task, metric=metric, seed=seed, n_jobs=n_jobs, verbose=0,
                           time_budget=max(1.0, seconds - (time.monotonic() - t0)), estimator_list=chosen,
                           eval_method="holdout" if xtr.shape[0] > 20000 else "auto")
            return automl
        except Exception:  # noqa: BLE001 - retried with the first learner only
            if i == len(tries) - 1:
                raise
    raise AssertionError("unreachable")


def attempt(comp, seed: int, seconds: float, n_jobs: int) -> dict:
    """One FLAML attempt on one competition: the submission's grade, percentile and wall time."""
    from agent.graph.policies.heuristic_files import task_spec
    from agent.heuristic_engine.layout import load_problem
    from tasks.mle_lite.grading import grade_dataframe, percentile_for

    t0 = time.monotonic()
    left = lambda: seconds - (time.monotonic() - t0) - MARGIN_S  # noqa: E731
    metric = comp.config.metric
    problem = load_problem(comp.public_dir, task_spec(comp))
    xtr, xte = features(problem)
    values: dict[str, np.ndarray] = {}
    if problem.task in ("multiclass", "label"):
        flaml_metric = "log_loss" if problem.task == "multiclass" else "accuracy"
        model = _fit(xtr, problem.y, "classification", flaml_metric, left(), seed, n_jobs)
        if problem.task == "multiclass":
            proba = model.predict_proba(xte)
            classes = list(model.classes_)
            for code, col in enumerate(problem.classes):
                values[col] = proba[:, classes.index(code)] if code in classes else np.zeros(len(proba))
        else:
            values[problem.columns[0]] = np.asarray(problem.classes, dtype=object)[model.predict(xte).astype(int)]
    else:
        y = problem.y.reshape(len(problem.y), -1)
        for j, col in enumerate(problem.columns):
            share = left() / (len(problem.columns) - j)
            if problem.task == "regression":
                log = metric.endswith("rmsle")
                target = np.log1p(np.clip(y[:, j], 0, None)) if log else y[:, j]
                model = _fit(xtr, target, "regression", "rmse", share, seed, n_jobs)
                pred = model.predict(xte)
                values[col] = np.expm1(pred).clip(0, None) if log else pred
            else:
                flaml_metric = "roc_auc" if metric in AUC_METRICS else "log_loss"
                model = _fit(xtr, y[:, j].astype(int), "classification", flaml_metric, share, seed, n_jobs)
                values[col] = model.predict_proba(xte)[:, 1]
    report = grade_dataframe(comp, problem.submission(values))
    score = report.score if report.valid else None
    return {"task": comp.id, "seed": seed, "state": "done", "status": "finished", **report.to_dict(),
            "percentile": percentile_for(comp, score), "seconds": round(time.monotonic() - t0, 2)}


def _campaign_rows(name: str, keys: set[tuple[str, int]]) -> list[dict]:
    from agent.campaign.control import results
    from agent.campaign.store import CampaignStore

    return [r for r in results(CampaignStore.open(name)) if (r["task"], r["seed"]) in keys]


def main() -> None:
    """Run the attempts (skipping those already recorded) and print the aggregates and the comparison."""
    from agent.campaign.report import aggregate, compare
    from agent.campaign.spec import parse_seeds
    from agent.campaign.tasksets import resolve_tasks
    from common import paths
    from tasks.mle_lite.registry import get_competition

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="tabular,text", help="comma-separated ids or families (as campaign --tasks)")
    ap.add_argument("--seeds", default="3")
    ap.add_argument("--attempt-minutes", type=float, default=1.0)
    ap.add_argument("--n-jobs", type=int, default=2, help="threads FLAML's learners use (the machine's cores)")
    ap.add_argument("--name", default="automl-flaml")
    ap.add_argument("--compare", metavar="CAMPAIGN", help="pair with this campaign's attempts (A) on the same keys")
    args = ap.parse_args()
    tasks = list(dict.fromkeys(t for part in args.tasks.split(",") for t in resolve_tasks(part)))
    seeds = parse_seeds(args.seeds)
    out = paths.runs_dir() / args.name
    out.mkdir(parents=True, exist_ok=True)
    log = out / "results.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    done = {(r["task"], r["seed"]) for r in rows}
    t_all = time.monotonic()
    for seed in seeds:
        for task in tasks:
            if (task, seed) in done:
                continue
            comp = get_competition(task)
            try:
                row = attempt(comp, seed, args.attempt_minutes * 60, args.n_jobs)
            except Exception as exc:  # noqa: BLE001 - an attempt that breaks counts as no submission
                row = {"task": task, "seed": seed, "state": "done", "status": "failed", "valid": False,
                       "error": f"{type(exc).__name__}: {exc}"[:300], "score": None, "medal": None, "percentile": 0.0}
            rows.append(row)
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), file=sys.stderr, flush=True)
    keys = {(t, s) for t in tasks for s in seeds}
    mine = [r for r in rows if (r["task"], r["seed"]) in keys]
    summary = {"name": args.name, "attempts": len(mine), "wall_s_this_run": round(time.monotonic() - t_all, 1),
               "aggregate": {k: v for k, v in aggregate(mine).items() if k != "per_seed"}}
    print(json.dumps(summary), flush=True)
    if args.compare:
        theirs = _campaign_rows(args.compare, keys)
        cmp = compare(theirs, mine)
        print(json.dumps({"campaign": args.compare, "aggregate": {k: v for k, v in aggregate(theirs).items()
                                                                   if k != "per_seed"}}), flush=True)
        print(json.dumps({"comparison": f"B={args.name} vs A={args.compare}",
                          **{k: v for k, v in cmp.items() if k != "pairs"}}), flush=True)
        for p in cmp["pairs"]:
            print(f"{p['task']:<48} s{p['seed']}  A {p['a_percentile']:6.1f} {p['a_medal'] or '-':<7}"
                  f"  B {p['b_percentile']:6.1f} {p['b_medal'] or '-':<7}", flush=True)


if __name__ == "__main__":
    main()
