"""Anomalies in a trainer's metrics (trainer/metrics.py records, one dict per step), each with the step where it
began: the faults an engineer looks for first when a run misbehaves.

Pure functions over the parsed records, shared by `read_training_log` (mode=anomalies), `training_status` and the
heuristic policy's rules for the rl_runs tasks. Thresholds are deliberately coarse: an anomaly is a lead to follow,
named with the setting that usually causes it.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass

# kind -> the settings that usually cause it (what to look at first)
CAUSES = {
    "non_finite": "a numerical fault: debug.nan_at_step, too high a learning rate (sft.lr, rl.lr), optim.grad_clip",
    "loss_spike": "too high a learning rate (sft.lr / rl.lr) or too short a warm-up (optim.warmup_steps)",
    "kl_spike": "too large policy steps: rl.lr, rl.minibatches/rl.epochs (off-policy), rl.eps_high",
    "reward_collapse": "rl.lr too high for the loss (CISPO collapses above ~1e-3 on tiny models)",
    "entropy_collapse": "rl.lr too high, or rl.temperature too low",
    "exploding_grad_norm": "optim.grad_clip off or too high, or too high a learning rate",
    "expert_imbalance": "load balancing off or too weak (model.balance, model.aux_loss_coef, model.bias_update_rate)",
    "stalled_throughput": "the rollout scheduler (rl.scheduler, rl.gen_slots, rl.window) or a starved host",
    "no_reward": "the policy never solves a problem: too short an SFT warm-up (sft.steps, sft.lr)",
    "no_learning": "zero policy gradient: rl.lr 0, clip bounds that mask every token (rl.eps_low/eps_high)",
}


@dataclass(frozen=True)
class Anomaly:
    """One finding: its kind, the step where it began, what was seen, and the usual cause."""

    kind: str
    step: int
    detail: str

    @property
    def cause(self) -> str:
        """The settings that usually cause it."""
        return CAUSES.get(self.kind, "")

    def line(self) -> str:
        """One line for the model: kind, step, what, where to look."""
        return f"{self.kind} from step {self.step}: {self.detail} (look at: {self.cause})"


def parse_lines(lines: list[str]) -> tuple[list[dict], int]:
    """The dict lines of a metrics JSONL (NaN/Infinity as Python floats) and how many non-empty lines were not."""
    out, bad = [], 0
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(rec, dict):
            out.append(rec)
        else:
            bad += 1
    return out, bad


def parse_records(text: str) -> list[dict]:
    """The dict lines of a metrics JSONL text (unparsable lines skipped)."""
    return parse_lines(text.splitlines())[0]


def steps(records: list[dict]) -> list[dict]:
    """The per-step records (those with a step and a phase; eval and info events left out)."""
    return [r for r in records if "phase" in r and isinstance(r.get("step"), int) and "event" not in r]


def _num(rec: dict, key: str) -> float | None:
    v = rec.get(key)
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return float(v) if isinstance(v, (int, float)) else None


def _series(recs: list[dict], key: str) -> list[tuple[int, float]]:
    return [(r["step"], x) for r in recs if (x := _num(r, key)) is not None]


def _finite(x: float) -> bool:
    return not (math.isnan(x) or math.isinf(x))


def _spike(series: list[tuple[int, float]], factor: float, floor: float, warm: int = 5) -> tuple[int, float, float] | None:
    """The first point above max(floor, factor x the median of the points before it); (step, value, median)."""
    seen: list[float] = []
    for step, x in series:
        if not _finite(x):
            continue
        if len(seen) >= warm:
            med = statistics.median(seen[-20:])
            if x > max(floor, factor * abs(med)):
                return step, x, med
        seen.append(x)
    return None


def detect(records: list[dict]) -> list[Anomaly]:
    """Every anomaly found in the records, in the order of the step where it began."""
    recs = steps(records)
    found: list[Anomaly] = []
    for r in recs:
        bad = [k for k in ("loss", "grad_norm") if (x := _num(r, k)) is not None and not _finite(x)]
        if r.get("loss_nonfinite") or r.get("grad_nonfinite") or bad:
            found.append(Anomaly("non_finite", r["step"], f"{', '.join(bad) or 'loss'} is NaN/inf ({r['phase']})"))
            break
    sft = [r for r in recs if r.get("phase") == "sft"]
    rl = [r for r in recs if r.get("phase") == "rl"]
    if (s := _spike(_series(sft, "loss"), 2.0, 0.5)) is not None:
        found.append(Anomaly("loss_spike", s[0], f"sft loss {s[1]:.3g} against a median of {s[2]:.3g} before"))
    if (s := _spike(_series(rl, "kl_rollout"), 10.0, 0.05, warm=3)) is not None:
        found.append(Anomaly("kl_spike", s[0], f"kl_rollout {s[1]:.3g} against a median of {s[2]:.3g} before"))
    if (s := _spike(_series(recs, "grad_norm"), 10.0, 10.0)) is not None:
        found.append(Anomaly("exploding_grad_norm", s[0], f"grad_norm {s[1]:.3g} against a median of {s[2]:.3g}"))
    found += _reward(rl) + _entropy(rl) + _experts(recs) + _throughput(recs)
    return sorted(found, key=lambda a: a.step)


def _reward(rl: list[dict]) -> list[Anomaly]:
    rew = [(s, x) for s, x in _series(rl, "reward_mean") if _finite(x)]
    if len(rew) < 3:
        return []
    xs = [x for _, x in rew]
    out = []
    grads = [x for _, x in _series(rl, "grad_norm") if _finite(x)]
    if grads and max(grads) < 1e-8:
        out.append(Anomaly("no_learning", rl[0]["step"], "grad_norm is 0 on every RL step: nothing is learned"))
    if max(xs) == 0.0:
        return [Anomaly("no_reward", rew[0][0], f"reward_mean is 0 on all {len(xs)} RL steps")] + out
    peak_i = max(range(len(xs)), key=lambda i: sum(xs[max(0, i - 2):i + 1]) / len(xs[max(0, i - 2):i + 1]))
    peak = sum(xs[max(0, peak_i - 2):peak_i + 1]) / len(xs[max(0, peak_i - 2):peak_i + 1])
    tail = xs[-3:]
    if peak >= 0.1 and peak_i < len(xs) - 3 and sum(tail) / len(tail) < 0.4 * peak:
        start = next(rew[i][0] for i in range(peak_i, len(xs)) if xs[i] < 0.5 * peak)
        out.append(Anomaly("reward_collapse", start, f"reward_mean fell from {peak:.3g} to {sum(tail) / len(tail):.3g}"))
    return out


def _entropy(rl: list[dict]) -> list[Anomaly]:
    ent = [(s, x) for s, x in _series(rl, "entropy") if _finite(x)]
    if len(ent) < 3:
        return []
    first = ent[0][1]
    for s, x in ent[1:]:
        if x < min(0.05, 0.1 * first) or (first > 0 and x < 0.05 * first):
            return [Anomaly("entropy_collapse", s, f"entropy {x:.3g} from {first:.3g} at the first RL step")]
    return []


def _trailing(flags: list[bool]) -> int | None:
    """The index where the run of True values that reaches the end begins (None when the last is False)."""
    if not flags or not flags[-1]:
        return None
    i = len(flags) - 1
    while i > 0 and flags[i - 1]:
        i -= 1
    return i


def _experts(recs: list[dict], window: int = 10, times_uniform: float = 2.0) -> list[Anomaly]:
    """A layer whose busiest expert takes more than `times_uniform` x its uniform share of the routed tokens,
    averaged over `window` steps, until the end of the run (routing at initialisation is often skewed)."""
    loads = [(r["step"], r["expert_load"]) for r in recs if isinstance(r.get("expert_load"), list) and r["expert_load"]]
    worst: list[tuple[float, int, int]] = []          # per window: (share, layer, experts)
    for i in range(window - 1, len(loads)):
        win = [lo for _, lo in loads[i - window + 1:i + 1]]
        best = (0.0, 0, 1)
        for layer in range(len(win[0])):
            try:
                means = [sum(c) / len(c) for c in zip(*[w[layer] for w in win], strict=False)]
            except (IndexError, TypeError):
                return []
            share = max(means) / (sum(means) or 1.0)
            best = max(best, (share, layer, len(means)))
        worst.append(best)
    at = _trailing([sh > min(0.95, times_uniform / n) for sh, _, n in worst])
    if at is None:
        return []
    share, layer, n = worst[-1]
    return [Anomaly("expert_imbalance", loads[at + window - 1][0], f"layer {layer}: one of {n} experts takes "
                    f"{share:.0%} of the tokens (uniform: {1 / n:.0%}), to the end of the run")]


def _throughput(recs: list[dict], window: int = 5) -> list[Anomaly]:
    """Tokens/s over the last `window` steps (and those before, while as slow) below a fifth of the run's median."""
    tps = [(s, x) for s, x in _series(recs, "tokens_per_s") if _finite(x)]
    if len(tps) < 3 * window:
        return []
    med = statistics.median(x for _, x in tps)
    flags = [statistics.median(x for _, x in tps[i:i + window]) < 0.2 * med for i in range(len(tps) - window + 1)]
    at = _trailing(flags)
    if at is None:
        return []
    now = statistics.median(x for _, x in tps[-window:])
    return [Anomaly("stalled_throughput", tps[at][0], f"tokens/s {now:.3g} against a run median of {med:.3g}")]


