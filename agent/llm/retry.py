"""What a failed call was (overflow, unusable endpoint, transient fault, refusal) and how long to wait before a retry."""

from __future__ import annotations

import email.utils
import json
import random
import time
from dataclasses import dataclass

import httpx
import openai

from agent.llm.overflow import Overflow, find_overflow

RETRY_STATUS = {408, 409, 425, 429}
UNUSABLE_STATUS = {401, 403, 404}
FAULT_KINDS = ("overflow", "unusable", "transient", "silent", "refused", "bug")


class StreamCut(Exception):
    """A stream that ended without a finish_reason or [DONE]: the connection was cut mid-way."""


class SilentStream(Exception):
    """A stream that ended cleanly with no chunks and no reason: the server refused without saying why."""


class StreamError(Exception):
    """The server reported an error inside the stream (an error chunk, or an `error:` line); `body` as sent."""

    def __init__(self, message: str, body: dict | None = None) -> None:
        super().__init__(message)
        self.body = body

    @classmethod
    def from_text(cls, text: str) -> StreamError:
        """From the JSON (or plain) text a server wrote; its `message` field, where it has one, is the message."""
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        body = body.get("error", body) if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) and isinstance(body.get("message"), str) else text
        return cls(message[:500], body if isinstance(body, dict) else None)


@dataclass
class Fault:
    """One failed attempt, classified: `kind` is one of FAULT_KINDS."""

    kind: str
    cause: str
    status: int | None = None
    retry_after_s: float | None = None
    overflow: Overflow | None = None


def backoff_delay(attempt: int, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Full-jitter delay before retry number `attempt` (1-based): uniform in [0, min(max, base * 2**(attempt-1))]."""
    cap = min(max_s, base_s * (2 ** max(attempt - 1, 0)))
    return (rng or random).uniform(0.0, cap)


def retry_after_s(headers: httpx.Headers | dict | None) -> float | None:
    """Seconds asked for by a Retry-After / retry-after-ms header, or None."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def classify(exc: BaseException) -> Fault:
    """What a failed attempt was: an overflow, an unusable endpoint, a transient fault, a refusal, or our bug."""
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        msg = _status_message(exc)
        cause = f"HTTP {status}: {msg}"
        text = f"{msg} {_body_text(exc.body)}"
        over = find_overflow(text, status) if status not in (401, 403, 429) else None
        if over is not None:
            return Fault("overflow", cause, status, overflow=over)
        if status in UNUSABLE_STATUS or "model_not_found" in text:
            return Fault("unusable", cause, status)
        if status in RETRY_STATUS or status >= 500:
            return Fault("transient", cause, status, retry_after_s(exc.response.headers))
        return Fault("refused", cause, status)
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return Fault("transient", f"timeout: {exc.__class__.__name__}")
    if isinstance(exc, openai.APIConnectionError):
        return Fault("transient", f"connection error: {exc.__cause__ or exc}")
    if isinstance(exc, StreamCut):
        return Fault("transient", f"stream cut: {exc}")
    if isinstance(exc, SilentStream):
        return Fault("silent", f"empty stream: {exc}")
    if isinstance(exc, httpx.HTTPError):       # raised while reading a stream: peer closed, reset, ...
        return Fault("transient", f"stream cut: {exc.__class__.__name__}: {exc}")
    if isinstance(exc, openai.APIError | StreamError):   # an error reported inside the stream
        message = exc.message if isinstance(exc, openai.APIError) else str(exc)
        body = exc.body
        over = find_overflow(f"{message} {_body_text(body)}")
        cause = f"stream error: {message}"
        code = body.get("code") if isinstance(body, dict) else None
        if over is not None:
            return Fault("overflow", cause, overflow=over)
        if isinstance(code, int) and code in UNUSABLE_STATUS:
            return Fault("unusable", cause, code)
        if isinstance(code, int) and 400 <= code < 500 and code not in RETRY_STATUS:
            return Fault("refused", cause, code)        # the server's own status for it: a bad request
        return Fault("transient", cause, code if isinstance(code, int) else None)
    if isinstance(exc, ConnectionError | OSError):
        return Fault("transient", f"connection error: {exc}")
    return Fault("bug", f"{exc.__class__.__name__}: {exc}")


def _body_text(body: object) -> str:
    if body is None:
        return ""
    try:
        return json.dumps(body, default=str)[:4000]
    except (TypeError, ValueError):
        return str(body)[:4000]


def _status_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:500]
        if isinstance(err, str):
            return err[:500]
        if body.get("detail"):                 # FastAPI servers (llama-cpp-python): {"detail": "..."}
            return str(body["detail"])[:500]
    return str(exc.message)[:500]
