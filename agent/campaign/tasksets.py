"""Task sets of a campaign: competition ids, `lite` (the 22 shipped), a family, or a file of ids.

A family is `mle_lite` (every MLE-lite competition found, extra search paths included), a modality
(`tabular`, `text`, `image`, `audio`, `signal`, `sequence`), or a family the task registry declares
(`tasks.registry.families()`, where that module exists: e.g. `rl_runs`).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from common.errors import UserError

LITE = "lite"


def registry_families() -> dict[str, list[str]]:
    """Families declared by the task registry (`tasks.registry.families()`), where it has one."""
    try:
        module = importlib.import_module("tasks.registry")
    except ModuleNotFoundError:
        return {}
    families = getattr(module, "families", None)
    return {str(k): [str(t) for t in v] for k, v in (families() if callable(families) else {}).items()}


def _mle_lite(shipped_only: bool) -> list:
    from tasks.mle_lite.registry import COMPETITIONS_DIR, list_competitions

    comps = [c for c in list_competitions() if c.source_kind == "mle_lite"]
    return [c for c in comps if c.dir.parent == COMPETITIONS_DIR] if shipped_only else comps


def family_names() -> list[str]:
    """Every name `resolve_tasks` takes as a set (besides ids and files)."""
    from tasks.mle_lite.config import MODALITIES

    return [LITE, "mle_lite", *MODALITIES, *registry_families()]


def _family(name: str) -> list[str] | None:
    from tasks.mle_lite.config import MODALITIES

    if name == LITE:
        return sorted(c.id for c in _mle_lite(shipped_only=True))
    if name == "mle_lite":
        return sorted(c.id for c in _mle_lite(shipped_only=False))
    if name in MODALITIES:
        return sorted(c.id for c in _mle_lite(shipped_only=False) if c.config.modality == name)
    return registry_families().get(name)


def _from_file(path: Path) -> list[str]:
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--tasks {path}: cannot read it ({exc})") from None
    ids = [line.split("#", 1)[0].strip() for line in lines]
    return [i for i in ids if i]


def resolve_tasks(text: str) -> list[str]:
    """The competition ids `text` names, in order, without repeats; UserError naming what is unknown.

    `text` is a comma-separated list whose items are ids, set names (`lite`, `mle_lite`, a modality, a
    registry family) or files of ids (one a line, `#` comments; written `@FILE` or as an existing path).
    """
    from tasks.registry import get_task

    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise UserError("--tasks is empty: give competition ids, `lite`, a family or a file")
    ids: list[str] = []
    for item in items:
        path = Path(item[1:] if item.startswith("@") else item).expanduser()
        if item.startswith("@") or ("/" in item and path.is_file()) or (path.suffix == ".txt" and path.is_file()):
            if not path.is_file():
                raise UserError(f"--tasks {item}: no such file")
            found = _from_file(path)
            if not found:
                raise UserError(f"--tasks {item}: the file names no competition")
            for cid in found:
                get_task(cid)
            ids += found
            continue
        family = _family(item)
        if family is not None:
            if not family:
                raise UserError(f"--tasks {item}: the family has no competitions here")
            ids += family
            continue
        try:
            get_task(item)
        except UserError as exc:
            raise UserError(f"--tasks: {exc} (sets: {', '.join(family_names())})") from None
        ids.append(item)
    return list(dict.fromkeys(ids))
