"""Competition metrics by name, written from their public definitions with numpy and scikit-learn.

Predictions are in the engine's model space: a float matrix P (rows x outputs) next to the targets
(a float matrix for binary/multi-label/regression, class codes for multi-class and label tasks).
"""

from __future__ import annotations

import numpy as np

HIGHER_IS_BETTER = {
    "accuracy": True, "auc": True, "log_loss": False, "mean_column_auc": True, "mean_column_rmsle": False,
    "micro_auc": True, "multiclass_log_loss": False, "quadratic_weighted_kappa": True, "rmse": False,
}
EPS = 1e-15


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (0.5 when only one class is present)."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y).ravel()
    if len(np.unique(y)) < 2:
        return 0.5
    return float(roc_auc_score(y, np.asarray(p, dtype=float).ravel()))


def binary_log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Binary log-loss with probabilities clipped to [1e-15, 1 - 1e-15]."""
    y, p = np.asarray(y, float).ravel(), np.clip(np.asarray(p, float).ravel(), EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def multiclass_log_loss(codes: np.ndarray, P: np.ndarray) -> float:
    """Multi-class log-loss: probabilities clipped to [1e-15, 1 - 1e-15], then rows rescaled to sum to one."""
    P = np.clip(np.asarray(P, float), EPS, 1 - EPS)
    P = P / P.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(P[np.arange(len(codes)), np.asarray(codes, int)])))


def rmse(Y: np.ndarray, P: np.ndarray) -> float:
    """Root mean squared error over every value."""
    return float(np.sqrt(np.mean((np.asarray(Y, float) - np.asarray(P, float)) ** 2)))


def mean_column_rmsle(Y: np.ndarray, P: np.ndarray) -> float:
    """Root mean squared log error per column, averaged over the columns."""
    Y, P = np.atleast_2d(np.asarray(Y, float).T).T, np.atleast_2d(np.asarray(P, float).T).T
    errs = [np.sqrt(np.mean((np.log1p(np.clip(P[:, j], 0, None)) - np.log1p(np.clip(Y[:, j], 0, None))) ** 2))
            for j in range(Y.shape[1])]
    return float(np.mean(errs))


def quadratic_weighted_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa with quadratic weights."""
    from sklearn.metrics import cohen_kappa_score

    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    if len(np.unique(np.concatenate([a, b]))) < 2:
        return 0.0
    return float(cohen_kappa_score(a, b, weights="quadratic"))


def one_hot(codes: np.ndarray, n: int) -> np.ndarray:
    """Codes (rows,) as a 0/1 matrix (rows x n)."""
    out = np.zeros((len(codes), n))
    out[np.arange(len(codes)), np.asarray(codes, int)] = 1.0
    return out


def score(metric: str, y: np.ndarray, P: np.ndarray, predicted_codes: np.ndarray | None = None) -> float:
    """The metric of predictions P for targets y; label metrics compare predicted_codes with y."""
    P = np.asarray(P, float)
    if metric in ("accuracy", "quadratic_weighted_kappa"):
        if predicted_codes is None:
            raise ValueError(f"{metric} needs predicted labels")
        truth = np.asarray(y).ravel()
        if metric == "accuracy":
            return float(np.mean(np.asarray(predicted_codes).ravel() == truth))
        return quadratic_weighted_kappa(truth, predicted_codes)
    if metric == "multiclass_log_loss":
        return multiclass_log_loss(y, P)
    Y = one_hot(y, P.shape[1]) if np.ndim(y) == 1 else np.asarray(y, float)
    if metric == "auc":
        return auc(Y[:, -1], P[:, -1])
    if metric == "log_loss":
        return binary_log_loss(Y[:, -1], P[:, -1])
    if metric == "mean_column_auc":
        return float(np.mean([auc(Y[:, j], P[:, j]) for j in range(Y.shape[1])]))
    if metric == "micro_auc":
        return auc(Y.ravel(), P.ravel())
    if metric == "rmse":
        return rmse(Y, P)
    if metric == "mean_column_rmsle":
        return mean_column_rmsle(Y, P)
    raise ValueError(f"unknown metric {metric!r}")


def better(metric: str, a: float, b: float) -> bool:
    """Whether score a beats score b under the metric's direction."""
    return a > b if HIGHER_IS_BETTER[metric] else a < b
