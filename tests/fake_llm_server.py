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
    cut_after: int, cut_mode: "abort" | "eof"     close the stream after that many SSE events
                                         (a number past the last event cuts just before [DONE])
    delay_s: float                       wait before the first byte (timeout tests)
    chunk_chars: int                     characters of text per SSE event (default 7)

Helpers below build the common steps. The server records every request and checks that the thinking of
the turns it emitted comes back, in the same form, when those turns reappear in later requests; with
`strict_thinking=True` it answers 400 when it does not. It also checks that tool-call markup it sent in
content comes back verbatim, and only once (not a second time as `tool_calls`).

Command line: python -m tests.fake_llm_server --script FILE.json [--port N] [--strict-thinking]
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
                 reject_stream_options: bool = False) -> None:
        self.script = script
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

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._httpd.server_address[1]

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
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

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
                self._error(401, "invalid api key")
                return False
            return True

        def do_GET(self) -> None:  # noqa: N802
            self._record(None)
            if not self._authorized():
                return
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._json(200, {"object": "list", "data": [{"id": server.model, "object": "model",
                                                             "created": 0, "owned_by": "fake"}]})
            else:
                self._error(404, f"no route {self.path}")

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
            if not self._authorized():
                return
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._error(404, f"no route {self.path}")
                return
            if server.reject_stream_options and "stream_options" in body:
                self._error(400, "stream_options is not supported by this server")
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
            if step.get("status"):
                headers = {}
                if step.get("retry_after") is not None:
                    headers["Retry-After"] = str(step["retry_after"])
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
    args = ap.parse_args(argv)
    steps, loop = load_script(args.script)
    server = FakeLLMServer(steps, strict_thinking=args.strict_thinking, model=args.model, port=args.port,
                           loop=loop or args.loop)
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
