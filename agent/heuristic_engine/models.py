"""Model families as scikit-learn estimators, fitted per task into prediction matrices (see metrics.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from .schema import SCALED_FAMILIES

CLASSIFIERS_ONLY = ("nbsvm", "naive_bayes", "lda")
MULTI_OUTPUT = ("random_forest", "extra_trees")   # fit every label of a multi-label task in one model
DENSE_LIMIT = 60_000_000     # cells; larger sparse inputs are not densified for families that need dense data


def not_applicable(family: str, task: str, ordinal: bool) -> str | None:
    """Why a family cannot fit this task (None when it can)."""
    if family == "lookup":
        return None if task == "text" else "the lookup family only fits sequence (text-to-text) tasks"
    if task == "text":
        return f"the {family} family does not fit text-to-text tasks"
    if family in CLASSIFIERS_ONLY and (task == "regression" or ordinal):
        return f"the {family} family only classifies, and this task is a regression"
    return None


class NBLogistic:
    """NB-SVM (Wang & Manning): logistic regression on features scaled by their naive-Bayes log-count ratio."""

    def __init__(self, C: float, smoothing: float, max_iter: int) -> None:
        self.C, self.smoothing, self.max_iter = C, smoothing, max_iter

    def fit(self, X, y) -> NBLogistic:
        """Learn the log-count ratios on (X, y), then the logistic regression on the scaled X."""
        from sklearn.linear_model import LogisticRegression

        X = abs(X) if sparse.issparse(X) else np.abs(X)
        pos = np.asarray(X[y == 1].sum(axis=0)).ravel() + self.smoothing
        neg = np.asarray(X[y == 0].sum(axis=0)).ravel() + self.smoothing
        self.r_ = np.log((pos / pos.sum()) / (neg / neg.sum()))
        self.model_ = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(self._scale(X), y)
        self.classes_ = self.model_.classes_
        return self

    def _scale(self, X):
        X = abs(X) if sparse.issparse(X) else np.abs(X)
        return X.multiply(self.r_).tocsr() if sparse.issparse(X) else X * self.r_

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities."""
        return self.model_.predict_proba(self._scale(X))


