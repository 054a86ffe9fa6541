"""LLMConfig: endpoint, model, timeouts, retries and prices, from arguments, environment and a config file."""

from __future__ import annotations

import dataclasses
import os
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.llm.types import EndpointUnusable
from common.errors import UserError

DEFAULT_MODEL = "MiniMax-M2"
DEFAULT_CONFIG = Path("~/.config/evoforge/llm.yaml")


def default_config_path() -> Path:
    """The config file read when none is named: EVOFORGE_LLM_CONFIG, else ~/.config/evoforge/llm.yaml."""
    return Path(os.environ.get("EVOFORGE_LLM_CONFIG") or DEFAULT_CONFIG).expanduser()


@dataclass
class LLMConfig:
    """Everything the model client needs; prices are USD per million tokens (0 when unknown)."""

    model: str = DEFAULT_MODEL
    base_url: str | None = None
    api_key: str | None = None
    input_price_per_mtok: float = 0.0
    output_price_per_mtok: float = 0.0
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    context_window: int | None = None
    stream: bool = True
    stream_usage: bool = True                 # ask for stream_options={"include_usage": true}
    reasoning_split: bool | None = None       # MiniMax API: thinking in reasoning_details; None = auto by URL
    xml_tool_calls: bool = True               # read MiniMax-M2 <minimax:tool_call> markup in content as tool calls
    extra_body: dict = field(default_factory=dict)
    extra_headers: dict = field(default_factory=dict)
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 300.0             # longest silence allowed between streamed bytes
    max_retries: int = 6                      # retries after the first attempt
    retry_window_s: float = 120.0             # longest one call keeps retrying before it reports an outage
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    retry_after_max_s: float = 300.0          # longest Retry-After honoured
    max_cost_usd: float | None = None         # the client refuses further calls past this spend
    max_total_tokens: int | None = None
    source: str = "defaults"                  # where the values came from, for messages

    @classmethod
    def from_env(cls, model: str | None = None, base_url: str | None = None, api_key: str | None = None,
                 config_file: str | os.PathLike | None = None, **overrides: Any) -> LLMConfig:
        """Arguments > environment (EVOFORGE_MODEL, OPENAI_BASE_URL, OPENAI_API_KEY) > config file > defaults."""
        file_values: dict[str, Any] = {}
        sources = []
        path = Path(config_file).expanduser() if config_file else default_config_path()
        if config_file and not path.is_file():
            raise UserError(f"LLM config file {path} does not exist: check --config")
        if path.is_file():
            file_values = load_config_file(path)
            sources.append(str(path))
        env = {"model": os.environ.get("EVOFORGE_MODEL"), "base_url": os.environ.get("OPENAI_BASE_URL"),
               "api_key": os.environ.get("OPENAI_API_KEY")}
        env = {k: v for k, v in env.items() if v}
        if env:
            sources.append("environment")
        explicit = {k: v for k, v in {"model": model, "base_url": base_url, "api_key": api_key,
                                      **overrides}.items() if v is not None}
        if explicit:
            sources.append("arguments")
        chosen = explicit.get("model") or env.get("model") or file_values.get("model") or DEFAULT_MODEL
        values = {**_model_settings(file_values, chosen), **env, **explicit}
        values["source"] = ", ".join(sources) or "defaults"
        return cls.from_dict(values)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> LLMConfig:
        """A config from a plain dict; unknown keys are a UserError naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise UserError(f"unknown LLM config key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        cfg = cls(**values)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Raise UserError on values that cannot work."""
        for name in ("input_price_per_mtok", "output_price_per_mtok", "connect_timeout_s", "read_timeout_s",
                     "backoff_base_s", "backoff_max_s", "retry_after_max_s", "retry_window_s"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or v < 0:
                raise UserError(f"LLM config {name} must be a number >= 0, got {v!r}")
        if not isinstance(self.xml_tool_calls, bool):
            raise UserError(f"LLM config xml_tool_calls must be true or false, got {self.xml_tool_calls!r}")
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise UserError(f"LLM config max_retries must be an integer >= 0, got {self.max_retries!r}")
        if not self.model:
            raise UserError("no model named: pass --model NAME or set EVOFORGE_MODEL")
        cw = self.context_window
        if cw is not None and (not isinstance(cw, int) or isinstance(cw, bool) or cw <= 0):
            raise UserError(f"LLM config context_window must be a whole number of tokens > 0, got {cw!r}")
        if self.base_url is not None:
            check_base_url(self.base_url)

    def require_endpoint(self) -> str:
        """The base URL; EndpointUnusable naming the ways to set one when none is configured."""
        if not self.base_url:
            raise EndpointUnusable(
                "no model endpoint is configured: set OPENAI_BASE_URL (e.g. http://localhost:8000/v1), pass "
                f"--base-url URL, or write `base_url: URL` in {default_config_path()} "
                "(for OpenAI itself: https://api.openai.com/v1)", cause="no endpoint configured")
        return self.base_url

    def use_reasoning_split(self) -> bool:
        """Whether to ask for reasoning_details (explicit setting, else on for MiniMax's own API)."""
        if self.reasoning_split is not None:
            return bool(self.reasoning_split)
        url = (self.base_url or "").lower()
        return "minimax.io" in url or "minimaxi.com" in url

    def to_public_dict(self) -> dict[str, Any]:
        """The config without the API key, for meta.json and logs."""
        d = dataclasses.asdict(self)
        d["api_key"] = "***" if self.api_key else None
        return d


def check_base_url(url: str) -> None:
    """EndpointUnusable unless `url` is an http(s) URL with a host (and a valid port)."""
    example = "write it like http://localhost:8000/v1"
    if not isinstance(url, str) or any(c.isspace() for c in url):
        raise EndpointUnusable(f"model base URL {url!r} is not a URL: {example}", cause="malformed base URL")
    parts = urllib.parse.urlsplit(url)
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise EndpointUnusable(f"model base URL {url!r} is not an http(s) URL with a host (and a valid port): "
                               f"{example}", cause="malformed base URL")


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a YAML (.yaml/.yml) or TOML (.toml) LLM config; an optional top-level `llm:` table is unwrapped."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read LLM config {path}: {exc.strerror or exc}") from exc
    if b"\x00" in raw:
        raise UserError(f"LLM config {path} is not a text file (it holds binary data): give a YAML or TOML file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise UserError(f"LLM config {path} is not UTF-8 text (line {line}): save it as UTF-8") from exc
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"LLM config {path} is not valid TOML: {exc}") from exc
    except yaml.YAMLError as exc:
        raise UserError(f"LLM config {path} is not valid YAML: {_yaml_problem(exc)}") from exc
    data = data or {}
    if not isinstance(data, dict):
        raise UserError(f"LLM config {path} must be a mapping of keys to values")
    if isinstance(data.get("llm"), dict):
        data = data["llm"]
    return dict(data)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line for a YAML error: what is wrong and its line and column."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    what = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{what}"


def _model_settings(values: dict[str, Any], model: str) -> dict[str, Any]:
    """File settings with the `models: {NAME: {...}}` entry for the chosen model laid over them."""
    values = dict(values)
    table = values.pop("models", None) or {}
    if not isinstance(table, dict):
        raise UserError("LLM config `models` must map model names to settings")
    per_model = table.get(model) or {}
    if not isinstance(per_model, dict):
        raise UserError(f"LLM config `models.{model}` must be a mapping")
    return {**values, **per_model}
