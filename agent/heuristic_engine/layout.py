"""Find the problem in the public data: which rows to learn from, their targets, and what to predict.

Only the public folder (DATA_DIR) and the submission spec are read. Layouts recognised:
- table: train/test tables (CSV or JSON) holding the inputs; the targets are columns of the train table,
  or one label column whose values are the submission's columns (multi-class probabilities);
- files: one file per id (images, audio) found by name, with the labels in a table;
- pixels: image-to-image tasks whose submission ids are <image>_<row>_<col> (a dirty/clean folder pair);
- pairs: per-recording label lists ("?" for test recordings) predicted per (recording, class) pair;
- sequence: token tables with a `before` text and an `after` text to predict.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff"}
AUDIO_EXT = {".wav"}
TABLE_EXT = {".csv", ".json"}
GROUP_HINT = re.compile(r"patient|subject|group|user|session", re.I)


@dataclass
class Problem:
    """What the engine learns and predicts (targets y in model space, see metrics.py)."""

    layout: str                          # table | files | pixels | pairs | sequence
    task: str                            # binary | multilabel | multiclass | regression | label | text
    id_column: str
    columns: list[str]                   # the submission's prediction columns
    kinds: dict[str, str]                # column -> kind (probability, float, nonneg_float, int, label, text)
    sample: pd.DataFrame                 # the sample submission (ids as str)
    y: np.ndarray                        # (n, k) floats, or (n,) class codes for multiclass/label
    classes: list = field(default_factory=list)   # multiclass: submission column per code; label: label per code
    train: pd.DataFrame | None = None    # one row of inputs per training example
    test: pd.DataFrame | None = None     # one row of inputs per predicted entity
    train_files: list[str] | None = None
    test_files: list[str] | None = None
    test_keys: list[str] = field(default_factory=list)   # the entity of each test row (id, image, recording)
    groups: np.ndarray | None = None     # CV groups (rows of one group stay in one fold)
    extra: dict = field(default_factory=dict)

    @property
    def modality(self) -> str:
        """The input the features read: table, image, audio, pixels or sequence."""
        if self.layout in ("pixels", "sequence"):
            return self.layout
        if self.train_files:
            return "audio" if Path(self.train_files[0]).suffix.lower() in AUDIO_EXT else "image"
        return "table"

    def summary(self) -> dict:
        """A JSON-able description for logs."""
        n_out = len(self.classes) if self.task in ("multiclass", "label") else (self.y.shape[1] if self.y.ndim == 2 else 1)
        return {"layout": self.layout, "input": self.modality, "task": self.task, "train_rows": int(len(self.y)),
                "test_rows": len(self.test_keys), "outputs": int(n_out),
                "groups": None if self.groups is None else int(len(np.unique(self.groups)))}

    def submission(self, values: dict[str, np.ndarray]) -> pd.DataFrame:
        """The submission frame in the sample's id order, from column -> values per test row."""
        if self.layout == "pairs":   # one row per (recording, class): id = recording * base + class
            k = self.extra["pair_base"]
            frame = pd.DataFrame({
                "__key": [str(int(r) * k + c) for r in self.test_keys for c in self.extra["pair_classes"]],
                self.columns[0]: np.asarray(values[self.columns[0]]).reshape(-1),
            })
        else:
            frame = pd.DataFrame({"__key": self.test_keys, **values})
        frame = frame.drop_duplicates("__key").set_index("__key")
        out = self.sample[[self.id_column]].copy()
        for col in self.columns:
            got = frame[col].reindex(out[self.id_column].astype(str).values)
            fill = self.sample[col]
            if self.kinds.get(col) in ("probability", "float", "nonneg_float"):
                fill = pd.to_numeric(fill, errors="coerce")
            out[col] = np.where(got.isna().values, fill.values, got.values)
        return out


def is_text(s: pd.Series) -> bool:
    """Whether a column holds strings (object or string dtype, any pandas version)."""
    return not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
                or pd.api.types.is_datetime64_any_dtype(s))


def read_table(path: Path) -> pd.DataFrame | None:
    """A CSV or a JSON list of records as a frame; None when it is neither."""
    try:
        if path.suffix.lower() == ".json":
            with open(path) as f:
                data = json.load(f)
            return pd.DataFrame(data) if isinstance(data, list) else None
        return pd.read_csv(path, keep_default_na=False, na_values=[""], low_memory=False)
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError):
        return None


def _walk(root: Path, depth: int = 3) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        if len(Path(dirpath).relative_to(root).parts) >= depth:
            dirnames[:] = []
        out.extend(Path(dirpath) / f for f in filenames)
    return sorted(out)


