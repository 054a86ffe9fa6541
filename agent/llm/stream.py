"""Assemble one assistant turn from streamed chunks (or a whole response): text, thinking, tool calls, usage."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from agent.llm.pricing import estimate_prompt_tokens, estimate_tokens
from agent.llm.retry import StreamError
from agent.llm.thinking import ThinkTagStream, details_text, merge_reasoning_details, split_think_tags
from agent.llm.types import AssistantTurn, ToolCall, Usage
from agent.llm.xml_tools import FORMAT as MARKUP_FORMAT
from agent.llm.xml_tools import MarkupStream, extract_markup_calls

log = logging.getLogger("evoforge.llm")
REASONING_FIELDS = ("reasoning_content", "reasoning")

DeltaFn = Callable[[str, str], None]


def _fields(obj: Any) -> dict:
    """A response object's fields, the server's extra ones (reasoning_content, ...) included."""
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    d = getattr(obj, "__dict__", None)
    if d is None:
        return {}
    extra = getattr(obj, "__pydantic_extra__", None)
    return {**d, **extra} if extra else d


def _get(obj: Any, name: str) -> Any:
    return _fields(obj).get(name)


class TurnBuilder:
    """Accumulates the deltas of one streamed attempt and builds the AssistantTurn."""

    def __init__(self, on_delta: DeltaFn | None = None, think_open: bool = False, markup_calls: bool = True) -> None:
        self.on_delta = on_delta
        self.markup_calls = markup_calls       # parse MiniMax-M2 tool-call markup found in the content
        self.raw_content: list[str] = []
        self.reasoning: list[str] = []
        self.reasoning_field = "reasoning_content"
        self.details: list[dict] = []
        self.calls: list[dict] = []            # slots in arrival order: {"index", "id", "name", "arguments"}
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.model = ""
        self.chunks = 0
        self.t0 = time.monotonic()
        self.first_token_s: float | None = None
        self.tags = ThinkTagStream(start_inside=think_open)
        self.markup = MarkupStream() if markup_calls else None

    # -- display -------------------------------------------------------------------------------
    def _show(self, pieces: list[tuple[str, str]]) -> None:
        """Emit thinking/content pieces, with tool-call markup in the content shown as tool text."""
        for kind, text in pieces:
            if kind == "content" and self.markup is not None:
                for k, t in self.markup.feed(text):
                    self._emit(k, t)
            else:
                self._emit(kind, text)

    def _emit(self, kind: str, text: str) -> None:
        if not text:
            return
        if self.first_token_s is None:
            self.first_token_s = time.monotonic() - self.t0
        if self.on_delta is None:
            return
        try:
            self.on_delta(kind, text)
        except Exception:  # noqa: BLE001 - a broken display must not break the turn
            log.exception("on_delta callback failed; live display disabled for this turn")
            self.on_delta = None

    # -- streaming -------------------------------------------------------------------------------
    def feed(self, chunk: Any) -> None:
        """Fold one chat.completion.chunk into the turn; StreamError for an error chunk (vLLM's `object: error`)."""
        self.chunks += 1
        f = _fields(chunk)
        if f.get("object") == "error" and not f.get("choices"):
            raise StreamError.from_text(json.dumps({k: v for k, v in f.items() if k != "object"}, default=str))
        self.model = f.get("model") or self.model
        usage = f.get("usage")
        if usage is not None and _get(usage, "prompt_tokens") is not None:
            self.usage = _usage(usage)
        for choice in f.get("choices") or []:
            c = _fields(choice)
            if (c.get("index") or 0) != 0:
                continue
            if c.get("delta") is not None:
                self.feed_delta(c["delta"])
            if c.get("finish_reason"):
                self.finish_reason = c["finish_reason"]

    def feed_delta(self, delta: Any) -> None:
        """Fold one delta (or a whole message) into the turn."""
        delta = _fields(delta)
        for name in REASONING_FIELDS:
            text = delta.get(name)
            if isinstance(text, str) and text:
                self.reasoning_field = name
                self.reasoning.append(text)
                self._emit("thinking", text)
                break
        details = delta.get("reasoning_details")
        if details:
            for text in merge_reasoning_details(self.details, list(details)):
                self._emit("thinking", text)
        content = delta.get("content")
        if isinstance(content, str) and content:
            self.raw_content.append(content)
            self._show(self.tags.feed(content))
        for tc in delta.get("tool_calls") or []:
            self._feed_tool(tc)

    def _feed_tool(self, tc: Any) -> None:
        index = _get(tc, "index")
        tc_id = _get(tc, "id")
        fn = _get(tc, "function")
        name = _get(fn, "name") or ""
        args = _get(fn, "arguments") or ""
        slot = None
        if index is not None:
            slot = next((s for s in reversed(self.calls) if s["index"] == index), None)
        elif tc_id is None and self.calls:
            slot = self.calls[-1]
        if slot is not None and tc_id and slot["id"] and tc_id != slot["id"]:
            slot = None                        # a server that reuses index 0 for each call
        if slot is None:
            slot = {"index": index if index is not None else len(self.calls), "id": "", "name": "", "arguments": ""}
            self.calls.append(slot)
        if tc_id and not slot["id"]:
            slot["id"] = tc_id
        if name and name != slot["name"]:
            slot["name"] = name if not slot["name"] else slot["name"] + name
            self._emit("tool", f"\n[{slot['name']}] ")
        if args:
            slot["arguments"] += args
            self._emit("tool", args)

    # -- result ---------------------------------------------------------------------------------
    def build(self, messages: list[dict], tools: list[dict] | None) -> AssistantTurn:
        """The AssistantTurn from everything received (usage estimated when the endpoint sent none)."""
        self._show(self.tags.finish())
        if self.markup is not None:
            for kind, text in self.markup.finish():
                self._emit(kind, text)
        raw = "".join(self.raw_content)
        turn = AssistantTurn(model=self.model, finish_reason=self.finish_reason, first_token_s=self.first_token_s,
                             reasoning_field=self.reasoning_field)
        if self.details and details_text(self.details):
            turn.thinking, turn.thinking_format = details_text(self.details), "reasoning_details"
            turn.reasoning_details = self.details
            turn.content = raw
        elif self.reasoning:
            turn.thinking, turn.thinking_format = "".join(self.reasoning), "reasoning_content"
            turn.content = raw
        else:
            thinking, visible = split_think_tags(raw)
            turn.content = visible
            if thinking or "</think>" in raw or "<think>" in raw:
                turn.thinking, turn.thinking_format, turn.raw_content = thinking, "think_tags", raw
        turn.tool_calls = [validate_call(s, tools) for s in self.calls]
        if self.markup_calls:
            self._markup_calls(turn, raw, tools)
        if self.usage is not None:
            turn.usage = self.usage
        else:
            out = raw + "".join(self.reasoning) + details_text(self.details) + "".join(
                s["name"] + s["arguments"] for s in self.calls)
            p, c = estimate_prompt_tokens(messages, tools), estimate_tokens(out)
            turn.usage = Usage(p, c, p + c, estimated=True)
        return turn

    @staticmethod
    def _markup_calls(turn: AssistantTurn, raw: str, tools: list[dict] | None) -> None:
        """Move tool-call markup from the visible content into tool calls; the raw content keeps it."""
        visible, slots = extract_markup_calls(turn.content, tools)
        if not slots:
            return
        turn.content = visible
        turn.raw_content = raw
        for slot in slots:
            call = validate_call({"id": "", "name": slot["name"], "arguments": slot["arguments"]}, tools,
                                 parse=slot["error"] is None)
            if slot["error"]:
                call.error = slot["error"]
            call.source = MARKUP_FORMAT
            turn.tool_calls.append(call)


def _usage(u: Any) -> Usage:
    p = int(_get(u, "prompt_tokens") or 0)
    c = int(_get(u, "completion_tokens") or 0)
    t = int(_get(u, "total_tokens") or (p + c))
    return Usage(p, c, t)


def tool_names(tools: list[dict] | None) -> set[str]:
    """Names of the function tools offered to the model."""
    names = set()
    for t in tools or []:
        fn = t.get("function") if isinstance(t, dict) else None
        if isinstance(fn, dict) and fn.get("name"):
            names.add(fn["name"])
    return names


def validate_call(slot: dict, tools: list[dict] | None, parse: bool = True) -> ToolCall:
    """A ToolCall with parsed args, or with `error` set for malformed JSON or an unknown tool name."""
    call = ToolCall(id=slot["id"] or f"call_{uuid.uuid4().hex[:24]}", name=slot["name"], arguments=slot["arguments"])
    known = tool_names(tools)
    if call.name not in known:
        offered = ", ".join(sorted(known)) or "none"
        call.error = f"unknown tool {call.name!r}; the tools offered are: {offered}"
    if not parse:
        return call
    raw = call.arguments.strip()
    try:
        args = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        err = f"arguments are not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): {raw[:200]!r}"
        call.error = f"{call.error}; {err}" if call.error else err
        return call
    if args is None:
        args = {}
    if isinstance(args, str):                 # double-encoded: a JSON string holding the object
        try:
            inner = json.loads(args)
        except json.JSONDecodeError:
            inner = None
        if isinstance(inner, dict):
            args = inner
    if not isinstance(args, dict):
        err = f"arguments must be a JSON object, got {type(args).__name__}"
        call.error = f"{call.error}; {err}" if call.error else err
        return call
    call.args = args
    return call
