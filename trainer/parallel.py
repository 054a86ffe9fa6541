"""Data parallelism under torchrun (run.parallel): DDP or FSDP2, full state dicts, a full replica for generation;
and the job's placement (rank, world, device), the few collectives the trainer needs and its memory check.

  ddp    every rank holds the whole model, gradients are all-reduced (averaged) during backward.
  fsdp2  `fully_shard` on every transformer block, then on the root (the log-prob module that holds the
         embedding, the final norm and the LM head): each rank keeps 1/world of every parameter, gradient and
         AdamW moment (DTensors sharded on dim 0); a block's full weights are all-gathered just before its
         forward (and again for its backward) and freed after; gradients are reduce-scattered (averaged).

Numerics are those of one process in both modes: parameters stay fp32 master weights (FSDP2 all-gathers them in
fp32, no MixedPrecisionPolicy param_dtype) and the model casts weights to cfg.dtype on use, exactly as in one
process; norms, the router and the log-prob LM head keep reading fp32 weights; gradients are reduced in fp32.
Buffers (the aux-free router bias) are not sharded: every rank has the whole bias (the trainer averages it).

Checkpoints (trainer.checkpoint) hold full (unsharded) state dicts in the one-process format: model keys as
`model.state_dict()`, optimizer state keyed by parameter index as `opt.state_dict()`. Under FSDP2 they are gathered to rank 0 on CPU
(torch.distributed.checkpoint.state_dict helpers) and loaded back by every rank keeping its own shard, so a
checkpoint moves freely between one process, DDP and FSDP2 (any world size).

Generation under FSDP2 runs on a full, unsharded replica of the model (`full_replica`, fp32 like the master
weights), refreshed with `refresh_replica` (one all-gather of every parameter) after optimizer steps; it is an
ordinary module, so KV-cache sampling needs no collective and ranks may generate different amounts.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from common.errors import UserError
from trainer.model import MoETransformer

MODES = ("ddp", "fsdp2")


@dataclass
class Placement:
    """This process's place in the job: rank, world size, local rank and the device it computes on."""

    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes the run directory."""
        return self.rank == 0


def setup(device: str) -> Placement:
    """Read torchrun's environment, pick the device (run.device: auto | cpu | cuda), join the process group."""
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("config: run.device=cuda but no CUDA GPU is visible (use run.device=cpu or auto)")
    on_gpu = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    dev = torch.device("cuda", local_rank) if on_gpu else torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Placement(rank, world, local_rank, dev)


def _multi() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def is_main_process() -> bool:
    """Rank 0 of the process group, or the only process."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def all_mean(values: list[float], device: torch.device) -> list[float]:
    """The mean of each value over the ranks (the values themselves in one process)."""
    if not _multi():
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return (t / dist.get_world_size()).tolist()


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank when `flag` is true on any rank (a collective under torchrun)."""
    if not _multi():
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t)
    return bool(t.item() > 0)


def average_(t: torch.Tensor) -> None:
    """Replace t, in place, by its mean over the ranks (nothing in one process)."""
    if _multi():
        dist.all_reduce(t)
        t /= dist.get_world_size()


def gather_objects(obj: object) -> list:
    """[obj of rank 0, obj of rank 1, ...] on every rank ([obj] in one process)."""
    if not _multi():
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    """Wait for every rank (nothing in one process)."""
    if _multi():
        dist.barrier()


def check_fits(n_params: int, place: Placement, mode: str) -> None:
    """Refuse a model whose weights + grads + AdamW state cannot fit in free memory (says so, in numbers)."""
    need = n_params * 16                                   # fp32 weights, grads, two AdamW moments
    if place.world > 1 and mode == "fsdp2":
        need = n_params * 16 // place.world + n_params * 4   # the shards, plus the full replica for generation
    if place.device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(place.device)
        where = f"GPU {place.device}"
    else:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return
        where = "host memory"
    if need > 0.9 * free:
        raise UserError(f"run does not fit: {n_params / 1e6:.0f}M parameters need ~{need / 2**30:.1f} GiB for "
                        f"weights, grads and AdamW state, but only {free / 2**30:.1f} GiB is free in {where}; "
                        f"choose a smaller model.preset or fewer layers/experts")


def wrap(fwd: nn.Module, model: MoETransformer, mode: str, device: torch.device) -> nn.Module:
    """The module to call for training forwards: `fwd` (one process), DDP(fwd), or `fwd` sharded in place (FSDP2).

    `fwd` is the log-prob wrapper around `model` (its only parameters are the model's). Build the optimizer
    over `model.parameters()` after this call: under FSDP2 they are then the sharded DTensors.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return fwd
    if mode == "ddp":
        from torch.nn.parallel import DistributedDataParallel as DDP
        return DDP(fwd, device_ids=[device.index] if device.type == "cuda" else None,
                   find_unused_parameters=True)   # the "loop" expert path skips experts with no tokens
    if mode == "fsdp2":
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
        mesh = init_device_mesh(device.type, (dist.get_world_size(),))          # the parameters' device type
        mp = MixedPrecisionPolicy(param_dtype=None, reduce_dtype=torch.float32)   # fp32 gather, fp32 reduce
        for block in model.blocks:
            fully_shard(block, mesh=mesh, mp_policy=mp)
        fully_shard(fwd, mesh=mesh, mp_policy=mp)      # the root: embedding, final norm, LM head
        return fwd
    raise ValueError(f"unknown run.parallel {mode!r} (choose from {', '.join(MODES)})")


def is_sharded(model: nn.Module) -> bool:
    """True when the model's parameters are FSDP2 DTensor shards."""
    from torch.distributed.tensor import DTensor
    return any(isinstance(p, DTensor) for p in model.parameters())


