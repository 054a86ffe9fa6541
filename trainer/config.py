"""Training configuration: small dataclasses, loaded from YAML, with `--set section.key=value` overrides.

Every field is type-checked; an unknown section or field, a value of the wrong type or out of range
raises `common.errors.UserError` naming the field (e.g. "config: rl.group_size must be an int >= 2, got 1").
The `model` section takes `preset` (a key of trainer.model.PRESETS) plus any ModelConfig field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from common.errors import UserError


@dataclass
class RunCfg:
    """Seed, device and data parallelism."""

    seed: int = 0
    device: str = "auto"           # auto | cpu | cuda
    init_from: str = ""            # a checkpoint (.pt) whose model weights start this run (e.g. a shared SFT)
    eval_problems: int = 64        # greedy evaluation after SFT and at the end (0: skip)
    parallel: str = "ddp"          # under torchrun: ddp (replicated) | fsdp2 (sharded with fully_shard)
    compile: bool = False          # torch.compile each block for the training forward/backward (not generation)


@dataclass
class EnvCfg:
    """Which verifiable environment and its difficulty."""

    name: str = "arithmetic"       # arithmetic | countdown | sort | sort_lognormal
    level: int = 1


@dataclass
class SFTCfg:
    """Supervised warm-up on reference solutions, so RL starts from non-zero reward."""

    steps: int = 200
    batch_size: int = 64
    lr: float = 3e-3


@dataclass
class RLCfg:
    """Group sampling, the policy loss and rollout scheduling."""

    steps: int = 30
    prompts_per_step: int = 16     # P prompts per step
    group_size: int = 8            # G completions per prompt
    max_new_tokens: int = 0        # 0: the environment's answer bound + 2
    temperature: float = 1.0
    loss: str = "cispo"            # cispo | ppo | grpo
    eps_low: float = 0.2
    eps_high: float = 0.28
    minibatches: int = 1           # optimizer steps per rollout batch (later ones are off-policy)
    epochs: int = 1
    lr: float = 1e-4               # learns on the tiny CPU recipe; 1e-3 collapses CISPO there (GPU recipes: 5e-5)
    pack: str = "flat"             # flat (padded batch) | tree (prefix-tree merged groups)
    scheduler: str = "sync"        # sync | fifo | shortest | window
    window: int = 8                # windowed FIFO: eligible groups (>= prompts_per_step)
    gen_slots: int = 16            # async schedulers: groups generating concurrently
    clock: str = "virtual"         # async schedulers: virtual (token-tick clock) | wall (background generation thread)


@dataclass
class OptimCfg:
    """AdamW and gradient clipping."""

    beta1: float = 0.9
    beta2: float = 0.95
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    warmup_steps: int = 5


@dataclass
class LogCfg:
    """Metrics, TensorBoard and checkpoints."""

    every: int = 1
    ckpt_every: int = 10
    tensorboard: bool = True
    peak_tflops: float = 989.0     # per-GPU bf16 dense peak for MFU (H100 SXM); 0 disables MFU


@dataclass
class DebugCfg:
    """Fault injection for tests and debugging exercises."""

    nan_at_step: int = -1          # make the loss NaN at this global step (-1: never)


@dataclass
class TrainConfig:
    """The whole training configuration. The defaults are the tiny CPU recipe (trainer/configs/tiny_cpu.yaml),
    a run whose reward rises within seconds on a CPU."""

    model: dict = field(default_factory=lambda: {"preset": "tiny"})
    run: RunCfg = field(default_factory=RunCfg)
    env: EnvCfg = field(default_factory=EnvCfg)
    sft: SFTCfg = field(default_factory=SFTCfg)
    rl: RLCfg = field(default_factory=RLCfg)
    optim: OptimCfg = field(default_factory=OptimCfg)
    log: LogCfg = field(default_factory=LogCfg)
    debug: DebugCfg = field(default_factory=DebugCfg)

    def to_dict(self) -> dict:
        """Plain nested dict (YAML/JSON-serialisable)."""
        return dataclasses.asdict(self)


_SECTIONS = [f.name for f in dataclasses.fields(TrainConfig) if f.name != "model"]
_CHOICES = {
    "run.device": ("auto", "cpu", "cuda"),
    "run.parallel": ("ddp", "fsdp2"),
    "env.name": ("arithmetic", "countdown", "sort", "sort_lognormal"),
    "rl.loss": ("cispo", "ppo", "grpo"),
    "rl.pack": ("flat", "tree"),
    "rl.scheduler": ("sync", "fifo", "shortest", "window"),
    "rl.clock": ("virtual", "wall"),
}
_MINIMUM = {"run.eval_problems": 0, "env.level": 1, "sft.steps": 0, "sft.batch_size": 1, "rl.steps": 0, "rl.prompts_per_step": 1,
            "rl.group_size": 2, "rl.max_new_tokens": 0, "rl.minibatches": 1, "rl.epochs": 1, "rl.window": 1,
            "rl.gen_slots": 1, "optim.warmup_steps": 0, "log.every": 1, "log.ckpt_every": 1}
_POSITIVE = {"sft.lr", "rl.lr", "rl.temperature"}


def _type_names(annotation: Any) -> set[str]:
    """The base type names allowed by a (string) annotation such as 'int | None'."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    return {t.strip() for t in text.split("|")}


