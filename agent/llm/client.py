"""LLMClient: one model turn over any OpenAI-compatible Chat Completions endpoint, with retries."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import openai

from agent.llm.config import LLMConfig
from agent.llm.http import ErrorLines, make_openai
from agent.llm.preflight import EndpointInfo, check_endpoint
from agent.llm.pricing import estimate_prompt_tokens, turn_cost
from agent.llm.retry import Fault, SilentStream, StreamCut, StreamError, backoff_delay, classify
from agent.llm.stream import DeltaFn, TurnBuilder
from agent.llm.types import (
    AssistantTurn,
    BudgetExceeded,
    ContextOverflow,
    EndpointDown,
    EndpointUnusable,
    LLMError,
)

log = logging.getLogger("evoforge.llm")
ENDED = "the stream ended without a finish_reason"
SILENT_PAUSE_S = 0.3


_HINTS = {
    401: " (check OPENAI_API_KEY or api_key in the LLM config)",
    403: " (check OPENAI_API_KEY or api_key in the LLM config)",
    404: " (check the base URL, which usually ends in /v1, and the model name)",
}


@dataclass
class Totals:
    """What the client has spent so far."""

    turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    retries: int = 0


class LLMClient:
    """Streams Chat Completions with tools, keeps thinking in its original form, retries transient faults."""

    def __init__(self, cfg: LLMConfig, *, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.cfg = cfg
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.totals = Totals()
        self._stream_usage = cfg.stream_usage
        self.template_opens_think = False   # learnt: the server's template opens <think> (display only)
        self.server_window: int | None = None   # learnt: the context window the server states
        self.window_source: str | None = None
        cfg.require_endpoint()
        self._error_lines = ErrorLines()
        self._openai = make_openai(cfg, self._error_lines)

    @property
    def endpoint(self) -> str:
        """The base URL requests go to."""
        return str(self._openai.base_url)

    @property
    def context_window(self) -> int | None:
        """The model's context window in tokens: the smaller of the configured and the server's (None if unknown)."""
        known = [w for w in (self.cfg.context_window, self.server_window) if w]
        return min(known) if known else None

    def preflight(self, timeout_s: float = 5.0) -> EndpointInfo:
        """check_endpoint for this client's endpoint (fails fast as it does); learns the server's window."""
        info = check_endpoint(self.cfg, timeout_s)
        if info.context_window:
            self._learn_window(info.context_window, info.window_source or "/v1/models")
        return info

    def _learn_window(self, tokens: int, source: str) -> None:
        if tokens != self.server_window:
            log.info("context window of %s: %d tokens (from %s)", self.cfg.model, tokens, source)
        self.server_window, self.window_source = tokens, source

    def close(self) -> None:
        """Close the HTTP connections."""
        self._openai.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def complete(self, messages: list[dict], tools: list[dict] | None = None,
                 on_delta: DeltaFn | None = None, **params: Any) -> AssistantTurn:
        """One assistant turn for `messages`; `on_delta(kind, text)` sees thinking/content/tool text live.

        Extra keyword params go to the request (e.g. max_tokens=...). Raises, never resending what cannot work:
        ContextOverflow when the request is longer than the context window; EndpointUnusable on a refused key,
        a wrong URL or model; EndpointDown when transient faults (5xx, 429, timeouts, refused connections, cut
        streams) outlast cfg.max_retries or cfg.retry_window_s; LLMError on another refusal; BudgetExceeded
        past the client's caps.
        """
        self._check_budget()
        t0 = time.monotonic()
        causes: list[str] = []
        attempt = 0
        whole = False                          # ask for a whole response instead of a stream (once, see below)
        failing_since: float | None = None     # the retry window counts from the first failure, not generation
        while True:
            try:
                turn = self._attempt(messages, tools, on_delta, params, whole)
                break
            except Exception as exc:  # noqa: BLE001 - every failure is classified below
                fault = classify(exc)
                causes.append(fault.cause)
                if fault.status == 400 and "stream_options" in fault.cause and self._stream_usage:
                    log.warning("the endpoint rejects stream_options; asking again without it (usage estimated)")
                    self._stream_usage = False
                    continue
                if fault.kind == "silent" and not whole:
                    # llama-cpp-python's server ends the stream of a request it rejects (an overflow) with
                    # nothing in it; asked without streaming it answers with its reason and numbers
                    log.warning("the stream ended with no chunks and no reason; asking once without streaming")
                    whole, attempt = True, attempt + 1
                    self.sleep(SILENT_PAUSE_S)  # such a server then closes the connection: let it, not reuse it
                    continue
                if fault.kind == "bug":
                    raise                      # a bug here, not the endpoint's doing
                if fault.kind not in ("transient", "silent"):
                    raise self._permanent(fault, messages, tools, attempt + 1) from exc
                failing_since = failing_since or time.monotonic()
                elapsed = time.monotonic() - failing_since
                delay = backoff_delay(attempt + 1, self.cfg.backoff_base_s, self.cfg.backoff_max_s, self.rng)
                if fault.retry_after_s is not None:
                    delay = min(fault.retry_after_s, self.cfg.retry_after_max_s)
                if attempt >= self.cfg.max_retries or elapsed + delay > self.cfg.retry_window_s:
                    raise EndpointDown(
                        f"model endpoint {self.endpoint} failed {attempt + 1} time(s) in a row over {elapsed:.1f} s "
                        f"(an outage: try again later); last cause: {fault.cause}", cause=fault.cause,
                        status_code=fault.status, attempts=attempt + 1, retry_after_s=fault.retry_after_s) from exc
                attempt += 1
                log.warning("model call failed (%s); retry %d/%d in %.2fs", fault.cause, attempt,
                            self.cfg.max_retries, delay)
                self.sleep(delay)
        turn.retries = attempt
        turn.retry_causes = causes
        turn.latency_s = time.monotonic() - t0
        turn.model = turn.model or self.cfg.model
        turn.cost_usd = turn_cost(turn.usage.prompt_tokens, turn.usage.completion_tokens,
                                  self.cfg.input_price_per_mtok, self.cfg.output_price_per_mtok)
        self._account(turn)
        return turn

    # -- one attempt ---------------------------------------------------------------------------------
    def _request(self, messages: list[dict], tools: list[dict] | None, params: dict,
                 whole: bool = False) -> dict[str, Any]:
        cfg = self.cfg
        stream = cfg.stream and not whole
        req: dict[str, Any] = {"model": cfg.model, "messages": messages, "stream": stream}
        if tools:
            req["tools"] = tools
        if stream and self._stream_usage:
            req["stream_options"] = {"include_usage": True}
        for name in ("temperature", "top_p", "max_tokens"):
            if getattr(cfg, name) is not None:
                req[name] = getattr(cfg, name)
        extra = dict(cfg.extra_body)
        if cfg.use_reasoning_split():
            extra.setdefault("reasoning_split", True)
        if extra:
            req["extra_body"] = extra
        req.update(params)
        return req

    def _permanent(self, fault: Fault, messages: list[dict], tools: list[dict] | None, attempts: int) -> LLMError:
        """The error for a fault retrying cannot fix (an overflow teaches the client the server's window)."""
        where = f"model endpoint {self.endpoint} ({self.cfg.model})"
        if fault.kind == "overflow":
            over = fault.overflow
            if over is not None and over.context_window:
                self._learn_window(over.context_window, "an overflow error")
            prompt = over.prompt_tokens if over is not None and over.prompt_tokens else None
            return ContextOverflow(f"{where} says the request is longer than the context window: {fault.cause}",
                                   cause=fault.cause, status_code=fault.status, attempts=attempts,
                                   context_window=self.context_window,
                                   prompt_tokens=prompt or estimate_prompt_tokens(messages, tools))
        if fault.kind == "unusable":
            return EndpointUnusable(f"{where} refused the request: {fault.cause}{_HINTS.get(fault.status, '')}",
                                    cause=fault.cause, status_code=fault.status, attempts=attempts)
        return LLMError(f"{where} refused the request: {fault.cause}", cause=fault.cause,
                        status_code=fault.status, attempts=attempts)

    def _ended_early(self, builder: TurnBuilder, what: str) -> Exception:
        """What a stream that ended without a finish_reason was: an error the server wrote as an `error:` line,
        a silent refusal (nothing at all, and a clean end), or a cut connection."""
        if self._error_lines.lines:
            return StreamError.from_text(self._error_lines.lines[-1])
        if builder.chunks == 0 and what == ENDED:
            return SilentStream("the stream ended with no chunks and no reason")
        return StreamCut(f"{what} after {builder.chunks} chunk(s)")

    def _attempt(self, messages: list[dict], tools: list[dict] | None, on_delta: DeltaFn | None,
                 params: dict, whole: bool = False) -> AssistantTurn:
        req = self._request(messages, tools, params, whole)
        self._error_lines.clear()
        builder = TurnBuilder(on_delta, think_open=self.template_opens_think, markup_calls=self.cfg.xml_tool_calls)
        if not req.get("stream"):
            resp = self._openai.chat.completions.create(**req)
            builder.model = resp.model or ""
            if resp.usage is not None:
                builder.feed({"choices": [], "usage": resp.usage})
            if not resp.choices:
                raise StreamCut("the response has no choices")
            builder.feed_delta(resp.choices[0].message)
            builder.finish_reason = resp.choices[0].finish_reason or "stop"
            return builder.build(messages, tools)
        stream = self._openai.chat.completions.create(**req)
        try:
            for chunk in stream:
                builder.feed(chunk)
        except (httpx.HTTPError, openai.APIConnectionError) as exc:
            reason = exc.__cause__ or exc
            if builder.finish_reason is None:
                raise self._ended_early(builder, f"the connection dropped ({reason})") from exc
            log.warning("stream dropped after its finish_reason (%s); keeping the turn", reason)
        finally:
            stream.close()
        if builder.finish_reason is None:
            raise self._ended_early(builder, ENDED)
        turn = builder.build(messages, tools)
        if builder.tags.saw_open or builder.tags.saw_close:
            self.template_opens_think = builder.tags.saw_close and not builder.tags.saw_open
        return turn

    # -- accounting ----------------------------------------------------------------------------------
    def _account(self, turn: AssistantTurn) -> None:
        t = self.totals
        t.turns += 1
        t.prompt_tokens += turn.usage.prompt_tokens
        t.completion_tokens += turn.usage.completion_tokens
        t.cost_usd += turn.cost_usd
        t.retries += turn.retries

    def _check_budget(self) -> None:
        cfg, t = self.cfg, self.totals
        if cfg.max_cost_usd is not None and t.cost_usd >= cfg.max_cost_usd:
            raise BudgetExceeded(f"model spend ${t.cost_usd:.4f} reached the limit ${cfg.max_cost_usd:g}",
                                 cause="money budget")
        tokens = t.prompt_tokens + t.completion_tokens
        if cfg.max_total_tokens is not None and tokens >= cfg.max_total_tokens:
            raise BudgetExceeded(f"model tokens {tokens} reached the limit {cfg.max_total_tokens}",
                                 cause="token budget")
