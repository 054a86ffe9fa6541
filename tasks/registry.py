"""Every task by id, whatever its family: the MLE-lite competitions (tasks.mle_lite) and the rl_runs tasks
(tasks.rl_runs). The agent, the CLI and campaigns find tasks here."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def families() -> dict[str, list[str]]:
    """The families besides the MLE-lite competitions, with their task ids (campaigns take them as `--tasks`)."""
    from tasks.rl_runs.registry import FAMILY, list_tasks

    return {FAMILY: [t.id for t in list_tasks()]}


def get_task(task_id: str, mlebench_dir: Path | None = None) -> Any:
    """The rl_runs task or the competition of that id (UserError naming the known ids when neither)."""
    from tasks.mle_lite.registry import get_competition
    from tasks.rl_runs.registry import get_task as get_rl_task

    return get_rl_task(task_id) or get_competition(task_id, mlebench_dir)


def all_ids() -> list[str]:
    """Every task id: the competitions found, then the rl_runs tasks."""
    from tasks.mle_lite.registry import list_competitions
    from tasks.rl_runs.registry import list_tasks

    return [c.id for c in list_competitions()] + [t.id for t in list_tasks()]
