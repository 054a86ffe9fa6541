"""Competitions prepared by MLE-bench's own tooling, used unchanged (`--mlebench-dir PATH`).

Data layout (MLE-bench's data dir): `<dir>/<id>/prepared/public/` and `<dir>/<id>/prepared/private/`.
Registry files (MLE-bench's `mlebench/competitions/<id>/`: config.yaml, description.md,
leaderboard.csv, grade.py) are looked up, first hit wins, in:
  1. `<dir>/<id>/` (copied next to the data),
  2. `$EVOFORGE_MLEBENCH_REGISTRY/<id>/` (e.g. a checkout's `mlebench/competitions`),
  3. the importable `mlebench` package's `competitions/<id>/`.
config.yaml's `dataset.answers` / `dataset.sample_submission` are relative to the data dir and
`grader.grade_fn` is `module:function` (e.g. `mlebench.competitions.<id>.grade:grade`), imported
as MLE-bench does; scores are rounded to 5 decimals and medals follow the same rule as MLE-bench.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from common.errors import UserError
from tasks.mle_lite import medals
from tasks.mle_lite.grading import GradeReport, _one_line
from tasks.mle_lite.validate import check_ids, read_csv_text

log = logging.getLogger(__name__)

PREFIX = "mlebench:"


def _package_competitions_dir() -> Path | None:
    try:
        import mlebench  # type: ignore[import-not-found]
    except ImportError:
        return None
    return Path(mlebench.__file__).resolve().parent / "competitions"


def registry_dirs(data_dir: Path) -> list[Path]:
    """Where MLE-bench registry folders are looked up for a data dir, in order."""
    dirs = [data_dir]
    env = os.environ.get("EVOFORGE_MLEBENCH_REGISTRY")
    if env:
        dirs.append(Path(env).expanduser())
    pkg = _package_competitions_dir()
    if pkg is not None:
        dirs.append(pkg)
    return dirs


class MLEBenchCompetition:
    """A competition in an MLE-bench data dir, graded by its own MLE-bench grade function."""

    source_kind = "mlebench"

    def __init__(self, data_dir: Path, name: str) -> None:
        self.data_dir = data_dir
        self.kaggle_id = name
        self.id = PREFIX + name
        self.dir = next((d / name for d in registry_dirs(data_dir) if (d / name / "config.yaml").is_file()), None)
        self.raw_config: dict = {}
        if self.dir is not None:
            try:
                loaded = yaml.safe_load((self.dir / "config.yaml").read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                raise UserError(f"{self.dir / 'config.yaml'}: cannot read config: {str(exc).splitlines()[0]}") from exc
            if not isinstance(loaded, dict):
                raise UserError(f"{self.dir / 'config.yaml'}: expected a YAML mapping")
            self.raw_config = loaded

    def __repr__(self) -> str:
        return f"MLEBenchCompetition({self.id!r}, data={str(self.data_root)!r})"

    @property
    def data_root(self) -> Path:
        """`<dir>/<id>/prepared`."""
        return self.data_dir / self.kaggle_id / "prepared"

    @property
    def public_dir(self) -> Path:
        """MLE-bench's public folder."""
        return self.data_root / "public"

    @property
    def private_dir(self) -> Path:
        """MLE-bench's private folder."""
        return self.data_root / "private"

    def _dataset_path(self, key: str, default: Path) -> Path:
        value = (self.raw_config.get("dataset") or {}).get(key)
        return self.data_dir / value if value else default

    @property
    def answers_path(self) -> Path:
        """`dataset.answers`, relative to the data dir."""
        return self._dataset_path("answers", self.private_dir / "test.csv")

    @property
    def sample_submission_path(self) -> Path:
        """`dataset.sample_submission`, relative to the data dir."""
        return self._dataset_path("sample_submission", self.public_dir / "sample_submission.csv")

    @property
    def leaderboard_path(self) -> Path:
        """The Kaggle leaderboard.csv shipped in the registry folder."""
        return (self.dir or self.data_dir / self.kaggle_id) / "leaderboard.csv"

    @property
    def metric(self) -> str:
        """MLE-bench's grader name."""
        return str((self.raw_config.get("grader") or {}).get("name", "unknown"))

    @property
    def higher_is_better(self) -> bool | None:
        """As MLE-bench decides it: lower is better when the top leaderboard score is below the bottom one."""
        try:
            board = medals.read_leaderboard(self.leaderboard_path)
        except UserError:
            return None
        return not bool(board["score"].iloc[0] < board["score"].iloc[-1])

    def is_prepared(self) -> bool:
        """MLE-bench prepared it: public dir and answers exist."""
        return self.public_dir.is_dir() and self.answers_path.exists()

    def prepare(self, force: bool = False) -> None:
        """Preparing is MLE-bench's job (`mlebench prepare -c <id>`); only check it was done."""
        if not self.is_prepared():
            raise UserError(f"{self.id} is not prepared in {self.data_dir}: run `mlebench prepare -c {self.kaggle_id}`")

    def ensure_prepared(self) -> None:
        """Same as prepare(): check MLE-bench prepared it."""
        self.prepare()

    def description(self) -> str:
        """description.md from the registry folder."""
        if self.dir is not None and (self.dir / "description.md").is_file():
            return (self.dir / "description.md").read_text(encoding="utf-8")
        return f"# {self.kaggle_id}\n\n(no description.md found for this MLE-bench competition)\n"

    def summary(self) -> dict:
        """The fields `evoforge tasks list --json` prints."""
        return {"id": self.id, "name": str(self.raw_config.get("name", self.kaggle_id)), "modality": "unknown",
                "metric": self.metric, "higher_is_better": self.higher_is_better, "source": "mlebench",
                "synthetic": False, "prepared": self.is_prepared()}

    # --- grading --------------------------------------------------------------------------
    def grade_fn(self):
        """Import `grader.grade_fn` (`module:function`); UserError saying what is missing."""
        if self.dir is None:
            raise UserError(f"no MLE-bench registry files (config.yaml) for {self.kaggle_id}: install the mlebench "
                            "package, set EVOFORGE_MLEBENCH_REGISTRY to its competitions folder, or copy them to "
                            f"{self.data_dir / self.kaggle_id}")
        spec = (self.raw_config.get("grader") or {}).get("grade_fn")
        if not isinstance(spec, str) or ":" not in spec:
            raise UserError(f"{self.dir / 'config.yaml'}: field 'grader.grade_fn' must be 'module:function'")
        module_name, fn_name = spec.split(":", 1)
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise UserError(f"cannot import {module_name} for {self.id} ({exc}); install MLE-bench "
                            "(`pip install -e <mle-bench checkout>`) so its grade functions are importable") from exc
        fn = getattr(module, fn_name, None)
        if fn is None:
            raise UserError(f"{module_name} has no function {fn_name}")
        return fn

    def load_answers(self):
        """Answers as MLE-bench loads them (CSV → DataFrame, JSONL → list of dicts, else the path)."""
        path = self.answers_path
        if path.suffix == ".csv":
            return pd.read_csv(path)
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return path

    def _score(self, path: Path) -> tuple[float | None, str | None]:
        if path.suffix.lower() != ".csv":
            return None, "submission must be a .csv file"
        _, err = read_csv_text(path)
        if err:
            return None, err
        fn = self.grade_fn()
        self.prepare()
        try:
            submission = pd.read_csv(path)
        except Exception as exc:
            return None, f"submission is not a valid CSV file: {_one_line(exc)}"
        try:
            score = fn(submission, self.load_answers())
        except Exception as exc:  # MLE-bench's InvalidSubmissionError and any grader failure
            return None, _one_line(exc)
        if score is None or not math.isfinite(float(score)):
            return None, f"grader returned no finite score ({score})"
        return round(float(score), 5), None

    def validate_file(self, path: Path) -> str | None:
        """None when the file matches the public sample submission (columns, ids, row count, values), else
        what to fix. Public information only: the grader, which reads the private answers, never runs here."""
        return validate_against_sample(Path(path), self.sample_submission_path)

    def grade_file(self, path: Path) -> GradeReport:
        """Grade with MLE-bench's grade function and medal rule (after the public checks)."""
        problem = self.validate_file(path)
        if problem:
            return GradeReport(valid=False, error=problem)
        try:
            score, err = self._score(path)
        except UserError as exc:
            return GradeReport(valid=False, error=str(exc))
        except Exception as exc:
            score, err = None, _one_line(exc)
        if err:
            # The grader's own words may quote the private answers: they go to the log, not the record.
            log.warning("MLE-bench grader for %s rejected %s: %s", self.id, path, err)
            return GradeReport(valid=False, error="the MLE-bench grader rejected the submission (its message is "
                                                  "in the log only, as it may quote private answers)")
        hib = self.higher_is_better
        if hib is None:
            return GradeReport(valid=True, score=score)
        board = medals.read_leaderboard(self.leaderboard_path)
        medal, above = medals.rank_score(score, medals.thresholds(board["score"], hib))
        return GradeReport(valid=True, score=score, medal=medal, above_median=above)