class Prior:
    """Constant predictions: class shares or the mean."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def fit(self, X, y) -> Prior:
        """Remember the class shares (or the mean) of y."""
        if self.kind == "clf":
            self.classes_, counts = np.unique(y, return_counts=True)
            self.p_ = counts / counts.sum()
        else:
            self.mean_ = float(np.mean(y))
        return self

    def predict_proba(self, X) -> np.ndarray:
        """The class shares for every row."""
        return np.tile(self.p_, (X.shape[0], 1))

    def predict(self, X) -> np.ndarray:
        """The mean for every row."""
        return np.full(X.shape[0], self.mean_)


def estimator(family: str, p: dict, kind: str, seed: int, dense: bool) -> Any:
    """A fresh estimator for 'clf' (classification) or 'reg' (regression)."""
    from sklearn import discriminant_analysis as da
    from sklearn import ensemble, linear_model, naive_bayes, neighbors, neural_network, svm

    clf = kind == "clf"
    if family == "linear":
        m = (linear_model.LogisticRegression(C=p["C"], max_iter=p["max_iter"], class_weight=p["class_weight"])
             if clf else linear_model.Ridge(alpha=p["alpha"]))
    elif family == "nbsvm":
        m = NBLogistic(p["C"], p["smoothing"], p["max_iter"])
    elif family == "naive_bayes":
        m = naive_bayes.MultinomialNB(alpha=p["alpha"]) if not dense else naive_bayes.GaussianNB()
    elif family == "hgb":
        cls = ensemble.HistGradientBoostingClassifier if clf else ensemble.HistGradientBoostingRegressor
        m = cls(learning_rate=p["learning_rate"], max_iter=p["max_iter"], max_leaf_nodes=p["max_leaf_nodes"],
                min_samples_leaf=p["min_samples_leaf"], l2_regularization=p["l2_regularization"],
                max_bins=min(p["max_bins"], 255), early_stopping=p["early_stopping"], validation_fraction=0.1,
                n_iter_no_change=20, random_state=seed)
    elif family in ("random_forest", "extra_trees"):
        name = {"random_forest": "RandomForest", "extra_trees": "ExtraTrees"}[family]
        cls = getattr(ensemble, name + ("Classifier" if clf else "Regressor"))
        m = cls(n_estimators=p["n_estimators"], max_features=min(p["max_features"], 1.0),
                min_samples_leaf=p["min_samples_leaf"], max_depth=p["max_depth"], n_jobs=-1, random_state=seed)
    elif family == "knn":
        cls = neighbors.KNeighborsClassifier if clf else neighbors.KNeighborsRegressor
        m = cls(n_neighbors=p["n_neighbors"], weights=p["weights"])
    elif family == "svm":
        from sklearn.calibration import CalibratedClassifierCV

        m = (CalibratedClassifierCV(svm.SVC(C=p["C"], gamma=p["gamma"]), method="sigmoid", cv=3, ensemble=False)
             if clf else svm.SVR(C=p["C"], gamma=p["gamma"]))
    elif family == "mlp":
        cls = neural_network.MLPClassifier if clf else neural_network.MLPRegressor
        m = cls(hidden_layer_sizes=tuple(p["hidden"]), alpha=p["alpha"], max_iter=p["max_iter"],
                learning_rate_init=p["learning_rate_init"], early_stopping=True, random_state=seed)
    elif family == "lda":
        m = da.LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto" if p["shrinkage"] is None else p["shrinkage"])
    elif family == "prior":
        m = Prior(kind)
    else:
        raise ValueError(f"unknown model family {family!r}")
    if family in SCALED_FAMILIES and dense:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        m = make_pipeline(StandardScaler(), m)
    return m


def _prepare(family: str, X):
    needs_dense = family in ("hgb", "lda", "mlp", "svm", "knn") or (family == "naive_bayes" and not sparse.issparse(X))
    if sparse.issparse(X) and needs_dense:
        if X.shape[0] * X.shape[1] > DENSE_LIMIT:
            raise ValueError(f"the {family} family needs dense features and these are {X.shape[0]} x {X.shape[1]} "
                             "sparse ones; lower max_features")
        return X.toarray()
    return X


def fit_predict(model: dict, task: str, n_classes: int, X, y, others: list, seed: int = 0,
                ordinal: bool = False, target: str = "none") -> list[np.ndarray]:
    """Fit the model family on (X, y) and return its prediction matrix for each matrix in `others`."""
    family = model["family"]
    p = {k: v for k, v in model.items() if k != "family"}
    X = _prepare(family, X)
    others = [_prepare(family, o) for o in others]
    dense = not sparse.issparse(X)
    if task in ("multiclass", "label") and not ordinal:
        if family == "hgb" and n_classes > 0.1 * len(y):   # too few rows for a stratified early-stopping split
            p = dict(p, early_stopping=False)
        m = estimator(family, p, "clf", seed, dense).fit(X, y)
        classes = list(m.classes_)
        outs = []
        for o in others:
            proba = m.predict_proba(o)
            full = np.zeros((o.shape[0], n_classes))
            full[:, np.asarray(classes, int)] = proba
            outs.append(full)
        return outs
    if task == "multilabel" and family in MULTI_OUTPUT:   # one model for every label at once
        m = estimator(family, p, "clf", seed, dense).fit(X, y.astype(int))
        outs = []
        for o in others:
            probas = m.predict_proba(o)
            outs.append(np.column_stack([pr[:, list(c).index(1)] if 1 in c else np.zeros(o.shape[0])
                                         for pr, c in zip(probas, m.classes_, strict=True)]))
        return outs
    if task in ("binary", "multilabel"):
        outs = [np.zeros((o.shape[0], y.shape[1])) for o in others]
        for j in range(y.shape[1]):
            yj = y[:, j].astype(int)
            if len(np.unique(yj)) < 2:
                for out in outs:
                    out[:, j] = float(yj.mean())
                continue
            m = estimator(family, p, "clf", seed, dense).fit(X, yj)
            for out, o in zip(outs, others, strict=True):
                out[:, j] = m.predict_proba(o)[:, 1]
        return outs
    Y = y.reshape(-1, 1).astype(float) if (ordinal or y.ndim == 1) else y
    outs = [np.zeros((o.shape[0], Y.shape[1])) for o in others]
    for j in range(Y.shape[1]):
        yj = np.log1p(np.clip(Y[:, j], 0, None)) if target == "log1p" else Y[:, j]
        m = estimator(family, p, "reg", seed, dense).fit(X, yj)
        for out, o in zip(outs, others, strict=True):
            pred = m.predict(o)
            out[:, j] = np.expm1(pred) if target == "log1p" else pred
    return outs
