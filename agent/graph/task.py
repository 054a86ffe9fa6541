"""The task a run works on: an MLE-lite competition (tasks.mle_lite) or an rl_runs task (tasks.rl_runs: the submission
is a training config, graded by retraining); public data, description, validate, grade."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Task:
    """One task as the agent needs it (comp: a tasks.mle_lite Competition or a tasks.rl_runs RLRunTask)."""

    id: str
    comp: Any

    @property
    def family(self) -> str:
        """mle_lite or rl_runs."""
        return getattr(self.comp, "family", "mle_lite")

    @property
    def submission_name(self) -> str:
        """The workspace file the submission is expected in."""
        if self.family == "rl_runs":
            from tasks.rl_runs.registry import SUBMISSION

            return SUBMISSION
        return "submission.csv"

    @property
    def public_dir(self) -> Path:
        """Host path of the public data."""
        return Path(self.comp.public_dir)

    @property
    def config(self) -> Any:
        """The parsed competition config."""
        return self.comp.config

    def description(self) -> str:
        """description.md text."""
        return self.comp.description()

    def submission_format(self) -> str:
        """A one-paragraph statement of the submission columns (or, for rl_runs, of the config to submit)."""
        if self.family == "rl_runs":
            return self.comp.submission_format()
        spec = self.comp.config.submission
        cols = ", ".join(f"`{c.name}` ({c.kind})" for c in spec.columns)
        text = f"CSV with header; id column `{spec.id_column}`, then {cols}; one row per test id."
        if spec.labels:
            text += f" Allowed labels: {', '.join(map(str, spec.labels))}."
        return text + f" Sample: `{self.comp.config.sample_submission}` in the data folder."

    def validate(self, path: Path) -> str | None:
        """None when the file is a valid submission, else what to fix."""
        if self.family == "rl_runs":
            from tasks.rl_runs.grading import validate_file as validate_config

            return validate_config(self.comp, path)
        from tasks.mle_lite.grading import validate_file

        return validate_file(self.comp, path)

    def grade(self, path: Path) -> dict:
        """The grading report as a dict (valid, error, score, medal, above_median)."""
        if self.family == "rl_runs":
            from tasks.rl_runs.grading import grade_file as grade_config

            return grade_config(self.comp, path).to_dict()
        from tasks.mle_lite.grading import grade_file

        return grade_file(self.comp, path).to_dict()


def load_task(task_id: str, prepare: bool = True) -> Task:
    """Find the task (UserError when unknown) and prepare its data once."""
    from tasks.registry import get_task

    comp = get_task(task_id)
    if prepare:
        comp.prepare()
    return Task(task_id, comp)
