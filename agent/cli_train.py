"""CLI: `evoforge train CONFIG [--set key=value ...] [--run-id ID | --run-dir DIR] [--resume] [--json]`.

The trainer's job (trainer.job: config and run directory, Ctrl-C, disk errors, the report) in the evoforge CLI;
`python -m trainer` is the same command without the rest of evoforge. Writes runs/<id>/ (config.yaml,
metrics.jsonl, train.log, tb/, ckpt/last.pt). Under torchrun every rank runs this same command; rank 0 writes.
"""

from __future__ import annotations

import sys

import typer


def train_command(
    config: str = typer.Argument(None, help="YAML config file or bundled recipe name (tiny_cpu, gpu_small, ...); "
                                            "optional with --resume."),
    set_: list[str] = typer.Option(None, "--set", help="Override a field: section.key=value (repeatable)."),
    run_id: str = typer.Option(None, "--run-id", help="Run id: the run directory is runs/<id>/."),
    run_dir: str = typer.Option(None, "--run-dir", help="Explicit run directory (instead of --run-id)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run from its last checkpoint."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as one JSON object (progress to stderr)."),
) -> None:
    """Train the bundled MoE model: SFT warm-up then RL (CISPO / PPO-clip / GRPO) on a verifiable task.

    Exit codes: 0 done, 1 stopped by a fault (non-finite loss, out of memory), 2 a mistake to fix,
    130 stopped by Ctrl-C or SIGTERM (it prints the command that resumes).
    """
    from trainer import job

    result = job.run_job(config, list(set_ or []), run_id, run_dir, resume, prog="evoforge train",
                         echo=sys.stderr if as_json else None)
    code = job.report(result, as_json)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add `evoforge train` to the CLI."""
    app.command("train")(train_command)
