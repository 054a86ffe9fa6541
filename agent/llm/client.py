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
from agent.llm.pricing import turn_cost
from agent.llm.retry import StreamCut, backoff_delay, classify
from agent.llm.stream import DeltaFn, TurnBuilder
from agent.llm.types import AssistantTurn, BudgetExceeded, LLMError

log = logging.getLogger("evoforge.llm")


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
        self._openai = openai.OpenAI(
            base_url=cfg.base_url, api_key=cfg.api_key or "EMPTY", max_retries=0,
            timeout=httpx.Timeout(cfg.read_timeout_s, connect=cfg.connect_timeout_s),
            default_headers=cfg.extra_headers or None,
        )

    @property
    def endpoint(self) -> str:
        """The base URL requests go to."""
        return str(self._openai.base_url)

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

        Extra keyword params go to the request (e.g. max_tokens=...). Raises LLMError on a permanent
        error or when transient ones outlast cfg.max_retries; BudgetExceeded past the client's caps.
        """
        self._check_budget()
        t0 = time.monotonic()
        causes: list[str] = []
        attempt = 0
        while True:
            try:
                turn = self._attempt(messages, tools, on_delta, params)
                break
            except Exception as exc:  # noqa: BLE001 - every failure is classified below
                retryable, cause, status, retry_after = classify(exc)
                causes.append(cause)
                if status == 400 and "stream_options" in cause and self._stream_usage:
                    log.warning("the endpoint rejects stream_options; asking again without it (usage estimated)")
                    self._stream_usage = False
                    continue
                if not retryable and not isinstance(exc, openai.OpenAIError):
                    raise                      # a bug here, not the endpoint's doing
                if not retryable:
                    raise LLMError(f"model endpoint {self.endpoint} refused the request ({self.cfg.model}): {cause}"
                                   f"{_HINTS.get(status, '')}", cause=cause, status_code=status,
                                   attempts=attempt + 1) from exc
                if attempt >= self.cfg.max_retries:
                    raise LLMError(
                        f"model endpoint {self.endpoint} failed {attempt + 1} time(s) in a row; last cause: {cause}",
                        cause=cause, status_code=status, attempts=attempt + 1, retryable=True) from exc
                attempt += 1
                delay = backoff_delay(attempt, self.cfg.backoff_base_s, self.cfg.backoff_max_s, self.rng)
                if retry_after is not None:
                    delay = min(retry_after, self.cfg.retry_after_max_s)
                log.warning("model call failed (%s); retry %d/%d in %.2fs", cause, attempt, self.cfg.max_retries, delay)
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
    def _request(self, messages: list[dict], tools: list[dict] | None, params: dict) -> dict[str, Any]:
        cfg = self.cfg
        req: dict[str, Any] = {"model": cfg.model, "messages": messages, "stream": cfg.stream}
        if tools:
            req["tools"] = tools
        if cfg.stream and self._stream_usage:
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

    def _attempt(self, messages: list[dict], tools: list[dict] | None, on_delta: DeltaFn | None,
                 params: dict) -> AssistantTurn:
        req = self._request(messages, tools, params)
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
                raise StreamCut(f"the connection dropped after {builder.chunks} chunk(s): {reason}") from exc
            log.warning("stream dropped after its finish_reason (%s); keeping the turn", reason)
        finally:
            stream.close()
        if builder.finish_reason is None:
            raise StreamCut(f"the stream ended after {builder.chunks} chunk(s) without a finish_reason")
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