def _coerce(key: str, value: Any, annotation: Any) -> Any:
    """Check `value` against the annotation; ints are accepted for floats. Raises UserError naming `key`."""
    names = _type_names(annotation)
    if value is None and "None" in names:
        return None
    if "bool" in names and isinstance(value, bool):
        return value
    if "int" in names and isinstance(value, int) and not isinstance(value, bool):
        return value
    if "float" in names and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if "float" in names and isinstance(value, str):     # YAML 1.1 reads 1e-3 as a string
        try:
            return float(value)
        except ValueError:
            pass
    if "str" in names and isinstance(value, str):
        return value
    if "dict" in names and isinstance(value, dict):
        return value
    want = " or ".join(sorted(n for n in names if n != "None"))
    raise UserError(f"config: {key} must be {want}, got {value!r}")


def _model_fields() -> dict[str, Any]:
    from trainer.model import ModelConfig
    return {f.name: f.type for f in dataclasses.fields(ModelConfig) if f.name != "extra"}


def _set(cfg: TrainConfig, key: str, value: Any) -> None:
    """Set `section.field` on cfg with type checking."""
    parts = key.split(".")
    if len(parts) != 2:
        raise UserError(f"config: {key!r} is not of the form section.field "
                        f"(sections: model, {', '.join(_SECTIONS)})")
    section, name = parts
    if section == "model":
        fields = _model_fields()
        if name == "preset":
            fields["preset"] = "str"
        if name not in fields:
            raise UserError(f"config: unknown field model.{name} (known: preset, {', '.join(sorted(fields))})")
        cfg.model[name] = _coerce(key, value, fields[name])
        return
    if section not in _SECTIONS:
        raise UserError(f"config: unknown section {section!r} (known: model, {', '.join(_SECTIONS)})")
    obj = getattr(cfg, section)
    fields = {f.name: f.type for f in dataclasses.fields(obj)}
    if name not in fields:
        raise UserError(f"config: unknown field {key} (known: {', '.join(fields)})")
    setattr(obj, name, _coerce(key, value, fields[name]))


