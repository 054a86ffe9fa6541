"""LLMConfig: endpoint, model, timeouts, retries and prices, from arguments, environment and a config file."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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
                     "backoff_base_s", "backoff_max_s", "retry_after_max_s"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or v < 0:
                raise UserError(f"LLM config {name} must be a number >= 0, got {v!r}")
        if not isinstance(self.xml_tool_calls, bool):
            raise UserError(f"LLM config xml_tool_calls must be true or false, got {self.xml_tool_calls!r}")
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise UserError(f"LLM config max_retries must be an integer >= 0, got {self.max_retries!r}")
        if not self.model:
            raise UserError("no model named: pass --model NAME or set EVOFORGE_MODEL")

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


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a YAML (.yaml/.yml) or TOML (.toml) LLM config; an optional top-level `llm:` table is unwrapped."""
    try:
        text = path.read_text()
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (OSError, yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"cannot read LLM config {path}: {exc}") from exc
    data = data or {}
    if not isinstance(data, dict):
        raise UserError(f"LLM config {path} must be a mapping of keys to values")
    if isinstance(data.get("llm"), dict):
        data = data["llm"]
    return dict(data)


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
