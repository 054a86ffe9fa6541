"""Where evoforge keeps things: the checkout, runs, prepared data, scaffold and memory."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent   # the checkout


def runs_dir() -> Path:
    """Directory holding every run's record (EVOFORGE_RUNS, default <checkout>/runs)."""
    return Path(os.environ.get("EVOFORGE_RUNS", ROOT / "runs")).expanduser()


def data_dir() -> Path:
    """Directory for prepared competition data (EVOFORGE_DATA, default ~/.cache/evoforge/data)."""
    default = Path.home() / ".cache" / "evoforge" / "data"
    return Path(os.environ.get("EVOFORGE_DATA", default)).expanduser()


def scaffold_dir() -> Path:
    """The editable scaffold the agent reads (EVOFORGE_SCAFFOLD, default <checkout>/scaffold)."""
    return Path(os.environ.get("EVOFORGE_SCAFFOLD", ROOT / "scaffold")).expanduser()


def memory_file() -> Path:
    """The self-critique memory file (EVOFORGE_MEMORY, default <checkout>/memory/MEMORY.md)."""
    return Path(os.environ.get("EVOFORGE_MEMORY", ROOT / "memory" / "MEMORY.md")).expanduser()