def validate(cfg: TrainConfig) -> TrainConfig:
    """Range and choice checks across fields; raises UserError naming the first bad field."""
    for key, choices in _CHOICES.items():
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if value not in choices:
            raise UserError(f"config: {key} must be one of {', '.join(choices)}, got {value!r}")
    for key, lo in _MINIMUM.items():
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if value < lo:
            raise UserError(f"config: {key} must be an int >= {lo}, got {value!r}")
    for key in _POSITIVE:
        section, name = key.split(".")
        if getattr(getattr(cfg, section), name) <= 0:
            raise UserError(f"config: {key} must be > 0, got {getattr(getattr(cfg, section), name)!r}")
    if not 0 <= cfg.rl.eps_low <= 1:
        raise UserError(f"config: rl.eps_low must be in [0, 1], got {cfg.rl.eps_low}")
    if cfg.rl.eps_high < 0:
        raise UserError(f"config: rl.eps_high must be >= 0, got {cfg.rl.eps_high}")
    if cfg.rl.scheduler == "window" and cfg.rl.window < cfg.rl.prompts_per_step:
        raise UserError(f"config: rl.window ({cfg.rl.window}) must be >= rl.prompts_per_step "
                        f"({cfg.rl.prompts_per_step})")
    if cfg.rl.clock == "wall" and cfg.rl.scheduler == "sync":
        raise UserError("config: rl.clock=wall needs an asynchronous rl.scheduler (fifo, shortest or window), "
                        "got rl.scheduler=sync")
    if cfg.rl.prompts_per_step % cfg.rl.minibatches != 0:
        raise UserError(f"config: rl.minibatches ({cfg.rl.minibatches}) must divide rl.prompts_per_step "
                        f"({cfg.rl.prompts_per_step})")
    from trainer.model import PRESETS
    preset = cfg.model.get("preset", "tiny")
    if preset not in PRESETS:
        raise UserError(f"config: model.preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    try:
        build_model_config(cfg, vocab_size=cfg.model.get("vocab_size", 64))
    except ValueError as exc:
        raise UserError(f"config: model: {exc}") from None
    return cfg


def build_model_config(cfg: TrainConfig, vocab_size: int):
    """The ModelConfig of cfg.model (preset + overrides) with the tokenizer's vocab size."""
    from trainer.model import get_preset
    overrides = {k: v for k, v in cfg.model.items() if k not in ("preset", "vocab_size")}
    return get_preset(cfg.model.get("preset", "tiny"), vocab_size=vocab_size, **overrides)


def from_dict(data: dict | None) -> TrainConfig:
    """A TrainConfig from a nested dict (as read from YAML), type-checked and validated."""
    cfg = TrainConfig()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError("config: the top level must be a mapping of sections")
    for section, body in data.items():
        if section != "model" and section not in _SECTIONS:
            raise UserError(f"config: unknown section {section!r} (known: model, {', '.join(_SECTIONS)})")
        if not isinstance(body, dict):
            raise UserError(f"config: section {section} must be a mapping, got {body!r}")
        for name, value in body.items():
            _set(cfg, f"{section}.{name}", value)
    return cfg


def parse_override(text: str) -> tuple[str, Any]:
    """'rl.loss=ppo' -> ('rl.loss', 'ppo'); values are parsed as YAML scalars (1, 1e-3, true, null)."""
    if "=" not in text:
        raise UserError(f"--set {text!r}: expected key=value, e.g. rl.loss=ppo")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def read_config_file(path: str | Path) -> dict:
    """The mapping in a YAML config file ({} when it is empty); unreadable, binary or invalid YAML is a UserError
    of one line that names the file and, for YAML errors, the line and column."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"config {p} is a directory, not a YAML file")
    if not p.is_file():
        raise UserError(f"config file not found: {p}")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"config {p} is not a text (UTF-8 YAML) file: byte {exc.object[exc.start]:#04x} at offset "
                        f"{exc.start}") from None
    except OSError as exc:
        raise UserError(f"config {p} cannot be read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise UserError(f"config {p}{where}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.reader.ReaderError as exc:
        line = text[:exc.position].count("\n") + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise UserError(f"config {p} line {line}: invalid YAML: unacceptable character #x{code:04x} "
                        f"(binary data?)") from None
    except yaml.YAMLError as exc:
        raise UserError(f"config {p}: invalid YAML: {str(exc).splitlines()[0]}") from None
    return {} if data is None else data


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config (None: defaults), apply `key=value` overrides, validate."""
    cfg = from_dict(read_config_file(path) if path is not None else {})
    for item in overrides or []:
        key, value = parse_override(item)
        _set(cfg, key, value)
    return validate(cfg)


def save_config(cfg: TrainConfig, path: Path) -> None:
    """Write cfg as YAML."""
    path.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
