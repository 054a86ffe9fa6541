"""Tools the agent calls: each a small function with a JSON schema, a timeout and an output limit."""

from agent.tools.base import ToolContext, ToolError, ToolResult, truncate
from agent.tools.registry import TOOLS, is_read_only, run_tool, tool_schemas

__all__ = ["TOOLS", "ToolContext", "ToolError", "ToolResult", "is_read_only", "run_tool", "tool_schemas",
           "truncate"]
