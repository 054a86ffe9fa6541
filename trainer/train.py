"""SFT warm-up then RL on a verifiable environment: group sampling, rewards, advantages, CISPO/PPO/GRPO.

One step of RL (shapes: P prompts per step, G completions each, B = P * G sequences, L completion tokens):
  1. rollouts: P problems, each prompt sampled G times with `model.generate` (KV cache, fp32 LM head log-probs)
     -> completions [B][L_b] and the sampling policy's log-probs old_logp [B][L_b]; rewards [B] from the checker
  2. advantages [B]: group-normalised (R - mean_G) / std_G
  3. for each of `minibatches` slices of the groups: log-probs under the current policy (fp32 LM head; flat padded
     batch or prefix-tree merged groups), the policy loss, backward, clip, AdamW step, aux-free bias update
With rl.scheduler = fifo | shortest | window the groups come from an asynchronous rollout pool instead (see
trainer.scheduler): generated with the policy of their submission time, trained in the scheduler's order; arrival
times come from a virtual token clock (rl.clock=virtual) or from a background generation thread doing continuous
batching with weight snapshots the trainer publishes after every optimizer step (rl.clock=wall, trainer.rollout_worker).

Writes into the run directory: config.yaml, metrics.jsonl (one JSON object per step, flushed per line),
train.log, tb/ (TensorBoard events) and ckpt/last.pt (model, optimizer, step, RNG states; atomic replace).
Runs under torchrun (WORLD_SIZE > 1) with DDP or FSDP2 (run.parallel, trainer.parallel): each rank samples its own
prompts, gradients are averaged.
"""

from __future__ import annotations

import heapq
import json
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from common.errors import UserError
from trainer import parallel
from trainer.config import TrainConfig, build_model_config, save_config
from trainer.envs import Env, Problem, make_env, sft_examples
from trainer.loss import group_advantages, policy_loss
from trainer.model import MoETransformer
from trainer.prefix_tree import pack_groups
from trainer.scheduler import Rollout, select
from trainer.tokenizer import CharTokenizer


class LogProbs(torch.nn.Module):
    """Wraps the model so one forward returns token log-probs and entropies (fp32 LM head), DDP-friendly."""

    def __init__(self, model: MoETransformer) -> None:
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor, targets: torch.Tensor, positions: torch.Tensor | None = None,
                attn_mask=None, temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """(log p(targets) [B, T], entropy [B, T]) at `temperature`."""
        h = self.model(tokens, positions=positions, attn_mask=attn_mask)
        logits = self.model.logits(h, fp32=True).float()
        if temperature != 1.0:
            logits = logits / temperature
        logp_all = torch.log_softmax(logits, dim=-1)
        lp = logp_all.gather(-1, targets.unsqueeze(-1)).squeeze(-1).clone()   # not a view (FSDP2 output hooks)
        ent = -(logp_all.exp() * logp_all).sum(-1)
        return lp, ent


class TrainingStopped(RuntimeError):
    """The run stopped on purpose (non-finite loss, out of memory); the message says why and what is kept."""


@dataclass
class Group:
    """One prompt's G rollouts: token ids, sampling log-probs and rewards."""

    problem: Problem
    prompt: list[int]
    completions: list[list[int]]
    old_logp: list[list[float]]
    rewards: list[float]
    version: int = 0


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


def _finite_or_none(x: float | None) -> float | None:
    return x if x is None or math.isfinite(x) else None


def _lr_at(base: float, step_in_phase: int, warmup: int) -> float:
    """Linear warm-up to `base` over `warmup` steps, then constant."""
    return base * min(1.0, (step_in_phase + 1) / max(1, warmup))


