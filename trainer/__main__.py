"""`python -m trainer CONFIG [--set section.field=value ...] [--run-id ID | --run-dir DIR] [--resume] [--json]`.

The trainer's own entry point: needs only the trainer's dependencies (torch, PyYAML) and runs unchanged under
`torchrun ... -m trainer`. `evoforge train` is the same job (trainer.job) in the evoforge CLI.
"""

from __future__ import annotations

import argparse
import sys

from common.errors import UserError
from trainer import job


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of `python -m trainer`."""
    ap = argparse.ArgumentParser(
        prog="python -m trainer",
        description="Train the bundled MoE model: SFT warm-up then RL (CISPO / PPO-clip / GRPO) on a verifiable "
                    "task. Writes config.yaml, metrics.jsonl, train.log, tb/ and ckpt/last.pt into the run directory.",
        epilog=f"bundled recipes: {', '.join(job.recipe_names())}. Exit codes: 0 done, 1 stopped by a fault "
               f"(non-finite loss, out of memory), 2 a mistake to fix, 130 stopped by Ctrl-C/SIGTERM (resumable).")
    ap.add_argument("config", nargs="?", help="YAML config file or bundled recipe name; optional with --resume")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                    help="override a config field (repeatable)")
    ap.add_argument("--run-id", help="run id: the run directory is runs/<id>/ (EVOFORGE_RUNS moves runs/)")
    ap.add_argument("--run-dir", help="explicit run directory (instead of --run-id)")
    ap.add_argument("--resume", action="store_true", help="continue the run from its last checkpoint")
    ap.add_argument("--json", action="store_true", help="print the outcome as one JSON object (progress: stderr)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run one training job; exits with its exit code."""
    args = parse_args(argv)
    try:
        result = job.run_job(args.config, args.sets, args.run_id, args.run_dir, args.resume, prog="python -m trainer",
                             echo=sys.stderr if args.json else None)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted before the run started", file=sys.stderr)
        sys.exit(130)
    sys.exit(job.report(result, args.json))


if __name__ == "__main__":
    main()