def _as_key(values) -> list[str]:
    s = pd.Series(values)
    if pd.api.types.is_float_dtype(s) and (s.dropna() == s.dropna().round()).all():
        s = s.astype("Int64")
    return s.astype(str).tolist()


def _binary(series: pd.Series) -> np.ndarray:
    s = series
    if is_text(s) or pd.api.types.is_bool_dtype(s):
        s = s.map(lambda v: {"true": 1, "false": 0, "yes": 1, "no": 0}.get(str(v).strip().lower(), v))
    return pd.to_numeric(s, errors="coerce").astype(float).to_numpy()


def _group_column(frame: pd.DataFrame, wanted: str | None) -> np.ndarray | None:
    if not wanted:
        return None
    if wanted != "auto":
        return frame[wanted].astype(str).to_numpy() if wanted in frame.columns else None
    for col in frame.columns:
        if GROUP_HINT.search(str(col)) and 1 < frame[col].nunique() < 0.9 * len(frame):
            return frame[col].astype(str).to_numpy()
    return None


def load_problem(data_dir: str | Path, spec: dict, group_column: str | None = None) -> Problem:
    """Read the public data and return the problem it poses; ValueError when no layout fits."""
    data = Path(data_dir)
    sample_path = data / spec["sample_submission"]
    id_col = spec["id_column"]
    sample = pd.read_csv(sample_path, dtype={id_col: str}, keep_default_na=False)
    sample[id_col] = sample[id_col].astype(str)
    columns = [c["name"] for c in spec["columns"]]
    kinds = {c["name"]: c["kind"] for c in spec["columns"]}
    files = [p for p in _walk(data) if p != sample_path and "sample_submission" not in p.name]
    tables = {p: t for p in files if p.suffix.lower() in TABLE_EXT for t in [read_table(p)] if t is not None}
    base = dict(id_column=id_col, columns=columns, kinds=kinds, sample=sample)
    if any(k == "text" for k in kinds.values()):
        return _sequence(tables, base, group_column)
    for finder in (_pixels, _pairs):
        found = finder(data, files, base)
        if found is not None:
            return found
    return _table_or_files(files, tables, base, spec, group_column)


def _find_train(tables: dict, columns: list[str]) -> tuple[Path, pd.DataFrame, str | None]:
    best = None
    for path, t in tables.items():
        label = None
        if not all(c in t.columns for c in columns):
            label = next((c for c in t.columns if is_text(t[c])
                          and len(set(t[c].astype(str)) & set(columns)) >= min(2, len(columns))
                          and t[c].astype(str).isin(columns).mean() > 0.9), None)
            if label is None:
                continue
        rank = ("train" in path.name.lower() or "label" in path.name.lower(), len(t))
        if best is None or rank > best[0]:
            best = (rank, path, t, label)
    if best is None and len(columns) == 1:   # one target under another name: the train table's only 0/1 column
        for path, t in tables.items():
            binary = [c for c in t.columns if set(pd.unique(t[c].dropna())) <= {0, 1} and t[c].nunique() == 2]
            if len(binary) == 1 and ("train" in path.name.lower() or "label" in path.name.lower()):
                return path, t.rename(columns={binary[0]: columns[0]}), None
    if best is None:
        raise ValueError("no table holds the submission's columns or a label column naming them")
    return best[1], best[2], best[3]


def _targets(train: pd.DataFrame, label: str | None, base: dict, spec: dict) -> tuple[str, np.ndarray, list]:
    columns, kinds = base["columns"], base["kinds"]
    if label is not None:
        codes = train[label].astype(str).map({c: i for i, c in enumerate(columns)})
        return "multiclass", codes.to_numpy(), list(columns)
    first = kinds[columns[0]]
    if all(kinds[c] == "probability" for c in columns):
        Y = np.column_stack([_binary(train[c]) for c in columns])
        if len(columns) > 1 and np.isin(Y, (0, 1)).all() and (Y.sum(axis=1) == 1).all():
            return "multiclass", Y.argmax(axis=1), list(columns)
        return ("binary" if len(columns) == 1 else "multilabel"), Y, []
    if first in ("label", "int") and len(columns) == 1:
        y = train[columns[0]]
        labels = spec.get("labels") or sorted(y.dropna().unique().tolist())
        if first == "label" or len(labels) <= 50:
            keys = [str(v) for v in labels]
            codes = y.astype(str).map({k: i for i, k in enumerate(keys)})
            return "label", codes.to_numpy(), list(labels)
    Y = np.column_stack([pd.to_numeric(train[c], errors="coerce").astype(float).to_numpy() for c in columns])
    return "regression", Y, []


