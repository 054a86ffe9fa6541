"""Host-side file access that never leaves its two roots: the workspace (read-write) and the public data.

Every host-side tool (read/write/edit/list/search, validate, submit, training logs) and the
end-of-run auto-submit reach files only through this module. The rule:

- a path is mapped *lexically* onto a root: an absolute path must start with one of the names
  the sandbox uses for a root (`/workspace`, `/data`, or their host paths), a relative path is
  relative to the workspace; `..` may not climb above the root; nothing else is reachable
  (`/proc/*/root`, `/etc/...` and any other absolute path are refused);
- the path is then walked one component at a time from an open descriptor of the root with
  `O_NOFOLLOW`: **no symbolic link is ever followed** (a link is refused wherever it sits, dangling
  or not — its target means something else inside the sandbox anyway), no component may cross
  into another mount (bind-mount tricks; checked by mount id), and only regular files are opened
  (a FIFO or a device would block or misbehave);
- a workspace file with more than one hard link is refused (it may be a link to a file outside);
- writes go to a new file that replaces the name atomically (`rename`), so an existing link —
  symbolic or hard — is replaced, never written through;
- a file leaves the workspace (submit, auto-submit) only as a copy of a regular, single-link file,
  read from the very descriptor that was checked.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agent.tools.base import ToolError

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class PathRefused(ToolError):
    """A path a host-side tool will not touch (outside the roots, a link, not a regular file, ...)."""


class HasRoots(Protocol):
    """What confine needs of a tool context: the two roots and the sandbox's names for them."""

    workspace: Path
    public: Path

    @property
    def workspace_view(self) -> str: ...

    @property
    def data_view(self) -> str: ...


@dataclass(frozen=True)
class Target:
    """A path mapped onto a root: the root's host path, the components below it, the sandbox's name."""

    root: Path
    parts: tuple[str, ...]
    view_root: str
    in_workspace: bool

    @property
    def host(self) -> Path:
        """The host path (for display and for commands run in the sandbox by view)."""
        return self.root.joinpath(*self.parts)

    @property
    def view(self) -> str:
        """The path as the sandbox names it."""
        base = self.view_root.rstrip("/") or "/"
        return "/".join([base.rstrip("/"), *self.parts]) if self.parts else base


def locate(ctx: HasRoots, given: str, write: bool = False) -> Target:
    """Map a path as the agent gives it onto the workspace or the public data, lexically; refuse the rest."""
    if not isinstance(given, str) or not given.strip():
        raise ToolError("path must be a non-empty string")
    given = given.strip()
    if "\0" in given:
        raise PathRefused("path contains a NUL byte")
    ws, data = Path(ctx.workspace).resolve(), Path(ctx.public).resolve()
    views = [(ctx.workspace_view, ws, True), ("/workspace", ws, True), (str(ws), ws, True),
             (str(ctx.workspace), ws, True), (ctx.data_view, data, False), ("/data", data, False),
             (str(data), data, False), (str(ctx.public), data, False)]
    root, rest, in_ws = None, "", True
    if given.startswith("/"):
        for view, r, is_ws in sorted(views, key=lambda v: -len(v[0])):
            view = view.rstrip("/") or "/"
            if given == view or given.startswith(view + "/"):
                root, rest, in_ws = r, given[len(view):], is_ws
                break
        if root is None:
            raise PathRefused(f"{given}: outside the sandbox; use paths under {ctx.workspace_view} or {ctx.data_view}")
    else:
        root, rest = ws, given
    parts: list[str] = []
    for p in rest.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if not parts:
                raise PathRefused(f"{given}: leads outside {'the workspace' if in_ws else 'the data folder'} (..)")
            parts.pop()
        else:
            parts.append(p)
    if write and not in_ws:
        raise PathRefused(f"{given}: the data folder is read-only; write under {ctx.workspace_view}")
    return Target(root, tuple(parts), ctx.workspace_view if in_ws else ctx.data_view, in_ws)


def _refusal(t: Target, name: str, err: OSError, dir_fd: int) -> PathRefused | OSError:
    """Turn an open() failure on one component into the reason, as the model should read it."""
    if err.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            return err
        if stat.S_ISLNK(st.st_mode):
            return PathRefused(f"{t.view}: goes through a symbolic link ({name}); host-side tools never follow "
                               "links — use the real path, or read it with bash inside the sandbox")
        if err.errno == errno.ENOTDIR:
            return PathRefused(f"{t.view}: {name} is not a folder")
    return err


def _mount(fd: int) -> tuple[int, str]:
    """Which mount an open descriptor is on: (st_dev, mnt_id from /proc/self/fdinfo; "" where unavailable)."""
    mnt = ""
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            for line in f:
                if line.startswith("mnt_id:"):
                    mnt = line.split()[1]
                    break
    except OSError:
        pass
    return os.fstat(fd).st_dev, mnt


