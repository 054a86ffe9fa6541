"""Context management: estimate the history's size and summarise older turns when it nears the window."""

from __future__ import annotations

from collections.abc import Callable

from agent.llm.pricing import estimate_prompt_tokens
from agent.llm.xml_tools import extract_markup_calls

SUMMARY_TAG = "[Summary of earlier work, written when the history was compacted]"


def history_tokens(messages: list[dict], last_prompt_tokens: int = 0) -> int:
    """The larger of the client's estimate of the history and what the endpoint last reported for the prompt."""
    return max(estimate_prompt_tokens(messages, None), last_prompt_tokens)


def split_for_compaction(messages: list[dict], keep_recent_turns: int, head: int = 2) -> tuple[int, int] | None:
    """(start, cut): messages[start:cut] are summarised, messages[cut:] kept verbatim.

    `cut` is always the index of an assistant message, so an assistant tool-call message is never
    separated from its tool results. None when there is too little history to compact.
    """
    assistant_idx = [i for i, m in enumerate(messages) if m.get("role") == "assistant" and i >= head]
    if len(assistant_idx) <= keep_recent_turns:
        return None
    cut = assistant_idx[-keep_recent_turns]
    start = head
    if cut - start < 1:
        return None
    return start, cut


def extractive_summary(messages: list[dict], max_chars: int = 6000) -> str:
    """A no-model summary: per turn, the visible text, the calls made and the first line of each result."""
    lines: list[str] = []
    for m in messages:
        role = m.get("role")
        if role == "assistant":
            text = str(m.get("content") or "")
            if "</think>" in text:
                text = text.split("</think>", 1)[1]
            text, markup = extract_markup_calls(text, None)   # calls written as markup in the content
            text = " ".join(text.split())[:200]
            calls = [
                f"{c['function']['name']}({c['function'].get('arguments', '')[:120]})"
                for c in m.get("tool_calls") or []
            ] + [f"{c['name']}({c['arguments'][:120]})" for c in markup]
            lines.append("- assistant: " + (text + " " if text else "") + ("called " + ", ".join(calls) if calls else ""))
        elif role == "tool":
            body = str(m.get("content") or "").strip().splitlines()
            first = body[0][:160] if body else ""
            last = body[-1][:80] if len(body) > 1 else ""
            lines.append(f"  -> {first}" + (f" … {last}" if last else ""))
        elif role == "user" and not str(m.get("content", "")).startswith(SUMMARY_TAG):
            lines.append("- user: " + " ".join(str(m.get("content", "")).split())[:200])
        elif role == "user":
            lines.append(str(m.get("content", ""))[len(SUMMARY_TAG):].strip()[:2000])
    text = "\n".join(lines)
    if len(text) > max_chars:
        text = text[: max_chars // 3] + "\n[… middle of the summary cut …]\n" + text[-(2 * max_chars) // 3 :]
    return text


def compact(
    messages: list[dict], keep_recent_turns: int, summarize: Callable[[list[dict]], str] | None = None
) -> tuple[list[dict], dict] | None:
    """Replace older turns by one summary message; returns (new messages, info) or None if nothing to do."""
    span = split_for_compaction(messages, keep_recent_turns)
    if span is None:
        return None
    start, cut = span
    old = messages[start:cut]
    summary, method = "", "extractive"
    if summarize is not None:
        try:
            summary = (summarize(old) or "").strip()
            method = "model"
        except Exception:  # noqa: BLE001 - fall back to the extractive summary
            summary = ""
    if not summary:
        summary, method = extractive_summary(old), "extractive"
    new = messages[:start] + [{"role": "user", "content": f"{SUMMARY_TAG}\n{summary}"}] + messages[cut:]
    info = {
        "messages_summarised": len(old),
        "turns_summarised": sum(1 for m in old if m.get("role") == "assistant"),
        "kept_messages": len(messages) - cut,
        "method": method,
        "summary": summary,
    }
    return new, info
