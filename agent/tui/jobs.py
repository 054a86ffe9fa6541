"""Training jobs of an attempt: the trainer's metrics.jsonl files in its workspace, as sparklines.

A job is any folder of the workspace (up to three levels down) holding a `metrics.jsonl` written by the
bundled trainer; what the agent wrote is read through agent.tools.confine like every host-side file access (trainer/metrics.py: step lines with `step`, `phase`, `reward_mean`, `loss`, `kl_rollout`,
`entropy`, …). Each file is read incrementally, like the run's own record.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from agent.tools import confine
from agent.tools.base import ToolContext, ToolError
from agent.tui.render import sparkline
from agent.tui.timeline import EventTail

CURVES = (("reward", "reward_mean"), ("loss", "loss"), ("kl", "kl_rollout"))
MAX_JOBS = 3
RESCAN_S = 5.0


def _roots(workspace: Path) -> ToolContext:
    """The workspace as agent.tools.confine's only root (what the agent wrote is read as the tools read it)."""
    return ToolContext(sandbox=None, workspace=workspace, public=workspace)


def find_jobs(workspace: Path) -> list[Path]:
    """metrics.jsonl files of the workspace (at most three folders down, reached without links, on the
    workspace's mount), most recently written first."""
    ctx = _roots(workspace)
    found: list[tuple[float, Path]] = []
    try:
        for e in confine.walk(ctx, ".", max_depth=4):
            if not e.is_dir and not e.is_link and e.rel.split("/")[-1] == "metrics.jsonl":
                found.append((confine.file_stat(ctx, e.rel)[1].st_mtime, workspace / e.rel))
    except (OSError, ToolError):           # the workspace is gone, or something in it changed under the walk
        pass
    return [p for _, p in sorted(found, reverse=True)]


class WorkspaceTail(EventTail):
    """An EventTail over a file of the workspace, opened through agent.tools.confine (no link followed, regular
    files only), taking in at most `max_read` bytes a call."""

    max_read = 1 << 20

    def __init__(self, path: Path, workspace: Path) -> None:
        super().__init__(path)
        self.ctx, self.rel = _roots(workspace), str(path.relative_to(workspace))

    @contextmanager
    def _open(self) -> Iterator[int]:
        try:
            with confine.open_file(confine.locate(self.ctx, self.rel)) as (fd, _):
                yield fd
        except ToolError:                    # a link, a FIFO, a device, ...: read as missing
            raise FileNotFoundError(self.rel) from None


class Job:
    """One metrics.jsonl: its step lines so far, per curve."""

    def __init__(self, path: Path, workspace: Path) -> None:
        self.path, self.name = path, str(path.parent.relative_to(workspace)) or "."
        self.tail = WorkspaceTail(path, workspace)
        self.steps: list[dict] = []

    def read(self) -> bool:
        """Take in new lines; whether there were any."""
        new = [r for r in self.tail.read_new() if "step" in r and "event" not in r]
        self.steps += new
        return bool(new)

    def curve(self, key: str) -> list[float]:
        """The values of one metric over the steps (missing or null values left out)."""
        return [r[key] for r in self.steps if isinstance(r.get(key), int | float)]

    def line(self) -> Text:
        """`job NAME step N │ reward ▁▃▅▇ 0.53 │ loss … │ kl …`."""
        last = self.steps[-1] if self.steps else {}
        text = Text.assemble(("job ", "bold"), (self.name, "bold"), f" step {last.get('step', '-')}")
        for label, key in CURVES:
            values = self.curve(key)
            if values:
                text.append(f" │ {label} ")
                text.append(sparkline(values, 12), style="cyan")
                text.append(f" {values[-1]:.3g}")
        return text


class JobsPanel(Static):
    """The attempt's training jobs, one line each; hidden while there are none."""

    def __init__(self, workspace: Path, **kwargs) -> None:
        super().__init__(**kwargs)
        self.workspace = workspace
        self.jobs: dict[Path, Job] = {}
        self._scanned = -RESCAN_S

    def on_mount(self) -> None:
        self.display = False
        self.refresh_jobs()
        self.set_interval(1.0, self.refresh_jobs)

    def refresh_jobs(self) -> None:
        """Look for new jobs now and then, read new metrics always; redraw only when something changed."""
        now = time.monotonic()
        changed = False
        if now - self._scanned >= RESCAN_S and self.workspace.is_dir():
            self._scanned = now
            for path in find_jobs(self.workspace)[:MAX_JOBS]:
                if path not in self.jobs:
                    self.jobs[path] = Job(path, self.workspace)
                    changed = True
        for job in self.jobs.values():
            changed |= job.read()
        shown = [j for j in self.jobs.values() if j.steps]      # a metrics.jsonl without step lines is no job
        if changed and shown:
            self.update(Text("\n").join(j.line() for j in shown))
        self.display = bool(shown)
