"""Find the MLE-lite competitions, load their code by path, and prepare their data idempotently."""

from __future__ import annotations

import ast
import difflib
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import time
import uuid
from functools import cached_property
from pathlib import Path
from types import ModuleType

from common import paths
from common.errors import UserError
from tasks.mle_lite.config import CompetitionConfig, load_config

COMPETITIONS_DIR = Path(__file__).resolve().parent / "competitions"
SHARED_GENERATORS = Path(__file__).resolve().parent / "synth"
RECIPE_IGNORED_FIELDS = ("baseline_score", "name")  # editing these does not change the data
MARKER = ".prepared.json"
PREPARE_SEED = 0
_STALE_TMP_S = 24 * 3600


def search_paths(extra: list[Path] | None = None) -> list[Path]:
    """Folders holding competition folders: `extra`, then EVOFORGE_COMPETITIONS_PATH, then the shipped ones."""
    found = list(extra or [])
    env = os.environ.get("EVOFORGE_COMPETITIONS_PATH", "")
    found += [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
    found.append(COMPETITIONS_DIR)
    return found


def shared_modules_used(source: Path) -> list[Path]:
    """Files of `tasks.mle_lite.synth` that a Python file imports, directly or through each other."""
    prefix = "tasks.mle_lite.synth"
    seen: set[Path] = set()
    todo = [source]
    while todo:
        path = todo.pop()
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        names = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level and path.parent == SHARED_GENERATORS:
                base = prefix + (f".{node.module}" if node.module else "")
                names += [base] + [f"{base}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names += [a.name for a in node.names]
        for name in names:
            if name == prefix or name.startswith(prefix + "."):
                rel = name[len(prefix) + 1:].replace(".", "/")
                for cand in (SHARED_GENERATORS / f"{rel}.py", SHARED_GENERATORS / rel / "__init__.py"):
                    if rel and cand.is_file() and cand not in seen:
                        seen.add(cand)
                        todo.append(cand)
    return sorted(seen)


def load_module(path: Path, name: str) -> ModuleType:
    """Import a Python file by path (competition folders have dashes, so no package import)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Competition:
    """One competition folder: config, description, prepare/grade/solutions code and its prepared data."""

    source_kind = "mle_lite"

    def __init__(self, folder: Path, config: CompetitionConfig) -> None:
        self.dir = folder
        self.config = config
        self.id = config.id
        self._modules: dict[str, ModuleType] = {}

    def __repr__(self) -> str:
        return f"Competition({self.id!r}, dir={str(self.dir)!r})"

    # --- data locations -------------------------------------------------------------------
    @property
    def data_root(self) -> Path:
        """`data_dir()/mle_lite/<id>`: holds public/, private/ and the prepare marker."""
        return paths.data_dir() / "mle_lite" / self.id

    @property
    def public_dir(self) -> Path:
        """Files the agent may read: train data, test inputs, sample_submission.csv."""
        return self.data_root / "public"

    @property
    def private_dir(self) -> Path:
        """Files only the grader reads: the answers."""
        return self.data_root / "private"

    @property
    def answers_path(self) -> Path:
        """The private answers file."""
        return self.private_dir / self.config.answers

    @property
    def sample_submission_path(self) -> Path:
        """The public sample submission."""
        return self.public_dir / self.config.sample_submission

    @property
    def leaderboard_path(self) -> Path:
        """The reference-field leaderboard (`teamName,score`)."""
        return self.dir / "leaderboard.csv"

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger score is better."""
        return self.config.higher_is_better

    def description(self) -> str:
        """The Kaggle-style description.md text."""
        path = self.dir / "description.md"
        return path.read_text(encoding="utf-8") if path.exists() else f"# {self.config.name}\n"

    def summary(self) -> dict:
        """The fields `evoforge tasks list --json` prints."""
        c = self.config
        return {
            "id": self.id,
            "name": c.name,
            "modality": c.modality,
            "metric": c.metric,
            "higher_is_better": c.higher_is_better,
            "source": c.source,
            "synthetic": c.synthetic,
            "prepared": self.is_prepared(),
        }

    # --- code -----------------------------------------------------------------------------
    def module(self, name: str) -> ModuleType:
        """The competition's prepare/grade/solutions module, loaded once by file path."""
        if name not in self._modules:
            path = self.dir / f"{name}.py"
            if not path.exists():
                raise UserError(f"competition {self.id} has no {name}.py in {self.dir}")
            safe = "".join(ch if ch.isalnum() else "_" for ch in self.id)
            self._modules[name] = load_module(path, f"evoforge_competition_{safe}_{name}")
        return self._modules[name]

    @property
    def solutions(self) -> dict:
        """`solutions.SOLUTIONS`: name → callable(public_dir, seed) → submission DataFrame."""
        sols = getattr(self.module("solutions"), "SOLUTIONS", None)
        if not isinstance(sols, dict) or not sols:
            raise UserError(f"{self.dir / 'solutions.py'}: SOLUTIONS must be a non-empty dict")
        return sols

    # --- preparation ----------------------------------------------------------------------
    @cached_property
    def recipe_hash(self) -> str:
        """Checksum of what determines the prepared data: prepare.py, the config (less its
        score/name fields) and the shared generator modules of tasks/mle_lite/synth/ it imports."""
        h = hashlib.sha256()
        prepare = self.dir / "prepare.py"
        h.update(prepare.read_bytes() if prepare.exists() else b"")
        config = {k: v for k, v in self.config.raw.items() if k not in RECIPE_IGNORED_FIELDS}
        h.update(json.dumps(config, sort_keys=True, default=str).encode())
        for path in shared_modules_used(prepare):
            h.update(str(path.relative_to(SHARED_GENERATORS)).encode() + b"\0" + path.read_bytes())
        h.update(f"seed={PREPARE_SEED}".encode())
        return h.hexdigest()

    def _read_marker(self) -> dict | None:
        try:
            return json.loads((self.data_root / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def is_prepared(self, quick: bool = False) -> bool:
        """True when a finished prepare of the current recipe is on disk with every file intact.

        `quick` checks only the marker, the sample submission and the answers (for grading hot paths).
        """
        marker = self._read_marker()
        if not marker or marker.get("recipe") != self.recipe_hash:
            return False
        root = self.data_root
        files = marker.get("files", {})
        if quick:
            files = {k: v for k, v in files.items()
                     if k in (f"public/{self.config.sample_submission}", f"private/{self.config.answers}")}
        for rel, size in files.items():
            try:
                if (root / rel).stat().st_size != size:
                    return False
            except OSError:
                return False
        return True

    def ensure_prepared(self) -> None:
        """Prepare unless a finished prepare is on disk (quick check, for grading)."""
        if not self.is_prepared(quick=True):
            self.prepare()

    def prepare(self, force: bool = False) -> None:
        """Prepare public/private data once (into a temp dir, then an atomic rename); `force` redoes it."""
        if not force and self.is_prepared():
            return
        base = self.data_root.parent
        base.mkdir(parents=True, exist_ok=True)
        _remove_stale_tmp(base, self.id)
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.id}.", suffix=".tmp", dir=base))
        try:
            public, private = tmp / "public", tmp / "private"
            public.mkdir()
            private.mkdir()
            t0 = time.perf_counter()
            self.module("prepare").prepare(public, private, seed=PREPARE_SEED)
            for label, path in (("sample submission", public / self.config.sample_submission),
                                ("answers", private / self.config.answers)):
                if not path.is_file():
                    raise UserError(f"prepare.py of {self.id} wrote no {label} file {path.name}")
            files = {str(p.relative_to(tmp)): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()}
            marker = {"id": self.id, "recipe": self.recipe_hash, "seed": PREPARE_SEED, "files": files,
                      "seconds": round(time.perf_counter() - t0, 3), "created": time.time()}
            (tmp / MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")
            _swap_in(tmp, self.data_root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _swap_in(tmp: Path, final: Path) -> None:
    """Move a finished temp dir to `final`, replacing an old or half-finished copy."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        os.rename(final, old)
    os.rename(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_stale_tmp(base: Path, cid: str) -> None:
    now = time.time()
    for p in base.glob(f".{cid}.*"):
        try:
            if now - p.stat().st_mtime > _STALE_TMP_S:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def competition_folders(extra_paths: list[Path] | None = None) -> dict[str, Path]:
    """Competition id → folder (a folder with a config.yaml), without reading any config."""
    folders: dict[str, Path] = {}
    for root in search_paths(extra_paths):
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            if folder.name.startswith((".", "_")) or not (folder / "config.yaml").is_file():
                continue
            folders.setdefault(folder.name, folder)  # an earlier search path wins
    return folders


def _load(folder: Path) -> Competition:
    return Competition(folder, load_config(folder / "config.yaml", folder.name))


def _mlebench_dir(mlebench_dir: Path | str | None) -> Path | None:
    value = mlebench_dir or os.environ.get("EVOFORGE_MLEBENCH_DIR")
    return Path(value).expanduser() if value else None


def list_competitions(mlebench_dir: Path | str | None = None,
                      extra_paths: list[Path] | None = None) -> list:
    """All competitions: the shipped ones, extra search paths, then MLE-bench ones (`mlebench:<id>`)."""
    comps: list = [_load(folder) for folder in competition_folders(extra_paths).values()]
    mdir = _mlebench_dir(mlebench_dir)
    if mdir is not None:
        from tasks.mle_lite.mlebench import list_mlebench

        comps += list_mlebench(mdir)
    return comps


def get_competition(cid: str, mlebench_dir: Path | str | None = None,
                    extra_paths: list[Path] | None = None):
    """The competition with this id; UserError naming close matches when there is none."""
    mdir = _mlebench_dir(mlebench_dir)
    if cid.startswith("mlebench:"):
        if mdir is None:
            raise UserError(f"{cid} needs --mlebench-dir PATH (or EVOFORGE_MLEBENCH_DIR)")
        from tasks.mle_lite.mlebench import get_mlebench

        return get_mlebench(mdir, cid.split(":", 1)[1])
    folders = competition_folders(extra_paths)
    if cid in folders:
        return _load(folders[cid])  # only this competition's config is read
    names = list(folders)
    if mdir is not None:
        from tasks.mle_lite.mlebench import list_mlebench

        names += [c.id for c in list_mlebench(mdir)]
    close = difflib.get_close_matches(cid, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see `evoforge tasks list`"
    raise UserError(f"unknown competition {cid!r}{hint}")
