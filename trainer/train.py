"""SFT warm-up then RL on a verifiable environment: group sampling, rewards, advantages, CISPO/PPO/GRPO.

One step of RL (shapes: P prompts per step, G completions each, B = P * G sequences, W completion tokens):
  1. rollouts: P groups from the rollout source (trainer.rollouts: fresh from the current policy, or picked by the
     scheduler from an asynchronous pool) -> completions [B][L_b], the sampling policy's log-probs old_logp [B][L_b]
     (fp32 LM head) and rewards [B] from the checker
  2. advantages [B]: group-normalised (R - mean_G) / std_G
  3. for each of `minibatches` slices of the groups: log-probs under the current policy (trainer.batch: a flat padded
     batch or prefix-tree merged groups; the fp32 LM head runs only at completion positions), the policy loss,
     backward, clip, AdamW step (RL's own optimizer state, apart from SFT's), aux-free bias update, weights published
     to the rollout source
SFT steps are the same forward on reference answers (loss on the answer + EOS only).

The parts: trainer.rollouts (where groups come from), trainer.batch (how they are laid out), trainer.checkpoint
(ckpt/last.pt), trainer.metrics (metrics.jsonl, train.log, tb/), trainer.parallel (torchrun: DDP or FSDP2; each rank
samples its own prompts, gradients are averaged). Entry points: `python -m trainer` and `evoforge train`.
"""

from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import TextIO

import torch

from common.errors import UserError
from trainer import checkpoint, parallel
from trainer.batch import LogProbBatch, flat_batch, tree_batch
from trainer.config import OptimCfg, TrainConfig, build_model_config, save_config
from trainer.envs import make_env, sft_examples
from trainer.group import Group
from trainer.loss import group_advantages, policy_loss
from trainer.metrics import RunLog, StepStats, load_metrics, perf_metrics, summary
from trainer.model import MoETransformer
from trainer.rollouts import GroupSampler, make_source
from trainer.tokenizer import CharTokenizer


class LogProbs(torch.nn.Module):
    """Wraps the model so one forward returns token log-probs and entropies (fp32 LM head), DDP/FSDP2-friendly."""

    def __init__(self, model: MoETransformer) -> None:
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor, targets: torch.Tensor, positions: torch.Tensor | None = None,
                attn_mask=None, token_weight: torch.Tensor | None = None, pick: torch.Tensor | None = None,
                temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """(log p(target), entropy) at `temperature`: [B, T], or pick's shape when `pick` (flat indices into B*T)
        selects the positions to score (the LM head then runs there only)."""
        h = self.model(tokens, positions=positions, attn_mask=attn_mask, token_weight=token_weight)
        if pick is not None:
            h, targets = h.reshape(-1, h.shape[-1])[pick], targets.reshape(-1)[pick]
        logits = self.model.logits(h, fp32=True).float()
        if temperature != 1.0:
            logits = logits / temperature
        logp_all = torch.log_softmax(logits, dim=-1)
        lp = logp_all.gather(-1, targets.unsqueeze(-1)).squeeze(-1).clone()   # not a view (FSDP2 output hooks)
        ent = -(logp_all.exp() * logp_all).sum(-1)
        return lp, ent


class TrainingStopped(RuntimeError):
    """The run stopped on purpose (non-finite loss, out of memory); the message says why and what is kept."""


def _lr_at(base: float, step_in_phase: int, warmup: int) -> float:
    """Linear warm-up to `base` over `warmup` steps, then constant."""
    return base * min(1.0, (step_in_phase + 1) / max(1, warmup))


def _adamw(model: MoETransformer, o: OptimCfg, lr: float, device: torch.device) -> torch.optim.AdamW:
    return torch.optim.AdamW(model.parameters(), lr=lr, betas=(o.beta1, o.beta2), weight_decay=o.weight_decay,
                             fused=device.type == "cuda")


def _count_params(mcfg) -> int:
    """Parameter count without building the model (meta device)."""
    with torch.device("meta"):
        return MoETransformer(mcfg).num_params()


def check_run_dir(run_dir: Path, resume: bool) -> None:
    """Refuse to write over another run, or to resume where there is no run; nothing is written here."""
    metrics = run_dir / "metrics.jsonl"
    if not resume and metrics.is_file() and metrics.stat().st_size > 0:
        raise UserError(f"run directory {run_dir} already holds a run; continue it with --resume or choose another "
                        f"run id")
    if resume and not (run_dir / "ckpt" / "last.pt").is_file() and not (run_dir / "config.yaml").is_file():
        raise UserError(f"nothing to resume: {run_dir} holds no run (no ckpt/last.pt, no config.yaml)")


