"""Run one recipe: features, K-fold cross-validation within a time limit, test predictions averaged over folds."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pandas as pd

from . import features, models
from .metrics import score

REFIT_ROWS = 10000  # refit "auto": small training sets get one model on every row instead of the fold average
PROB_CLIP = 1e-4    # probabilities are kept in [1e-4, 1 - 1e-4]: an over-confident model's CV and submission agree


class NotApplicable(Exception):
    """The recipe does not fit this problem (its inputs or task)."""


def is_ordinal(problem, recipe: dict, metric: str) -> bool:
    """Whether a label task is fitted as a regression on the label order (with thresholds fitted on CV)."""
    if problem.task != "label":
        return False
    return recipe["ordinal"] == "regression" or (recipe["ordinal"] == "auto" and metric == "quadratic_weighted_kappa")


def target_transform(recipe: dict, metric: str) -> str:
    """'log1p' or 'none' for regression targets."""
    if recipe["target"] != "auto":
        return recipe["target"]
    return "log1p" if metric == "mean_column_rmsle" else "none"


def check(problem, recipe: dict, metric: str) -> None:
    """Raise NotApplicable when the recipe cannot run on this problem."""
    prior = recipe["model"]["family"] == "prior"    # constant predictions: its features are not read
    why = (None if prior else features.inputs_missing(problem, recipe["features"])) or models.not_applicable(
        recipe["model"]["family"], problem.task, is_ordinal(problem, recipe, metric))
    if not why and len(problem.y) < recipe["min_rows"]:
        why = f"it is meant for at least {recipe['min_rows']} training rows, and there are {len(problem.y)}"
    n_classes = len(problem.classes) if problem.task in ("multiclass", "label") else 0
    if not why and recipe["max_classes"] and n_classes > recipe["max_classes"]:
        why = f"it is meant for at most {recipe['max_classes']} classes, and there are {n_classes}"
    if why:
        raise NotApplicable(why)


def plausible_rows(problem) -> np.ndarray:
    """Training rows that look like the test rows: numeric inputs within the test's range (10% margin) and,
    for regressions, targets that are not outliers (beyond 5 IQR, or of a sign fewer than 1% of rows have)."""
    from .features_table import column_types

    n = len(problem.y)
    keep = np.ones(n, dtype=bool)
    if problem.train is not None and problem.test is not None and problem.layout == "table":
        for c in column_types(problem)["numeric"]:
            tr = pd.to_numeric(problem.train[c], errors="coerce").to_numpy(float)
            te = pd.to_numeric(problem.test[c], errors="coerce").to_numpy(float)
            if np.isnan(te).all():
                continue
            lo, hi = np.nanmin(te), np.nanmax(te)
            margin = 0.1 * (hi - lo)
            keep &= np.isnan(tr) | ((tr >= lo - margin) & (tr <= hi + margin))
    if problem.task == "regression":
        for j in range(problem.y.shape[1]):
            y = problem.y[:, j]
            q1, q3 = np.nanquantile(y, [0.25, 0.75])
            keep &= (y >= q1 - 5 * (q3 - q1)) & (y <= q3 + 5 * (q3 - q1))
            if 0 < np.mean(y < 0) < 0.01:
                keep &= y >= 0
    return np.flatnonzero(keep) if keep.mean() >= 0.8 else np.arange(n)


def train_rows(problem, cv: dict, recipe: dict, scale: float = 1.0) -> np.ndarray:
    """Indices of the training rows used: the plausible ones when cv.clean, a seeded subset over the row cap."""
    rows = plausible_rows(problem) if cv["clean"] else np.arange(len(problem.y))
    cap = min(cv["max_train_rows"], recipe["max_train_rows"] or len(rows), len(rows))
    cap = max(10, int(cap * scale))
    if cap >= len(rows):
        return rows
    return np.sort(np.random.default_rng(cv["seed"]).choice(rows, cap, replace=False))


def folds(task: str, y: np.ndarray, groups: np.ndarray | None, rows: np.ndarray, k: int,
          seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train positions, validation positions) within `rows`: grouped, stratified or plain K-fold."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

    y = y[rows]
    pos = np.arange(len(rows))
    if groups is not None:
        groups = groups[rows]
        k = min(k, len(np.unique(groups)))
        rng = np.random.default_rng(seed)
        uniq = np.unique(groups)
        shuffled = dict(zip(uniq, rng.permutation(len(uniq)), strict=True))
        return list(GroupKFold(n_splits=k).split(pos, groups=np.array([shuffled[g] for g in groups])))
    strat = None
    if task in ("multiclass", "label"):
        strat = y
    elif task in ("binary", "multilabel"):
        strat = y[:, 0].astype(int)
    if strat is not None:
        counts = np.unique(strat, return_counts=True)[1]
        if counts.min() >= k:
            return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(pos, strat))
    return list(KFold(n_splits=k, shuffle=True, random_state=seed).split(pos))


def fit_thresholds(pred: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Cut points on a continuous prediction that maximise quadratic weighted kappa (coordinate search)."""
    from .metrics import quadratic_weighted_kappa

    cuts = np.arange(n - 1) + 0.5
    for _ in range(3):
        for i in range(len(cuts)):
            lo = cuts[i - 1] if i else pred.min() - 1
            hi = cuts[i + 1] if i + 1 < len(cuts) else pred.max() + 1
            grid = np.linspace(lo, hi, 41)[1:-1]
            scores = []
            for g in grid:
                trial = cuts.copy()
                trial[i] = g
                scores.append(quadratic_weighted_kappa(codes, np.digitize(pred, trial)))
            cuts[i] = grid[int(np.argmax(scores))]
    return cuts


