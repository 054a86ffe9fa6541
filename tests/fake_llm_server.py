"""A scripted OpenAI-compatible server on loopback that talks like vLLM/SGLang serving MiniMax-M2.

Real HTTP (chunked SSE streaming, or plain JSON when `stream` is false) on 127.0.0.1, in a background
thread. Each chat completion request takes the next step of a script (a list of step dicts, or a callable
`(request_json, call_index) -> step`). A step is a plain JSON-able dict:

    content: str                         visible text
    thinking: str                        thinking text, sent in the form `thinking_format` names:
    thinking_format: "think_tags"        <think>…</think> inside content (MiniMax-M2 without a reasoning parser)
                   | "think_tags_open"   content starting inside thinking, no opening tag (template opened it)
                   | "reasoning_content" a reasoning_content delta field (vLLM/SGLang reasoning parser)
                   | "reasoning"         a reasoning delta field (newer vLLM)
                   | "reasoning_details" MiniMax API's reasoning_details list (cumulative text per chunk,
                                         or increments with details_incremental: true)
    tool_calls: [{"name", "arguments": dict or raw str, "id"?}]   one or several (parallel) calls
    tool_format: "minimax_xml"           send the tool calls as MiniMax-M2 markup inside the content (a server
                                         without a tool parser) instead of `tool_calls`; finish_reason "stop"
    markup: str                          raw text appended to the content after the calls' markup (malformed
                                         blocks); implies tool_format "minimax_xml"
    interleave_tools: bool               stream the parallel calls' argument pieces interleaved
    whole_tool_calls: bool               each call whole in one chunk, all at index 0 (as Ollama does)
    usage: true | false | {"prompt_tokens", "completion_tokens"}   send usage (default: true when asked)
    usage_in_final_chunk: bool           usage inside the finish_reason chunk instead of a chunk of its own
    finish_reason: str                   default "tool_calls" with tool calls, else "stop"
    status: int, retry_after: float, error: str   answer with an HTTP error instead
    error_body: dict                     with `status`: the exact JSON body of the error (a server's own wording)
    stream_error: dict                   answer 200 with an event stream holding `data: {"error": …}` (vLLM, SGLang)
    error_chunk: dict                    the same with the error as the chunk itself (`{"object": "error", …}`)
    error_line: dict                     answer 200 with an event stream holding an `error: {…}` line (llama.cpp)
    empty_stream: true                   answer 200 with an event stream that ends with no chunks and no word
                                         (llama-cpp-python's server refusing a streamed request)
    role_chunk: bool                     with the four above: send the assistant-role chunk first
                                         (a request without streaming gets `status`/`error_body` instead)
    cut_after: int, cut_mode: "abort" | "eof"     close the stream after that many SSE events
                                         (a number past the last event cuts just before [DONE])
    delay_s: float                       wait before the first byte (timeout tests)
    chunk_chars: int                     characters of text per SSE event (default 7)

Helpers below build the common steps; `overflow(style, window, prompt, how)` answers a context-length
overflow in the wording of OpenAI, vLLM, SGLang, llama.cpp or llama-cpp-python. The server can also act
as a whole: `api_key` (with `auth_status` 401 or 403) refuses other keys; `context_window=N` answers every
chat request whose prompt (about 4 characters a token) is longer than N with an overflow in
`overflow_style`; `max_model_len`, `llamacpp_n_ctx` and `llamacpp_n_ctx_train` make `/v1/models` (and
llama.cpp's `/props`) state a window; `outage(mode)` / `restore()` (or `outage_for(seconds, mode)`) take
the endpoint down and bring it back while clients run: "503" (or any status, with `retry_after`), "reset"
(connections dropped unanswered), "hang" (no answer until restored) or "refuse" (nothing listening).

The server records every request and checks that the thinking of
the turns it emitted comes back, in the same form, when those turns reappear in later requests; with
`strict_thinking=True` it answers 400 when it does not. It also checks that tool-call markup it sent in
content comes back verbatim, and only once (not a second time as `tool_calls`).

Command line: python -m tests.fake_llm_server --script FILE.json [--port N] [--strict-thinking]
              [--context-window N [--overflow-style STYLE]] [--max-model-len N]
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Step = dict[str, Any]
Script = list[Step] | Callable[[dict, int], Step]

THINK_FORMATS = ("think_tags", "think_tags_open", "reasoning_content", "reasoning", "reasoning_details")


# -- step helpers ----------------------------------------------------------------------------------------
def text(content: str, thinking: str | None = None, fmt: str = "think_tags", **extra: Any) -> Step:
    """A text answer, optionally with thinking in form `fmt`."""
    step: Step = {"content": content, **extra}
    if thinking is not None:
        step.update(thinking=thinking, thinking_format=fmt)
    return step


def call(name: str, arguments: dict | str, id: str | None = None) -> dict:
    """One tool call spec; `arguments` as a dict (sent as JSON) or a raw string (sent as is)."""
    spec: dict[str, Any] = {"name": name, "arguments": arguments}
    if id:
        spec["id"] = id
    return spec


def tools(*calls: dict, content: str = "", thinking: str | None = None, fmt: str = "think_tags",
          **extra: Any) -> Step:
    """A turn with one or several (parallel) tool calls."""
    step = text(content, thinking, fmt, **extra)
    step["tool_calls"] = list(calls)
    return step


def xml_tools(*calls: dict, content: str = "", thinking: str | None = None, fmt: str = "think_tags",
              markup: str | None = None, **extra: Any) -> Step:
    """A turn whose tool calls come as MiniMax-M2 markup in the content (no tool parser on the server)."""
    step = tools(*calls, content=content, thinking=thinking, fmt=fmt, **extra)
    step["tool_format"] = "minimax_xml"
    if markup is not None:
        step["markup"] = markup
    return step


def minimax_markup(calls: list[dict]) -> str:
    """The <minimax:tool_call> block MiniMax-M2 writes for `calls` (strings raw, other values as JSON)."""
    if not calls:
        return ""
    out = ["<minimax:tool_call>"]
    for tc in calls:
        out.append(f'<invoke name="{tc["name"]}">')
        args = tc.get("arguments", {})
        if isinstance(args, str):               # raw text: placed inside the invoke as is
            out.append(args)
        else:
            for k, v in args.items():
                out.append(f'<parameter name="{k}">{v if isinstance(v, str) else json.dumps(v)}</parameter>')
        out.append("</invoke>")
    out.append("</minimax:tool_call>")
    return "\n".join(out)


def _xml(step: Step) -> bool:
    return step.get("tool_format") == "minimax_xml" or step.get("markup") is not None


def error(status: int, retry_after: float | None = None, message: str | None = None) -> Step:
    """An HTTP error answer (429 with Retry-After, 500, ...)."""
    step: Step = {"status": status, "error": message or f"fake server error {status}"}
    if retry_after is not None:
        step["retry_after"] = retry_after
    return step


OVERFLOW_STYLES = ("openai", "vllm", "vllm_v1", "sglang", "llamacpp", "llamacpp_old", "llama_cpp_python")
OVERFLOW_HOWS = ("status", "stream_error", "error_line", "empty")
STREAM_FAILURES = ("stream_error", "error_chunk", "error_line", "empty_stream")


def overflow_error(style: str, window: int, prompt: int) -> tuple[int, dict]:
    """(status, JSON body) a server of `style` answers for a prompt of `prompt` tokens over a `window`."""
    if style in ("openai", "llama_cpp_python"):
        said = ("your messages resulted in {p} tokens" if style == "openai"
                else "you requested {p} tokens ({p} in the messages, None in the completion)").format(p=prompt)
        return 400, {"error": {"message": f"This model's maximum context length is {window} tokens. However, {said}. "
                               "Please reduce the length of the messages.", "type": "invalid_request_error",
                               "param": "messages", "code": "context_length_exceeded"}}
    if style in ("vllm", "vllm_v1", "sglang"):
        message = {
            "vllm": f"This model's maximum context length is {window} tokens. However, you requested {prompt} tokens "
                    f"({prompt} in the messages, 0 in the completion). Please reduce the length of the messages or "
                    "completion.",
            "vllm_v1": f"The decoder prompt (length {prompt}) is longer than the maximum model length of {window}. "
                       "Make sure that `max_model_len` is no smaller than the number of text tokens.",
            "sglang": f"The input ({prompt} tokens) is longer than the model's context length ({window} tokens).",
        }[style]
        return 400, {"object": "error", "message": message, "type": "BadRequestError", "param": None, "code": 400}
    if style == "llamacpp":
        return 400, {"error": {"code": 400, "message": f"request ({prompt} tokens) exceeds the available context size "
                               f"({window} tokens), try increasing it", "type": "exceed_context_size_error",
                               "n_prompt_tokens": prompt, "n_ctx": window}}
    if style == "llamacpp_old":
        return 400, {"error": {"code": 400, "message": "the request exceeds the available context size, try "
                               "increasing it", "type": "invalid_request_error"}}
    raise ValueError(f"unknown overflow style {style!r}: one of {', '.join(OVERFLOW_STYLES)}")


def overflow(style: str = "vllm", window: int = 8192, prompt: int = 9000, how: str = "status",
             role_chunk: bool = False) -> Step:
    """A context-length overflow in a server's wording, delivered `how` to a streamed request: "status" (an
    HTTP error), "stream_error" (a `data: {"error": …}` event), "error_line" (an `error: {…}` line, as
    llama.cpp streams) or "empty" (an event stream that ends with no chunks and says nothing, as
    llama-cpp-python's server does). A request without streaming always gets the HTTP error."""
    status, body = overflow_error(style, window, prompt)
    inner = body.get("error") if isinstance(body.get("error"), dict) else {k: v for k, v in body.items() if k != "object"}
    streamed = {"status": {}, "stream_error": {"stream_error": inner}, "error_line": {"error_line": inner},
                "empty": {"empty_stream": True}}
    if how not in streamed:
        raise ValueError(f"unknown overflow delivery {how!r}: one of {', '.join(OVERFLOW_HOWS)}")
    # a request without streaming gets the HTTP error, as these servers answer one
    return {"status": status, "error_body": body, **streamed[how], "role_chunk": role_chunk}


def cut(step: Step, after: int = 3, mode: str = "abort") -> Step:
    """`step`, but the stream is cut after `after` SSE events (abort: socket closed mid-body; eof: clean end)."""
    return {**step, "cut_after": after, "cut_mode": mode}


def slow(step: Step, delay_s: float) -> Step:
    """`step`, answered only after `delay_s` seconds of silence."""
    return {**step, "delay_s": delay_s}


def malformed_call(name: str = "bash", raw: str = '{"command": "ls -la", ') -> dict:
    """A tool call whose arguments are not valid JSON."""
    return call(name, raw)


# -- the server ------------------------------------------------------------------------------------------
class FakeLLMServer:
    """The scripted server; use as a context manager or call start()/stop()."""

    def __init__(self, script: Script, *, strict_thinking: bool = False, model: str = "MiniMax-M2",
                 api_key: str | None = None, host: str = "127.0.0.1", port: int = 0, loop: bool = False,
                 reject_stream_options: bool = False, auth_status: int = 401, context_window: int | None = None,
                 overflow_style: str = "vllm", overflow_how: str = "status", max_model_len: int | None = None,
                 llamacpp_n_ctx: int | None = None, llamacpp_n_ctx_train: int | None = None,
                 served_models: list[str] | None = None, owned_by: str | None = None) -> None:
        self.script = script
        self.auth_status = auth_status                # 401 or 403 for a wrong key
        self.context_window = context_window          # answer longer prompts with an overflow
        self.overflow_style, self.overflow_how = overflow_style, overflow_how
        self.overflows = 0                            # chat requests answered with that overflow
        self.max_model_len = max_model_len            # vLLM/SGLang: stated in /v1/models
        self.llamacpp_n_ctx, self.llamacpp_n_ctx_train = llamacpp_n_ctx, llamacpp_n_ctx_train
        llamacpp = llamacpp_n_ctx is not None or llamacpp_n_ctx_train is not None
        self.owned_by = owned_by or ("llamacpp" if llamacpp else "vllm")
        self.served_models = served_models            # ids listed by /v1/models (default: [model])
        self.outage_mode: str | None = None           # None: up; else how the endpoint is down
        self.outage_retry_after: float | None = None
        self._host = host
        self._restored = threading.Event()
        self.reject_stream_options = reject_stream_options   # act like an old server without stream_options
        self.strict_thinking = strict_thinking
        self.model = model
        self.api_key = api_key
        self.loop = loop
        self.requests: list[dict] = []          # every request: {"path", "method", "headers", "json", "time"}
        self.chat_requests: list[dict] = []     # request bodies of chat completions, in order
        self.emitted: list[dict] = []           # turns sent in full: {"call", "format", "thinking", "content", "tool_ids"}
        self.thinking_problems: list[str] = []  # earlier thinking that came back wrong or not at all
        self.thinking_checked = 0               # earlier turns with thinking found and checked in requests
        self.markup_problems: list[str] = []    # earlier tool-call markup that came back changed, twice or not at all
        self.markup_checked = 0                 # earlier turns with markup found and checked in requests
        self._lock = threading.Lock()
        self._httpd = _QuietServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

        self._port = self._httpd.server_address[1]

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._port

    @property
    def base_url(self) -> str:
        """The OPENAI_BASE_URL for clients."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def calls(self) -> int:
        """Chat completion requests received so far."""
        return len(self.chat_requests)

    def start(self) -> FakeLLMServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._restored.set()                    # release handlers held by a "hang" outage
        self._stop_listening()

    def _stop_listening(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    # -- outages ---------------------------------------------------------------------------------------
    def outage(self, mode: str = "503", retry_after: float | None = None) -> None:
        """Take the endpoint down now: "503" (or another status), "reset", "hang" or "refuse" (see the module doc)."""
        if mode not in ("reset", "hang", "refuse") and not mode.isdigit():
            raise ValueError(f"unknown outage mode {mode!r}: a status like 503, reset, hang or refuse")
        self._restored.clear()
        self.outage_mode, self.outage_retry_after = mode, retry_after
        if mode == "refuse":
            self._stop_listening()

    def restore(self) -> None:
        """Bring the endpoint back, on the same port."""
        was, self.outage_mode = self.outage_mode, None
        self._restored.set()
        if was == "refuse":
            self._httpd = _QuietServer((self._host, self._port), _make_handler(self))
            self.start()

    def outage_for(self, seconds: float, mode: str = "503", retry_after: float | None = None) -> threading.Timer:
        """Take the endpoint down now and bring it back after `seconds` (from a timer thread)."""
        self.outage(mode, retry_after)
        timer = threading.Timer(seconds, self.restore)
        timer.daemon = True
        timer.start()
        return timer

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def assert_thinking_returned(self, min_checked: int = 1) -> None:
        """Fail unless earlier thinking came back correctly, at least `min_checked` times, and never wrong."""
        assert not self.thinking_problems, "thinking not returned as given:\n" + "\n".join(self.thinking_problems)
        assert self.thinking_checked >= min_checked, (
            f"only {self.thinking_checked} earlier turn(s) with thinking came back (wanted {min_checked})")

    def assert_markup_returned(self, min_checked: int = 1) -> None:
        """Fail unless earlier tool-call markup came back verbatim, at least `min_checked` times, and never wrong."""
        assert not self.markup_problems, "markup not returned as given:\n" + "\n".join(self.markup_problems)
        assert self.markup_checked >= min_checked, (
            f"only {self.markup_checked} earlier turn(s) with markup came back (wanted {min_checked})")

    # -- script ------------------------------------------------------------------------------------
    def next_step(self, body: dict) -> tuple[int, Step | None]:
        """Record a chat request and pick its step (None when the script is exhausted)."""
        with self._lock:
            index = len(self.chat_requests)
            self.chat_requests.append(body)
        if callable(self.script):
            return index, self.script(body, index)
        if index < len(self.script):
            return index, self.script[index]
        if self.loop and self.script:
            return index, self.script[index % len(self.script)]
        return index, None

    # -- thinking round trip ---------------------------------------------------------------------------
    def check_thinking(self, body: dict) -> list[str]:
        """Problems with the thinking of earlier emitted turns found in this request's messages."""
        problems = []
        with self._lock:
            emitted = list(self.emitted)
        for pos, msg in enumerate(body.get("messages") or []):
            if not isinstance(msg, dict) or msg.get("role") != "assistant":
                continue
            turn = _match_turn(msg, emitted)
            if turn is not None and turn.get("markup") and not turn["thinking"]:
                self._check_markup(pos, msg, turn)
            if turn is None or not turn["thinking"]:
                continue
            if turn.get("markup"):
                self._check_markup(pos, msg, turn)
            problem = _thinking_problem(msg, turn)
            with self._lock:
                self.thinking_checked += 1
            if problem:
                problems.append(f"messages[{pos}] (turn of call {turn['call']}, {turn['format']}): {problem}")
        if problems:
            with self._lock:
                self.thinking_problems.extend(problems)
        return problems

    def _check_markup(self, pos: int, msg: dict, turn: dict) -> None:
        content = msg.get("content") if isinstance(msg.get("content"), str) else ""
        problem = None
        if turn["markup"] not in content:
            problem = "the tool-call markup is not in the content as sent"
        elif msg.get("tool_calls"):
            problem = "the markup's calls are repeated in tool_calls (the template would render them twice)"
        with self._lock:
            self.markup_checked += 1
            if problem:
                self.markup_problems.append(f"messages[{pos}] (turn of call {turn['call']}): {problem}")

    def record_emitted(self, index: int, step: Step, tool_ids: list[str]) -> None:
        """Remember a turn sent in full, to check its thinking (and tool-call markup) in later requests."""
        markup = _markup_text(step)
        content = step.get("content") or ""
        with self._lock:
            self.emitted.append({"call": index, "format": step.get("thinking_format") or "think_tags",
                                 "thinking": step.get("thinking") or "",
                                 "content": _join(content, markup) if markup else content,
                                 "tool_ids": tool_ids, "markup": markup})


class _QuietServer(ThreadingHTTPServer):
    """Does not print tracebacks for clients that hang up (timeouts and cuts are part of the tests)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError | OSError):
            return
        super().handle_error(request, client_address)


def _visible(content: Any) -> str:
    if not isinstance(content, str):
        return ""
    if "</think>" in content:
        content = content.rsplit("</think>", 1)[1]
    return content.strip()


def _match_turn(msg: dict, emitted: list[dict]) -> dict | None:
    ids = [tc.get("id") for tc in msg.get("tool_calls") or [] if isinstance(tc, dict)]
    for turn in reversed(emitted):
        if ids and turn["tool_ids"] and set(ids) & set(turn["tool_ids"]):
            return turn
    if ids:
        return None
    visible = _visible(msg.get("content"))
    if not visible:
        return None                            # too little to tell which turn it was
    for turn in reversed(emitted):
        if not turn["tool_ids"] and visible == turn["content"].strip():
            return turn
    return None


def _thinking_problem(msg: dict, turn: dict) -> str | None:
    fmt, thinking = turn["format"], turn["thinking"]
    if fmt in ("think_tags", "think_tags_open"):
        content = msg.get("content") if isinstance(msg.get("content"), str) else ""
        if "</think>" not in content:
            return "content has no </think> block"
        inner = content.split("</think>", 1)[0].split("<think>")[-1]
        if inner.strip() != thinking.strip():
            return f"thinking inside <think> differs: {inner.strip()[:80]!r} != {thinking.strip()[:80]!r}"
        if fmt == "think_tags" and "<think>" not in content:
            return "opening <think> tag dropped"
        return None
    if fmt in ("reasoning_content", "reasoning"):
        got = msg.get(fmt)
        if got != thinking:
            return f"field {fmt} is {str(got)[:80]!r}, expected the thinking sent"
        return None
    if fmt == "reasoning_details":
        details = msg.get("reasoning_details")
        if not isinstance(details, list):
            return "reasoning_details missing"
        got = "".join(d.get("text", "") for d in details if isinstance(d, dict))
        if got != thinking:
            return f"reasoning_details text differs: {got[:80]!r}"
        return None
    return None


# -- wire format -------------------------------------------------------------------------------------
def _pieces(s: str, n: int) -> list[str]:
    n = max(int(n), 1)
    return [s[i:i + n] for i in range(0, len(s), n)]


def _tool_ids(index: int, step: Step) -> list[str]:
    if _xml(step):
        return []
    return [tc.get("id") or f"call_{index}_{i}_{uuid.uuid4().hex[:8]}" for i, tc in enumerate(step.get("tool_calls") or [])]


def _args_text(tc: dict) -> str:
    a = tc.get("arguments", {})
    return a if isinstance(a, str) else json.dumps(a)


def _markup_text(step: Step) -> str:
    if not _xml(step):
        return ""
    return minimax_markup(step.get("tool_calls") or []) + (step.get("markup") or "")


def _join(content: str, markup: str) -> str:
    return f"{content}\n{markup}" if content and markup else content + markup


def _native_calls(step: Step) -> list[dict]:
    return [] if _xml(step) else list(step.get("tool_calls") or [])


def _finish(step: Step) -> str:
    return step.get("finish_reason") or ("tool_calls" if _native_calls(step) else "stop")


def _content_text(step: Step) -> str:
    content, thinking, fmt = step.get("content") or "", step.get("thinking"), step.get("thinking_format")
    content = _join(content, _markup_text(step))
    if thinking is None or fmt not in (None, "think_tags", "think_tags_open"):
        return content
    if fmt == "think_tags_open":
        return f"{thinking}\n</think>\n\n{content}"
    return f"<think>\n{thinking}\n</think>\n\n{content}"


def _usage(step: Step, body: dict) -> dict:
    u = step.get("usage")
    if isinstance(u, dict):
        p, c = int(u.get("prompt_tokens", 0)), int(u.get("completion_tokens", 0))
    else:
        p = len(json.dumps(body.get("messages", []))) // 4 + 1
        out = _content_text(step) + (step.get("thinking") or "") + "".join(
            _args_text(tc) for tc in _native_calls(step))
        c = len(out) // 4 + 1
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def sse_events(step: Step, body: dict, model: str, tool_ids: list[str]) -> list[dict]:
    """The chat.completion.chunk objects of a streamed answer, as vLLM sends them."""
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:16]}", int(time.time())
    n = step.get("chunk_chars", 7)

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    events = [chunk({"role": "assistant", "content": ""})]
    thinking, fmt = step.get("thinking"), step.get("thinking_format")
    if thinking is not None and fmt in ("reasoning_content", "reasoning"):
        events += [chunk({fmt: p}) for p in _pieces(thinking, n)]
    elif thinking is not None and fmt == "reasoning_details":
        acc = ""
        for p in _pieces(thinking, n):
            acc += p
            sent = p if step.get("details_incremental") else acc
            events.append(chunk({"reasoning_details": [{"type": "reasoning.text", "id": "reasoning-text-1",
                                                        "format": "MiniMax-response-v1", "index": 0, "text": sent}]}))
    events += [chunk({"content": p}) for p in _pieces(_content_text(step), n)]
    calls = _native_calls(step)
    if step.get("whole_tool_calls"):           # Ollama style: each call whole in one chunk, all at index 0
        events += [chunk({"tool_calls": [{"index": 0, "id": tool_ids[i], "type": "function",
                                          "function": {"name": tc["name"], "arguments": _args_text(tc)}}]})
                   for i, tc in enumerate(calls)]
        calls_streamed: list = []
    else:
        calls_streamed = calls
    heads = [chunk({"tool_calls": [{"index": i, "id": tool_ids[i], "type": "function",
                                    "function": {"name": tc["name"], "arguments": ""}}]})
             for i, tc in enumerate(calls_streamed)]
    bodies = [[chunk({"tool_calls": [{"index": i, "function": {"arguments": p}}]}) for p in _pieces(_args_text(tc), n)]
              for i, tc in enumerate(calls_streamed)]
    if step.get("interleave_tools"):
        events += heads
        for row in range(max((len(b) for b in bodies), default=0)):
            events += [b[row] for b in bodies if row < len(b)]
    else:
        for head, parts in zip(heads, bodies, strict=True):
            events += [head, *parts]
    events.append(chunk({}, _finish(step)))
    if step.get("usage_in_final_chunk"):       # as MiniMax's API does, with or without include_usage
        events[-1]["usage"] = _usage(step, body)
        return events
    want_usage = (body.get("stream_options") or {}).get("include_usage")
    if want_usage and step.get("usage", True) is not False:
        events.append({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                       "choices": [], "usage": _usage(step, body)})
    return events


def full_response(step: Step, body: dict, model: str, tool_ids: list[str]) -> dict:
    """The chat.completion object of a non-streamed answer."""
    msg: dict[str, Any] = {"role": "assistant", "content": _content_text(step)}
    thinking, fmt = step.get("thinking"), step.get("thinking_format")
    if thinking is not None and fmt in ("reasoning_content", "reasoning"):
        msg[fmt] = thinking
    elif thinking is not None and fmt == "reasoning_details":
        msg["reasoning_details"] = [{"type": "reasoning.text", "id": "reasoning-text-1",
                                     "format": "MiniMax-response-v1", "index": 0, "text": thinking}]
    calls = _native_calls(step)
    if calls:
        msg["tool_calls"] = [{"id": tool_ids[i], "type": "function",
                              "function": {"name": tc["name"], "arguments": _args_text(tc)}} for i, tc in enumerate(calls)]
    out = {"id": f"chatcmpl-{uuid.uuid4().hex[:16]}", "object": "chat.completion", "created": int(time.time()),
           "model": model, "choices": [{"index": 0, "message": msg, "logprobs": None,
                                        "finish_reason": _finish(step)}]}
    if step.get("usage", True) is not False:
        out["usage"] = _usage(step, body)
    return out


def _make_handler(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

        def _record(self, body: Any) -> None:
            with server._lock:
                server.requests.append({"path": self.path, "method": self.command, "headers": dict(self.headers),
                                        "json": body, "time": time.time()})

        def _json(self, status: int, obj: dict, headers: dict | None = None) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, headers: dict | None = None) -> None:
            self._json(status, {"error": {"message": message, "type": "fake_error", "code": status}}, headers)

        def _authorized(self) -> bool:
            if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                self._error(server.auth_status, "invalid api key" if server.auth_status == 401 else "forbidden")
                return False
            return True

        def _down(self) -> bool:
            """Answer as the outage says; False when the endpoint is up."""
            mode = server.outage_mode
            if mode is None:
                return False
            if mode == "hang":
                server._restored.wait()
                self.close_connection = True
                return True
            if mode in ("reset", "refuse"):
                self._abort()
                return True
            headers = {"Retry-After": str(server.outage_retry_after)} if server.outage_retry_after is not None else {}
            self._error(int(mode), "the fake server is down (outage)", headers)
            return True

        def do_GET(self) -> None:  # noqa: N802
            self._record(None)
            if self._down() or not self._authorized():
                return
            path = self.path.rstrip("/")
            if path in ("/v1/models", "/models"):
                self._json(200, {"object": "list", "data": [self._model_entry(m) for m in
                                                            server.served_models or [server.model]]})
            elif path == "/props" and server.llamacpp_n_ctx is not None:
                self._json(200, {"default_generation_settings": {"n_ctx": server.llamacpp_n_ctx},
                                 "total_slots": 1, "model_path": f"/models/{server.model}.gguf"})
            else:
                self._error(404, f"no route {self.path}")

        def _model_entry(self, model_id: str) -> dict:
            entry: dict[str, Any] = {"id": model_id, "object": "model", "created": 0, "owned_by": server.owned_by}
            if server.max_model_len is not None:
                entry.update(root=model_id, parent=None, max_model_len=server.max_model_len)
            if server.llamacpp_n_ctx_train is not None:
                entry["meta"] = {"vocab_type": 2, "n_vocab": 49152, "n_ctx_train": server.llamacpp_n_ctx_train}
            return entry

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._record(None)
                self._error(400, "request body is not JSON")
                return
            self._record(body)
            if self._down() or not self._authorized():
                return
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._error(404, f"no route {self.path}")
                return
            if server.reject_stream_options and "stream_options" in body:
                self._error(400, "stream_options is not supported by this server")
                return
            prompt = len(json.dumps(body.get("messages", []))) // 4 + 1
            if server.context_window is not None and prompt > server.context_window:
                with server._lock:
                    server.overflows += 1
                    server.chat_requests.append(body)
                step = overflow(server.overflow_style, server.context_window, prompt, server.overflow_how)
                self._answer(len(server.chat_requests) - 1, step, body)
                return
            index, step = server.next_step(body)
            problems = server.check_thinking(body)
            if problems and server.strict_thinking:
                self._error(400, "earlier thinking not returned as given: " + "; ".join(problems))
                return
            if step is None:
                self._error(400, f"fake server script exhausted after {len(server.chat_requests) - 1} call(s)")
                return
            try:
                self._answer(index, step, body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _answer(self, index: int, step: Step, body: dict) -> None:
            if step.get("delay_s"):
                time.sleep(float(step["delay_s"]))
            if body.get("stream") and any(step.get(k) for k in STREAM_FAILURES):
                self._failed_stream(step, body)
                return
            if step.get("status"):
                headers = {}
                if step.get("retry_after") is not None:
                    headers["Retry-After"] = str(step["retry_after"])
                if step.get("error_body") is not None:
                    self._json(int(step["status"]), step["error_body"], headers)
                else:
                    self._error(int(step["status"]), step.get("error") or "error", headers)
                return
            ids = _tool_ids(index, step)
            if not body.get("stream"):
                if step.get("cut_after") is not None:
                    self._abort()
                    return
                self._json(200, full_response(step, body, body.get("model") or server.model, ids))
                server.record_emitted(index, step, ids)
                return
            events = sse_events(step, body, body.get("model") or server.model, ids)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            cut_after = step.get("cut_after")
            for i, ev in enumerate([*events, None]):
                if cut_after is not None and i >= cut_after:     # past the last event: cut before [DONE]
                    if step.get("cut_mode", "abort") == "abort":
                        self._abort()
                    else:
                        self._write_chunk(b"")
                        self.close_connection = True
                    return
                if ev is None:
                    break
                self._write_chunk(f"data: {json.dumps(ev)}\n\n".encode())
                if step.get("chunk_delay_s"):
                    time.sleep(float(step["chunk_delay_s"]))
            self._write_chunk(b"data: [DONE]\n\n")
            self._write_chunk(b"")
            server.record_emitted(index, step, ids)

        def _failed_stream(self, step: Step, body: dict) -> None:
            """A 200 event stream that fails: an error event, an `error:` line, or nothing at all."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if step.get("role_chunk"):
                first = sse_events({"content": ""}, body, body.get("model") or server.model, [])[0]
                self._write_chunk(f"data: {json.dumps(first)}\n\n".encode())
            if step.get("stream_error") or step.get("error_chunk"):
                event = {"error": step["stream_error"]} if step.get("stream_error") else step["error_chunk"]
                self._write_chunk(f"data: {json.dumps(event)}\n\n".encode())
                self._write_chunk(b"data: [DONE]\n\n")
            elif step.get("error_line"):
                self._write_chunk(f"error: {json.dumps(step['error_line'])}\n\n".encode())
            self._write_chunk(b"")
            self.close_connection = True

        def _write_chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _abort(self) -> None:
            """Close the socket mid-body: the client sees a connection dropped mid-way."""
            self.wfile.flush()
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.close_connection = True

    return Handler


def load_script(path: str) -> tuple[list[Step], bool]:
    """Steps (and the loop flag) from a JSON file: a list of steps or {"steps": [...], "loop": bool}."""
    with open(path) as f:
        data = json.load(f)
    if isinstance(data, dict):
        return list(data.get("steps") or []), bool(data.get("loop"))
    if not isinstance(data, list):
        raise SystemExit(f"{path}: a script is a JSON list of steps or {{\"steps\": [...]}}")
    return data, False


def main(argv: list[str] | None = None) -> int:
    """Serve a script from the command line until interrupted."""
    ap = argparse.ArgumentParser(prog="python -m tests.fake_llm_server", description=__doc__.split("\n\n")[0])
    ap.add_argument("--script", required=True, help="JSON file: a list of steps, or {\"steps\": [...], \"loop\": true}")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    ap.add_argument("--model", default="MiniMax-M2")
    ap.add_argument("--strict-thinking", action="store_true", help="answer 400 when earlier thinking is not returned")
    ap.add_argument("--loop", action="store_true", help="start the script over when it runs out")
    ap.add_argument("--context-window", type=int, help="answer longer prompts with a context-length overflow")
    ap.add_argument("--overflow-style", default="vllm", choices=OVERFLOW_STYLES, help="whose wording the overflow has")
    ap.add_argument("--max-model-len", type=int, help="state this window in /v1/models (as vLLM and SGLang do)")
    args = ap.parse_args(argv)
    steps, loop = load_script(args.script)
    server = FakeLLMServer(steps, strict_thinking=args.strict_thinking, model=args.model, port=args.port,
                           loop=loop or args.loop, context_window=args.context_window,
                           overflow_style=args.overflow_style, max_model_len=args.max_model_len)
    print(f"fake OpenAI-compatible server: OPENAI_BASE_URL={server.base_url} ({len(steps)} step(s))", flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()
        if server.thinking_problems:
            print("thinking problems:\n" + "\n".join(server.thinking_problems), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
