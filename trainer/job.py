"""One training job from a command line, shared by `python -m trainer` and `evoforge train`.

It resolves the config (a YAML file, or a bundled recipe such as `tiny_cpu`, from any working directory) and the
run directory, says when a config sets nothing, stops cleanly on Ctrl-C or SIGTERM (finishes the step, writes a
checkpoint, prints the command that resumes), turns a read-only, missing or full disk into one line with the fix,
and reports the outcome as text or JSON.

Exit codes (`JobResult.exit_code`): 0 done; 1 stopped by a fault (non-finite loss, out of memory, rollout worker
failure); 2 a mistake to fix (config, arguments, the disk: raised as common.errors.UserError); 130 stopped on
request (resumable with the printed command).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from common import paths
from common.errors import UserError
from trainer.config import TrainConfig, load_config, read_config_file

if TYPE_CHECKING:
    from trainer.train import Trainer

RECIPES = Path(__file__).resolve().parent / "configs"
_ENV_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR, errno.EEXIST,
               errno.EISDIR, errno.ENOENT}


def recipe_names() -> list[str]:
    """The bundled configs (trainer/configs/*.yaml) by name."""
    return sorted(p.stem for p in RECIPES.glob("*.yaml"))


def resolve_config(spec: str) -> Path:
    """A config path from a file path (relative to the working directory, else to the checkout) or a recipe name."""
    p = Path(spec).expanduser()
    if p.exists():
        return p
    name = spec.removesuffix(".yaml")
    if "/" not in name and (RECIPES / f"{name}.yaml").is_file():
        return RECIPES / f"{name}.yaml"
    if not p.is_absolute() and (paths.ROOT / p).is_file():
        return paths.ROOT / p
    raise UserError(f"config not found: {spec} (give a YAML file or a bundled recipe: {', '.join(recipe_names())})")


def resolve_run_dir(run_dir: str | None, run_id: str | None, resume: bool, config: str | None) -> Path:
    """Where the run lives: --run-dir, runs/<--run-id>, or runs/train-<config>-<time> for a new run."""
    if run_dir and run_id:
        raise UserError("give either --run-dir or --run-id, not both")
    if run_dir:
        return Path(run_dir).expanduser()
    if run_id:
        if not run_id[:1].isalnum() or not all(c.isalnum() or c in "._-" for c in run_id):
            raise UserError(f"invalid run id {run_id!r}: use letters, digits, '.', '-' and '_'")
        return paths.runs_dir() / run_id
    if resume:
        raise UserError("--resume needs --run-id or --run-dir (which run to resume)")
    stem = Path(config).stem if config else "default"
    # the same id on every torchrun rank: the launcher's start time is shared through TORCHELASTIC_RUN_ID
    stamp = os.environ.get("TORCHELASTIC_RUN_ID") if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None
    return paths.runs_dir() / f"train-{stem}-{stamp or time.strftime('%Y%m%d-%H%M%S')}"


def resume_command(prog: str, run_dir: Path) -> str:
    """The command that continues the run in run_dir (by id when it is under the runs directory)."""
    if run_dir.resolve().parent == paths.runs_dir().resolve():
        cmd = f"{prog} --run-id {run_dir.name} --resume"
    else:
        cmd = f"{prog} --run-dir {shlex.quote(str(run_dir))} --resume"
    return cmd + (" (under torchrun, as before)" if int(os.environ.get("WORLD_SIZE", "1")) > 1 else "")


@dataclass
class JobResult:
    """How a job ended: status done | stopped (on request, resumable) | failed | interrupted (at once)."""

    status: str
    run_dir: Path
    resume: str
    step: int = 0
    metrics: dict = field(default_factory=dict)
    evals: dict[str, float] = field(default_factory=dict)
    error: str = ""

    @property
    def exit_code(self) -> int:
        """0 done, 1 failed, 130 stopped or interrupted."""
        return {"done": 0, "failed": 1}.get(self.status, 130)

    def to_json(self) -> dict:
        """The outcome as plain data (what --json prints)."""
        return {"status": self.status, "run_dir": str(self.run_dir), "step": self.step, "eval": self.evals,
                "metrics": self.metrics, "resume": self.resume, "error": self.error or None}

    def text(self) -> str:
        """The outcome as one line."""
        if self.status == "done":
            acc = ", ".join(f"{v:.3f} after {k.upper()}" for k, v in self.evals.items())
            return f"done: {self.run_dir} (step {self.step}{'; greedy accuracy ' + acc if acc else ''})"
        if self.status == "failed":
            return f"error: {self.error}"
        return f"{self.error}; resume with: {self.resume}"


def load_job_config(source: Path, sets: list[str], warn: Callable[[str], None]) -> TrainConfig:
    """The config file plus --set overrides, validated; `warn` is told when the file sets nothing."""
    if not read_config_file(source):
        warn(f"warning: config {source} is empty: every field not set by --set has its default "
             f"(see trainer/config.py; the resolved config is written to the run's config.yaml)")
    return load_config(source, sets)


@contextlib.contextmanager
def stop_on_signals(trainer: Trainer, notify: Callable[[str], None]) -> Iterator[None]:
    """First SIGINT/SIGTERM: ask the trainer to stop after this step; another one a second later: stop at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    first: list[float] = []

    def handler(signum, frame):
        if first and time.monotonic() - first[0] > 1.0:       # torchrun forwards the terminal's Ctrl-C: debounce
            raise KeyboardInterrupt
        if not first:
            first.append(time.monotonic())
            trainer.request_stop()
            notify(f"{signal.Signals(signum).name}: stopping after this step with a checkpoint "
                   f"(press Ctrl-C again to stop at once)")

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _environment_error(exc: OSError, run_dir: Path) -> UserError | None:
    """A one-line UserError with the fix for an OSError of the disk (None: not one of those)."""
    if exc.errno not in _ENV_ERRNOS or not (exc.filename or exc.errno in (errno.ENOSPC, errno.EDQUOT)):
        return None
    what = f"{exc.filename or run_dir}: {exc.strerror}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free space there or write the run elsewhere with --run-dir; the last checkpoint is kept whole"
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST):
        fix = "a file is in the way of a directory: move it, or choose another --run-dir / EVOFORGE_RUNS"
    elif exc.errno == errno.ENOENT:
        fix = f"check that the run directory {run_dir} can be created"
    else:
        fix = f"make {run_dir} writable, or choose another --run-dir / EVOFORGE_RUNS"
    return UserError(f"cannot write the run: {what}; {fix}")


def run_job(config: str | None, sets: list[str], run_id: str | None, run_dir: str | None, resume: bool,
            prog: str, echo: TextIO | None = None) -> JobResult:
    """Resolve, train, and return how it ended; mistakes to fix (config, arguments, disk) raise UserError."""
    from trainer.train import Trainer, TrainingStopped, check_run_dir

    main = int(os.environ.get("RANK", "0")) == 0

    def notify(msg: str) -> None:
        if main:
            print(msg, file=sys.stderr, flush=True)

    source = resolve_config(config) if config is not None else None
    target = resolve_run_dir(run_dir, run_id, resume, str(source) if source else None)
    again = resume_command(prog, target)
    if source is None:
        if not resume:
            raise UserError(f"give a config file or a recipe ({', '.join(recipe_names())}), e.g. {prog} tiny_cpu")
        source = target / "config.yaml"
        if not source.is_file():
            raise UserError(f"nothing to resume: {target} holds no run (no config.yaml)")
    cfg = load_job_config(source, sets, notify)
    try:
        check_run_dir(target, resume)
    except UserError:
        if not resume:
            raise UserError(f"run directory {target} already holds a run; continue it with `{again}` or choose "
                            f"another --run-id") from None
        raise
    result = JobResult("done", target, again)
    try:
        trainer = Trainer(cfg, target, resume=resume, echo=echo)
        try:
            with stop_on_signals(trainer, notify):
                result.metrics = trainer.run()
        except TrainingStopped as exc:
            result.status, result.error = "failed", str(exc)
        except KeyboardInterrupt:
            kept = (f"the last checkpoint is step {trainer.last_good_step}" if trainer.last_good_step is not None
                    else "no checkpoint yet, so it starts again from step 0")
            result.status, result.error = "interrupted", f"interrupted during step {trainer.step}; {kept}"
        finally:
            trainer.close()
    except OSError as exc:
        env = _environment_error(exc, target)
        if env is None:
            raise
        raise env from None
    result.step, result.evals = trainer.step, dict(trainer.evals)
    if trainer.stopped:
        result.status, result.error = "stopped", f"stopped at step {trainer.step} with a checkpoint"
    return result


def report(result: JobResult, as_json: bool) -> int:
    """Print the outcome (rank 0 only; text: done on stdout, the rest on stderr); returns the exit code."""
    if int(os.environ.get("RANK", "0")) == 0:
        if as_json:
            print(json.dumps(result.to_json()), flush=True)
        else:
            print(result.text(), file=sys.stdout if result.status == "done" else sys.stderr, flush=True)
    return result.exit_code