def decode_codes(P: np.ndarray, ordinal: bool, cuts: np.ndarray | None) -> np.ndarray:
    """Class codes from a prediction matrix (argmax, or thresholds for ordinal regression)."""
    if ordinal:
        return np.digitize(P[:, 0], cuts)
    return P.argmax(axis=1)


def evaluate(problem, metric: str, y, P, ordinal: bool = False, cuts=None) -> float:
    """The metric on (part of) the training rows."""
    codes = decode_codes(P, ordinal, cuts) if problem.task == "label" else None
    return score(metric, y, P, codes)


def to_submission(problem, P: np.ndarray, ordinal: bool = False, cuts=None, y_range=None) -> pd.DataFrame:
    """The submission frame for test predictions P."""
    cols = problem.columns
    if problem.task == "multiclass":
        P = np.clip(P, PROB_CLIP, None)
        P = P / P.sum(axis=1, keepdims=True)
        return problem.submission({c: P[:, i] for i, c in enumerate(problem.classes)})
    if problem.task == "label":
        codes = decode_codes(P, ordinal, cuts)
        return problem.submission({cols[0]: np.asarray(problem.classes, dtype=object)[codes]})
    if problem.task in ("binary", "multilabel"):
        P = np.clip(P, PROB_CLIP, 1 - PROB_CLIP)
        if problem.layout == "pairs":
            return problem.submission({cols[0]: P})
        return problem.submission({c: P[:, j] for j, c in enumerate(cols)})
    if y_range is not None:
        P = np.clip(P, y_range[0], y_range[1])
    out = {}
    for j, c in enumerate(cols):
        out[c] = np.clip(P[:, j], 0, None) if problem.kinds.get(c) == "nonneg_float" else P[:, j]
    return problem.submission(out)


def clip_probabilities(problem, P: np.ndarray) -> np.ndarray:
    """Predicted probabilities kept away from 0 and 1 (rows renormalised for multi-class); others unchanged."""
    if problem.task in ("binary", "multilabel"):
        return np.clip(P, PROB_CLIP, 1 - PROB_CLIP)
    if problem.task == "multiclass":
        P = np.clip(P, PROB_CLIP, None)
        return P / P.sum(axis=1, keepdims=True)
    return P


def rows_key(rows: np.ndarray) -> str:
    """A short fingerprint of the training rows (candidates are blended only over the same rows)."""
    return hashlib.sha256(np.asarray(rows, np.int64).tobytes()).hexdigest()[:16]


def _augmented(X, y, views: list, idx: np.ndarray):
    """The rows idx of X, plus the same rows of each augmented view (same targets)."""
    if not views:
        return X[idx], y[idx]
    from scipy import sparse

    stack = sparse.vstack if sparse.issparse(X) else np.vstack
    return stack([X[idx]] + [v[idx] for v in views]), np.concatenate([y[idx]] * (1 + len(views)))


