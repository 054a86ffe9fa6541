"""Durable JSON files: append-only JSON lines that survive a kill, and atomic whole-file writes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def append_jsonl(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Append one JSON line, flushed and fsync'd; returns the record."""
    line = json.dumps(record, default=str, ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return record


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every complete JSON line ([] when the file is missing; a line torn by a kill is skipped)."""
    try:
        lines = Path(path).read_text().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically (temp file, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
