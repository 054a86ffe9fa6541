"""Sandbox resource limits as configuration: the scaffold policy's `sandbox:` section, then CLI flags.

Each field is a number (or true/false for gpus) or "auto", which fits this machine:

| field | auto |
|---|---|
| memory_mb | half the machine's memory, at most 16384 |
| cpus | every core |
| pids | 1024 |
| disk_mb | half the free space where the workspace lives, at most 20480 |
| command_timeout_s | 3600 (a tool asking for longer gets this) |
| gpus | true where the host shows an NVIDIA GPU |
| jobs | 2 (long-lived training jobs at once, inside the same limits) |

Values are clamped to what the machine has (memory, cores), so an edited scaffold cannot ask for more.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from agent.sandbox.base import Limits, host_has_nvidia_gpu
from common.errors import UserError

FIELDS: dict[str, type] = {"memory_mb": int, "cpus": float, "pids": int, "disk_mb": int,
                           "command_timeout_s": float, "gpus": bool, "jobs": int}


def check_spec(spec: Any, where: str) -> dict[str, Any]:
    """The spec as a dict of known fields with valid values; UserError naming the field otherwise."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise UserError(f"{where}: must be a mapping of limit name to value ({', '.join(FIELDS)})")
    out = {}
    for key, value in spec.items():
        kind = FIELDS.get(key)
        if kind is None:
            raise UserError(f"{where}: unknown field {key!r} (known: {', '.join(FIELDS)})")
        if value is None or value == "auto":
            continue
        if kind is bool:
            if not isinstance(value, bool):
                raise UserError(f"{where}: field {key!r} must be true, false or auto, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 \
                or (kind is int and float(value) != int(value)):
            raise UserError(f"{where}: field {key!r} must be a positive {'whole ' if kind is int else ''}number "
                            f"or auto, got {value!r}")
        out[key] = kind(value)
    return out


def _memory_total_mb() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (ValueError, OSError):
        return 8192


def _free_disk_mb(where: Path) -> int:
    p = Path(where)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free // (1024 * 1024)
    except OSError:
        return 40960


def machine_defaults(where: Path) -> dict[str, Any]:
    """What "auto" means for each field on this machine (`where`: the folder the workspace lives in)."""
    return {"memory_mb": min(16384, max(1024, _memory_total_mb() // 2)), "cpus": float(os.cpu_count() or 1),
            "pids": 1024, "disk_mb": min(20480, max(1024, _free_disk_mb(where) // 2)),
            "command_timeout_s": 3600.0, "gpus": host_has_nvidia_gpu(), "jobs": 2}


def resolve_limits(spec: dict[str, Any] | None, where: Path) -> Limits:
    """Limits from a checked spec (missing or "auto" fields fitted to this machine), clamped to the machine."""
    values = {**machine_defaults(where), **check_spec(spec, "sandbox limits")}
    values["memory_mb"] = min(values["memory_mb"], _memory_total_mb())
    values["cpus"] = min(values["cpus"], float(os.cpu_count() or 1))
    values["gpus"] = bool(values["gpus"]) and host_has_nvidia_gpu()
    return Limits(memory_mb=int(values["memory_mb"]), cpus=values["cpus"], pids=int(values["pids"]),
                  disk_mb=int(values["disk_mb"]), timeout_s=float(values["command_timeout_s"]), gpus=values["gpus"],
                  jobs=int(values["jobs"]))


def limits_record(lim: Limits) -> dict[str, Any]:
    """The configurable fields of resolved limits, as the run record keeps them (and resume reads them back)."""
    return {"memory_mb": lim.memory_mb, "cpus": lim.cpus, "pids": lim.pids, "disk_mb": lim.disk_mb,
            "command_timeout_s": lim.timeout_s, "gpus": lim.gpus, "jobs": lim.jobs}