def validate_against_sample(path: Path, sample_path: Path) -> str | None:
    """Check a CSV submission against a public sample submission: same columns, the sample's ids (its first
    column) once each, no empty values, numbers where the sample has numbers. None when it passes."""
    if path.suffix.lower() != ".csv":
        return "submission must be a .csv file"
    text, err = read_csv_text(path)
    if err:
        return err
    if sample_path.suffix.lower() != ".csv" or not sample_path.is_file():
        return None                      # nothing public to compare with beyond a readable file
    try:
        sub = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except Exception as exc:
        return f"submission is not a valid CSV file: {_one_line(exc)}"
    sample = pd.read_csv(sample_path, dtype=str, keep_default_na=False)
    want, have = list(sample.columns), list(sub.columns)
    missing, extra = [c for c in want if c not in have], [c for c in have if c not in want]
    if missing or extra:
        parts = ([f"missing column(s) {', '.join(map(repr, missing))}"] if missing else []) + \
                ([f"unexpected column(s) {', '.join(map(repr, extra))}"] if extra else [])
        return f"{'; '.join(parts)}; expected columns: {', '.join(want)}"
    id_col = want[0]
    problem, _ = check_ids(sub[id_col].astype(str), pd.Index(sample[id_col].astype(str)).sort_values())
    if problem:
        return f"column {id_col!r}: {problem}"
    for col in want[1:]:
        empty = int((sub[col].str.strip() == "").sum())
        if empty:
            return f"column {col!r} has {empty} empty value(s)"
        if pd.to_numeric(sample[col], errors="coerce").notna().all():
            bad = int((~np.isfinite(pd.to_numeric(sub[col], errors="coerce").to_numpy(dtype=float))).sum())
            if bad:
                return f"column {col!r} must hold finite numbers like the sample submission; {bad} value(s) do not"
    return None


def list_mlebench(data_dir: Path) -> list[MLEBenchCompetition]:
    """Every competition in an MLE-bench data dir that has a `prepared/` folder."""
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise UserError(f"MLE-bench data dir {data_dir} is not a directory")
    return [MLEBenchCompetition(data_dir, p.name) for p in sorted(data_dir.iterdir())
            if (p / "prepared" / "public").is_dir()]


def get_mlebench(data_dir: Path, name: str) -> MLEBenchCompetition:
    """One MLE-bench competition by its Kaggle id; UserError when it is not in the data dir."""
    import difflib

    comps = {c.kaggle_id: c for c in list_mlebench(data_dir)}
    if name in comps:
        return comps[name]
    close = difflib.get_close_matches(name, list(comps), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(PREFIX + c for c in close)}?" if close else ""
    raise UserError(f"no prepared MLE-bench competition {name!r} in {data_dir}{hint}")


def mlebench_importable() -> bool:
    """Whether the `mlebench` package can be imported here."""
    return "mlebench" in sys.modules or _package_competitions_dir() is not None
