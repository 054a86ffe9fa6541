"""CLI: `evoforge train CONFIG.yaml [--set key=value ...] [--run-id ID | --run-dir DIR] [--resume]`.

Writes runs/<id>/ (config.yaml, metrics.jsonl, train.log, tb/, ckpt/last.pt). Under torchrun every rank runs
this same command; rank 0 writes the run directory.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import typer

from common import paths
from common.errors import UserError

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _run_dir(run_dir: str | None, run_id: str | None, resume: bool, config: str | None) -> Path:
    """Where the run lives: --run-dir, runs/<--run-id>, or runs/train-<config>-<time> for a new run."""
    if run_dir and run_id:
        raise UserError("give either --run-dir or --run-id, not both")
    if run_dir:
        return Path(run_dir).expanduser()
    if run_id:
        if not _ID.fullmatch(run_id):
            raise UserError(f"invalid run id {run_id!r}: use letters, digits, '.', '-' and '_'")
        return paths.runs_dir() / run_id
    if resume:
        raise UserError("--resume needs --run-id or --run-dir (which run to resume)")
    stem = Path(config).stem if config else "default"
    # the same id on every torchrun rank: the launcher's start time is shared through TORCHELASTIC_RUN_ID
    stamp = os.environ.get("TORCHELASTIC_RUN_ID") if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None
    return paths.runs_dir() / f"train-{stem}-{stamp or time.strftime('%Y%m%d-%H%M%S')}"


def train_command(
    config: str = typer.Argument(None, help="YAML config (see trainer/configs/); optional with --resume."),
    set_: list[str] = typer.Option(None, "--set", help="Override a field: section.key=value (repeatable)."),
    run_id: str = typer.Option(None, "--run-id", help="Run id: the run directory is runs/<id>/."),
    run_dir: str = typer.Option(None, "--run-dir", help="Explicit run directory (instead of --run-id)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run from its last checkpoint."),
) -> None:
    """Train the bundled MoE model: SFT warm-up then RL (CISPO / PPO-clip / GRPO) on a verifiable task."""
    from trainer.config import load_config
    from trainer.train import TrainingStopped, train

    target = _run_dir(run_dir, run_id, resume, config)
    source = config
    if resume and config is None:
        source = str(target / "config.yaml")
        if not Path(source).is_file():
            raise UserError(f"nothing to resume: {source} does not exist")
    if config is None and not resume:
        raise UserError("give a config file, e.g. evoforge train trainer/configs/tiny_cpu.yaml")
    cfg = load_config(source, list(set_ or []))
    try:
        last = train(cfg, target, resume=resume)
    except TrainingStopped as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if int(os.environ.get("RANK", "0")) == 0:
        typer.echo(f"done: {target} (step {last.get('step', '-')})")


def register(app: typer.Typer) -> None:
    """Add `evoforge train` to the CLI."""
    app.command("train")(train_command)