class Trainer:
    """Builds the model, both phases' optimizers and the run record from a TrainConfig; runs SFT then RL."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, resume: bool = False, echo: TextIO | None = None) -> None:
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.place = parallel.setup(cfg.run.device)
        self.device, self.world, self.rank = self.place.device, self.place.world, self.place.rank
        self.is_main = self.place.is_main
        self.tok = CharTokenizer()
        self.env = make_env(cfg.env.name, cfg.env.level)
        self.max_new = cfg.rl.max_new_tokens or self.env.max_answer_chars() + 2
        self.mcfg = build_model_config(cfg, vocab_size=self.tok.vocab_size)
        parallel.check_fits(_count_params(self.mcfg), self.place, cfg.run.parallel)
        self.ckpt_path = self.run_dir / "ckpt" / "last.pt"
        check_run_dir(self.run_dir, resume)
        torch.manual_seed(cfg.run.seed)
        self.model = MoETransformer(self.mcfg).to(self.device)
        # one process: fwd is LogProbs(model); torchrun: DDP(LogProbs) or FSDP2-sharded in place (trainer.parallel)
        self.fwd: torch.nn.Module = parallel.wrap(LogProbs(self.model), self.model, cfg.run.parallel, self.device)
        self.sharded = parallel.is_sharded(self.model)
        # generation runs on the model itself, or under FSDP2 on a full replica refreshed after optimizer steps
        self.gen_model = parallel.full_replica(self.model, self.device) if self.sharded else self.model
        if cfg.run.compile:                    # after wrapping (FSDP2 hooks live on the blocks); generation stays eager
            self.model.compile_blocks()
        self.optimizers = {"sft": _adamw(self.model, cfg.optim, cfg.sft.lr, self.device),
                           "rl": _adamw(self.model, cfg.optim, cfg.rl.lr, self.device)}
        self.rng = random.Random(cfg.run.seed * 1000 + self.rank)
        self.gen = torch.Generator(device=self.device).manual_seed(cfg.run.seed * 1000 + self.rank + 1)
        self.sampler = GroupSampler(self.env, self.tok, cfg.rl.group_size, self.max_new, cfg.rl.temperature,
                                    self.rng, self.gen)
        self.rollouts = None                   # made at the first RL step (trainer.rollouts.make_source)
        self.step = 0                          # steps done, SFT and RL
        self.version = 0                       # policy version = optimizer updates taken in RL
        self.last_good_step: int | None = None
        self.stop_requested = False            # set by request_stop(): stop cleanly after the current step
        self.stopped = False                   # the run ended on such a request
        self.evals: dict[str, float] = {}      # greedy accuracy after "sft" and after "rl"
        resumed = self._restore() if resume else None
        if cfg.run.init_from and not resume:
            checkpoint.load_weights(Path(cfg.run.init_from), self.model, self._map_location())
            self._refresh_gen_model()
        self.log = RunLog(self.run_dir, self.is_main, cfg.log.tensorboard, echo)
        if self.is_main:
            (self.run_dir / "ckpt").mkdir(parents=True, exist_ok=True)
            save_config(cfg, self.run_dir / "config.yaml")
        if resumed is not None:
            self.log.write({"event": "resume", "from_step": self.step})
            self.log.info(resumed)
        if cfg.run.init_from and not resume:
            self.log.info(f"initialised weights from {cfg.run.init_from}")

    # ------------------------------------------------------------------ checkpoints
    def _map_location(self):
        return "cpu" if self.sharded else self.device

    def save_checkpoint(self, path: Path | None = None) -> None:
        """Write the current state to `path` (default ckpt/last.pt); every rank takes part (trainer.checkpoint)."""
        meta = {"step": self.step, "version": self.version, "config": self.cfg.to_dict()}
        checkpoint.save_checkpoint(path or self.ckpt_path, self.model, self.optimizers,
                                   checkpoint.rng_state(self.rng, self.gen), meta)
        self.last_good_step = self.step

    def _restore(self) -> str:
        """Load ckpt/last.pt (model, optimizers, step, version, this rank's RNGs); returns the line to log."""
        if not self.ckpt_path.is_file():
            return f"no checkpoint in {self.run_dir} yet: starting it again from step 0"
        state = checkpoint.load_checkpoint(self.ckpt_path, self.model, self.optimizers, self._map_location(),
                                           sft_steps=self.cfg.sft.steps)
        self._refresh_gen_model()
        self.step, self.version = state["step"], state["version"]
        rank_rng = state["rank_rng"]
        if self.rank < len(rank_rng):
            checkpoint.restore_rng(rank_rng[self.rank], self.rng, self.gen)
        else:                      # a checkpoint of fewer processes: this rank gets fresh seeds for this step
            seed = (self.cfg.run.seed * 1000 + self.rank) * 1_000_003 + self.step
            self.rng.seed(seed)
            self.gen.manual_seed(seed + 1)
            torch.set_rng_state(rank_rng[0]["torch_rng"].cpu())
        self.last_good_step = self.step
        return (f"resumed from {self.ckpt_path} at step {self.step} (later lines supersede earlier ones of the "
                f"same step)")

    def _refresh_gen_model(self) -> None:
        """FSDP2: copy the current (gathered) weights into the generation replica; a collective on every rank."""
        if self.gen_model is not self.model:
            parallel.refresh_replica(self.gen_model, self.model)

    # ------------------------------------------------------------------ pieces of a step
    def logprobs(self, groups: list[Group]) -> tuple[torch.Tensor, torch.Tensor, LogProbBatch]:
        """(log-probs [B, W], entropies [B, W], the batch) of every completion under the current policy, laid out
        as rl.pack says: a flat padded batch, or every group as a prefix tree in one row (one forward)."""
        if self.cfg.rl.pack == "tree":   # FlexAttention block masks need head_dim >= 16; smaller heads: dense mask
            batch = tree_batch([(g.prompt, g.completions) for g in groups], self.device,
                               "auto" if self.mcfg.head_dim >= 16 else "dense")
        else:
            batch = flat_batch([g.prompt for g in groups for _ in g.completions],
                               [c for g in groups for c in g.completions], self.tok.pad_id, self.device)
        lp, ent = self._forward(batch, self.cfg.rl.temperature)
        return lp, ent, batch

    def _forward(self, b: LogProbBatch, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
        lp, ent = self.fwd(b.tokens, b.targets, positions=b.positions, attn_mask=b.attn_mask,
                           token_weight=b.token_weight, pick=b.pick, temperature=temperature)
        return lp * b.mask, ent * b.mask

    def _optimizer_step(self, loss: torch.Tensor, phase: str, lr: float) -> float:
        """Backward, clip, the phase's AdamW step and the aux-free bias update; returns the gradient norm."""
        opt = self.optimizers[phase]
        for pg in opt.param_groups:
            pg["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip))
        self._stop_if_nonfinite(gnorm, "gradient norm", phase, {})
        opt.step()
        self.model.update_router_bias()
        for m in self.model.moe_layers():                # keep the selection bias identical on every rank
            parallel.average_(m.router_bias)
        if self.step >= self.cfg.sft.steps - 1:          # generation follows (RL, or the eval after SFT)
            self._refresh_gen_model()
        return gnorm

    def _stop_if_nonfinite(self, value: float, what: str, phase: str, extra: dict) -> None:
        """Stop the run cleanly on a non-finite loss or gradient: log it, write the metrics line, keep the checkpoint."""
        if not parallel.any_rank(not math.isfinite(value), self.device):
            return
        self.log.write({"step": self.step, "phase": phase, "loss": value if what == "loss" else None,
                        "loss_nonfinite": what == "loss", "grad_nonfinite": what != "loss", **extra})
        kept = (f"the last good checkpoint is {self.ckpt_path} (step {self.last_good_step})"
                if self.last_good_step is not None else "no checkpoint was written before it")
        msg = (f"non-finite {what} ({value}) at step {self.step} ({phase}); stopping the run; {kept}. "
               f"Lower the learning rate or raise optim.grad_clip, then resume with --resume")
        self.log.info("error: " + msg)
        raise TrainingStopped(msg)

    def _loss(self, loss: torch.Tensor) -> torch.Tensor:
        """The loss, made NaN at debug.nan_at_step (fault injection)."""
        return loss * float("nan") if self.step == self.cfg.debug.nan_at_step else loss

    # ------------------------------------------------------------------ phases
    def sft_step(self, i: int) -> dict:
        """One supervised step on reference solutions (loss on the answer + EOS only)."""
        t0 = time.perf_counter()
        self.model.train()
        pairs = sft_examples(self.env, self.rng, self.cfg.sft.batch_size)
        batch = flat_batch([self.tok.encode(p, bos=True) for p, _ in pairs],
                           [self.tok.encode(a, eos=True) for _, a in pairs], self.tok.pad_id, self.device)
        lp, _ = self._forward(batch, 1.0)
        loss = self._loss(-lp.sum() / batch.mask.sum() + self.model.aux_loss())
        lr = _lr_at(self.cfg.sft.lr, i, self.cfg.optim.warmup_steps)
        self._stop_if_nonfinite(float(loss.detach()), "loss", "sft", {"lr": lr})
        gnorm = self._optimizer_step(loss, "sft", lr)
        flops = self.model.flops(batch.n_tokens, batch.n_scored, batch.n_pairs)
        (loss_m,) = parallel.all_mean([float(loss.detach())], self.device)
        return {"step": self.step, "phase": "sft", "loss": loss_m, "lr": lr, "grad_norm": gnorm,
                "answer_tokens": batch.n_scored, "loss_nonfinite": False, "grad_nonfinite": False,
                **self._bookkeeping(t0, batch.n_tokens, flops)}

    def rl_step(self, i: int) -> dict:
        """One RL step: rollouts, advantages, `minibatches` x `epochs` optimizer steps with the chosen loss."""
        rl = self.cfg.rl
        t0 = time.perf_counter()
        if self.rollouts is None:
            self.optimizers["sft"].state.clear()         # SFT is over: its moments are never used again
            self.rollouts = make_source(rl, self.sampler, self.gen_model, self.mcfg, self.version, self.device,
                                        seed=self.cfg.run.seed * 1000 + self.rank + 2)
        groups, sched = self.rollouts.next_groups()
        t_gen = time.perf_counter() - t0
        rewards = torch.tensor([r for g in groups for r in g.rewards], device=self.device)
        adv_all = group_advantages(rewards, rl.group_size)
        gen_tokens = sum(len(c) for g in groups for c in g.completions)
        flops = self.rollouts.generation_flops(groups)
        self.model.train()
        st = StepStats()
        lr = _lr_at(rl.lr, i, self.cfg.optim.warmup_steps)
        per_mb = len(groups) // rl.minibatches
        train_tokens = 0
        for _ in range(rl.epochs):
            for m in range(rl.minibatches):
                mb = groups[m * per_mb:(m + 1) * per_mb]
                logp, ent, batch = self.logprobs(mb)
                old = torch.zeros_like(logp)
                for b, row in enumerate(lp for g in mb for lp in g.old_logp):
                    old[b, :len(row)] = torch.tensor(row, device=self.device)
                adv = adv_all[m * per_mb * rl.group_size:(m + 1) * per_mb * rl.group_size]
                out = policy_loss(rl.loss, logp, old, adv, batch.mask, rl.eps_low, rl.eps_high)
                loss = self._loss(out.loss + self.model.aux_loss())
                self._stop_if_nonfinite(float(loss.detach()), "loss", "rl", {"reward_mean": float(rewards.mean())})
                gnorm = self._optimizer_step(loss, "rl", lr)
                self.version += 1
                self.rollouts.publish(self.version)
                train_tokens += batch.n_tokens
                flops += self.model.flops(batch.n_tokens, batch.n_scored, batch.n_pairs)
                st.add(loss=float(loss.detach()), grad_norm=gnorm,
                       entropy=float(ent.detach().sum() / batch.mask.sum()), **out.stats)
        loss_m, r_mean, r_std = parallel.all_mean([st.mean("loss"), float(rewards.mean()),
                                                   float(rewards.std(unbiased=False))], self.device)
        return {"step": self.step, "phase": "rl", "loss_kind": rl.loss, "loss": loss_m, "reward_mean": r_mean,
                "reward_std": r_std, "kl_rollout": st.mean("kl_rollout"), "entropy": st.mean("entropy"),
                "is_mean": st.mean("is_mean"), "is_min": min(st.values["is_min"]),
                "is_max": max(st.values["is_max"]), "clip_frac": st.mean("clip_frac"),
                "grad_norm": st.mean("grad_norm"), "lr": lr, "completion_len": gen_tokens / max(1, rewards.numel()),
                "gen_time_s": t_gen, "loss_nonfinite": False, "grad_nonfinite": False, **sched,
                **self._bookkeeping(t0, train_tokens + gen_tokens, flops)}

    def _bookkeeping(self, t0: float, tokens: int, flops: float) -> dict:
        on_cuda = self.device.type == "cuda"
        return {**perf_metrics(time.perf_counter() - t0, tokens, flops, self.world, self.cfg.log.peak_tflops, on_cuda),
                **load_metrics(self.model.expert_load())}

    @torch.no_grad()
    def evaluate(self, n: int) -> float:
        """Greedy accuracy on n fresh problems (its own RNG, so training draws are unaffected)."""
        rng = random.Random(12345 + self.rank)
        problems = [self.env.sample(rng) for _ in range(n)]
        out = self.gen_model.generate([self.tok.encode(p.prompt, bos=True) for p in problems], self.max_new,
                                      temperature=0.0, eos_id=self.tok.eos_id)
        acc = sum(self.env.reward(p, self.tok.completion_text(c)) for p, c in zip(problems, out.tokens, strict=True))
        (acc_m,) = parallel.all_mean([acc / n], self.device)
        return acc_m

    def _eval_line(self, after: str) -> None:
        n = self.cfg.run.eval_problems
        if n > 0:
            self.evals[after] = acc = self.evaluate(n)
            self.log.write({"event": "eval", "after": after, "step": self.step, "greedy_accuracy": acc})
            self.log.info(f"eval after {after}: greedy accuracy {acc:.3f} on {n} problems")

    # ------------------------------------------------------------------ the loop
    def train_step(self) -> dict:
        """One SFT or RL step (by the step counter) with its metrics line, checkpoint and evaluation as configured."""
        cfg = self.cfg
        n_sft, total = cfg.sft.steps, cfg.sft.steps + cfg.rl.steps
        rec = self.sft_step(self.step) if self.step < n_sft else self.rl_step(self.step - n_sft)
        self.step += 1
        if (self.step - 1) % cfg.log.every == 0 or self.step == total:
            self.log.write(rec)
            self.log.info(summary(rec))
        if self.step % cfg.log.ckpt_every == 0 or self.step == total:
            self.save_checkpoint()
        if self.step == n_sft and n_sft > 0:
            self._eval_line("sft")
        return rec

    def request_stop(self) -> None:
        """Ask the run to stop after the current step, with a checkpoint (e.g. on Ctrl-C or SIGTERM)."""
        self.stop_requested = True

    def run(self) -> dict:
        """Run the remaining SFT then RL steps; returns the last metrics line."""
        cfg, last = self.cfg, {}
        total = cfg.sft.steps + cfg.rl.steps
        # ------------------------------------------------------------------ start
        if self.step == 0:
            self.log.info(f"model {self.model.num_params() / 1e6:.2f}M params ({self.model.num_params(True) / 1e6:.2f}M "
                          f"active), env {cfg.env.name} level {cfg.env.level}, loss {cfg.rl.loss}, device "
                          f"{self.device}, world {self.world}" + (f" ({cfg.run.parallel})" if self.world > 1 else ""))
        # ------------------------------------------------------------------ SFT, then RL
        try:
            while self.step < total:
                last = self.train_step()
                if parallel.any_rank(self.stop_requested, self.device):
                    # -------------------------------------------------------- stop on request, resumable
                    if self.last_good_step != self.step:
                        self.save_checkpoint()
                    self.stopped = True
                    self.log.write({"event": "stopped", "step": self.step, "reason": "requested"})
                    self.log.info(f"stopped on request after step {self.step - 1}; checkpoint {self.ckpt_path} "
                                  f"(step {self.step})")
                    return last
        except torch.OutOfMemoryError as exc:
            kept = f"last checkpoint: {self.ckpt_path} (step {self.last_good_step})"
            msg = (f"out of GPU memory at step {self.step}: the run does not fit ({str(exc).splitlines()[0]}); "
                   f"lower rl.prompts_per_step, rl.group_size, sft.batch_size or the model size; {kept}")
            self.log.info("error: " + msg)
            raise TrainingStopped(msg) from None
        # ------------------------------------------------------------------ final evaluation
        if cfg.rl.steps > 0 and self.step == total:
            self._eval_line("rl")
        return last

    def close(self) -> None:
        """Stop the rollout source, close the run record and leave the process group (safe to call twice)."""
        if self.rollouts is not None:
            rollouts, self.rollouts = self.rollouts, None
            if rollouts.close() is False:
                self.log.info("warning: the rollout worker did not stop within 30 s (left as a daemon thread)")
        self.log.close()
        if self.world > 1 and torch.distributed.is_initialized():
            parallel.shutdown()


def train(cfg: TrainConfig, run_dir: Path, resume: bool = False, echo: TextIO | None = None) -> dict:
    """Run a whole training job into run_dir; returns the last metrics line. Raises TrainingStopped on NaN/OOM."""
    trainer = Trainer(cfg, run_dir, resume=resume, echo=echo)
    try:
        return trainer.run()
    finally:
        trainer.close()
