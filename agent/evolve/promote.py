"""`evolve promote`: write a lineage node's scaffold (and, if asked, its memory) into the user's checkout.

The user's scaffold/ is the one place evolve writes outside its run folder, and only here. It refuses when
that folder has uncommitted edits (they would be lost), and says what to do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import git

from agent.evolve.repo import MEMORY, SCAFFOLD, ScaffoldRepo
from agent.evolve.store import EvolveStore
from common import paths
from common.errors import UserError


def resolve_node(repo: ScaffoldRepo, store: EvolveStore, ref: str) -> str:
    """A node's commit from `head`, `initial`, a round number (`3` or `round-3`) or a commit prefix."""
    if ref in ("head", "lineage", ""):
        return repo.head()
    if ref.removeprefix("round-").isdigit():
        n = int(ref.removeprefix("round-"))
        node = next((x for x in store.nodes() if x.get("round") == n), None)
        if node is None or not node.get("commit"):
            raise UserError(f"round {n} of {store.name!r} has no candidate commit (see `evoforge evolve show "
                            f"{store.name}`)")
        return node["commit"]
    commit = repo.resolve(ref)
    if not commit:
        raise UserError(f"no node {ref!r} in {store.name!r}: give head, initial, a round number or a commit prefix")
    return commit


def _uncommitted(folder: Path) -> list[str] | None:
    """The folder's uncommitted changes in its git checkout (None when it is not in one)."""
    try:
        repo = git.Repo(folder, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    out = repo.git.status("--porcelain", "--untracked-files=all", "--", str(folder.resolve()))
    return [line[3:] for line in out.splitlines() if line.strip()]


def _check_clean(folder: Path, force: bool, what: str) -> None:
    changes = _uncommitted(folder if folder.is_dir() else folder.parent)
    if changes is None and not force:
        raise UserError(f"{folder} is not in a git checkout, so its edits could not be recovered after promote: "
                        f"commit it to git first, or pass --force to overwrite it")
    if changes and not force:
        shown = ", ".join(changes[:3]) + (f" and {len(changes) - 3} more" if len(changes) > 3 else "")
        raise UserError(f"{what} has uncommitted edits ({shown}): commit or stash them first (git stash), then "
                        f"promote again")


def _write_tree(repo: ScaffoldRepo, commit: str, prefix: str, dest: Path) -> int:
    """Make dest hold exactly the files under prefix at commit; returns how many files were written."""
    tree = repo.repo.commit(commit).tree / prefix
    wanted = {}
    for item in tree.traverse():
        if item.type == "blob":
            wanted[Path(item.path).relative_to(prefix)] = item.data_stream.read()
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(dest.rglob("*"), reverse=True):
        rel = path.relative_to(dest)
        if path.is_file() and rel not in wanted and "__pycache__" not in rel.parts:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    for rel, data in wanted.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.promote")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return len(wanted)


def promote(store: EvolveStore, ref: str = "head", *, with_memory: bool = False, force: bool = False) -> dict[str, Any]:
    """Write the node's scaffold into the checkout's scaffold/ (and memory into the memory file)."""
    repo = ScaffoldRepo(store.path("repo"))
    commit = resolve_node(repo, store, ref)
    target = Path(store.plan().source_dir or paths.scaffold_dir())
    _check_clean(target, force, str(target))
    mem = paths.memory_file()
    if with_memory:
        _check_clean(mem, force, str(mem))
    n = _write_tree(repo, commit, SCAFFOLD, target)
    if with_memory:
        mem.parent.mkdir(parents=True, exist_ok=True)
        mem.write_text(repo.show(commit, MEMORY) or "")
    store.event("promoted", commit=commit, target=str(target), files=n, memory=str(mem) if with_memory else None)
    return {"commit": commit, "scaffold": str(target), "files": n, "memory": str(mem) if with_memory else None}
