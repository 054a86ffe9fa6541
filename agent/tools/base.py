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
    candidates_dir: Path | None = None    # where `submit` keeps candidates (runs/<id>/candidates)
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


__all__ = ["ToolContext", "ToolError", "ToolResult", "UserError", "require", "truncate"]