def _file_index(files: list[Path]) -> dict[str, Path]:
    index: dict[str, Path] = {}
    for p in files:
        if p.suffix.lower() in IMAGE_EXT | AUDIO_EXT:
            index.setdefault(p.name, p)
            index.setdefault(p.stem, p)
    return index


def _id_column(frame: pd.DataFrame, preferred: str, index: dict) -> str:
    if preferred in frame.columns:
        return preferred
    if index:
        scores = {c: frame[c].astype(str).isin(index.keys()).mean() for c in frame.columns}
        best = max(scores, key=scores.get)
        if scores[best] > 0.5:
            return best
    return frame.columns[0]


def _table_or_files(files, tables, base, spec, group_column) -> Problem:
    id_col, columns = base["id_column"], base["columns"]
    path, train, label = _find_train(tables, columns)
    task, y, classes = _targets(train, label, base, spec)
    keep = ~pd.isna(y) if np.ndim(y) == 1 else ~np.isnan(y).any(axis=1)
    train, y = train.loc[keep].reset_index(drop=True), y[keep]
    if y.ndim == 1:
        y = y.astype(int)
    test_ids = base["sample"][id_col].tolist()
    index = _file_index(files)
    tid = _id_column(train, id_col, index)
    test = None
    for p, t in tables.items():
        if p != path and id_col in t.columns and t[id_col].astype(str).isin(set(test_ids)).mean() > 0.9:
            test = t.assign(**{id_col: _as_key(t[id_col])}).drop_duplicates(id_col).set_index(id_col)
            test = test.reindex(test_ids).reset_index()
            break
    drop = set(columns) | ({label} if label else set())
    train_inputs = train.drop(columns=[c for c in drop if c in train.columns])
    problem = Problem(layout="table", task=task, y=y, classes=classes, train=train_inputs,
                      test=test if test is not None else pd.DataFrame({id_col: test_ids}),
                      test_keys=test_ids, groups=_group_column(train_inputs, group_column), **base)
    train_keys = _as_key(train[tid])
    hits = [index.get(k) for k in train_keys]
    test_hits = [index.get(k) for k in test_ids]
    if index and np.mean([h is not None for h in hits]) > 0.9 and np.mean([h is not None for h in test_hits]) > 0.9:
        keep = np.array([h is not None for h in hits])
        problem.layout = "files"
        problem.train = train_inputs.loc[keep].reset_index(drop=True)
        problem.y = y[keep]
        problem.groups = None if problem.groups is None else problem.groups[keep]
        problem.train_files = [str(h) for h in hits if h is not None]
        fallback = next(h for h in test_hits if h is not None)
        problem.test_files = [str(h or fallback) for h in test_hits]
    elif test is None:
        raise ValueError("found the training labels but neither a test table nor one file per test id")
    return problem


def _pixels(data: Path, files: list[Path], base: dict) -> Problem | None:
    ids = base["sample"][base["id_column"]].astype(str)
    parts = ids.str.rsplit("_", n=2, expand=True)
    if parts.shape[1] != 3 or not parts[1].str.isdigit().all() or not parts[2].str.isdigit().all():
        return None
    folders: dict[Path, dict[str, Path]] = {}
    for p in files:
        if p.suffix.lower() in IMAGE_EXT:
            folders.setdefault(p.parent, {})[p.stem] = p
    stems = set(parts[0])
    test_dir = next((d for d, f in folders.items() if stems <= set(f)), None)
    if test_dir is None:
        return None
    pairs = [(a, b) for a in folders for b in folders if a != b and a != test_dir and b != test_dir
             and set(folders[a]) == set(folders[b])]
    target_hint = re.compile(r"clean|target|mask|label|truth|gt|out", re.I)
    pair = next(((a, b) for a, b in pairs if target_hint.search(b.name) and not target_hint.search(a.name)), None)
    if pair is None:
        return None
    src, dst = pair
    names = sorted(folders[src])
    test_names = sorted(stems, key=lambda s: (len(s), s))
    problem = Problem(layout="pixels", task="regression", y=np.zeros((0, 1)), test_keys=[],
                      extra={"train_inputs": [str(folders[src][n]) for n in names],
                             "train_targets": [str(folders[dst][n]) for n in names],
                             "test_inputs": [str(folders[test_dir][n]) for n in test_names], "test_names": test_names},
                      **base)
    from .features_pixels import materialise

    materialise(problem)
    return problem


