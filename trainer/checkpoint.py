"""Checkpoints as free functions: one file per run (ckpt/last.pt), full state dicts, replaced atomically.

A checkpoint holds
  model        the full (unsharded) state dict in the one-process format, also under FSDP2 (trainer.parallel)
  optimizers   {"sft": ..., "rl": ...}: the AdamW state of each phase (RL never moves on SFT momentum)
  step         optimizer steps taken in all (SFT + RL steps done); version: RL policy version (optimizer updates)
  config       the run's config as a dict
  rank_rng     per rank: Python RNG (problems), sampling generator and torch CPU RNG states
so a checkpoint written by one process, DDP or FSDP2 (any world size) resumes or initialises any of them.
It is written to a temporary file, fsynced and renamed over the last one: a crash leaves the previous one whole.
"""

from __future__ import annotations

import os
import pickle
import random
from pathlib import Path

import torch

from common.errors import UserError
from trainer import parallel


def rng_state(py_rng: random.Random, generator: torch.Generator) -> dict:
    """This rank's RNG states (Python, sampling generator, torch CPU)."""
    return {"py_rng": py_rng.getstate(), "gen_rng": generator.get_state(), "torch_rng": torch.get_rng_state()}


def restore_rng(state: dict, py_rng: random.Random, generator: torch.Generator) -> None:
    """Set the RNGs to the states of `rng_state`."""
    py_rng.setstate(state["py_rng"])
    generator.set_state(state["gen_rng"].cpu())
    torch.set_rng_state(state["torch_rng"].cpu())


def save_checkpoint(path: Path, model: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer], rng: dict,
                    meta: dict) -> None:
    """Gather the full state (a collective on every rank under torchrun) and write it atomically from rank 0.

    meta: step, version and config (plain data)."""
    model_sd = parallel.full_model_state(model)
    opt_sds = {name: parallel.full_optimizer_state(model, opt) for name, opt in optimizers.items()}
    rank_rng = parallel.gather_objects(rng)
    if parallel.is_main_process():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        try:
            with open(tmp, "wb") as f:
                torch.save({"model": model_sd, "optimizers": opt_sds, "rank_rng": rank_rng, **meta}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    parallel.barrier()


def read_checkpoint(path: Path, map_location: str | torch.device) -> dict:
    """The checkpoint's contents; an unreadable file is a UserError naming it."""
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, ValueError) as exc:
        raise UserError(f"checkpoint {path} is unreadable ({str(exc).splitlines()[0]}); "
                        f"it may be cut short: remove it to start over") from None


def load_checkpoint(path: Path, model: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer],
                    map_location: str | torch.device, sft_steps: int) -> dict:
    """Load model and optimizer states (every rank; sharded models keep their shard); returns the checkpoint
    (step, version, config, rank_rng). An older checkpoint with one shared optimizer fills the optimizer of the
    phase it was written in (step < sft_steps: SFT)."""
    state = read_checkpoint(path, map_location)
    parallel.load_model_state(model, state["model"])
    if "optimizers" not in state:
        state["optimizers"] = {"sft" if state["step"] < sft_steps else "rl": state["optimizer"]}
        state["rank_rng"] = state.get("rank_rng") or [state]
    opt_sds = state["optimizers"]
    for name, opt in optimizers.items():
        if opt_sds.get(name):
            parallel.load_optimizer_state(model, opt, opt_sds[name])
    return state


def load_weights(path: Path, model: torch.nn.Module, map_location: str | torch.device) -> None:
    """Initialise the model's weights from a checkpoint (run.init_from); a missing or mismatched one is a UserError."""
    if not path.is_file():
        raise UserError(f"config: run.init_from: checkpoint {path} not found")
    state = read_checkpoint(path, map_location)
    try:
        parallel.load_model_state(model, state["model"])
    except RuntimeError as exc:
        raise UserError(f"config: run.init_from: {path} does not match this model ({str(exc).splitlines()[0]})") \
            from None
