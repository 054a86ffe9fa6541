"""torchrun worker of tests/test_dist.py: a real training run, then every rank saves what it holds.

    python -m torch.distributed.run --standalone --nproc_per_node=2 tests/dist_worker.py RUN_DIR CONFIG
        [--resume] [--reward-first] [--set section.field=value ...]

Runs `Trainer.run()` (SFT then RL, checkpoints, evaluation) exactly as `python -m trainer` does; with --reward-first
the environment's rewards are replaced by "completion 0 of every group is right, the others wrong", so every RL
step has non-zero advantages on a model too small to solve the task yet. Before leaving the
process group each rank writes RUN_DIR/rank<r>.pt with its full parameters and buffers (gathered under FSDP2),
the weights of the module it generates with, and (rank 0) the full optimizer states in the one-process format.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from trainer import parallel
from trainer.config import load_config
from trainer.train import Trainer


def reward_first(trainer: Trainer) -> None:
    """From now on completion 0 of every sampled group gets reward 1 and the others 0 (real rollouts otherwise)."""
    sample = trainer.sampler.sample

    def rewarded(model, n: int, version: int):
        groups = sample(model, n, version)
        for g in groups:
            g.rewards = [1.0] + [0.0] * (len(g.completions) - 1)
        return groups

    trainer.sampler.sample = rewarded


def dump(trainer: Trainer) -> None:
    """Save RUN_DIR/rank<r>.pt: this rank's full parameters, buffers, generation weights, optimizer states."""
    with torch.no_grad():
        params = {n: parallel.full_tensor(p).detach().cpu().clone() for n, p in trainer.model.named_parameters()}
        buffers = {n: b.detach().cpu().clone() for n, b in trainer.model.named_buffers()}
    opts = {name: parallel.full_optimizer_state(trainer.model, opt) for name, opt in trainer.optimizers.items()}
    gen = {k: v.detach().cpu().clone() for k, v in trainer.gen_model.state_dict().items()}
    torch.save({"params": params, "buffers": buffers, "gen": gen, "optimizers": opts, "sharded": trainer.sharded,
                "world": trainer.world, "step": trainer.step}, trainer.run_dir / f"rank{trainer.rank}.pt")


def main() -> None:
    """Parse the arguments and run one training job on this rank."""
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("config")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--reward-first", action="store_true")
    ap.add_argument("--set", dest="sets", action="append", default=[])
    args = ap.parse_args()
    cfg = load_config(args.config, args.sets)
    run_dir = Path(args.run_dir)
    os.makedirs(run_dir, exist_ok=True)
    trainer = Trainer(cfg, run_dir, resume=args.resume)
    if args.reward_first:
        reward_first(trainer)
    try:
        trainer.run()
        dump(trainer)
    finally:
        trainer.close()


if __name__ == "__main__":
    main()
