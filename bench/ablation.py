"""Ablation: CISPO vs PPO-clip vs GRPO on one environment, several seeds each, equal compute.

One shared SFT warm-up (stopped once greedy accuracy reaches --sft-target, so RL starts from non-zero but
unsaturated reward), then for every (loss, seed) the same number of RL steps, prompts, completions and
optimizer steps from the same SFT weights. Prints a table and writes:
  <out>/ablation.png   reward curves (mean over seeds, band = min..max across seeds)
  <out>/ablation.md    the table (markdown) and the command
  <out>/ablation.json  every run's per-step rewards and final numbers

  python bench/ablation.py --out /tmp/abl                       # defaults (GPU-sized)
  python bench/ablation.py --out /tmp/abl --tiny                # a CPU smoke run (seconds)
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from trainer.config import load_config  # noqa: E402
from trainer.train import Trainer  # noqa: E402

LOSSES = ("cispo", "ppo", "grpo")


def base_overrides(args: argparse.Namespace) -> list[str]:
    """The config shared by every run of the ablation."""
    if args.tiny:
        model = ["model.preset=tiny"]
        sizes = ["rl.prompts_per_step=4", "rl.group_size=4", "sft.batch_size=32", "run.eval_problems=32"]
    else:
        model = ["model.preset=small", "model.d_model=256", "model.n_layers=4", "model.n_heads=8",
                 "model.n_kv_heads=4", "model.n_experts=16", "model.top_k=2", "model.expert_hidden=256",
                 "model.max_seq_len=128", "model.dtype=bfloat16"]
        sizes = [f"rl.prompts_per_step={args.prompts}", f"rl.group_size={args.group}", "sft.batch_size=256",
                 f"run.eval_problems={args.eval_problems}"]
    return model + sizes + [
        f"env.name={args.env}", f"env.level={args.level}", f"rl.minibatches={args.minibatches}",
        f"rl.lr={args.rl_lr}", f"sft.lr={args.sft_lr}", "log.tensorboard=false", "log.ckpt_every=100000",
        f"rl.steps={args.steps}", "optim.warmup_steps=10",
    ]


def shared_sft(args: argparse.Namespace, out: Path) -> tuple[Path, int, float]:
    """SFT until greedy accuracy >= target (checked every 25 steps) or max steps; returns (ckpt, steps, acc)."""
    cfg = load_config(None, base_overrides(args) + [f"sft.steps={args.sft_max_steps}", "rl.steps=0",
                                                     "run.seed=0"])
    tr = Trainer(cfg, out / "sft")
    acc, step, t0 = 0.0, 0, time.perf_counter()
    while step < args.sft_max_steps and time.perf_counter() - t0 < args.sft_budget_s:
        tr.train_step()
        step += 1
        if step % 25 == 0:
            acc = tr.evaluate(args.eval_problems)
            print(f"sft step {step}: greedy accuracy {acc:.3f}", flush=True)
            if acc >= args.sft_target:
                break
    tr.save_checkpoint(out / "sft_warmup.pt")
    tr.close()
    return out / "sft_warmup.pt", step, acc


def probe_step_time(args: argparse.Namespace, out: Path, init: Path, n: int = 4) -> float:
    """Seconds per RL step (median of n after one warm-up step), to fit the equal-compute runs in the budget."""
    cfg = load_config(None, base_overrides(args) + ["sft.steps=0", f"run.init_from={init}", "run.seed=99"])
    tr = Trainer(cfg, out / "probe")
    times = []
    for _ in range(n + 1):
        t0 = time.perf_counter()
        tr.train_step()
        times.append(time.perf_counter() - t0)
    tr.close()
    return statistics.median(times[1:])


def rl_run(args: argparse.Namespace, out: Path, init: Path, loss: str, seed: int) -> dict:
    """One RL run from the SFT weights; per-step rewards and final greedy accuracy."""
    cfg = load_config(None, base_overrides(args) + [f"rl.loss={loss}", f"run.seed={seed}", "sft.steps=0",
                                                     f"run.init_from={init}", f"rl.steps={args.steps}"])
    tr = Trainer(cfg, out / f"{loss}-s{seed}")
    acc0 = tr.evaluate(args.eval_problems)
    t0 = time.perf_counter()
    rewards, clip, kl, is_max = [], [], [], []
    for _ in range(cfg.rl.steps):
        rec = tr.train_step()
        rewards.append(rec["reward_mean"])
        clip.append(rec["clip_frac"])
        kl.append(rec["kl_rollout"])
        is_max.append(rec["is_max"])
    wall = time.perf_counter() - t0
    acc = tr.evaluate(args.eval_problems)
    tr.close()
    k = max(1, len(rewards) // 5)
    return {"loss": loss, "seed": seed, "rewards": rewards, "acc_start": acc0, "acc_end": acc,
            "reward_first": statistics.mean(rewards[:k]), "reward_last": statistics.mean(rewards[-k:]),
            "clip_frac": statistics.mean(clip), "kl_rollout": statistics.mean(kl), "is_max": max(is_max),
            "wall_s": wall}


def scheduler_real(args: argparse.Namespace, work: Path, ckpt: Path) -> str:
    """fifo / shortest / window in the real loop from the SFT weights (bench/scheduler_sim.py --real)."""
    from scheduler_sim import fmt, run_real

    ns = argparse.Namespace(work=str(work), steps=args.sched_steps, real_window=2 * args.prompts,
                            real_slots=2 * args.prompts, init_from=str(ckpt), config="",
                            overrides=base_overrides(args) + ["rl.loss=cispo", "run.seed=7"])
    rows = run_real(ns)
    (Path(args.out) / "scheduler_real.json").write_text(json.dumps(rows, indent=1))
    return (f"Schedulers with the real generator ({args.sched_steps} RL steps each, CISPO, window "
            f"{2 * args.prompts} groups, {2 * args.prompts} generator slots):\n\n" + fmt(rows))


def _ms(values: list[float]) -> str:
    m = statistics.mean(values)
    s = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{m:.3f} ± {s:.3f}"


def table(runs: list[dict], n_last: int) -> str:
    """Markdown table: mean ± std over seeds per loss."""
    lines = ["| loss | seeds | greedy acc. before RL | greedy acc. after RL | sampled reward, first 20% of steps | "
             "sampled reward, last 20% of steps | clip fraction | KL to rollout policy | max IS weight | RL wall s/run |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for loss in LOSSES:
        rs = [r for r in runs if r["loss"] == loss]
        if not rs:
            continue
        lines.append(f"| {loss} | {len(rs)} | {_ms([r['acc_start'] for r in rs])} | {_ms([r['acc_end'] for r in rs])} | "
                     f"{_ms([r['reward_first'] for r in rs])} | {_ms([r['reward_last'] for r in rs])} | "
                     f"{statistics.mean(r['clip_frac'] for r in rs):.4f} | "
                     f"{statistics.mean(r['kl_rollout'] for r in rs):.2e} | {max(r['is_max'] for r in rs):.3f} | "
                     f"{statistics.mean(r['wall_s'] for r in rs):.1f} |")
    return "\n".join(lines)


def plot(runs: list[dict], path: Path, title: str) -> None:
    """Reward curves: mean over seeds (moving average of 5 steps), band = min..max across seeds."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for loss, colour in zip(LOSSES, ("tab:red", "tab:blue", "tab:green"), strict=True):
        rs = [r for r in runs if r["loss"] == loss]
        if not rs:
            continue
        arr = np.array([r["rewards"] for r in rs])                       # [seeds, steps]
        k = 5
        kernel = np.ones(k) / k
        sm = np.array([np.convolve(np.pad(a, (k - 1, 0), mode="edge"), kernel, mode="valid") for a in arr])
        x = np.arange(arr.shape[1])
        ax.plot(x, sm.mean(0), color=colour, label=f"{loss} ({len(rs)} seeds)")
        ax.fill_between(x, sm.min(0), sm.max(0), color=colour, alpha=0.15)
    ax.set_xlabel("RL step")
    ax.set_ylabel("mean sampled reward (5-step moving avg.)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    """Run the ablation and write the PNG, table and JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", default=None, help="where run directories go (default: <out>/work)")
    ap.add_argument("--env", default="arithmetic")
    ap.add_argument("--level", type=int, default=3)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--minibatches", type=int, default=4)
    ap.add_argument("--rl-lr", type=float, default=3e-4)
    ap.add_argument("--sft-lr", type=float, default=1e-3)
    ap.add_argument("--sft-target", type=float, default=0.25)
    ap.add_argument("--sft-max-steps", type=int, default=600)
    ap.add_argument("--eval-problems", type=int, default=512)
    ap.add_argument("--tiny", action="store_true", help="tiny CPU model (smoke test)")
    ap.add_argument("--sft-budget-s", type=float, default=150.0, help="stop the SFT warm-up after this long")
    ap.add_argument("--sched-steps", type=int, default=0,
                    help="if > 0: also compare the rollout schedulers with the real generator for this many steps")
    ap.add_argument("--rl-budget-s", type=float, default=0.0,
                    help="if > 0: lower --steps (for every run alike) so all RL runs fit in this many seconds")
    args = ap.parse_args()
    out = Path(args.out)
    work = Path(args.work) if args.work else out / "work"
    out.mkdir(parents=True, exist_ok=True)
    if work.exists():
        shutil.rmtree(work)                  # scratch run directories of an earlier ablation
    t0 = time.perf_counter()
    ckpt, sft_steps, sft_acc = shared_sft(args, work)
    print(f"shared SFT: {sft_steps} steps, greedy accuracy {sft_acc:.3f} ({time.perf_counter() - t0:.0f}s)", flush=True)
    if args.rl_budget_s > 0:
        t_step = probe_step_time(args, work, ckpt)
        fit = int(args.rl_budget_s / (len(LOSSES) * args.seeds * t_step * 1.1 + 1e-9))
        print(f"probe: {t_step:.3f} s per RL step; {fit} steps per run fit in {args.rl_budget_s:.0f}s", flush=True)
        args.steps = max(5, min(args.steps, fit))
    runs = []
    for seed in range(1, args.seeds + 1):
        for loss in LOSSES:
            r = rl_run(args, work, ckpt, loss, seed)
            runs.append(r)
            print(f"{loss} seed {seed}: reward {r['reward_first']:.3f} -> {r['reward_last']:.3f}, greedy acc "
                  f"{r['acc_start']:.3f} -> {r['acc_end']:.3f}, clip {r['clip_frac']:.4f} ({r['wall_s']:.0f}s)",
                  flush=True)
            (out / "ablation.json").write_text(json.dumps({"args": vars(args), "runs": runs}, indent=1))
    cmd = "python bench/ablation.py " + " ".join(sys.argv[1:])
    dev = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    title = (f"{args.env} level {args.level}: {args.steps} RL steps x {args.prompts} prompts x {args.group} samples, "
             f"{args.minibatches} updates/step, SFT {sft_steps} steps (acc {sft_acc:.2f})")
    plot(runs, out / "ablation.png", title)
    md = (f"Command: `{cmd}`  \nDevice: {dev}; torch {torch.__version__}; total wall "
          f"{time.perf_counter() - t0:.0f} s  \nSetup: {title}; eps_low 0.2, eps_high 0.28 for all losses; "
          f"mean ± std over seeds.\n\n" + table(runs, args.steps // 5) + "\n")
    if args.sched_steps > 0:
        md += "\n" + scheduler_real(args, work, ckpt) + "\n"
    (out / "ablation.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
