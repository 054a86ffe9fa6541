"""The self-critique memory file: dated entries appended after each attempt, read before the next."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from common import paths

HEADER = "# evoforge memory\n\nDated self-critiques, newest at the bottom.\n"


def memory_path() -> Path:
    """The memory file the agent reads and appends to."""
    return paths.memory_file()


def read_memory(max_chars: int | None = None, path: Path | None = None) -> str:
    """The memory text (its tail when longer than max_chars); '' when there is none."""
    p = path or memory_path()
    try:
        text = p.read_text()
    except FileNotFoundError:
        return ""
    if max_chars is not None and len(text) > max_chars:
        cut = text[-max_chars:]
        nl = cut.find("\n## ")
        return "[… earlier entries cut …]\n" + (cut[nl + 1 :] if nl >= 0 else cut)
    return text


def append_memory(body: str, title: str, path: Path | None = None) -> str:
    """Append a dated '## <date> — title' entry (flushed and fsync'd); returns the entry text."""
    p = path or memory_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    entry = f"\n## {stamp} — {title.strip()}\n\n{body.strip()}\n"
    new = not p.exists() or p.stat().st_size == 0
    with open(p, "a") as f:
        if new:
            f.write(HEADER)
        f.write(entry)
        f.flush()
        os.fsync(f.fileno())
    return entry
