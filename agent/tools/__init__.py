"""Tools the agent calls: each a small function with a JSON schema, a timeout and an output limit."""

from agent.tools.base import ToolContext, ToolError, ToolResult, truncate
from agent.tools.registry import TOOLS, rerun_safe, run_tool, tool_schemas

__all__ = ["TOOLS", "ToolContext", "ToolError", "ToolResult", "rerun_safe", "run_tool", "tool_schemas",
           "truncate"]
