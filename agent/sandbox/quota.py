"""The workspace disk quota: a watchdog that stops a command whose workspace grows past the limit.

The workspace is a folder of the host's disk in every sandbox kind (a bind mount in Docker and
bubblewrap), so no rlimit bounds it: RLIMIT_FSIZE caps one file, not many. While a command runs,
the sandbox polls the workspace's allocated size (st_blocks, links not followed, one filesystem)
and kills the command when it passes the limit *and* has grown since the command started — a
workspace already over the limit can still run `rm`. The overshoot is bounded by the write rate
times the polling interval (the interval adapts to the cost of a scan: at most ~5% of one core).
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

MIB = 1024 * 1024


def disk_usage(root: Path | str) -> int:
    """Bytes allocated under root (files, folders, links themselves), not following links or mounts."""
    root = str(root)
    try:
        dev = os.lstat(root).st_dev
    except OSError:
        return 0
    total, stack = 0, [root]
    while stack:
        d = stack.pop()
        try:
            it = os.scandir(d)
        except OSError:
            continue
        with it:
            for e in it:
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                total += st.st_blocks * 512
                if stat.S_ISDIR(st.st_mode) and st.st_dev == dev:
                    stack.append(e.path)
    return total


class DiskWatch:
    """Polls a workspace's size while one command runs; `over()` says when to kill it."""

    def __init__(self, workspace: Path | str, limit_mb: float | None, min_interval_s: float = 0.25) -> None:
        self.root = workspace
        self.limit = None if not limit_mb or limit_mb <= 0 else int(limit_mb * MIB)
        self.min_interval = min_interval_s
        self.start = disk_usage(workspace) if self.limit else 0
        self.last = self.start
        self.interval = min_interval_s
        self.next_at = time.monotonic() + min_interval_s

    def over(self) -> bool:
        """True when the workspace is past the limit and grew during this command (checks at most every interval)."""
        if self.limit is None or time.monotonic() < self.next_at:
            return False
        t0 = time.monotonic()
        self.last = disk_usage(self.root)
        cost = time.monotonic() - t0
        self.interval = max(self.min_interval, 20 * cost)
        self.next_at = time.monotonic() + self.interval
        return self.last > self.limit and self.last > self.start

    def message(self) -> str:
        """The note the command's output gets when it was stopped."""
        return (f"[workspace disk limit: the workspace grew to {self.last / MIB:.0f} MB, past the limit of "
                f"{self.limit / MIB:.0f} MB; the command was killed. Delete files you do not need.]")
