"""Asynchronous rollout generation: a background thread doing continuous batching with KV-cache decoding.

The worker keeps up to `slots` groups (G sampled completions of one prompt) in flight. A group is *submitted*
when a slot is free and fewer than `cap` groups are untrained: it gets the next rid and the newest published
policy version, and every one of its tokens is sampled with a snapshot of that version's weights, so its
log-probs are the behaviour policy's and its staleness (trainer version - rollout version) is exact.
Each decoding step advances every unfinished row by one token: rows are batched per policy version in flight
(one forward per version) over a shared per-row KV cache. When all G rows of a group have stopped (EOS or
`max_new` tokens) the group is rewarded and *arrives*: its Rollout gets arrival = time.monotonic(), length =
its longest completion, and the trainer is woken.

Trainer side (any thread but the worker's):
  take(policy, batch, window)  blocks on a condition until trainer.scheduler.select picks a batch at
                               now = time.monotonic(); returns (rollouts, seconds waited)
  publish(state, version)      hands over new weights (a copy); picked up between decoding steps
  close(timeout)               stop event + join; False if the thread did not stop in time
An exception in the thread is raised by the next take/publish as RolloutWorkerError (with the cause).

Shapes: R = slots * G cache rows, slot i owns rows [i*G, (i+1)*G); per layer k/v caches [R, Hkv, S, hd] with
S >= longest prompt + max_new (grown on demand). On CUDA the thread runs on its own stream.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from dataclasses import dataclass

import torch

from trainer.envs import Env, Problem
from trainer.group import rewarded_group
from trainer.model import ModelConfig, MoETransformer
from trainer.scheduler import Rollout, select
from trainer.tokenizer import CharTokenizer


class RolloutWorkerError(RuntimeError):
    """The generation thread failed or stopped; the message says why."""


@dataclass
class _Slot:
    """One group in flight: its rollout record, prompt, weights version and per-row outputs."""

    rollout: Rollout
    problem: Problem
    prompt: list[int]
    version: int
    tokens: list[list[int]]
    logps: list[list[float]]


def weights_copy(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of an unsharded model's state dict (weights and buffers), for `publish`."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class RolloutWorker:
    """Generates groups in a background thread with versioned weight snapshots; see the module docstring."""

    def __init__(self, mcfg: ModelConfig, env: Env, tok: CharTokenizer, *, slots: int, group_size: int,
                 max_new: int, temperature: float, cap: int, state: dict[str, torch.Tensor], version: int,
                 device: torch.device, seed: int = 0) -> None:
        self.mcfg, self.env, self.tok = mcfg, env, tok
        self.slots, self.g, self.max_new, self.temperature = slots, group_size, max_new, temperature
        self.cap, self.device = max(cap, 1), device
        self.rng = random.Random(seed)
        self.gen = torch.Generator(device=device).manual_seed(seed + 1)
        # shared with the trainer, guarded by _cond
        self._cond = threading.Condition()
        self.pending: list[Rollout] = []           # submitted, not yet trained, in submission order
        self.next_rid = 0
        self.error: BaseException | None = None
        self._new: tuple[dict, int, object] | None = None   # published weights not yet picked up
        self._stop = threading.Event()
        self._handoff(state, version)                        # the first weights, picked up before the first group
        # owned by the worker thread
        self.version = version
        self.snapshots: dict[int, MoETransformer] = {}
        self.in_flight: list[_Slot | None] = [None] * slots
        self.cache: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.row_len = [0] * (slots * group_size)    # tokens in the cache of each row
        self.row_tok = [0] * (slots * group_size)    # last sampled token (fed at the next step)
        self.row_live = [False] * (slots * group_size)
        self._thread = threading.Thread(target=self._run, name="rollout-worker", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ trainer side
    def take(self, policy: str, batch: int, window: int) -> tuple[list[Rollout], float]:
        """Block until the scheduler picks `batch` arrived rollouts; returns them and the seconds waited."""
        t0 = time.monotonic()
        with self._cond:
            while True:
                self._raise_if_failed()
                chosen = select(policy, self.pending, time.monotonic(), batch, window)
                if chosen is not None:
                    break
                self._cond.wait(timeout=1.0)       # woken by every arrival; the timeout only re-checks liveness
            ids = {r.rid for r in chosen}
            self.pending = [r for r in self.pending if r.rid not in ids]
            self._cond.notify_all()                # room in the pool: the worker may submit again
        return chosen, time.monotonic() - t0

    def publish(self, state: dict[str, torch.Tensor], version: int) -> None:
        """Hand new weights (a copy the worker may keep) to the worker; newer publishes replace unread ones."""
        self._raise_if_failed()
        self._handoff(state, version)

    def _handoff(self, state: dict[str, torch.Tensor], version: int) -> None:
        event = None
        if self.device.type == "cuda":             # the copy was made on the trainer's stream
            event = torch.cuda.Event()
            event.record()
        with self._cond:
            self._new = (state, version, event)
            self._cond.notify_all()

    def pool_size(self) -> int:
        """Untrained groups (in flight or arrived)."""
        with self._cond:
            return len(self.pending)

    def close(self, timeout: float = 30.0) -> bool:
        """Stop the thread and join it; True if it stopped within `timeout` seconds."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            raise RolloutWorkerError(f"rollout worker failed: {type(self.error).__name__}: {self.error}") \
                from self.error
        if not self._thread.is_alive():
            raise RolloutWorkerError("rollout worker is not running (closed)")

    # ------------------------------------------------------------------ worker thread
    def _run(self) -> None:
        try:
            stream = torch.cuda.Stream(self.device) if self.device.type == "cuda" else None
            ctx = torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()
            with torch.no_grad(), ctx:
                while not self._stop.is_set():
                    self._pick_up_weights(stream)
                    self._submit()
                    if not any(self.row_live):
                        with self._cond:               # nothing to decode: wait for a take, a publish or stop
                            if not self._stop.is_set() and self._new is None and len(self.pending) >= self.cap:
                                self._cond.wait(timeout=1.0)
                        continue
                    self._decode_step()
        except BaseException as exc:  # noqa: BLE001 - surfaced in the trainer by take/publish
            with self._cond:
                self.error = exc
                self._cond.notify_all()

    def _snapshot(self, state: dict[str, torch.Tensor]) -> MoETransformer:
        """A model whose parameters are the tensors of `state` (no copy, no initialisation)."""
        with torch.device("meta"):
            m = MoETransformer(self.mcfg)
        m.load_state_dict(state, assign=True)
        return m.eval()

    def _pick_up_weights(self, stream) -> None:
        with self._cond:
            new, self._new = self._new, None
        if new is None:
            return
        state, version, event = new
        if stream is not None:
            stream.wait_event(event)
            for t in state.values():
                t.record_stream(stream)            # not reused by the trainer while this stream reads it
        self.snapshots[version] = self._snapshot(state)
        self.version = version
        self._drop_unused_snapshots()

    def _drop_unused_snapshots(self) -> None:
        used = {s.version for s in self.in_flight if s is not None} | {self.version}
        for v in [v for v in self.snapshots if v not in used]:
            del self.snapshots[v]

    def _ensure_cache(self, need: int) -> None:
        """Make the KV cache at least `need` columns long (keeps the contents)."""
        have = self.cache[0][0].shape[2] if self.cache else 0
        if need <= have:
            return
        cfg = self.mcfg
        size = min(cfg.max_seq_len, max(need, 2 * have))
        rows = self.slots * self.g
        new = []
        for _ in range(cfg.n_layers):
            k = torch.zeros(rows, cfg.n_kv_heads, size, cfg.head_dim, dtype=cfg.torch_dtype, device=self.device)
            new.append((k, torch.zeros_like(k)))
        for (k_old, v_old), (k, v) in zip(self.cache, new, strict=False):
            k[:, :, :have] = k_old
            v[:, :, :have] = v_old
        self.cache = new

    def _submit(self) -> None:
        """Fill free slots with new groups while the pool is below its cap."""
        for i, slot in enumerate(self.in_flight):
            if slot is not None:
                continue
            with self._cond:
                if len(self.pending) >= self.cap or self._stop.is_set():
                    return
                r = Rollout(rid=self.next_rid, length=0, version=self.version)
                self.next_rid += 1
                self.pending.append(r)
            self._start_group(i, r)

    def _start_group(self, i: int, r: Rollout) -> None:
        """Prefill the prompt once into row i*G, copy its K/V to the group's other rows, sample first tokens."""
        problem = self.env.sample(self.rng)
        prompt = self.tok.encode(problem.prompt, bos=True)
        plen = len(prompt)
        if plen + self.max_new > self.mcfg.max_seq_len:
            raise ValueError(f"prompt ({plen} tokens) + max_new_tokens ({self.max_new}) exceeds the model's "
                             f"max_seq_len {self.mcfg.max_seq_len}")
        self._ensure_cache(plen + self.max_new)
        model = self.snapshots[self.version]
        r0, r1 = i * self.g, (i + 1) * self.g
        view = [(k[r0:r0 + 1], v[r0:r0 + 1]) for k, v in self.cache]          # row r0, written in place
        tokens = torch.tensor([prompt], dtype=torch.long, device=self.device)   # [1, P]
        h = model(tokens, cache=view, cache_start=0)[:, -1]                     # [1, D]
        for k, v in self.cache:
            k[r0 + 1:r1, :, :plen] = k[r0:r0 + 1, :, :plen]
            v[r0 + 1:r1, :, :plen] = v[r0:r0 + 1, :, :plen]
        nxt, lp = self._sample(model, h.expand(self.g, -1))                    # [G], [G]
        slot = _Slot(r, problem, prompt, self.version, [[] for _ in range(self.g)], [[] for _ in range(self.g)])
        self.in_flight[i] = slot
        for j, (t, lpj) in enumerate(zip(nxt.tolist(), lp.tolist(), strict=True)):
            self.row_len[r0 + j] = plen
            self._record(slot, r0 + j, j, t, lpj)
        self._maybe_finish(i)

    def _record(self, slot: _Slot, row: int, j: int, tok: int, lp: float) -> None:
        slot.tokens[j].append(tok)
        slot.logps[j].append(lp)
        self.row_tok[row] = tok
        self.row_live[row] = tok != self.tok.eos_id and len(slot.tokens[j]) < self.max_new

    def _sample(self, model: MoETransformer, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Next tokens [N] and their log-probs [N] under the sampling distribution (fp32 LM head)."""
        return model.sample_next(h, self.temperature, generator=self.gen)

    def _decode_step(self) -> None:
        """One token for every live row: one batched forward per policy version in flight."""
        by_version: dict[int, list[int]] = {}
        for row, live in enumerate(self.row_live):
            if live:
                by_version.setdefault(self.in_flight[row // self.g].version, []).append(row)
        outs = []
        for version, rows in by_version.items():
            model = self.snapshots[version]
            rows_t = torch.tensor(rows, dtype=torch.long, device=self.device)                       # [N]
            pos_t = torch.tensor([self.row_len[r] for r in rows], dtype=torch.long, device=self.device)
            tok_t = torch.tensor([self.row_tok[r] for r in rows], dtype=torch.long, device=self.device)
            kv_len = max(self.row_len[r] for r in rows) + 1
            h = model.decode_rows(tok_t, self.cache, rows_t, pos_t, kv_len)                          # [N, D]
            outs.append((rows, *self._sample(model, h)))
        touched = set()
        for rows, nxt, lp in outs:
            for row, t, lpr in zip(rows, nxt.tolist(), lp.tolist(), strict=True):
                i = row // self.g
                self.row_len[row] += 1
                self._record(self.in_flight[i], row, row - i * self.g, t, lpr)
                touched.add(i)
        for i in touched:
            self._maybe_finish(i)

    def _maybe_finish(self, i: int) -> None:
        """If every row of slot i has stopped: reward the group and make it arrive."""
        r0 = i * self.g
        if any(self.row_live[r0:r0 + self.g]):
            return
        s = self.in_flight[i]
        grp = rewarded_group(self.env, self.tok, s.problem, s.prompt, s.tokens, s.logps, s.version)
        with self._cond:
            s.rollout.payload = grp
            s.rollout.length = max(len(c) for c in s.tokens)
            s.rollout.arrival = time.monotonic()
            self._cond.notify_all()
        self.in_flight[i] = None
        self._drop_unused_snapshots()
