"""The model client: OpenAI-compatible Chat Completions with interleaved thinking, retries, usage and cost."""

from agent.llm.client import LLMClient, Totals
from agent.llm.config import LLMConfig
from agent.llm.thinking import split_think_tags
from agent.llm.types import (
    AssistantTurn,
    BudgetExceeded,
    ContextOverflow,
    EndpointDown,
    EndpointUnusable,
    LLMError,
    ToolCall,
    Usage,
)

__all__ = ["AssistantTurn", "BudgetExceeded", "ContextOverflow", "EndpointDown", "EndpointUnusable", "LLMClient", "LLMConfig", "LLMError", "ToolCall", "Totals", "Usage",
           "split_think_tags"]