@contextmanager
def _open_dir(t: Target, depth: int | None = None, create: bool = False) -> Iterator[int]:
    """A descriptor of the folder t.parts[:depth], walked without following links (created if asked)."""
    parts = t.parts if depth is None else t.parts[:depth]
    fd = os.open(t.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        dev = _mount(fd)
        for name in parts:
            try:
                nfd = os.open(name, _DIR, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise FileNotFoundError(errno.ENOENT, "no such file or folder", t.view) from None
                os.mkdir(name, 0o755, dir_fd=fd)
                nfd = os.open(name, _DIR, dir_fd=fd)
            except OSError as exc:
                raise _refusal(t, name, exc, fd) from None
            os.close(fd)
            fd = nfd
            if _mount(fd) != dev:
                raise PathRefused(f"{t.view}: crosses into another mount ({name}); refused")
        yield fd
    finally:
        os.close(fd)


def _check_regular(t: Target, st: os.stat_result) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise PathRefused(f"{t.view}: is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise PathRefused(f"{t.view}: not a regular file (a FIFO, socket or device); refused")
    if t.in_workspace and st.st_nlink > 1:
        raise PathRefused(f"{t.view}: has {st.st_nlink} hard links (it may be a link to a file outside the "
                          "workspace); host-side tools read only single-link files — copy it with bash first")


@contextmanager
def open_file(t: Target) -> Iterator[tuple[int, os.stat_result]]:
    """(descriptor, stat) of the regular file t, opened with O_NOFOLLOW and checked on that descriptor."""
    if not t.parts:
        raise PathRefused(f"{t.view}: is a folder, not a file")
    with _open_dir(t, -1) as dfd:
        try:
            fd = os.open(t.parts[-1], _FILE, dir_fd=dfd)
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, "no such file", t.view) from None
        except OSError as exc:
            raise _refusal(t, t.parts[-1], exc, dfd) from None
    try:
        st = os.fstat(fd)
        _check_regular(t, st)
        yield fd, st
    finally:
        os.close(fd)


def _read_fd(fd: int, limit: int) -> bytes:
    chunks, left = [], limit
    while left > 0:
        b = os.read(fd, min(left, 1 << 20))
        if not b:
            break
        chunks.append(b)
        left -= len(b)
    return b"".join(chunks)


def read_bytes(ctx: HasRoots, given: str, limit: int = 1 << 31) -> bytes:
    """Up to `limit` bytes of a regular file under the roots (see the module rule)."""
    with open_file(locate(ctx, given)) as (fd, _):
        return _read_fd(fd, limit)


def read_text(ctx: HasRoots, given: str, limit: int = 1 << 31) -> str:
    """read_bytes decoded as UTF-8 (undecodable bytes replaced)."""
    return read_bytes(ctx, given, limit).decode("utf-8", errors="replace")


def file_stat(ctx: HasRoots, given: str) -> tuple[Target, os.stat_result]:
    """(target, stat) of a regular file under the roots; refuses what read_bytes refuses."""
    t = locate(ctx, given)
    with open_file(t) as (_, st):
        return t, st


def is_dir(ctx: HasRoots, given: str) -> bool:
    """Whether the path is a folder under the roots, reached without links (False when missing)."""
    t = locate(ctx, given)
    try:
        with _open_dir(t):
            return True
    except (FileNotFoundError, NotADirectoryError):
        return False
    except PathRefused as exc:
        if "is not a folder" in str(exc):
            return False
        raise


def write_bytes(ctx: HasRoots, given: str, data: bytes) -> Target:
    """Write a workspace file: a new file renamed over the name (a link there is replaced, never followed)."""
    t = locate(ctx, given, write=True)
    if not t.parts:
        raise PathRefused(f"{t.view}: is a folder, not a file")
    name = t.parts[-1]
    with _open_dir(t, -1, create=True) as dfd:
        mode = 0o644
        try:
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                raise PathRefused(f"{t.view}: is a folder, not a file")
            if stat.S_ISREG(st.st_mode):
                mode = stat.S_IMODE(st.st_mode)
        except FileNotFoundError:
            pass
        tmp = f".{name[:80]}.evoforge-{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dfd)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            raise
    return t


@dataclass(frozen=True)
class Entry:
    """One thing under a folder: its path relative to the folder, size, and whether it is a folder or a link."""

    rel: str
    size: int
    is_dir: bool
    is_link: bool


def walk(ctx: HasRoots, given: str, max_depth: int | None = None) -> Iterator[Entry]:
    """Everything under a folder (sorted, depth-first), links listed but never followed nor entered."""
    t = locate(ctx, given)
    with _open_dir(t) as fd:
        yield from _walk_fd(fd, "", _mount(fd), 1, max_depth)


def _walk_fd(fd: int, prefix: str, dev: tuple[int, str], level: int, max_depth: int | None) -> Iterator[Entry]:
    with os.scandir(fd) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        rel = prefix + e.name
        if stat.S_ISLNK(st.st_mode):
            yield Entry(rel, 0, False, True)
        elif stat.S_ISDIR(st.st_mode):
            yield Entry(rel, 0, True, False)
            if max_depth is None or level < max_depth:
                try:
                    sub = os.open(e.name, _DIR, dir_fd=fd)
                except OSError:
                    continue
                try:
                    if _mount(sub) == dev:           # never into another mount
                        yield from _walk_fd(sub, rel + "/", dev, level + 1, max_depth)
                finally:
                    os.close(sub)
        else:
            yield Entry(rel, st.st_size, False, False)


def copy_out(ctx: HasRoots, given: str, dest: Path) -> Target:
    """Copy a regular, single-link workspace file to a host path outside the roots (submit, validate)."""
    t = locate(ctx, given)
    if not t.in_workspace:
        raise PathRefused(f"{t.view}: a submission must be a file of the workspace ({ctx.workspace_view}); "
                          "copy it there first")
    _copy(t, Path(dest))
    return t


def _copy(t: Target, dest: Path) -> None:
    with open_file(t) as (fd, _):
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.tmp")
        try:
            with open(tmp, "wb") as out:
                while b := os.read(fd, 1 << 20):
                    out.write(b)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)


def take_auto_submission(workspace: Path, dest: Path, name: str = "submission.csv") -> bool:
    """End-of-run auto-submit: copy workspace/<name> to dest if it is a regular, single-link file there."""
    try:
        _copy(Target(Path(workspace).resolve(), (name,), "/workspace", True), Path(dest))
        return True
    except (OSError, ToolError):
        return False
