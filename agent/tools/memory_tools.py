"""read_memory / append_memory: the lessons file shared between attempts."""

from __future__ import annotations

from agent import memory
from agent.tools.base import ToolContext, ToolError, ToolResult, require


def read_memory(ctx: ToolContext, args: dict) -> ToolResult:
    """The memory file's text (its tail past max_chars)."""
    text = memory.read_memory(require(args, "max_chars", int, 20000), ctx.memory_path)
    return ToolResult(text or "(memory is empty)")


def append_memory(ctx: ToolContext, args: dict) -> ToolResult:
    """File a note as a lesson (under the tool it names, else the task's family)."""
    note = require(args, "note")
    if len(note) > 4000:
        raise ToolError("note is longer than 4000 characters; keep memory notes short")
    title = require(args, "title", str, "note").strip()
    text = f"{title}: {note}" if title and title != "note" else note
    family = memory.family_of(ctx.task.id) if ctx.task is not None else None
    run_id = ctx.workspace.parent.name if ctx.workspace.name == "workspace" else ""
    added = memory.add_note(text, family, run_id, ctx.memory_path)
    return ToolResult(f"filed {len(added)} new lesson(s) in memory" if added else
                      "memory already holds this lesson; the run was added to its evidence")
