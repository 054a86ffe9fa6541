"""The files the heuristic policy writes into the workspace: the engine package, its entry point, the task
spec (public facts only: submission format, metric name, modality) and the modality's recipe book."""

from __future__ import annotations

import json
from pathlib import Path

ENGINE_DIR = Path(__file__).resolve().parents[2] / "heuristic_engine"
PACKAGE = "heuristic_engine"
ENTRY = "engine.py"
FALLBACK = '''"""Fallback written by the evoforge heuristic policy: the sample submission as it is."""
import os
import shutil

shutil.copyfile(os.path.join(os.environ.get("DATA_DIR", "/data"), "__SAMPLE__"),
                os.path.join(os.environ.get("WORKSPACE", "."), "submission.csv"))
print("copied the sample submission")
'''
ENTRY_SOURCE = '''"""The evoforge heuristic engine: cross-validated recipes over the public data (python engine.py --help)."""
import sys

from heuristic_engine.cli import main

sys.exit(main(sys.argv[1:]))
'''


def task_spec(task) -> dict:
    """The public facts about the competition the engine needs (nothing from the grader or private data)."""
    cfg = task.config
    spec = cfg.submission
    return {
        "id_column": spec.id_column,
        "columns": [{"name": c.name, "kind": c.kind} for c in spec.columns],
        "labels": list(spec.labels) if spec.labels else None,
        "sample_submission": cfg.sample_submission,
        "metric": cfg.metric,
        "higher_is_better": bool(cfg.higher_is_better),
        "modality": cfg.modality,
    }


def engine_sources() -> dict[str, str]:
    """Workspace path -> source of every engine module and the entry script."""
    files = {f"{PACKAGE}/{p.name}": p.read_text() for p in sorted(ENGINE_DIR.glob("*.py"))}
    files[ENTRY] = ENTRY_SOURCE
    return files


def workspace_files(task, book: dict) -> dict[str, str]:
    """Everything the policy writes before running the engine: sources, task.json, recipes.json."""
    files = engine_sources()
    files["task.json"] = json.dumps(task_spec(task), indent=1)
    files["recipes.json"] = json.dumps(book, indent=1)
    return files
