"""The rl_runs tasks (tasks/rl_runs/tasks.yaml): their public files (description.md, config.yaml) and their private
parts (fault, reference fix, thresholds, fixed settings, checks), which never leave this module's folder."""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from common import paths
from common.errors import UserError

DEFINITIONS = Path(__file__).resolve().parent / "tasks.yaml"
FAMILY = "rl_runs"
METRIC = "greedy_accuracy"
SUBMISSION = "submission.yaml"
MARKER = ".prepared.json"


def merge(base: dict, over: dict) -> dict:
    """`over` on top of `base`, section by section (a deep copy; neither is changed)."""
    out = copy.deepcopy(base)
    for section, body in (over or {}).items():
        if isinstance(body, dict) and isinstance(out.get(section), dict):
            out[section].update(copy.deepcopy(body))
        else:
            out[section] = copy.deepcopy(body)
    return out


@dataclass(frozen=True)
class Scoring:
    """What the attempt's loop reads of a task's config (metric, direction, modality), as for a competition."""

    metric: str = METRIC
    higher_is_better: bool = True
    modality: str = "rl_run"


@dataclass
class RLRunTask:
    """One task: a broken training set-up to repair."""

    id: str
    title: str
    brief: str
    base: dict
    broken: dict
    fix: dict
    fault: str
    thresholds: dict
    budget: dict
    fixed: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)
    family: str = FAMILY
    higher_is_better: bool = True

    @property
    def config(self) -> Scoring:
        """The metric and its direction (the attempt's loop reads them as it reads a competition's config)."""
        return Scoring()

    @property
    def public_dir(self) -> Path:
        """The public files (description.md, config.yaml) the sandbox sees at /data."""
        return paths.data_dir() / FAMILY / self.id / "public"

    def broken_config(self) -> dict:
        """The set-up the agent starts from (config.yaml of the public folder)."""
        return merge(self.base, self.broken)

    def reference_config(self) -> dict:
        """The broken set-up with the private reference fix (to calibrate the thresholds)."""
        return merge(self.broken_config(), self.fix)

    def description(self) -> str:
        """The public description: the symptom, the rules and what to submit (never the fault)."""
        b = self.budget
        return (f"# {self.title}\n\n{self.brief}\n\n"
                "The training set-up is `config.yaml` in the data folder: a run of the bundled MoE trainer "
                "(supervised warm-up, then CISPO RL) on single-digit arithmetic, small enough for a CPU. "
                "Find what is wrong and fix it. Use the training-job tools: `launch_training` (a config in your "
                "workspace plus overrides), `training_status`, `read_training_log` (mode=anomalies lists what looks "
                "wrong, with the step where it began) and `stop_training`.\n\n"
                "Grading: the grader retrains your config outside the sandbox with its own fixed seed and scores "
                f"the greedy accuracy after RL ({METRIC}, higher is better) of that run; your own logs are not "
                "read. It keeps the task itself: the environment (`env`), the model preset"
                + (f", and {', '.join(f'{s}.{k}' for s, kv in self.fixed.items() for k in kv)}" if self.fixed else "")
                + f"; run.seed, run.device and run.init_from are the grader's. Budget: at most {b['sft_steps']} SFT "
                f"steps, {b['rl_steps']} RL steps and {b['rollouts_per_step']} rollouts per RL step "
                "(prompts_per_step x group_size)."
                + (" The grader also checks that no expert of its run takes more than "
                   f"{self.checks['max_expert_share']:.0%} of a layer's tokens." if "max_expert_share" in self.checks
                   else "") + "\n")

    def submission_format(self) -> str:
        """What to submit."""
        return (f"A YAML training config (the fixed `config.yaml`): write it to `{SUBMISSION}` in the workspace and "
                f"call submit with path={SUBMISSION}. validate_submission checks it against the rules.")

    def summary(self) -> dict:
        """The fields `evoforge tasks list --json` prints."""
        return {"id": self.id, "name": self.title, "family": FAMILY, "modality": "rl_run", "metric": METRIC,
                "higher_is_better": True, "source": FAMILY, "synthetic": True, "prepared": self.is_prepared()}

    def _stamp(self) -> str:
        return json.dumps({"config": self.broken_config(), "description": self.description()}, sort_keys=True)

    def is_prepared(self) -> bool:
        """Whether the public folder holds this definition's files."""
        try:
            return (self.public_dir.parent / MARKER).read_text() == self._stamp()
        except OSError:
            return False

    def prepare(self, force: bool = False) -> None:
        """Write the public folder (idempotent)."""
        if self.is_prepared() and not force:
            return
        pub = self.public_dir
        pub.mkdir(parents=True, exist_ok=True)
        (pub / "description.md").write_text(self.description())
        (pub / "config.yaml").write_text(f"# {self.title}: the set-up to repair\n"
                                         + yaml.safe_dump(self.broken_config(), sort_keys=False))
        (pub.parent / MARKER).write_text(self._stamp())


def definitions_file() -> Path:
    """The tasks file: EVOFORGE_RL_RUNS_TASKS (a file of your own, in the shipped file's format) or tasks.yaml."""
    own = os.environ.get("EVOFORGE_RL_RUNS_TASKS")
    return Path(own).expanduser() if own else DEFINITIONS


@cache
def _definitions(path: Path) -> dict:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"cannot read the rl_runs tasks {path}: {exc}") from exc


def list_tasks() -> list[RLRunTask]:
    """Every rl_runs task, in file order."""
    d = _definitions(definitions_file())
    return [RLRunTask(id=tid, title=t["title"], brief=t["description"].strip(), base=d["base"], broken=t["broken"],
                      fix=t["fix"], fault=t["fault"], thresholds=t["thresholds"], budget=d["budget"],
                      fixed=t.get("fixed", {}), checks=t.get("checks", {}))
            for tid, t in d["tasks"].items()]


def get_task(task_id: str) -> RLRunTask | None:
    """The task of that id, or None when it is not an rl_runs task."""
    return next((t for t in list_tasks() if t.id == task_id), None)
