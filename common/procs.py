"""Whether a process is alive: the one check every layer uses (run owners, sandbox owners, resume guards).

A pid alone is not an identity: pids are recycled. A process is named by its pid and its start time
(clock ticks since boot, field 22 of /proc/PID/stat); a recorded (pid, start) pair whose start no
longer matches belongs to a process that is gone.
"""

from __future__ import annotations

import os
from pathlib import Path


def process_start(pid: int) -> str | None:
    """A live process's start time (clock ticks since boot) as text; "" where /proc cannot tell; None if gone."""
    try:
        data = Path(f"/proc/{int(pid)}/stat").read_bytes()
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        data = b""
    if data:
        fields = data[data.rfind(b")") + 2:].split()
        if fields[0] == b"Z":           # a zombie: dead, only not yet reaped by its parent
            return None
        return fields[19].decode()      # field 22 of stat: starttime
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return None
    except (OSError, ValueError, TypeError):
        pass
    return ""


def pid_alive(pid: object, start: str | None = None) -> bool:
    """Whether process `pid` runs (and, when its recorded `start` is given, is still that same process)."""
    try:
        now = process_start(int(pid))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False
    if now is None:
        return False
    return not (start and now and now != start)