def full_tensor(t: torch.Tensor) -> torch.Tensor:
    """The whole tensor (all-gathered when it is a DTensor shard; a collective then)."""
    return t.full_tensor() if hasattr(t, "full_tensor") else t


def _param_names(model: nn.Module) -> list[str]:
    """Parameter names in `model.parameters()` order = the optimizer's parameter indices."""
    return [n for n, _ in model.named_parameters()]


def full_model_state(model: nn.Module) -> dict:
    """The model's full state dict in the one-process format (a collective when sharded; rank 0 gets it on CPU)."""
    if not is_sharded(model):
        return model.state_dict()
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))


def full_optimizer_state(model: nn.Module, opt: torch.optim.Optimizer) -> dict:
    """The optimizer's full state dict, keyed by parameter index as `opt.state_dict()`.

    Sharded (FSDP2): a collective on every rank; rank 0 gets it on CPU, the other ranks an empty dict.
    """
    if not is_sharded(model):
        return opt.state_dict()
    if not opt.state:             # before the first step (the helper would initialise the state with a fake step)
        return opt.state_dict() if dist.get_rank() == 0 else {}
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict
    osd = get_optimizer_state_dict(model, opt, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if not osd:
        return {}
    index = {name: i for i, name in enumerate(_param_names(model))}
    return {"state": {index[name]: s for name, s in osd["state"].items()},
            "param_groups": [{**g, "params": [index[n] for n in g["params"]]} for g in osd["param_groups"]]}


def load_model_state(model: nn.Module, msd: dict) -> None:
    """Load a full one-process model state dict (every rank passes the same dict); sharded models keep their shard."""
    if not is_sharded(model):
        model.load_state_dict(msd)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict
    missing, unexpected = set(model.state_dict()) - set(msd), set(msd) - set(model.state_dict())
    if missing or unexpected:
        raise RuntimeError(f"state dict mismatch: missing keys {sorted(missing)}, unexpected keys {sorted(unexpected)}")
    set_model_state_dict(model, msd, options=StateDictOptions(full_state_dict=True))


def load_optimizer_state(model: nn.Module, opt: torch.optim.Optimizer, osd: dict) -> None:
    """Load a full one-process optimizer state dict (keyed by parameter index) into `opt` over `model`'s parameters."""
    if not is_sharded(model):
        opt.load_state_dict(osd)
        return
    if not osd.get("state"):
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict
    names = _param_names(model)
    by_name = {"state": {names[i]: s for i, s in osd["state"].items()},
               "param_groups": [{**g, "params": [names[i] for i in g["params"]]} for g in osd["param_groups"]]}
    set_optimizer_state_dict(model, opt, by_name, options=StateDictOptions(full_state_dict=True))
    for g in opt.param_groups:              # the helper hands tuples back as lists; keep torch's own types
        if isinstance(g.get("betas"), list):
            g["betas"] = tuple(g["betas"])


def full_replica(model: MoETransformer, device: torch.device) -> MoETransformer:
    """A plain (unsharded) copy of a sharded model with the same weights and buffers (a collective)."""
    with torch.device("meta"):                  # no random init (and no RNG draws): every tensor is copied below
        replica = MoETransformer(model.cfg)
    replica = replica.to_empty(device=device).requires_grad_(False)
    refresh_replica(replica, model)
    return replica


@torch.no_grad()
def refresh_replica(replica: MoETransformer, model: MoETransformer) -> None:
    """Copy the current weights and buffers of `model` (gathering shards: a collective) into `replica`."""
    for name, p in model.named_parameters():
        replica.get_parameter(name).copy_(full_tensor(p))
    for name, b in model.named_buffers():
        replica.get_buffer(name).copy_(full_tensor(b))


def shutdown() -> None:
    """Leave the process group, then let gloo's worker threads drop the work of the last collectives.

    Those threads release a finished collective's tensors, which needs the GIL; if the interpreter is already
    finalizing by then, the thread is torn down inside C++ and the process aborts ("terminate called without an
    active exception", seen with gloo in torch 2.13 in about one exit in three). Sleeping releases the GIL first.
    """
    backend = dist.get_backend()
    dist.destroy_process_group()
    if backend == "gloo":
        time.sleep(0.1)
