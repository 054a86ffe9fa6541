"""A run's record: metrics.jsonl (one JSON object per line, flushed per line), train.log and TensorBoard events.

Only rank 0 writes; on other ranks every method does nothing. Lines of metrics.jsonl are either a step
(`"step"` and `"phase"`: "sft" | "rl") or an event (`"event"`: "eval" | "resume" | "stopped"). Non-finite floats
are written as null. `perf_metrics` and `load_metrics` give the bookkeeping keys every step line has.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import torch


class RunLog:
    """metrics.jsonl, train.log (also echoed) and tb/ of one run directory."""

    def __init__(self, run_dir: Path, enabled: bool, tensorboard: bool, echo: TextIO | None = None) -> None:
        self.enabled, self.echo = enabled, echo if echo is not None else sys.stdout
        self.metrics_f = self.log_f = self.tb = None
        if not enabled:
            return
        run_dir.mkdir(parents=True, exist_ok=True)
        self.metrics_f = open(run_dir / "metrics.jsonl", "a", buffering=1)
        self.log_f = open(run_dir / "train.log", "a", buffering=1)
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                self.info("tensorboard is not installed; TensorBoard events are off (pip install tensorboard)")
            else:
                self.tb = SummaryWriter(str(run_dir / "tb"))

    def info(self, msg: str) -> None:
        """A timestamped line to train.log and the echo stream."""
        if not self.enabled:
            return
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        self.log_f.write(line + "\n")
        print(line, file=self.echo, flush=True)

    def write(self, rec: dict) -> None:
        """One metrics line (non-finite floats as null), flushed; numeric scalars of step lines also to TensorBoard."""
        if not self.enabled:
            return
        clean = {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in rec.items()}
        self.metrics_f.write(json.dumps(clean) + "\n")
        self.metrics_f.flush()
        if self.tb is not None and "step" in rec:
            for k, v in rec.items():
                if isinstance(v, int | float) and not isinstance(v, bool) and k != "step" and math.isfinite(v):
                    self.tb.add_scalar(f"{rec.get('phase', 'run')}/{k}", v, rec["step"])

    def close(self) -> None:
        """Flush and close everything (safe to call twice)."""
        if self.tb is not None:
            self.tb.flush()
            self.tb.close()
            self.tb = None
        for f in (self.metrics_f, self.log_f):
            if f is not None and not f.closed:
                with contextlib.suppress(OSError):      # a full disk was reported where it happened
                    f.close()


@dataclass
class StepStats:
    """Accumulates per-minibatch statistics into one metrics line."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, **kw: float) -> None:
        """Record values for this step."""
        for k, v in kw.items():
            self.values.setdefault(k, []).append(float(v))

    def mean(self, key: str) -> float | None:
        """Mean of a key, or None."""
        vals = self.values.get(key)
        return sum(vals) / len(vals) if vals else None


def perf_metrics(seconds: float, tokens: int, flops: float, world: int, peak_tflops: float, on_cuda: bool) -> dict:
    """tokens_per_s (all ranks), step_time_s, model_tflop (this rank's counted FLOPs / 1e12) and, on CUDA with a
    peak set, mfu = counted FLOPs / step time / peak (per GPU)."""
    dt = max(1e-9, seconds)
    rec = {"tokens_per_s": tokens * world / dt, "step_time_s": dt, "model_tflop": flops / 1e12}
    if on_cuda and peak_tflops > 0:
        rec["mfu"] = flops / dt / (peak_tflops * 1e12)
    return rec


def load_metrics(load: torch.Tensor) -> dict:
    """expert_load [layers][E] (fraction of routed assignments) and expert_load_max (max * E; 1.0 = balanced)."""
    if not load.numel():
        return {}
    return {"expert_load": [[round(float(x), 4) for x in row] for row in load],
            "expert_load_max": float(load.max() * load.shape[1])}


def summary(rec: dict) -> str:
    """One human-readable line of a step's metrics."""
    keys = ["loss", "reward_mean", "kl_rollout", "clip_frac", "grad_norm", "tokens_per_s", "mfu"]
    parts = [f"{k}={rec[k]:.4g}" for k in keys if isinstance(rec.get(k), float)]
    return f"step {rec['step']} [{rec['phase']}] " + " ".join(parts)
