"""agent.tools.confine: host-side file access never leaves the workspace and the public data.

Links are made here by the test itself (as the unsafe-local kind, or a host process, could); the
adversarial suite (tests/test_adversarial.py) drives the same rule through the real graph."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.tools import ToolError, confine

SECRET = "PRIVATE-7c1d"


@dataclass
class Roots:
    workspace: Path
    public: Path
    workspace_view: str = "/workspace"
    data_view: str = "/data"


@pytest.fixture
def roots(tmp_path):
    ws, pub, priv = tmp_path / "ws", tmp_path / "pub", tmp_path / "private"
    for d in (ws, pub, priv):
        d.mkdir()
    (pub / "train.csv").write_text("id,x\n1,2\n")
    (priv / "answers.csv").write_text(f"id,y\n1,{SECRET}\n")
    (ws / "ok.txt").write_text("fine\n")
    return Roots(ws, pub), priv


def refused(fn, *args, match: str | None = None) -> str:
    with pytest.raises(ToolError, match=match) as err:
        fn(*args)
    assert SECRET not in str(err.value)
    return str(err.value)


def test_paths_map_lexically_onto_the_two_roots(roots, tmp_path):
    r, _ = roots
    assert confine.read_text(r, "ok.txt") == "fine\n"
    assert confine.read_text(r, "/workspace/./sub/../ok.txt") == "fine\n"
    assert confine.read_text(r, "/data/train.csv").startswith("id,x")
    assert confine.read_text(r, str(tmp_path / "pub" / "train.csv")).startswith("id,x")
    for bad in ("../private/answers.csv", "/data/../private/answers.csv", "/etc/passwd", "/proc/self/root/etc/passwd",
                "/proc/1/root" + str(tmp_path / "private" / "answers.csv"), str(tmp_path / "private" / "answers.csv"),
                "a\0b"):
        refused(confine.read_bytes, r, bad)
    refused(confine.write_bytes, r, "/data/new.csv", b"x", match="read-only")


@pytest.mark.parametrize("target", ["outside", "dangling-outside", "inside"])
def test_symbolic_links_are_never_followed(roots, target):
    r, priv = roots
    dest = {"outside": priv / "answers.csv", "dangling-outside": priv / "gone.csv",
            "inside": r.workspace / "ok.txt"}[target]
    os.symlink(dest, r.workspace / "link.csv")
    os.symlink(priv, r.workspace / "dir")
    for fn, path in ((confine.read_bytes, "link.csv"), (confine.read_bytes, "dir/answers.csv"),
                     (confine.file_stat, "link.csv"), (confine.walk, "dir")):
        msg = refused(lambda p, fn=fn: list(fn(r, p)) if fn is confine.walk else fn(r, p), path)
        assert "symbolic link" in msg
    refused(confine.copy_out, r, "link.csv", r.workspace.parent / "out.csv", match="symbolic link")
    refused(confine.write_bytes, r, "dir/new.txt", b"x", match="symbolic link")
    assert not (priv / "new.txt").exists()
    # writing the link's name replaces the link itself; the file it pointed at is untouched
    confine.write_bytes(r, "link.csv", b"mine\n")
    assert not (r.workspace / "link.csv").is_symlink() and (r.workspace / "link.csv").read_text() == "mine\n"
    assert (priv / "answers.csv").read_text() == f"id,y\n1,{SECRET}\n" and not (priv / "gone.csv").exists()
    assert not confine.take_auto_submission(r.workspace, r.workspace.parent / "sub.csv", name="dir")


def test_walk_lists_links_without_entering_or_sizing_them(roots):
    r, priv = roots
    os.symlink(priv, r.workspace / "dir")
    os.symlink(priv / "answers.csv", r.workspace / "leak.csv")
    (r.workspace / "sub").mkdir()
    (r.workspace / "sub" / "a.txt").write_text("abc")
    entries = {e.rel: e for e in confine.walk(r, ".")}
    assert entries["dir"].is_link and entries["leak.csv"].is_link and entries["leak.csv"].size == 0
    assert entries["sub/a.txt"].size == 3 and not any(k.startswith("dir/") for k in entries)


def test_hard_links_to_files_outside_are_refused(roots):
    r, priv = roots
    os.link(priv / "answers.csv", r.workspace / "hard.csv")
    refused(confine.read_bytes, r, "hard.csv", match="hard links")
    refused(confine.copy_out, r, "hard.csv", r.workspace.parent / "out.csv", match="hard links")
    assert not confine.take_auto_submission(r.workspace, r.workspace.parent / "sub.csv", name="hard.csv")
    confine.write_bytes(r, "hard.csv", b"replaced\n")          # a new file under that name, not a write-through
    assert (priv / "answers.csv").read_text() == f"id,y\n1,{SECRET}\n"


def test_fifos_and_folders_are_not_files(roots):
    r, _ = roots
    os.mkfifo(r.workspace / "pipe")
    out: dict = {}
    t = threading.Thread(target=lambda: out.setdefault("e", pytest.raises(ToolError, confine.read_bytes, r, "pipe")))
    t.start()
    t.join(5)
    assert not t.is_alive() and "not a regular file" in str(out["e"].value)
    assert not confine.take_auto_submission(r.workspace, r.workspace.parent / "sub.csv", name="pipe")
    refused(confine.read_bytes, r, ".", match="folder")
    (r.workspace / "d").mkdir()
    refused(confine.write_bytes, r, "d", b"x", match="folder")


def test_submissions_leave_only_as_regular_workspace_files(roots, tmp_path):
    r, _ = roots
    dest = tmp_path / "record" / "submission.csv"
    dest.parent.mkdir()
    refused(confine.copy_out, r, "/data/train.csv", dest, match="workspace")
    assert not dest.exists()
    assert not confine.take_auto_submission(r.workspace, dest)          # none there
    (r.workspace / "submission.csv").write_text("id,y\n1,0.5\n")
    assert confine.take_auto_submission(r.workspace, dest) and dest.read_text() == "id,y\n1,0.5\n"
    assert [p.name for p in dest.parent.iterdir()] == ["submission.csv"]  # no temporary file left


def test_writes_create_folders_and_keep_modes(roots):
    r, _ = roots
    t = confine.write_bytes(r, "a/b/c.py", b"print(1)\n")
    assert t.view == "/workspace/a/b/c.py" and (r.workspace / "a" / "b" / "c.py").read_text() == "print(1)\n"
    os.chmod(r.workspace / "a" / "b" / "c.py", 0o755)
    confine.write_bytes(r, "a/b/c.py", b"print(2)\n")
    assert (r.workspace / "a" / "b" / "c.py").stat().st_mode & 0o777 == 0o755
    assert sorted(p.name for p in (r.workspace / "a" / "b").iterdir()) == ["c.py"]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="mounting needs root and unshare")
def test_a_mount_inside_the_workspace_is_not_crossed(roots):
    r, priv = roots
    (r.workspace / "mnt").mkdir()
    code = (
        "import sys; from pathlib import Path; from tests.test_confine import Roots; from agent.tools import confine\n"
        f"r = Roots(Path({str(r.workspace)!r}), Path({str(r.public)!r}))\n"
        "try:\n    print(confine.read_text(r, 'mnt/answers.csv'))\nexcept Exception as e:\n    print('refused:', e)\n"
    )
    script = f"mount --bind {priv} {r.workspace / 'mnt'} && {sys.executable} -c \"$0\""
    out = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, code],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent, timeout=60)
    assert "refused:" in out.stdout and "another mount" in out.stdout and SECRET not in out.stdout, out