def _label_lists(path: Path) -> dict[str, list[str] | None] | None:
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    out: dict[str, list[str] | None] = {}
    for line in lines[1:]:
        cells = [c.strip() for c in line.split(",") if c.strip() != ""]
        if not cells:
            continue
        out[cells[0]] = None if cells[1:] == ["?"] else cells[1:]
    if not out or not any(v is None for v in out.values()) or not any(v is not None for v in out.values()):
        return None
    return out


def _pairs(data: Path, files: list[Path], base: dict) -> Problem | None:
    ids = base["sample"][base["id_column"]]
    if len(base["columns"]) != 1 or not ids.str.fullmatch(r"\d+").all():
        return None
    lists = next((v for p in files if p.suffix.lower() in (".txt", ".csv") for v in [_label_lists(p)] if v), None)
    if lists is None:
        return None
    test_ents = {k for k, v in lists.items() if v is None}
    values = ids.astype(int).to_numpy()
    for k in (10, 100, 1000, 10000):
        if {str(v) for v in values // k} == test_ents:
            break
    else:
        return None
    n_classes = int(values.max() % k) + 1
    for v in lists.values():
        for c in v or []:
            n_classes = max(n_classes, int(c) + 1)
    index = _file_index(files)
    mapping: dict[str, Path] = {}
    for p in files:
        t = read_table(p) if p.suffix.lower() in (".txt", ".csv") else None
        if t is None or t.shape[1] < 2:
            continue
        keys, names = _as_key(t.iloc[:, 0]), t.iloc[:, 1].astype(str)
        if names.isin(index.keys()).mean() > 0.9 and set(keys) >= set(lists):
            mapping = {key: index[n] for key, n in zip(keys, names, strict=True) if n in index}
            break
    if not mapping:
        mapping = {k: index[k] for k in lists if k in index}
    train_ents = [k for k, v in lists.items() if v is not None and k in mapping]
    test_list = sorted(test_ents, key=int)
    if not train_ents or not all(k in mapping for k in test_list):
        return None
    Y = np.zeros((len(train_ents), n_classes))
    for i, e in enumerate(train_ents):
        for c in lists[e]:
            Y[i, int(c)] = 1.0
    return Problem(layout="pairs", task="multilabel", y=Y, train_files=[str(mapping[e]) for e in train_ents],
                   test_files=[str(mapping[e]) for e in test_list], test_keys=test_list,
                   extra={"pair_base": k, "pair_classes": list(range(n_classes))}, **base)


def _sequence(tables: dict, base: dict, group_column: str | None) -> Problem:
    target = base["columns"][0]
    train_path = next((p for p, t in tables.items() if target in t.columns), None)
    if train_path is None:
        raise ValueError(f"no table holds the column {target!r} to learn from")
    train = tables[train_path]
    ids = base["sample"][base["id_column"]].tolist()
    test = None
    for p, t in tables.items():
        if p == train_path:
            continue
        keyed = _keyed(t, base["id_column"], set(ids))
        if keyed is not None:
            test = keyed.drop_duplicates("__key").set_index("__key").reindex(ids).reset_index(drop=True)
            break
    if test is None:
        raise ValueError("no test table whose rows give the submission ids")
    shared = [c for c in test.columns if c in train.columns and c != target]
    source = max((c for c in shared if is_text(train[c])), key=lambda c: train[c].astype(str).str.len().mean())
    groups = next((train[c].astype(str).to_numpy() for c in shared if "sentence" in c.lower()), None)
    if group_column and group_column != "auto" and group_column in train.columns:
        groups = train[group_column].astype(str).to_numpy()
    y = train[target].fillna("").astype(str).to_numpy()
    return Problem(layout="sequence", task="text", y=y, train=train.drop(columns=[target]), test=test,
                   test_keys=ids, groups=groups, extra={"source": source}, **base)


def _keyed(t: pd.DataFrame, id_col: str, ids: set) -> pd.DataFrame | None:
    if id_col in t.columns:
        keys = pd.Series(_as_key(t[id_col]))
        if keys.isin(ids).mean() > 0.9:
            return t.assign(__key=keys.values)
    ints = [c for c in t.columns if pd.api.types.is_integer_dtype(t[c])]
    for a in ints:
        for b in ints:
            if a != b:
                keys = t[a].astype(str) + "_" + t[b].astype(str)
                if keys.isin(ids).mean() > 0.9:
                    return t.assign(__key=keys.values)
    return None
