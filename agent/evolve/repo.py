"""The evolve run's own git repository (gitpython): the scaffold and its memory, one commit per candidate.

    repo/                  the working tree the proposer edits (HEAD detached at the lineage head)
      scaffold/            a copy of the user's scaffold/ at the recorded commit, then its edits
      memory/MEMORY.md     the lessons, versioned with the scaffold
    branch lineage         the accepted head
    branch round-N         round N's candidate, whatever became of it
    notes (refs/notes/evolve)   each candidate's decision and the numbers behind it

Any node can be checked out (a detached worktree under checkouts/), diffed and promoted.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import git

LINEAGE = "lineage"
NOTES = "evolve"
SCAFFOLD, MEMORY = "scaffold", "memory/MEMORY.md"


class ScaffoldRepo:
    """The scaffold repository of one evolve run."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.repo = git.Repo(self.root)

    @classmethod
    def create(cls, root: Path, scaffold: Path, memory: Path | None, message: str) -> ScaffoldRepo:
        """A new repository holding a copy of `scaffold` (and `memory`), committed as the lineage's first node."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        repo = git.Repo.init(root)
        with repo.config_writer() as cw:
            cw.set_value("user", "name", "evoforge evolve")
            cw.set_value("user", "email", "evolve@evoforge.local")
            cw.set_value("commit", "gpgsign", "false")
        shutil.copytree(scaffold, root / SCAFFOLD, ignore=shutil.ignore_patterns(".git", "__pycache__"),
                        dirs_exist_ok=True)
        (root / MEMORY).parent.mkdir(parents=True, exist_ok=True)
        if memory is not None and memory.is_file():
            shutil.copyfile(memory, root / MEMORY)
        else:
            from agent.memory import HEADER

            (root / MEMORY).write_text(HEADER)
        repo.git.add("-A")
        repo.git.commit("-q", "-m", message)
        repo.git.branch(LINEAGE)
        repo.git.checkout("-q", "--detach", LINEAGE)
        return cls(root)

    @property
    def scaffold_dir(self) -> Path:
        """The scaffold in the working tree (what the proposer edits)."""
        return self.root / SCAFFOLD

    @property
    def memory_file(self) -> Path:
        """The memory file in the working tree."""
        return self.root / MEMORY

    def head(self) -> str:
        """The lineage head's commit."""
        return self.repo.rev_parse(LINEAGE).hexsha

    def reset(self, commit: str | None = None) -> None:
        """Make the working tree exactly `commit` (default the lineage head): edits and new files dropped."""
        self.repo.git.checkout("-q", "--detach", "--force", commit or LINEAGE)
        self.repo.git.reset("-q", "--hard")
        self.repo.git.clean("-q", "-fdx")

    def dirty(self) -> list[str]:
        """Paths the working tree changes against HEAD (new files included)."""
        self.repo.git.add("-A")
        return [line for line in self.repo.git.diff("--cached", "--name-only").splitlines() if line]

    def commit_candidate(self, round_no: int, message: str) -> str | None:
        """Commit the working tree as round `round_no`'s candidate (branch round-N); None when nothing changed."""
        if not self.dirty():
            return None
        self.repo.git.commit("-q", "-m", message)
        sha = self.repo.head.commit.hexsha
        self.repo.git.branch("-f", branch(round_no), sha)
        return sha

    def candidate(self, round_no: int) -> str | None:
        """Round `round_no`'s candidate commit, if one was made."""
        try:
            return self.repo.rev_parse(branch(round_no)).hexsha
        except (git.BadName, ValueError):
            return None

    def advance(self, commit: str) -> None:
        """Move the lineage head to `commit` (an accepted candidate)."""
        self.repo.git.branch("-f", LINEAGE, commit)

    def note(self, commit: str, text: str) -> None:
        """Attach (or replace) the decision note of a commit."""
        self.repo.git.notes(f"--ref={NOTES}", "add", "-f", "-m", text, commit)

    def read_note(self, commit: str) -> str:
        """The decision note of a commit ('' when none)."""
        try:
            return self.repo.git.notes(f"--ref={NOTES}", "show", commit)
        except git.GitCommandError:
            return ""

    def message(self, commit: str) -> str:
        """A commit's full message."""
        return str(self.repo.commit(commit).message)

    def files(self, parent: str, child: str) -> list[str]:
        """Paths the child changes against the parent."""
        return [p for p in self.repo.git.diff("--name-only", parent, child).splitlines() if p]

    def diff(self, parent: str, child: str, paths: list[str] | None = None) -> str:
        """The unified diff from parent to child."""
        return self.repo.git.diff(parent, child, "--", *(paths or []))

    def show(self, commit: str, path: str) -> str | None:
        """A file's text at a commit (None when it has no such file)."""
        try:
            return self.repo.git.show(f"{commit}:{path}")
        except git.GitCommandError:
            return None

    def resolve(self, ref: str) -> str:
        """A full commit id for a commit id prefix, a branch (lineage, round-N) or `initial`."""
        if ref == "initial":
            return self.repo.git.rev_list("--max-parents=0", LINEAGE).split()[0]
        try:
            return self.repo.rev_parse(ref).hexsha
        except (git.BadName, ValueError):
            return ""

    def checkout(self, commit: str, dest: Path) -> Path:
        """A detached worktree of `commit` at dest (reused when it is already there)."""
        dest = Path(dest)
        if (dest / ".git").exists():
            wt = git.Repo(dest)
            if wt.head.commit.hexsha == commit and not wt.is_dirty(untracked_files=True):
                return dest
            self.repo.git.worktree("remove", "--force", str(dest))
        elif dest.exists():
            shutil.rmtree(dest)
        self.repo.git.worktree("prune")
        self.repo.git.worktree("add", "-q", "--detach", str(dest), commit)
        return dest


def branch(round_no: int) -> str:
    """The branch name of round N's candidate."""
    return f"round-{round_no}"