class Trainer:
    """Builds the model, optimizer and run directory from a TrainConfig and runs SFT then RL."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, resume: bool = False) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.device = self._pick_device()
        self._init_dist()
        self.is_main = self.rank == 0
        self.tok = CharTokenizer()
        self.env: Env = make_env(cfg.env.name, cfg.env.level)
        self.max_new = cfg.rl.max_new_tokens or self.env.max_answer_chars() + 2
        self.mcfg = build_model_config(cfg, vocab_size=self.tok.vocab_size)
        self._check_fits()
        torch.manual_seed(cfg.run.seed)
        self.model = MoETransformer(self.mcfg).to(self.device)
        # one process: fwd is LogProbs(model); torchrun: DDP(LogProbs) or FSDP2-sharded in place (trainer.parallel)
        self.fwd: torch.nn.Module = parallel.wrap(LogProbs(self.model), self.model, cfg.run.parallel, self.device)
        self.sharded = parallel.is_sharded(self.model)
        # generation runs on the model itself, or under FSDP2 on a full replica refreshed after optimizer steps
        self.gen_model = parallel.full_replica(self.model, self.device) if self.sharded else self.model
        if cfg.run.compile:                    # after wrapping (FSDP2 hooks live on the blocks); generation stays eager
            self.model.compile_blocks()
        o = cfg.optim
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.sft.lr, betas=(o.beta1, o.beta2),
                                     weight_decay=o.weight_decay, fused=self.device.type == "cuda")
        self.rng = random.Random(cfg.run.seed * 1000 + self.rank)
        self.gen = torch.Generator(device=self.device).manual_seed(cfg.run.seed * 1000 + self.rank + 1)
        self.step = 0
        self.version = 0                       # policy version = optimizer steps taken in RL
        self.ckpt_path = self.run_dir / "ckpt" / "last.pt"
        self.last_good_step: int | None = None
        # asynchronous rollout pool (rl.scheduler != sync)
        self.pool: list[Rollout] = []
        self.running: list[tuple[float, int]] = []
        self.clock, self.next_rid, self.idle_time, self.busy_time = 0.0, 0, 0.0, 0.0
        self.worker = None                     # rl.clock=wall: trainer.rollout_worker.RolloutWorker, started lazily
        self.wall_mark: float | None = None    # rl.clock=wall: when the trainer last got its groups
        self._prepare_run_dir(resume)
        self.tb = self._tensorboard()
        if resume:
            self._load_checkpoint()
        elif cfg.run.init_from:
            self._init_from(cfg.run.init_from)

    # ------------------------------------------------------------------ setup
    def _pick_device(self) -> torch.device:
        want = self.cfg.run.device
        if want == "cuda" and not torch.cuda.is_available():
            raise UserError("config: run.device=cuda but no CUDA GPU is visible (use run.device=cpu or auto)")
        if want == "cpu" or (want == "auto" and not torch.cuda.is_available()):
            return torch.device("cpu")
        return torch.device("cuda", self.local_rank)

    def _init_dist(self) -> None:
        if self.world <= 1 or dist.is_initialized():
            return
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")

    def _check_fits(self) -> None:
        """Refuse a model whose weights + grads + AdamW state cannot fit in free memory (says so, in numbers)."""
        n = _count_params(self.mcfg)
        need = n * 16                                    # fp32 weights, grads, two AdamW moments
        if self.world > 1 and self.cfg.run.parallel == "fsdp2":
            need = n * 16 // self.world + n * 4         # the shards, plus the full replica used for generation
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            where = f"GPU {self.device}"
        else:
            try:
                free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            except (ValueError, OSError, AttributeError):
                return
            where = "host memory"
        if need > 0.9 * free:
            raise UserError(f"run does not fit: {n / 1e6:.0f}M parameters need ~{need / 2**30:.1f} GiB for weights, "
                            f"grads and AdamW state, but only {free / 2**30:.1f} GiB is free in {where}; "
                            f"choose a smaller model.preset or fewer layers/experts")

    def _prepare_run_dir(self, resume: bool) -> None:
        metrics = self.run_dir / "metrics.jsonl"
        if not resume and metrics.exists() and metrics.stat().st_size > 0:
            raise UserError(f"run directory {self.run_dir} already has metrics; use --resume or another --run-id")
        if resume and not self.ckpt_path.exists():
            raise UserError(f"nothing to resume: {self.ckpt_path} does not exist")
        if self.is_main:
            (self.run_dir / "ckpt").mkdir(parents=True, exist_ok=True)
            save_config(self.cfg, self.run_dir / "config.yaml")
            self.metrics_f = open(metrics, "a", buffering=1)
            self.log_f = open(self.run_dir / "train.log", "a", buffering=1)

    def _tensorboard(self):
        if not (self.is_main and self.cfg.log.tensorboard):
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self.log("tensorboard is not installed; TensorBoard events are off (pip install tensorboard)")
            return None
        return SummaryWriter(str(self.run_dir / "tb"))

    # ------------------------------------------------------------------ logging
    def log(self, msg: str) -> None:
        """A line to train.log and stdout (rank 0)."""
        if not self.is_main:
            return
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        self.log_f.write(line + "\n")
        print(line, flush=True)

    def write_metrics(self, rec: dict) -> None:
        """One JSON line (non-finite floats written as null), flushed; scalars also to TensorBoard."""
        if not self.is_main:
            return
        clean = {k: (_finite_or_none(v) if isinstance(v, float) else v) for k, v in rec.items()}
        self.metrics_f.write(json.dumps(clean) + "\n")
        self.metrics_f.flush()
        if self.tb is not None and "step" in rec:
            for k, v in rec.items():
                if isinstance(v, int | float) and not isinstance(v, bool) and k != "step" and math.isfinite(v):
                    self.tb.add_scalar(f"{rec.get('phase', 'run')}/{k}", v, rec["step"])

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self) -> None:
        """Atomically replace ckpt/last.pt with the current state (written by rank 0; under FSDP2 every rank
        takes part in gathering the full state dicts). RNG states are kept per rank."""
        model_sd, opt_sd = parallel.full_state(self.model, self.opt)
        rng = {"py_rng": self.rng.getstate(), "gen_rng": self.gen.get_state(), "torch_rng": torch.get_rng_state()}
        rank_rng = [rng]
        if self.world > 1:
            rank_rng = [None] * self.world
            dist.all_gather_object(rank_rng, rng)
        if self.is_main:
            state = {
                "model": model_sd, "optimizer": opt_sd, "step": self.step, "version": self.version,
                "config": self.cfg.to_dict(), **rng, "rank_rng": rank_rng,    # top-level RNG keys: rank 0's
            }
            tmp = self.ckpt_path.with_suffix(".tmp")
            torch.save(state, tmp)
            os.replace(tmp, self.ckpt_path)
        self.last_good_step = self.step
        self._barrier()

    def _load_checkpoint(self) -> None:
        state = torch.load(self.ckpt_path, map_location="cpu" if self.sharded else self.device, weights_only=False)
        parallel.load_state(self.model, self.opt, state["model"], state["optimizer"])
        self._refresh_gen_model()
        self.step, self.version = state["step"], state["version"]
        rank_rng = state.get("rank_rng") or [state]
        if self.rank < len(rank_rng):
            rng = rank_rng[self.rank]
            self.rng.setstate(rng["py_rng"])
            self.gen.set_state(rng["gen_rng"].cpu())
            torch.set_rng_state(rng["torch_rng"].cpu())
        else:                      # a checkpoint of fewer processes: this rank gets fresh seeds for this step
            seed = (self.cfg.run.seed * 1000 + self.rank) * 1_000_003 + self.step
            self.rng.seed(seed)
            self.gen.manual_seed(seed + 1)
            torch.set_rng_state(rank_rng[0]["torch_rng"].cpu())
        self.last_good_step = self.step
        self.write_metrics({"event": "resume", "from_step": self.step})
        self.log(f"resumed from {self.ckpt_path} at step {self.step} (later lines supersede earlier ones of the "
                 f"same step)")

    def _init_from(self, path: str) -> None:
        p = Path(path)
        if not p.is_file():
            raise UserError(f"config: run.init_from: checkpoint {p} not found")
        state = torch.load(p, map_location="cpu" if self.sharded else self.device, weights_only=False)
        try:
            parallel.load_state(self.model, None, state["model"], None)
        except RuntimeError as exc:
            raise UserError(f"config: run.init_from: {p} does not match this model ({str(exc).splitlines()[0]})") \
                from None
        self._refresh_gen_model()
        self.log(f"initialised weights from {p}")

    def _refresh_gen_model(self) -> None:
        """FSDP2: copy the current (gathered) weights into the generation replica; a collective on every rank."""
        if self.gen_model is not self.model:
            parallel.refresh_replica(self.gen_model, self.model)

    # ------------------------------------------------------------------ distributed helpers
    def _barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def _all_mean(self, values: list[float]) -> list[float]:
        if self.world <= 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return (t / self.world).tolist()

    def _any(self, flag: bool) -> bool:
        if self.world <= 1:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(t)
        return bool(t.item() > 0)

    # ------------------------------------------------------------------ pieces of a step
    def _pad(self, rows: list[list[int]], value: int) -> torch.Tensor:
        width = max(len(r) for r in rows)
        return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=torch.long, device=self.device)

    def _completion_logprobs(self, groups: list[Group]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(logp [B, L], entropy [B, L], mask [B, L]) of every completion under the current policy."""
        comps = [c for g in groups for c in g.completions]
        width = max(len(c) for c in comps)
        mask = torch.zeros(len(comps), width, device=self.device)
        for b, c in enumerate(comps):
            mask[b, : len(c)] = 1.0
        if self.cfg.rl.pack == "tree":
            # every group of this rank's minibatch as one prefix tree, all trees in one row [1, N]: one forward
            # (one gradient sync under DDP, one all-gather per block under FSDP2). FlexAttention block masks
            # need head_dim >= 16; smaller heads use the dense tree mask
            mask_kind = "auto" if self.mcfg.head_dim >= 16 else "dense"
            n_real = sum(len(g.prompt) - 1 + sum(len(c) for c in g.completions) for g in groups)
            step = max(128, 1 << max(0, n_real.bit_length() - 4))   # >= 8 buckets per octave, multiples of 128
            bucket = -(-n_real // step) * step        # few distinct shapes for the compiled FlexAttention
            pg = pack_groups([(g.prompt, g.completions) for g in groups], pad_to=bucket, device=self.device,
                             mask=mask_kind)
            lp, ent = self.fwd(pg.tokens, pg.targets, positions=pg.positions, attn_mask=pg.attn_mask,
                               temperature=self.cfg.rl.temperature)                      # [1, N]
            lps = [F.pad(lp[0, s], (0, width - (s.stop - s.start))) for s in pg.completion_slices]
            ents = [F.pad(ent[0, s], (0, width - (s.stop - s.start))) for s in pg.completion_slices]
            return torch.stack(lps), torch.stack(ents), mask
        prompts = [g.prompt for g in groups for _ in g.completions]
        seqs = [p + c for p, c in zip(prompts, comps, strict=True)]
        tokens = self._pad(seqs, self.tok.pad_id)                        # [B, S]
        lp_all, ent_all = self.fwd(tokens[:, :-1], tokens[:, 1:], temperature=self.cfg.rl.temperature)  # [B, S-1]
        # completion token j of row b is predicted at position len(prompt_b) - 1 + j
        starts = torch.tensor([len(p) - 1 for p in prompts], device=self.device)
        idx = (starts.unsqueeze(1) + torch.arange(width, device=self.device)).clamp_max(lp_all.shape[1] - 1)
        return lp_all.gather(1, idx) * mask, ent_all.gather(1, idx) * mask, mask

    @torch.no_grad()
    def generate_groups(self, n: int) -> list[Group]:
        """n problems, G sampled completions each, rewarded by the environment's checker."""
        problems = [self.env.sample(self.rng) for _ in range(n)]
        prompts = [self.tok.encode(p.prompt, bos=True) for p in problems]
        g = self.cfg.rl.group_size
        out = self.gen_model.generate([p for p in prompts for _ in range(g)], max_new_tokens=self.max_new,
                                      temperature=self.cfg.rl.temperature, eos_id=self.tok.eos_id,
                                      generator=self.gen)
        groups = []
        for i, (prob, prompt) in enumerate(zip(problems, prompts, strict=True)):
            comps = out.tokens[i * g:(i + 1) * g]
            rewards = [self.env.reward(prob, self.tok.completion_text(c)) for c in comps]
            groups.append(Group(prob, prompt, comps, out.logprobs[i * g:(i + 1) * g], rewards, self.version))
        return groups

    def _next_groups(self) -> tuple[list[Group], dict]:
        """The groups to train on this step: fresh (sync) or from the asynchronous pool by the scheduler."""
        p = self.cfg.rl.prompts_per_step
        if self.cfg.rl.scheduler == "sync":
            return self.generate_groups(p), {}
        rl = self.cfg.rl
        if rl.clock == "wall":
            return self._wall_groups()
        cap = rl.gen_slots + rl.window + p
        while True:
            while self.running and self.running[0][0] <= self.clock:
                heapq.heappop(self.running)
            n_free = min(rl.gen_slots - len(self.running), cap - len(self.pool))
            if n_free > 0:
                for grp in self.generate_groups(n_free):
                    length = max(len(c) for c in grp.completions)      # a group is done when its longest is
                    r = Rollout(rid=self.next_rid, length=length, version=self.version,
                                arrival=self.clock + length, payload=grp)
                    self.next_rid += 1
                    self.pool.append(r)
                    heapq.heappush(self.running, (r.arrival, r.rid))
            chosen = select(rl.scheduler, self.pool, self.clock, p, rl.window)
            if chosen is not None:
                break
            nxt = self.running[0][0]
            self.idle_time += nxt - self.clock
            self.clock = nxt
        ids = {r.rid for r in chosen}
        self.pool = [r for r in self.pool if r.rid not in ids]
        # the trainer processes tokens as fast as all generator slots together produce them (balanced regime)
        work = sum(len(c) for r in chosen for c in r.payload.completions) / (rl.gen_slots * rl.group_size)
        self.clock += work
        self.busy_time += work
        lag = [self.version - r.version for r in chosen]
        info = {"staleness_mean": sum(lag) / len(lag), "staleness_max": max(lag),
                "sched_utilisation": self.busy_time / max(1e-9, self.busy_time + self.idle_time),
                "pool_size": len(self.pool)}
        return [r.payload for r in chosen], info

    def _wall_groups(self) -> tuple[list[Group], dict]:
        """Groups from the background generation thread, picked by the scheduler on real arrival times.

        Utilisation = trainer busy seconds / (busy + seconds blocked waiting for the scheduler's batch).
        """
        from trainer.rollout_worker import RolloutWorker, weights_copy
        rl, p = self.cfg.rl, self.cfg.rl.prompts_per_step
        if self.worker is None:
            self.worker = RolloutWorker(self.mcfg, self.env, self.tok, slots=rl.gen_slots, group_size=rl.group_size,
                                        max_new=self.max_new, temperature=rl.temperature,
                                        cap=rl.gen_slots + rl.window + p, state=weights_copy(self.gen_model),
                                        version=self.version, device=self.device,
                                        seed=self.cfg.run.seed * 1000 + self.rank + 2)
        start = time.monotonic()
        busy = start - self.wall_mark if self.wall_mark is not None else 0.0
        chosen, waited = self.worker.take(rl.scheduler, p, rl.window)
        self.wall_mark = time.monotonic()
        self.busy_time += busy
        self.idle_time += waited
        lag = [self.version - r.version for r in chosen]
        info = {"staleness_mean": sum(lag) / len(lag), "staleness_max": max(lag), "staleness_each": lag,
                "sched_rids": [r.rid for r in chosen],
                "sched_utilisation": self.busy_time / max(1e-9, self.busy_time + self.idle_time),
                "sched_wait_s": waited, "sched_busy_s": busy,
                "sched_max_wait_s": max(self.wall_mark - r.arrival for r in chosen),
                "pool_size": self.worker.pool_size()}
        return [r.payload for r in chosen], info

    def _publish_weights(self) -> None:
        """rl.clock=wall: hand the weights of the new policy version to the generation thread."""
        if self.worker is not None:
            from trainer.rollout_worker import weights_copy
            self.worker.publish(weights_copy(self.gen_model), self.version)   # unsharded, refreshed per step

    def _stop_worker(self) -> None:
        """Stop and join the generation thread, if any."""
        if self.worker is not None:
            worker, self.worker = self.worker, None
            if not worker.close(timeout=30.0):
                self.log("warning: the rollout worker did not stop within 30 s (left as a daemon thread)")

    def _optimizer_step(self, loss: torch.Tensor, lr: float) -> tuple[float, bool]:
        """Backward, clip, AdamW step and aux-free bias update; returns (grad norm, grads finite)."""
        for pg in self.opt.param_groups:
            pg["lr"] = lr
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip))
        finite = math.isfinite(gnorm)
        if self._any(not finite):
            return gnorm, False
        self.opt.step()
        self.model.update_router_bias()
        if self.world > 1:
            for m in self.model.moe_layers():            # keep the selection bias identical on every rank
                dist.all_reduce(m.router_bias)
                m.router_bias /= self.world
        if self.step >= self.cfg.sft.steps - 1:          # generation follows (RL, or the eval after SFT)
            self._refresh_gen_model()
        return gnorm, True

    def _check_finite(self, loss: torch.Tensor, phase: str, extra: dict, what: str = "loss") -> None:
        """Stop the run cleanly on a non-finite loss: log it, write the metrics line, keep the last checkpoint."""
        bad = self._any(not bool(torch.isfinite(loss.detach()).all()))
        if not bad:
            return
        rec = {"step": self.step, "phase": phase, "loss": float(loss.detach()),
               "loss_nonfinite": what == "loss", "grad_nonfinite": what != "loss", **extra}
        self.write_metrics(rec)
        kept = (f"the last good checkpoint is {self.ckpt_path} (step {self.last_good_step})"
                if self.last_good_step is not None else "no checkpoint was written before it")
        msg = (f"non-finite {what} ({float(loss.detach())}) at step {self.step} ({phase}); stopping the run; {kept}. "
               f"Lower the learning rate or raise optim.grad_clip, then resume with --resume")
        self.log("error: " + msg)
        raise TrainingStopped(msg)

    def _maybe_inject_nan(self, loss: torch.Tensor) -> torch.Tensor:
        if self.step == self.cfg.debug.nan_at_step:
            return loss * float("nan")
        return loss

    def _common_metrics(self, t0: float, tokens_total: int, flops: float) -> dict:
        dt = max(1e-9, time.perf_counter() - t0)
        load = self.model.expert_load()
        rec = {"tokens_per_s": tokens_total * self.world / dt, "step_time_s": dt}
        if self.device.type == "cuda" and self.cfg.log.peak_tflops > 0:
            rec["mfu"] = flops / dt / (self.cfg.log.peak_tflops * 1e12)
        if load.numel():
            rec["expert_load"] = [[round(float(x), 4) for x in row] for row in load]
            rec["expert_load_max"] = float(load.max() * load.shape[1])   # 1.0 = perfectly balanced
        return rec

    # ------------------------------------------------------------------ phases
    def sft_step(self, i: int) -> dict:
        """One supervised step on reference solutions (loss on the answer + EOS only)."""
        t0 = time.perf_counter()
        self.model.train()
        pairs = sft_examples(self.env, self.rng, self.cfg.sft.batch_size)
        prompts = [self.tok.encode(p, bos=True) for p, _ in pairs]
        answers = [self.tok.encode(a, eos=True) for _, a in pairs]
        seqs = [p + a for p, a in zip(prompts, answers, strict=True)]
        tokens = self._pad(seqs, self.tok.pad_id)
        mask = torch.zeros(tokens.shape[0], tokens.shape[1] - 1, device=self.device)
        for b, (p, a) in enumerate(zip(prompts, answers, strict=True)):
            mask[b, len(p) - 1: len(p) - 1 + len(a)] = 1.0
        lp, _ = self.fwd(tokens[:, :-1], tokens[:, 1:])
        loss = -(lp * mask).sum() / mask.sum() + self.model.aux_loss()
        loss = self._maybe_inject_nan(loss)
        lr = _lr_at(self.cfg.sft.lr, i, self.cfg.optim.warmup_steps)
        self._check_finite(loss, "sft", {"lr": lr})
        gnorm, ok = self._optimizer_step(loss, lr)
        if not ok:
            self._check_finite(torch.tensor(gnorm), "sft", {}, what="gradient norm")
        n_tok = int(mask.sum())
        flops = self.model.flops_per_token(tokens.shape[1]) * tokens.numel()
        (loss_m,) = self._all_mean([float(loss.detach())])
        return {"step": self.step, "phase": "sft", "loss": loss_m, "lr": lr, "grad_norm": gnorm,
                "answer_tokens": n_tok, "loss_nonfinite": False, "grad_nonfinite": False,
                **self._common_metrics(t0, tokens.numel(), flops)}

    def rl_step(self, i: int) -> dict:
        """One RL step: rollouts, advantages, `minibatches` x `epochs` optimizer steps with the chosen loss."""
        rl = self.cfg.rl
        t0 = time.perf_counter()
        groups, sched = self._next_groups()
        t_gen = time.perf_counter() - t0
        rewards = torch.tensor([r for g in groups for r in g.rewards], device=self.device)
        adv_all = group_advantages(rewards, rl.group_size)
        gen_tokens = sum(len(c) for g in groups for c in g.completions)
        self.model.train()
        st = StepStats()
        lr = _lr_at(rl.lr, i, self.cfg.optim.warmup_steps)
        per_mb = len(groups) // rl.minibatches
        train_tokens, flops = 0, 0.0
        for _ in range(rl.epochs):
            for m in range(rl.minibatches):
                mb = groups[m * per_mb:(m + 1) * per_mb]
                sl = slice(m * per_mb * rl.group_size, (m + 1) * per_mb * rl.group_size)
                logp, ent, mask = self._completion_logprobs(mb)
                old = self._pad_float([lp for g in mb for lp in g.old_logp], logp.shape[1])
                out = policy_loss(rl.loss, logp, old, adv_all[sl], mask, rl.eps_low, rl.eps_high)
                loss = self._maybe_inject_nan(out.loss + self.model.aux_loss())
                self._check_finite(loss, "rl", {"reward_mean": float(rewards.mean())})
                gnorm, ok = self._optimizer_step(loss, lr)
                if not ok:
                    self._check_finite(torch.tensor(gnorm), "rl", {}, what="gradient norm")
                self.version += 1
                self._publish_weights()
                n_tok = float(mask.sum())
                seq_len = max(len(g.prompt) + max(len(c) for c in g.completions) for g in mb)
                train_tokens += sum(len(g.prompt) + len(c) for g in mb for c in g.completions)
                flops += self.model.flops_per_token(seq_len) * sum(len(g.prompt) + len(c) for g in mb
                                                                   for c in g.completions)
                st.add(loss=float(loss.detach()), grad_norm=gnorm, entropy=float((ent.detach() * mask).sum() / n_tok),
                       **out.stats)
        # generation: one forward (2 FLOPs / param) per generated token
        flops += self.model.flops_per_token(self.max_new) / 3.0 * gen_tokens
        loss_m, r_mean, r_std = self._all_mean([st.mean("loss"), float(rewards.mean()),
                                                float(rewards.std(unbiased=False))])
        rec = {"step": self.step, "phase": "rl", "loss_kind": rl.loss, "loss": loss_m, "reward_mean": r_mean,
               "reward_std": r_std, "kl_rollout": st.mean("kl_rollout"), "entropy": st.mean("entropy"),
               "is_mean": st.mean("is_mean"), "is_min": min(st.values["is_min"]), "is_max": max(st.values["is_max"]),
               "clip_frac": st.mean("clip_frac"), "grad_norm": st.mean("grad_norm"), "lr": lr,
               "completion_len": gen_tokens / max(1, rewards.numel()), "gen_time_s": t_gen,
               "loss_nonfinite": False, "grad_nonfinite": False, **sched,
               **self._common_metrics(t0, train_tokens + gen_tokens, flops)}
        return rec

    def _pad_float(self, rows: list[list[float]], width: int) -> torch.Tensor:
        return torch.tensor([r + [0.0] * (width - len(r)) for r in rows], dtype=torch.float32, device=self.device)

    @torch.no_grad()
    def evaluate(self, n: int) -> float:
        """Greedy accuracy on n fresh problems (its own RNG, so training draws are unaffected)."""
        rng = random.Random(12345 + self.rank)
        problems = [self.env.sample(rng) for _ in range(n)]
        out = self.gen_model.generate([self.tok.encode(p.prompt, bos=True) for p in problems], self.max_new,
                                      temperature=0.0, eos_id=self.tok.eos_id)
        acc = sum(self.env.reward(p, self.tok.completion_text(c)) for p, c in zip(problems, out.tokens, strict=True))
        (acc_m,) = self._all_mean([acc / n])
        return acc_m

    def _eval_line(self, tag: str) -> None:
        if self.cfg.run.eval_problems > 0:
            acc = self.evaluate(self.cfg.run.eval_problems)
            self.write_metrics({"event": "eval", "after": tag, "step": self.step, "greedy_accuracy": acc})
            self.log(f"eval after {tag}: greedy accuracy {acc:.3f} on {self.cfg.run.eval_problems} problems")

    # ------------------------------------------------------------------ the loop
    def run(self) -> dict:
        """Run the remaining SFT then RL steps; returns the last metrics line."""
        cfg = self.cfg
        n_sft, n_rl = cfg.sft.steps, cfg.rl.steps
        if self.step == 0:
            self.log(f"model {self.model.num_params() / 1e6:.2f}M params ({self.model.num_params(True) / 1e6:.2f}M "
                     f"active), env {cfg.env.name} level {cfg.env.level}, loss {cfg.rl.loss}, device {self.device}, "
                     f"world {self.world}" + (f" ({cfg.run.parallel})" if self.world > 1 else ""))
        last: dict = {}
        try:
            while self.step < n_sft + n_rl:
                if self.step < n_sft:
                    rec = self.sft_step(self.step)
                else:
                    rec = self.rl_step(self.step - n_sft)
                self.step += 1
                last = rec
                if (self.step - 1) % cfg.log.every == 0 or self.step == n_sft + n_rl:
                    self.write_metrics(rec)
                    self.log(_summary(rec))
                if self.step % cfg.log.ckpt_every == 0 or self.step == n_sft + n_rl:
                    self.save_checkpoint()
                if self.step == n_sft and n_sft > 0:
                    self._eval_line("sft")
        except torch.OutOfMemoryError as exc:
            kept = f"last checkpoint: {self.ckpt_path} (step {self.last_good_step})"
            msg = (f"out of GPU memory at step {self.step}: the run does not fit ({str(exc).splitlines()[0]}); "
                   f"lower rl.prompts_per_step, rl.group_size, sft.batch_size or the model size; {kept}")
            self.log("error: " + msg)
            raise TrainingStopped(msg) from None
        if n_rl > 0 and self.step == n_sft + n_rl:
            self._eval_line("rl")
        self.close()
        return last

    def close(self) -> None:
        """Stop the generation thread, flush and close files (rank 0) and leave the process group."""
        self._stop_worker()
        if self.is_main:
            if self.tb is not None:
                self.tb.flush()
                self.tb.close()
            self.metrics_f.close()
            self.log_f.close()
        if self.world > 1 and dist.is_initialized():
            parallel.shutdown()


