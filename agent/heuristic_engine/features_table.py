"""Feature blocks read from the train/test tables: numbers, categories, dates, map points, short codes, text."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
from scipy import sparse

GEO = re.compile(r"(.*?)(lat|latitude|lon|lng|long|longitude)(.*)$", re.I)
PUNCT = "!?.,;:'\"()-*&$%#@/"


def _frame(problem) -> tuple[pd.DataFrame, int]:
    """Train and test inputs stacked (train first), restricted to the columns both have."""
    train, test = problem.train, problem.test
    if train is None or test is None:
        return pd.DataFrame(index=range(0)), 0
    skip = {problem.id_column, *problem.columns}
    cols = [c for c in train.columns if c in test.columns and c not in skip]
    both = pd.concat([train[cols], test[cols]], ignore_index=True)
    return both, len(train)


def column_types(problem, max_levels: int = 50) -> dict[str, list[str]]:
    """Shared input columns by type: numeric, text, datetime, categorical, codes (short strings), geo."""
    both, _ = _frame(problem)
    out: dict[str, list[str]] = {"numeric": [], "text": [], "datetime": [], "categorical": [], "codes": []}
    n = len(both)
    for c in both.columns:
        s = both[c]
        if pd.api.types.is_bool_dtype(s):
            out["numeric"].append(c)
            continue
        if pd.api.types.is_numeric_dtype(s):
            if not (str(c).lower() in ("id", "index") or (s.nunique() == n and pd.api.types.is_integer_dtype(s)
                                                          and s.is_monotonic_increasing)):
                out["numeric"].append(c)
            continue
        v = s.dropna().astype(str)
        if v.empty:
            continue
        head = v.head(200)
        if pd.to_numeric(head, errors="coerce").notna().mean() > 0.95:
            out["numeric"].append(c)
        elif head.str.len().mean() > 30 or head.str.count(" ").mean() > 4:
            out["text"].append(c)
        elif head.str.contains(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}", regex=True).mean() > 0.9:
            out["datetime"].append(c)
        elif v.nunique() <= max(max_levels, 2) or v.nunique() < 0.05 * len(v):
            out["categorical"].append(c)
        elif v.str.len().max() <= 32 and v.str.len().std() < 1.0:
            out["codes"].append(c)
    return out


def _texts(problem, column: str) -> tuple[pd.Series, int]:
    both, n_train = _frame(problem)
    cols = column_types(problem)["text"] if column == "auto" else [column]
    cols = [c for c in cols if c in both.columns]
    if not cols:
        raise ValueError(f"no text column {column!r} among the shared input columns ({', '.join(map(str, both.columns))})")
    text = both[cols[0]].fillna("").astype(str)
    for c in cols[1:]:
        text = text + " \n " + both[c].fillna("").astype(str)
    return text, n_train


def _standardise(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    mu, sd = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    return np.nan_to_num((X - mu) / np.where(sd > 0, sd, 1.0)).astype(np.float32)


def numeric(problem, p: dict) -> np.ndarray | None:
    """Numeric columns imputed and standardised (optionally log1p of skewed non-negative columns)."""
    both, n = _frame(problem)
    cols = column_types(problem)["numeric"]
    if not cols:
        return None
    X = both[cols].apply(lambda s: pd.to_numeric(s, errors="coerce")).astype(float)
    fill = {"median": X.median(), "mean": X.mean(), "zero": 0.0}[p["impute"]]
    miss = X.isna()
    X = X.fillna(fill).fillna(0.0)
    parts = [X.to_numpy()]
    if miss.any().any():
        parts.append(miss.loc[:, miss.any()].to_numpy(dtype=float))
    if p["log_skewed"]:
        skewed = [c for c in cols if (X[c] >= 0).all() and X[c].skew() > 2]
        if skewed:
            parts.append(np.log1p(X[skewed].to_numpy()))
    return _standardise(np.hstack(parts))


def categorical(problem, p: dict) -> np.ndarray | sparse.csr_matrix | None:
    """Low-cardinality string columns: one-hot (sparse), ordinal codes, or frequency."""
    both, n = _frame(problem)
    cols = column_types(problem, p["max_levels"])["categorical"]
    if not cols:
        return None
    blocks = []
    for c in cols:
        s = both[c].fillna("__missing").astype(str)
        top = s.value_counts().index[: p["max_levels"]]
        s = s.where(s.isin(top), "__other")
        if p["encoding"] == "onehot":
            codes, uniq = pd.factorize(s)
            blocks.append(sparse.csr_matrix((np.ones(len(s)), (np.arange(len(s)), codes)), shape=(len(s), len(uniq))))
        elif p["encoding"] == "ordinal":
            blocks.append(sparse.csr_matrix(pd.factorize(s, sort=True)[0].reshape(-1, 1).astype(float)))
        else:
            blocks.append(sparse.csr_matrix(s.map(s.value_counts(normalize=True)).to_numpy().reshape(-1, 1)))
    X = sparse.hstack(blocks).tocsr()
    return X if p["encoding"] == "onehot" else _standardise(X.toarray())


def datetime(problem, p: dict) -> np.ndarray | None:
    """Date-time columns split into parts (year, month, day of week, hour, ...)."""
    both, n = _frame(problem)
    cols = column_types(problem)["datetime"]
    if not cols:
        return None
    parts = []
    for c in cols:
        raw = both[c].astype(str).str.replace(" UTC", "", regex=False)
        d = pd.to_datetime(raw, errors="coerce")
        get = {"year": d.dt.year, "month": d.dt.month, "day": d.dt.day, "dow": d.dt.day_of_week, "hour": d.dt.hour,
               "minute": d.dt.minute, "epoch": (d - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0}
        parts.extend(get[k].astype(float).to_numpy() for k in p["parts"])
    return _standardise(np.column_stack(parts))


def geo(problem, p: dict) -> np.ndarray | None:
    """Latitude/longitude pairs: great-circle and axis distances between consecutive points, bearings."""
    both, n = _frame(problem)
    points: dict[str, dict[str, str]] = {}
    for c in column_types(problem)["numeric"]:
        m = GEO.match(str(c))
        if m:
            axis = "lat" if m.group(2).lower().startswith("lat") else "lon"
            points.setdefault(m.group(1) + "|" + m.group(3), {})[axis] = c
    pts = [(v["lat"], v["lon"]) for v in points.values() if len(v) == 2]
    if len(pts) < 1:
        return None
    coords = []
    for lat, lon in pts:
        la = pd.to_numeric(both[lat], errors="coerce").to_numpy(float)
        lo = pd.to_numeric(both[lon], errors="coerce").to_numpy(float)
        bad = ~((np.abs(la) <= 90) & (np.abs(lo) <= 180)) | np.isnan(la) | np.isnan(lo)
        la[bad], lo[bad] = np.nanmedian(la[~bad]), np.nanmedian(lo[~bad])
        coords.append((la, lo))
    feats = []
    centre = (np.median(coords[0][0]), np.median(coords[0][1]))
    for la, lo in coords:
        feats.append(np.minimum(_haversine(la, lo, *centre), p["clip_km"]))
    for (la1, lo1), (la2, lo2) in zip(coords, coords[1:], strict=False):
        d = _haversine(la1, lo1, la2, lo2)
        feats += [np.minimum(d, p["clip_km"]), np.log1p(np.minimum(d, p["clip_km"])),
                  np.abs(la2 - la1) * 111.0, np.abs(lo2 - lo1) * 111.0 * np.cos(np.radians(la1)),
                  np.arctan2(la2 - la1, lo2 - lo1)]
    return _standardise(np.column_stack(feats))


def _haversine(la1, lo1, la2, lo2):
    la1, lo1, la2, lo2 = map(np.radians, (la1, lo1, la2, lo2))
    a = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def interactions(problem, p: dict) -> np.ndarray | None:
    """Products and ratios of each pair of the first `max_columns` numeric columns."""
    both, n = _frame(problem)
    cols = column_types(problem)["numeric"][: p["max_columns"]]
    if len(cols) < 2:
        return None
    X = both[cols].apply(lambda s: pd.to_numeric(s, errors="coerce")).astype(float)
    X = X.fillna(X.median()).to_numpy()
    feats = []
    for i, j in itertools.combinations(range(len(cols)), 2):
        a, b = X[:, i], X[:, j]
        if "product" in p["ops"]:
            feats.append(a * b)
        if "ratio" in p["ops"]:
            feats.append(np.divide(a, b, out=np.zeros_like(a), where=np.abs(b) > 1e-12))
    return _standardise(np.clip(np.column_stack(feats), -1e12, 1e12))


def string_chars(problem, p: dict) -> np.ndarray | None:
    """Short fixed-length codes: the character at each position, distinct characters, letter counts."""
    both, n = _frame(problem)
    cols = [c for c in column_types(problem)["codes"] if both[c].astype(str).str.len().max() <= p["max_len"]]
    if not cols:
        return None
    feats = []
    for c in cols:
        s = both[c].fillna("").astype(str)
        width = int(s.str.len().max())
        chars = np.array([list(v.ljust(width)) for v in s])
        feats.append(np.vectorize(ord)(chars).astype(float))
        feats.append(s.map(lambda v: len(set(v))).to_numpy(float).reshape(-1, 1))
        if p["alphabet_counts"]:
            alphabet = sorted(set("".join(s.head(2000))))
            feats.append(np.column_stack([s.str.count(re.escape(a)).to_numpy(float) for a in alphabet]))
    return _standardise(np.hstack(feats))


def tfidf(problem, p: dict) -> sparse.csr_matrix:
    """TF-IDF of the text column(s), word or character n-grams (sparse)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    text, n = _texts(problem, p["column"])
    vec = TfidfVectorizer(analyzer=p["analyzer"], ngram_range=(p["ngram_min"], p["ngram_max"]), min_df=p["min_df"],
                          max_df=p["max_df"], max_features=p["max_features"], sublinear_tf=p["sublinear_tf"],
                          lowercase=p["lowercase"], binary=p["binary"], dtype=np.float32,
                          **({"token_pattern": r"(?u)\b\w+\b|[^\w\s]"} if p["analyzer"] == "word" else {}))
    return vec.fit_transform(text.tolist()).tocsr()


def text_stats(problem, p: dict) -> np.ndarray:
    """Length, words, capitals, digits and punctuation counts of the text column(s)."""
    text, n = _texts(problem, p["column"])
    length = text.str.len().to_numpy(float)
    feats = [np.log1p(length), np.log1p(text.str.split().str.len().fillna(0).to_numpy(float)),
             text.str.count(r"[A-Z]").to_numpy(float) / np.maximum(length, 1),
             text.str.count(r"\d").to_numpy(float) / np.maximum(length, 1)]
    feats += [text.str.count(re.escape(ch)).to_numpy(float) for ch in PUNCT]
    return _standardise(np.column_stack(feats))


BLOCKS = {"numeric": numeric, "categorical": categorical, "datetime": datetime, "geo": geo, "interactions": interactions,
          "string_chars": string_chars, "tfidf": tfidf, "text_stats": text_stats}
