"""The `openai` client the model client and the preflight check share, with a tap for `error:` stream lines.

Some servers (llama.cpp's) report a failure inside an event stream as an `error: {...}` line, a field the
SSE standard and the `openai` client ignore: the client then sees a stream that ends with no chunks. The
tap keeps such lines so the model client can read what the server said (a context overflow, usually).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai

from agent.llm.config import LLMConfig

ERROR_FIELD = b"error:"


class ErrorLines:
    """`error:` lines seen in the event streams of one client, newest last (cleared before each request)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def clear(self) -> None:
        """Forget what earlier streams said."""
        self.lines.clear()



class _TappedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, seen: ErrorLines) -> None:
        self.inner, self.seen, self.tail = inner, seen, b""

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            self._scan(chunk)
            yield chunk
        self._scan(b"\n")

    def _scan(self, chunk: bytes) -> None:
        *lines, self.tail = (self.tail + chunk).split(b"\n")
        self.tail = self.tail[-65536:]
        for line in lines:
            if line.startswith(ERROR_FIELD):
                self.seen.lines.append(line[len(ERROR_FIELD):].strip().decode("utf-8", "replace")[:4000])

    def close(self) -> None:
        self.inner.close()


class _TapTransport(httpx.BaseTransport):
    def __init__(self, seen: ErrorLines) -> None:
        self.inner, self.seen = httpx.HTTPTransport(), seen

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if "text/event-stream" not in response.headers.get("content-type", ""):
            return response
        return httpx.Response(response.status_code, headers=response.headers, request=request,
                              stream=_TappedStream(response.stream, self.seen), extensions=response.extensions)

    def close(self) -> None:
        self.inner.close()


def make_openai(cfg: LLMConfig, seen: ErrorLines | None = None, read_timeout_s: float | None = None) -> openai.OpenAI:
    """An `openai.OpenAI` for cfg's endpoint with its own retries off (the model client counts its own)."""
    read = cfg.read_timeout_s if read_timeout_s is None else read_timeout_s
    timeout = httpx.Timeout(read, connect=min(cfg.connect_timeout_s, read))
    http = httpx.Client(transport=_TapTransport(seen or ErrorLines()), timeout=timeout, follow_redirects=True)
    return openai.OpenAI(base_url=cfg.base_url, api_key=cfg.api_key or "EMPTY", max_retries=0, timeout=timeout,
                         default_headers=cfg.extra_headers or None, http_client=http)