def window_summary(records: list[dict], keys: list[str] | None, start: int | None, end: int | None) -> str:
    """Per metric over steps [start, end]: n, first, last, min, max, mean and non-finite count."""
    recs = [r for r in steps(records) if (start is None or r["step"] >= start) and (end is None or r["step"] <= end)]
    if not recs:
        return "no steps in that window"
    names = keys or [k for k in dict.fromkeys(k for r in recs for k in r) if k not in ("step",)]
    lines = [f"steps {recs[0]['step']}..{recs[-1]['step']} ({len(recs)} records)",
             f"{'metric':<20}{'n':>5}{'first':>12}{'last':>12}{'min':>12}{'max':>12}{'mean':>12}{'nonfin':>7}"]
    for k in names:
        xs = [x for r in recs if (x := _num(r, k)) is not None]
        if not xs:
            continue
        ok = [x for x in xs if _finite(x)]
        if not ok:
            lines.append(f"{k[:19]:<20}{len(xs):>5}{'-':>12}{'-':>12}{'-':>12}{'-':>12}{'-':>12}{len(xs):>7}")
            continue
        lines.append(f"{k[:19]:<20}{len(ok):>5}{ok[0]:>12.4g}{ok[-1]:>12.4g}{min(ok):>12.4g}{max(ok):>12.4g}"
                     f"{sum(ok) / len(ok):>12.4g}{len(xs) - len(ok):>7}")
    return "\n".join(lines)
