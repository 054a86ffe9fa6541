"""What every tool gets (the run's sandbox and paths) and returns (an observation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.errors import UserError


class ToolError(Exception):
    """A tool failed in a way the model should read about (bad path, no match, …)."""


@dataclass
class ToolResult:
    """One tool call's observation: the text the model sees, an exit code and extra fields."""

    output: str
    exit_code: int = 0
    ends_run: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ToolContext:
    """The run-side things tools act on."""

    sandbox: Any                 # agent.sandbox.Sandbox (exec, data_path, workspace_path)
    workspace: Path              # host path of the workspace
    public: Path                 # host path of the public data (read-only)
    task: Any = None             # agent.graph.task.Task (validate) or None
    submission_dest: Path | None = None   # where `submit` copies the submission
    memory_path: Path | None = None

    @property
    def data_view(self) -> str:
        """The public data path as commands see it."""
        return str(getattr(self.sandbox, "data_path", self.public))

    @property
    def workspace_view(self) -> str:
        """The workspace path as commands see it."""
        return str(getattr(self.sandbox, "workspace_path", self.workspace))


def truncate(text: str, limit: int) -> str:
    """Keep the head and tail of text within limit bytes, stating how many bytes were cut."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text
    head_n = limit * 2 // 3
    tail_n = limit - head_n
    cut = len(data) - head_n - tail_n
    head = data[:head_n].decode("utf-8", errors="ignore")
    tail = data[len(data) - tail_n :].decode("utf-8", errors="ignore")
    return f"{head}\n[… {cut} bytes cut …]\n{tail}"


def _within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def resolve_path(ctx: ToolContext, given: str, write: bool = False) -> Path:
    """Map a path as the sandbox sees it to a host path inside the workspace or (read-only) data.

    Relative paths are relative to the workspace. `..` and symlinks are resolved first, so nothing
    outside the two roots is reachable; the data folder is never writable.
    """
    if not isinstance(given, str) or not given.strip():
        raise ToolError("path must be a non-empty string")
    given = given.strip()
    ws_root, data_root = ctx.workspace.resolve(), ctx.public.resolve()
    views = [
        (ctx.workspace_view, ws_root), ("/workspace", ws_root), (str(ws_root), ws_root),
        (ctx.data_view, data_root), ("/data", data_root), (str(data_root), data_root),
    ]
    host: Path | None = None
    if given.startswith("/"):
        for view, root in sorted(views, key=lambda v: -len(v[0])):
            view = view.rstrip("/") or "/"
            if given == view or given.startswith(view + "/"):
                host = root / given[len(view) :].lstrip("/")
                break
        if host is None:
            raise ToolError(
                f"{given}: outside the sandbox; use paths under {ctx.workspace_view} or {ctx.data_view}"
            )
    else:
        host = ws_root / given
    real = host.resolve()
    if _within(real, data_root):
        if write:
            raise ToolError(f"{given}: the data folder is read-only; write under {ctx.workspace_view}")
        return real
    if _within(real, ws_root):
        return real
    raise ToolError(f"{given}: resolves outside the workspace and data folders (.. or a symlink); refused")


def to_view(ctx: ToolContext, host: Path) -> str:
    """The sandbox's name for a host path under the workspace or data folder."""
    for root, view in ((ctx.workspace.resolve(), ctx.workspace_view), (ctx.public.resolve(), ctx.data_view)):
        if _within(host, root):
            rel = host.relative_to(root).as_posix()
            return view.rstrip("/") + ("/" + rel if rel != "." else "")
    return str(host)


def require(args: dict, key: str, kind: type = str, default: Any = ...) -> Any:
    """Fetch a tool argument, raising ToolError naming it when missing or of the wrong type."""
    if key not in args or args[key] is None:
        if default is ...:
            raise ToolError(f"missing required argument '{key}'")
        return default
    value = args[key]
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if kind is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ToolError(f"argument '{key}' must be {kind.__name__}, got {type(value).__name__}")
    return value


__all__ = ["ToolContext", "ToolError", "ToolResult", "UserError", "require", "resolve_path", "to_view", "truncate"]
