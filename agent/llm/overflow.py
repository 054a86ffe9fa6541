"""Recognise a context-length overflow in what a server said, in each server's wording, and read its numbers.

Wordings known (the body's `code`/`type` fields are scanned with the message):
- OpenAI: code `context_length_exceeded`, "This model's maximum context length is N tokens. However, your
  messages resulted in M tokens"; llama-cpp-python's server answers in the same words and code.
- vLLM: "This model's maximum context length is N tokens. However, you requested M tokens (…)", "… and your
  request has M input tokens", or (V1 engine) "The decoder prompt (length M) is longer than the maximum model
  length of N".
- SGLang: "The input (M tokens) is longer than the model's context length (N tokens)", "Requested token count
  exceeds the model's maximum context length of N tokens. You requested a total of M tokens: …".
- llama.cpp server: type `exceed_context_size_error` with `n_prompt_tokens`/`n_ctx`, "request (M tokens) exceeds
  the available context size (N tokens), try increasing it", older "the request exceeds the available context
  size", "input (M tokens) is larger than the max context size (N tokens)".
- llama-cpp-python (the library's own words): "Requested tokens (M) exceed context window of N".
- MiniMax API: "context window exceeds limit"; proxies: HTTP 413 "request entity too large".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PHRASES = (
    "context_length_exceeded",
    "context length exceeded",
    "maximum context length",
    "exceed_context_size_error",
    "available context size",
    "exceeds context size",
    "larger than the max context size",
    "exceed context window",
    "longer than the model's context length",
    "longer than the maximum model length",
    "context window exceeds limit",
    "reduce the length of the messages",
    "prompt is too long",
    "request entity too large",
)

# each pattern names the window (`win`) and/or the prompt's size (`prompt`) where the wording gives them
_NUMBERS = [re.compile(p, re.IGNORECASE) for p in (
    r"maximum context length (?:is|of) (?P<win>\d+)",
    r"(?:you requested|resulted in|request has|a total of) (?P<prompt>\d+)(?: input)? tokens",
    r"request \((?P<prompt>\d+) tokens\) exceeds (?:the available )?context size \((?P<win>\d+) tokens\)",
    r"input \((?P<prompt>\d+) tokens\) is (?:larger|longer) than the (?:max context size|model's context length)"
    r" \((?P<win>\d+) tokens\)",
    r"prompt \(length (?P<prompt>\d+)\) is longer than the maximum model length of (?P<win>\d+)",
    r"requested tokens \((?P<prompt>\d+)\) exceed context window of (?P<win>\d+)",
    r"\"n_ctx\"\s*:\s*(?P<win>\d+)",
    r"\"n_prompt_tokens\"\s*:\s*(?P<prompt>\d+)",
)]


@dataclass
class Overflow:
    """A recognised overflow: the server's context window and the request's size in tokens, where it said them."""

    context_window: int | None = None
    prompt_tokens: int | None = None


def find_overflow(text: str, status: int | None = None) -> Overflow | None:
    """The overflow described by a server's error text (message and body), or None when it is something else."""
    lower = text.lower()
    if status != 413 and not any(p in lower for p in PHRASES):
        return None
    found = Overflow()
    for pattern in _NUMBERS:
        for m in pattern.finditer(text):
            groups = m.groupdict()
            if groups.get("win") and found.context_window is None:
                found.context_window = int(groups["win"])
            if groups.get("prompt") and found.prompt_tokens is None:
                found.prompt_tokens = int(groups["prompt"])
    return found
