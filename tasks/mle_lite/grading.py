"""Validate and grade submission files against a competition's private answers; never raises on a file."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.mle_lite import medals
from tasks.mle_lite.validate import parse_submission, read_csv_text

_CACHE: dict[tuple, object] = {}


@dataclass
class GradeReport:
    """The result of grading one submission."""

    valid: bool
    error: str | None = None
    score: float | None = None
    medal: str | None = None
    above_median: bool | None = None

    def to_dict(self) -> dict:
        """`{"valid", "error", "score", "medal", "above_median"}` (JSON-ready)."""
        return asdict(self)


def _cached(key: str, path: Path, load):
    """Load a file once per (path, mtime, size)."""
    st = path.stat()
    full = (key, str(path), st.st_mtime_ns, st.st_size)
    if full not in _CACHE:
        _CACHE[full] = load(path)
    return _CACHE[full]


def _sample_ids(comp) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """(sorted test ids, ids in sample-submission order, their positions among the sorted ids)."""
    id_col = comp.config.submission.id_column

    def load(p: Path) -> tuple[pd.Index, np.ndarray, np.ndarray]:
        frame = pd.read_csv(p, dtype=str, keep_default_na=False, na_filter=False, usecols=[id_col])
        values = frame[id_col].astype(str).to_numpy(dtype=object)
        ordered = pd.Index(values).sort_values()
        return ordered, values, ordered.get_indexer(values)

    return _cached("ids", comp.sample_submission_path, load)


def expected_ids(comp) -> pd.Index:
    """Test ids of the public sample submission, sorted (the order graders see)."""
    return _sample_ids(comp)[0]


def sample_order(comp) -> tuple[np.ndarray, np.ndarray]:
    """(test ids in sample-submission order, their positions among the sorted ids)."""
    return _sample_ids(comp)[1:]


def read_answers(comp) -> pd.DataFrame:
    """Private answers sorted by id: the id and the spec's text columns as str; a column whose
    values all parse as numbers is numeric (empty = NaN), any other column is str."""
    spec = comp.config.submission
    keep_str = {spec.id_column} | {c.name for c in spec.columns if c.kind == "text"}

    def load(p: Path) -> pd.DataFrame:
        with p.open(encoding="utf-8", newline="") as f:
            header = next(csv.reader(f))
        strs = {c: str for c in header if c in keep_str}
        frame = pd.read_csv(p, dtype=strs, keep_default_na=False,
                            na_values={c: [""] for c in header if c not in keep_str})
        for col in frame.columns:
            if col not in keep_str and frame[col].dtype.kind not in "fiub":
                frame[col] = frame[col].fillna("").astype(str)
        return frame.sort_values(spec.id_column, kind="stable").reset_index(drop=True)

    return _cached("answers", comp.answers_path, load)


def _read(comp, path: Path) -> tuple[pd.DataFrame | None, str | None]:
    text, err = read_csv_text(Path(path))
    if err:
        return None, err
    return parse_submission(text, comp.config.submission, expected_ids(comp), sample_order(comp))


def validate_file(comp, path: Path | str) -> str | None:
    """None when the submission file is valid for `comp`, else one specific message."""
    if getattr(comp, "source_kind", "") == "mlebench":
        return comp.validate_file(Path(path))
    try:
        comp.ensure_prepared()
        _, err = _read(comp, Path(path))
        return err
    except Exception as exc:  # a file must never crash validation
        return f"cannot validate submission: {_one_line(exc)}"


def medal_for(comp, score: float | None) -> tuple[str | None, bool | None]:
    """(medal, above_median) of a score on the competition's leaderboard; (None, None) without one."""
    path = comp.leaderboard_path
    if score is None or not path.is_file():
        return None, None
    board = _cached("board", path, medals.read_leaderboard)
    th = medals.thresholds(board["score"], comp.higher_is_better)
    return medals.rank_score(score, th)


def percentile_for(comp, score: float | None) -> float | None:
    """The leaderboard percentile of a score (share of teams beaten, in percent); None without a leaderboard."""
    path = comp.leaderboard_path
    if not path.is_file():
        return None
    board = _cached("board", path, medals.read_leaderboard)
    return medals.percentile(score, board["score"], comp.higher_is_better)


def grade_frame(comp, submission: pd.DataFrame) -> float:
    """Score an already validated, id-sorted submission frame with the competition's grade.py."""
    answers = read_answers(comp)
    id_col = comp.config.submission.id_column
    if not submission[id_col].reset_index(drop=True).equals(answers[id_col].astype(submission[id_col].dtype)):
        raise RuntimeError("answers ids do not match the sample submission ids (competition data is inconsistent)")
    score = comp.module("grade").grade(submission.copy(), answers.copy())
    return float(score)


def _grade_text(comp, text: str) -> GradeReport:
    frame, err = parse_submission(text, comp.config.submission, expected_ids(comp), sample_order(comp))
    if err:
        return GradeReport(valid=False, error=err)
    score = grade_frame(comp, frame)
    if not math.isfinite(score):
        return GradeReport(valid=False, error=f"grader returned a non-finite score ({score})")
    medal, above = medal_for(comp, score)
    return GradeReport(valid=True, score=score, medal=medal, above_median=above)


def grade_file(comp, path: Path | str) -> GradeReport:
    """Validate then grade a submission file; every problem becomes `GradeReport(valid=False, error=…)`."""
    if getattr(comp, "source_kind", "") == "mlebench":
        return comp.grade_file(Path(path))
    try:
        comp.ensure_prepared()
        text, err = read_csv_text(Path(path))
        if err:
            return GradeReport(valid=False, error=err)
        return _grade_text(comp, text)
    except Exception as exc:
        return GradeReport(valid=False, error=f"grading failed: {_one_line(exc)}")


def grade_dataframe(comp, frame: pd.DataFrame) -> GradeReport:
    """Grade an in-memory submission frame exactly as if it were written to CSV and graded."""
    try:
        comp.ensure_prepared()
        buf = io.StringIO()
        frame.to_csv(buf, index=False)
        return _grade_text(comp, buf.getvalue())
    except Exception as exc:
        return GradeReport(valid=False, error=f"grading failed: {_one_line(exc)}")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