def run_recipe(problem, recipe: dict, book: dict, metric: str, time_limit: float, cache=None,
               scale: float = 1.0, log=print) -> dict:
    """Cross-validate a recipe and predict the test rows; returns the candidate's arrays and scores."""
    t0 = time.monotonic()
    check(problem, recipe, metric)
    cv = book["cv"]
    ordinal, target = is_ordinal(problem, recipe, metric), target_transform(recipe, metric)
    rows = train_rows(problem, cv, recipe, scale)
    n = len(problem.y)
    if recipe["model"]["family"] == "prior":
        X, views = np.zeros((n + len(problem.test_keys), 1), dtype=np.float32), []
    else:
        X = features.build(problem, recipe["features"], cache)
        views = [features.build(problem, recipe["features"], cache, flip) for flip in recipe["augment"]]
    Xtr, Xte = X[:n][rows], X[n:]
    y = problem.y[rows]
    n_out = len(problem.classes) if problem.task == "multiclass" or (problem.task == "label" and not ordinal) else (
        1 if ordinal or y.ndim == 1 else y.shape[1])
    log(f"features: {X.shape[1]} columns, {len(rows)} training rows, {Xte.shape[0]} test rows "
        f"({time.monotonic() - t0:.1f}s)")
    oof = np.full((len(rows), n_out), np.nan)
    test_sum = np.zeros((Xte.shape[0], n_out))
    splits = folds(problem.task, problem.y, problem.groups, rows, cv["folds"], cv["seed"])
    done = 0
    for k, (tr, va) in enumerate(splits):
        t_fold = time.monotonic()
        Xfit, yfit = _augmented(Xtr, y, [v[:n][rows] for v in views], tr)
        targets = [Xtr[va], Xte] + [v[:n][rows][va] for v in views] + [v[n:] for v in views]
        preds = models.fit_predict(recipe["model"], problem.task, n_out, Xfit, yfit, targets, seed=cv["seed"] + k,
                                   ordinal=ordinal, target=target)
        m = len(views)
        oof[va] = clip_probabilities(problem, np.mean([preds[0]] + preds[2:2 + m], axis=0))
        test_sum += clip_probabilities(problem, np.mean([preds[1]] + preds[2 + m:], axis=0))
        done += 1
        spent, per_fold = time.monotonic() - t0, time.monotonic() - t_fold
        covered = ~np.isnan(oof[:, 0])
        part = evaluate(problem, metric, y[covered], oof[covered], ordinal,
                        fit_thresholds(oof[covered, 0], y[covered], len(problem.classes)) if ordinal else None)
        log(f"fold {k + 1}/{len(splits)}: {metric} so far {part:.5f} ({per_fold:.1f}s)")
        if k + 1 < len(splits) and spent + per_fold > time_limit:
            log(f"stopping after {done} folds: the next would pass the time limit of {time_limit:.0f}s")
            break
    covered = ~np.isnan(oof[:, 0])
    cuts = fit_thresholds(oof[covered, 0], y[covered], len(problem.classes)) if ordinal else None
    cv_score = evaluate(problem, metric, y[covered], oof[covered], ordinal, cuts)
    P_test = test_sum / done
    refit = cv["refit"] == "always" or (cv["refit"] == "auto" and len(rows) <= REFIT_ROWS)
    if refit and time.monotonic() - t0 + 1.25 * per_fold <= time_limit:   # one model on every row for the test
        Xfit, yfit = _augmented(Xtr, y, [v[:n][rows] for v in views], np.arange(len(rows)))
        preds = models.fit_predict(recipe["model"], problem.task, n_out, Xfit, yfit, [Xte] + [v[n:] for v in views],
                                   seed=cv["seed"], ordinal=ordinal, target=target)
        P_test = clip_probabilities(problem, np.mean(preds, axis=0))
        log(f"refit on all {len(rows)} rows for the test predictions")
    y_range = (float(np.nanmin(problem.y)), float(np.nanmax(problem.y))) if problem.task == "regression" else None
    return {
        "cv": float(cv_score), "folds": done, "complete": bool(covered.all()), "rows": rows_key(rows),
        "seconds": round(time.monotonic() - t0, 1), "oof": oof, "test": P_test, "ordinal": ordinal, "rows_index": rows,
        "cuts": cuts, "y_range": y_range, "submission": to_submission(problem, P_test, ordinal, cuts, y_range),
    }
