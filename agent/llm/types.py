"""Data types of the model client: tool calls, token usage, assistant turns and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from common.errors import UserError

THINKING_FORMATS = ("think_tags", "reasoning_content", "reasoning_details")


class LLMError(Exception):
    """The endpoint could not give a turn: a permanent error, or a transient one that outlasted the retries."""

    def __init__(self, message: str, *, cause: str = "", status_code: int | None = None,
                 attempts: int = 1, retryable: bool = False) -> None:
        super().__init__(message)
        self.cause = cause or message
        self.status_code = status_code
        self.attempts = attempts
        self.retryable = retryable


class BudgetExceeded(LLMError):
    """The client's own money or token cap (LLMConfig.max_cost_usd / max_total_tokens) is spent."""


class EndpointUnusable(LLMError, UserError):
    """Retrying cannot help: bad credentials (401/403), a malformed base URL, no endpoint configured.

    Also a UserError: where nothing catches it first, the CLI prints it as one `error:` line.
    """


class ContextOverflow(LLMError):
    """The request is longer than the model's context window: compact the history instead of resending it.

    `context_window` and `prompt_tokens` are the server's numbers when its message gave them (else None).
    """

    def __init__(self, message: str, *, context_window: int | None = None, prompt_tokens: int | None = None,
                 **kw: Any) -> None:
        super().__init__(message, **kw)
        self.context_window = context_window
        self.prompt_tokens = prompt_tokens


class EndpointDown(LLMError):
    """An outage: the endpoint stayed down, rate-limited or timing out through the retry window; try again later.

    `retry_after_s` is how long the server asked callers to wait (429/503 Retry-After), when it said.
    """

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kw: Any) -> None:
        kw.setdefault("retryable", True)
        super().__init__(message, **kw)
        self.retry_after_s = retry_after_s


@dataclass
class ToolCall:
    """One tool call of a turn: raw JSON arguments, parsed args, or an error for the model to read."""

    id: str
    name: str
    arguments: str
    args: dict | None = None
    error: str | None = None
    source: str = "native"                    # "native" (tool_calls) or "minimax_xml" (markup in content)

    def to_message(self) -> dict:
        """The OpenAI `tool_calls` entry for the history."""
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}

    def to_event(self) -> dict:
        """JSON-able record for events.jsonl."""
        return {"id": self.id, "name": self.name, "arguments": self.arguments, "args": self.args, "error": self.error,
                "source": self.source}


@dataclass
class Usage:
    """Token counts of one turn; `estimated` is True when the endpoint sent none and they were guessed."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    estimated: bool = False

    def to_event(self) -> dict:
        """JSON-able record for events.jsonl."""
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.total_tokens, "estimated": self.estimated}


@dataclass
class AssistantTurn:
    """One model turn: visible text, thinking (and the form it came in), tool calls, usage and cost."""

    content: str = ""
    thinking: str = ""
    thinking_format: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    cost_usd: float = 0.0
    finish_reason: str | None = None
    retries: int = 0
    model: str = ""
    first_token_s: float | None = None
    raw_content: str | None = None            # content exactly as streamed (think tags, tool-call markup included)
    reasoning_field: str = "reasoning_content"  # the field name the endpoint used ("reasoning" on some servers)
    reasoning_details: list[dict] | None = None
    retry_causes: list[str] = field(default_factory=list)

    @property
    def markup_calls(self) -> bool:
        """Whether some tool calls came as markup in the content (MiniMax-M2 served without a tool parser)."""
        return any(c.source != "native" for c in self.tool_calls)

    def _content_for_history(self) -> str:
        if self.thinking_format != "think_tags":
            return self.raw_content if self.markup_calls and self.raw_content is not None else self.content
        raw = self.raw_content if self.raw_content is not None else f"<think>\n{self.thinking}\n</think>\n\n{self.content}"
        if "</think>" in raw and "<think>" not in raw.split("</think>", 1)[0]:
            raw = "<think>\n" + raw   # the server's template opened the tag; send it back whole
        return raw

    def to_message(self) -> dict:
        """The assistant message for the history, with the thinking in the form the endpoint gave it.

        Calls that came as markup in the content stay there, as the model wrote them, and are not
        repeated in `tool_calls` (the chat template would render them a second time).
        """
        msg: dict[str, Any] = {"role": "assistant", "content": self._content_for_history()}
        if self.thinking_format == "reasoning_content" and self.thinking:
            msg[self.reasoning_field] = self.thinking
        elif self.thinking_format == "reasoning_details" and self.reasoning_details:
            msg["reasoning_details"] = [dict(d) for d in self.reasoning_details]
        native = [c.to_message() for c in self.tool_calls if c.source == "native"]
        if native:
            msg["tool_calls"] = native
        return msg

    def to_event(self) -> dict:
        """JSON-able record for events.jsonl."""
        return {
            "model": self.model,
            "content": self.content,
            "thinking": self.thinking,
            "thinking_format": self.thinking_format,
            "tool_calls": [c.to_event() for c in self.tool_calls],
            "usage": self.usage.to_event(),
            "latency_s": round(self.latency_s, 4),
            "first_token_s": None if self.first_token_s is None else round(self.first_token_s, 4),
            "cost_usd": self.cost_usd,
            "finish_reason": self.finish_reason,
            "retries": self.retries,
            "retry_causes": list(self.retry_causes),
        }
