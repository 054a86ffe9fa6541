"""Load and check a competition's `config.yaml`; errors name the file and the field."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from common.errors import UserError

MODALITIES = ("tabular", "image", "text", "signal", "sequence", "audio")
KINDS = ("probability", "float", "nonneg_float", "int", "label", "text")


@dataclass(frozen=True)
class Column:
    """One prediction column of the submission."""

    name: str
    kind: str


@dataclass(frozen=True)
class SubmissionSpec:
    """What a valid submission looks like."""

    id_column: str
    columns: tuple[Column, ...]
    labels: tuple | None = None
    rows_sum_to_one: bool = False

    @property
    def names(self) -> list[str]:
        """All column names in order, id first."""
        return [self.id_column, *(c.name for c in self.columns)]


@dataclass(frozen=True)
class CompetitionConfig:
    """A parsed `config.yaml`."""

    id: str
    name: str
    metric: str
    higher_is_better: bool
    modality: str
    source: str
    synthetic: bool
    baseline_score: float | None
    submission: SubmissionSpec
    answers: str = "answers.csv"
    sample_submission: str = "sample_submission.csv"
    raw: dict = field(default_factory=dict, compare=False, repr=False)


def _need(data: dict, key: str, kind: type | tuple, where: str) -> Any:
    if key not in data or data[key] is None:
        raise UserError(f"{where}: missing field '{key}'")
    value = data[key]
    if not isinstance(value, kind) or (kind is str and not value.strip()):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise UserError(f"{where}: field '{key}' must be a non-empty {names}, got {value!r}")
    return value


def parse_config(data: Any, where: str, folder_id: str | None = None) -> CompetitionConfig:
    """Check a loaded config mapping field by field and build a CompetitionConfig."""
    from tasks.mle_lite.metrics import METRICS

    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a YAML mapping at the top level")
    cid = _need(data, "id", str, where)
    if folder_id is not None and cid != folder_id:
        raise UserError(f"{where}: field 'id' is {cid!r} but the folder is named {folder_id!r}")
    metric = _need(data, "metric", str, where)
    if metric not in METRICS:
        raise UserError(f"{where}: field 'metric' {metric!r} is not one of {', '.join(sorted(METRICS))}")
    hib = _need(data, "higher_is_better", bool, where)
    from tasks.mle_lite.metrics import HIGHER_IS_BETTER

    if HIGHER_IS_BETTER.get(metric, hib) != hib:
        raise UserError(f"{where}: field 'higher_is_better' is {str(hib).lower()} but metric {metric!r} is "
                        f"{'higher' if HIGHER_IS_BETTER[metric] else 'lower'}-is-better")
    modality = _need(data, "modality", str, where)
    if modality not in MODALITIES:
        raise UserError(f"{where}: field 'modality' {modality!r} is not one of {', '.join(MODALITIES)}")
    source = _need(data, "source", str, where)
    synthetic = data.get("synthetic", source == "synthetic")
    if not isinstance(synthetic, bool):
        raise UserError(f"{where}: field 'synthetic' must be true or false")
    baseline = data.get("baseline_score")
    if baseline is not None and (isinstance(baseline, bool) or not isinstance(baseline, int | float)):
        raise UserError(f"{where}: field 'baseline_score' must be a number, got {baseline!r}")
    sub = _need(data, "submission", dict, where)
    spec = _parse_submission(sub, where)
    dataset = data.get("dataset") or {}
    if not isinstance(dataset, dict):
        raise UserError(f"{where}: field 'dataset' must be a mapping")
    answers = dataset.get("answers", "answers.csv")
    sample = dataset.get("sample_submission", "sample_submission.csv")
    for key, value in (("dataset.answers", answers), ("dataset.sample_submission", sample)):
        if not isinstance(value, str) or not value:
            raise UserError(f"{where}: field '{key}' must be a file name")
    return CompetitionConfig(
        id=cid,
        name=str(data.get("name") or cid),
        metric=metric,
        higher_is_better=hib,
        modality=modality,
        source=source,
        synthetic=synthetic,
        baseline_score=None if baseline is None else float(baseline),
        submission=spec,
        answers=answers,
        sample_submission=sample,
        raw=data,
    )


def _parse_submission(sub: dict, where: str) -> SubmissionSpec:
    id_column = _need(sub, "id_column", str, f"{where} (submission)")
    cols_raw = _need(sub, "columns", list, f"{where} (submission)")
    if not cols_raw:
        raise UserError(f"{where}: field 'submission.columns' must list at least one column")
    columns = []
    for i, col in enumerate(cols_raw):
        if not isinstance(col, dict) or not isinstance(col.get("name"), str) or not col["name"]:
            raise UserError(f"{where}: field 'submission.columns[{i}]' needs a 'name'")
        kind = col.get("kind", "float")
        if kind not in KINDS:
            raise UserError(f"{where}: field 'submission.columns[{i}].kind' {kind!r} is not one of {', '.join(KINDS)}")
        columns.append(Column(col["name"], kind))
    names = [id_column, *(c.name for c in columns)]
    if len(set(names)) != len(names):
        raise UserError(f"{where}: field 'submission.columns' repeats a column name")
    labels = sub.get("labels")
    if labels is not None and (not isinstance(labels, list) or not labels):
        raise UserError(f"{where}: field 'submission.labels' must be a non-empty list or null")
    if any(c.kind == "label" for c in columns) and labels is None:
        raise UserError(f"{where}: field 'submission.labels' is required when a column has kind 'label'")
    rows = sub.get("rows_sum_to_one", False)
    if not isinstance(rows, bool):
        raise UserError(f"{where}: field 'submission.rows_sum_to_one' must be true or false")
    return SubmissionSpec(id_column, tuple(columns), None if labels is None else tuple(labels), rows)


def load_config(path: Path, folder_id: str | None = None) -> CompetitionConfig:
    """Read and check a competition's config.yaml."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read config: {str(exc).splitlines()[0]}") from exc
    return parse_config(data, str(path), folder_id)