def _summary(rec: dict) -> str:
    keys = ["loss", "reward_mean", "kl_rollout", "clip_frac", "grad_norm", "tokens_per_s", "mfu"]
    parts = [f"{k}={rec[k]:.4g}" for k in keys if isinstance(rec.get(k), float)]
    return f"step {rec['step']} [{rec['phase']}] " + " ".join(parts)


def _count_params(mcfg) -> int:
    """Parameter count without building the model (meta device)."""
    with torch.device("meta"):
        m = MoETransformer(mcfg)
    return m.num_params()


def train(cfg: TrainConfig, run_dir: Path, resume: bool = False) -> dict:
    """Run a whole training job into run_dir; returns the last metrics line. Raises TrainingStopped on NaN/OOM."""
    trainer = Trainer(cfg, run_dir, resume=resume)
    try:
        return trainer.run()
    except BaseException:
        trainer._stop_worker()
        if trainer.is_main and not trainer.metrics_f.closed:
            trainer.metrics_f.close()
            trainer.log_f.close()
        raise


def main() -> None:
    """`python -m trainer.train CONFIG [--set k=v ...] [--run-id ID] [--resume]`: `evoforge train` without the
    rest of the CLI (for machines that only have the trainer's dependencies, e.g. under torchrun)."""
    import sys

    import typer

    from agent.cli_train import register

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register(app)
    try:
        app()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
