"""torchrun worker of tests/test_dist.py: a real training run, then every rank saves what it holds.

    python -m torch.distributed.run --standalone --nproc_per_node=2 tests/dist_worker.py RUN_DIR CONFIG
        [--resume] [--reward-first] [--set section.field=value ...]

Runs `Trainer.run()` (SFT then RL, checkpoints, evaluation) exactly as `evoforge train` does; with --reward-first
the environment's rewards are replaced by "completion 0 of every group is right, the others wrong", so every RL
step has non-zero advantages on a model too small to solve the task yet. Before leaving the
process group each rank writes RUN_DIR/rank<r>.pt with its full parameters and buffers (gathered under FSDP2),
the weights of the module it generates with, and (rank 0) the full optimizer state in the one-process format.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from trainer import parallel
from trainer.config import load_config
from trainer.train import Trainer


class DumpingTrainer(Trainer):
    """A Trainer that saves each rank's view of the model just before it closes."""

    reward_first = False

    def generate_groups(self, n: int):
        """The real rollouts; with reward_first, completion 0 of each group gets reward 1 and the others 0."""
        groups = super().generate_groups(n)
        if self.reward_first:
            for g in groups:
                g.rewards = [1.0] + [0.0] * (len(g.completions) - 1)
        return groups

    def close(self) -> None:
        """Save RUN_DIR/rank<r>.pt (a collective under FSDP2), then close as usual."""
        with torch.no_grad():
            params = {n: parallel.full_tensor(p).detach().cpu().clone() for n, p in self.model.named_parameters()}
            buffers = {n: b.detach().cpu().clone() for n, b in self.model.named_buffers()}
        _, opt_sd = parallel.full_state(self.model, self.opt)
        gen = {k: v.detach().cpu().clone() for k, v in self.gen_model.state_dict().items()}
        torch.save({"params": params, "buffers": buffers, "gen": gen, "optimizer": opt_sd, "sharded": self.sharded,
                    "world": self.world, "step": self.step}, self.run_dir / f"rank{self.rank}.pt")
        super().close()


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
    DumpingTrainer.reward_first = args.reward_first
    DumpingTrainer(cfg, run_dir, resume=args.resume).run()


if __name__ == "__main__":
    main()
