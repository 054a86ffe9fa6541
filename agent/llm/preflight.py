"""Preflight: ask the endpoint what it serves, quickly, before a run depends on it.

`check_endpoint(cfg)` lists `/v1/models` within a few seconds and says what it learnt: the models served,
whether the configured one is among them, and the context window where the server states it (vLLM and
SGLang: `max_model_len`; llama.cpp: `n_ctx` from `/props`, else `meta.n_ctx_train`; others:
`context_length`-style fields). It raises EndpointUnusable where retrying cannot help (no endpoint
configured, a malformed URL, a host name that does not resolve, a refused key, a model the server does not
serve) and EndpointDown where the endpoint is down (nothing listening, a timeout, a 5xx).
"""

from __future__ import annotations

import socket
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from typing import Any

import openai

from agent.llm.config import LLMConfig, check_base_url
from agent.llm.http import make_openai
from agent.llm.retry import classify
from agent.llm.types import EndpointDown, EndpointUnusable

WINDOW_FIELDS = ("max_model_len", "context_length", "context_window", "max_context_length", "n_ctx")
KEY_HINT = "check OPENAI_API_KEY or api_key in the LLM config"
URL_HINT = "check the base URL, which usually ends in /v1"


@dataclass
class EndpointInfo:
    """What the preflight learnt about an endpoint."""

    base_url: str
    model: str
    models: list[str] | None = None           # served models; None when the server does not list them
    model_listed: bool | None = None          # the configured model is among them (None: cannot tell)
    context_window: int | None = None         # tokens, as the server states it (None: it does not say)
    window_source: str | None = None          # where the window came from, e.g. "/v1/models max_model_len"
    owned_by: str | None = None               # the server's `owned_by` (vllm, sglang, llamacpp, ...), a hint of kind
    latency_s: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, for `evoforge doctor --json` and run records."""
        return asdict(self)


def check_endpoint(cfg: LLMConfig, timeout_s: float = 5.0) -> EndpointInfo:
    """List the endpoint's models within `timeout_s`; EndpointUnusable or EndpointDown when it cannot serve cfg.model."""
    url = cfg.require_endpoint()
    check_base_url(url)
    _resolve(url)
    t0 = time.monotonic()
    with make_openai(cfg, read_timeout_s=timeout_s) as client:
        try:
            page = client.models.list()
        except openai.NotFoundError:
            info = EndpointInfo(url, cfg.model, latency_s=time.monotonic() - t0)
            info.warnings.append(f"{url} has no /models route, so the model name could not be checked ({URL_HINT})")
            return info
        except Exception as exc:  # noqa: BLE001 - classified: each kind becomes the error a caller can act on
            raise _failure(url, exc) from exc
        entries = [_fields(m) for m in page.data]
        info = EndpointInfo(url, cfg.model, models=[str(e.get("id")) for e in entries], latency_s=time.monotonic() - t0)
        entry = _pick(entries, cfg.model, info)
        if entry is not None:
            info.owned_by = entry.get("owned_by")
            info.context_window, info.window_source = _window(client, url, entry)
    return info


def _resolve(url: str) -> None:
    """EndpointUnusable when the host name does not exist; EndpointDown when name service is failing for now."""
    parts = urllib.parse.urlsplit(url)
    try:
        socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except UnicodeError as exc:
        raise EndpointUnusable(f"model endpoint host {parts.hostname!r} is not a valid name: {URL_HINT}",
                               cause="host name invalid") from exc
    except socket.gaierror as exc:
        if exc.errno == socket.EAI_AGAIN:
            raise EndpointDown(f"cannot look up model endpoint host {parts.hostname!r} now ({exc.strerror}); "
                               "name service is failing", cause="name lookup failed") from exc
        raise EndpointUnusable(f"model endpoint host {parts.hostname!r} does not resolve ({exc.strerror}): "
                               f"{URL_HINT}", cause="host does not resolve") from exc


def _failure(url: str, exc: Exception) -> Exception:
    fault = classify(exc)
    if fault.kind == "unusable":
        hint = KEY_HINT if fault.status in (401, 403) else URL_HINT
        return EndpointUnusable(f"model endpoint {url} refused the preflight ({fault.cause}): {hint}",
                                cause=fault.cause, status_code=fault.status)
    if fault.kind == "transient":
        return EndpointDown(f"model endpoint {url} does not answer ({fault.cause}): is the server running there?",
                            cause=fault.cause, status_code=fault.status, retry_after_s=fault.retry_after_s)
    if fault.kind == "bug":
        return exc
    return EndpointUnusable(f"model endpoint {url} could not list its models ({fault.cause}): {URL_HINT}",
                            cause=fault.cause, status_code=fault.status)


def _fields(model: Any) -> dict[str, Any]:
    d = model.model_dump() if hasattr(model, "model_dump") else dict(model)
    extra = getattr(model, "model_extra", None) or {}
    return {**d, **extra}


def _pick(entries: list[dict], model: str, info: EndpointInfo) -> dict | None:
    """The served entry for `model`; a lone entry stands in for it (single-model servers answer any name)."""
    for e in entries:
        if e.get("id") == model:
            info.model_listed = True
            return e
    info.model_listed = False
    if len(entries) == 1:
        info.warnings.append(f"{info.base_url} serves only {entries[0].get('id')!r}, not {model!r}: single-model "
                             f"servers (llama.cpp, llama-cpp-python) answer any name; others need --model "
                             f"{entries[0].get('id')}")
        return entries[0]
    served = ", ".join(str(e.get("id")) for e in entries) or "none"
    raise EndpointUnusable(f"model {model!r} is not served at {info.base_url}; it serves: {served} "
                           f"(pass --model NAME or set EVOFORGE_MODEL)", cause="model not served")


def _window(client: openai.OpenAI, url: str, entry: dict) -> tuple[int | None, str | None]:
    """The context window the server states, and where it said so."""
    if entry.get("owned_by") == "llamacpp":     # llama.cpp: the runtime window is in /props, not /v1/models
        n_ctx = _llamacpp_props_window(client, url)
        if n_ctx:
            return n_ctx, "/props n_ctx"
    for name in WINDOW_FIELDS:
        value = _positive_int(entry.get(name))
        if value:
            return value, f"/v1/models {name}"
    meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
    for name in ("n_ctx", "n_ctx_train"):
        value = _positive_int(meta.get(name))
        if value:
            return value, f"/v1/models meta.{name}"
    return None, None


def _llamacpp_props_window(client: openai.OpenAI, url: str) -> int | None:
    root = url.rstrip("/").removesuffix("/v1")
    try:
        props = client.get(f"{root}/props", cast_to=object)
    except openai.OpenAIError:
        return None
    settings = props.get("default_generation_settings") if isinstance(props, dict) else None
    return _positive_int((settings or {}).get("n_ctx"))


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
