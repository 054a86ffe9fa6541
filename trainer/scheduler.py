"""Rollout scheduling over asynchronously arriving, heavy-tailed rollouts: strict FIFO, shortest-first, windowed FIFO.

Rollouts are *submitted* in order 0, 1, 2, ... and *arrive* (finish generating) out of order, since their
lengths differ. Each training step takes `batch` arrived rollouts, chosen by a policy:

  fifo      strict submission order: the batch is the next `batch` submitted rollouts, so the trainer waits
            for the slowest of them (head-of-line blocking; lowest staleness, lowest utilisation).
  shortest  any arrived rollouts, shortest first: the trainer never waits while enough have arrived, but a
            long rollout can be passed over again and again (starvation; unbounded staleness).
  window    windowed FIFO (Forge): only the W oldest not-yet-trained rollouts are eligible, taken in
            arrival order. One long rollout holds back at most the window, not the batch, and it cannot
            starve: once it is the oldest, the window cannot move past it.

`select(policy, pending, now, batch, window)` is the pure ordering rule; `VirtualClock` is the event loop of
generation slots and one trainer on a virtual clock. Both serve the simulator below (`simulate`) and the real
training loop (trainer.rollouts: rl.scheduler = fifo | shortest | window, with rl.clock = virtual using this same
loop, or rl.clock = wall with real generation in trainer.rollout_worker and real seconds).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

POLICIES = ("fifo", "shortest", "window")


@dataclass
class Rollout:
    """One rollout as the scheduler sees it."""

    rid: int                 # submission index
    length: int              # tokens generated
    version: int             # policy version that generated it
    arrival: float = math.inf  # time it finished generating
    payload: object = None   # the real rollout (tokens, log-probs, rewards) in the training loop


def select(policy: str, pending: list[Rollout], now: float, batch: int, window: int) -> list[Rollout] | None:
    """The rollouts to train on next, or None if the policy must wait; `pending` is in submission order."""
    if policy not in POLICIES:
        raise ValueError(f"scheduler: unknown policy {policy!r} (choose from {POLICIES})")
    if policy == "fifo":
        head = pending[:batch]
        if len(head) < batch or any(r.arrival > now for r in head):
            return None
        return head
    if policy == "shortest":
        done = [r for r in pending if r.arrival <= now]
        if len(done) < batch:
            return None
        return sorted(done, key=lambda r: (r.length, r.rid))[:batch]
    if window < batch:
        raise ValueError(f"scheduler: window ({window}) must be >= batch ({batch})")
    done = [r for r in pending[:window] if r.arrival <= now]
    if len(done) < batch:
        return None
    return sorted(done, key=lambda r: (r.arrival, r.rid))[:batch]


class VirtualClock:
    """Asynchronous rollouts on a virtual clock: `slots` generators and one trainer, as discrete events.

    Each slot generates one rollout at `gen_rate` tokens per time unit: a rollout of length n submitted at t arrives
    at t + n / gen_rate. Free slots are refilled at once (at every arrival, too) while fewer than `cap` rollouts are
    untrained; `launch(k)` starts k rollouts with the current policy and returns (length, version, payload) for each.
    `take` lets the trainer wait for the scheduler's batch, then work on it for `step_time(batch)` time units while
    generation goes on; rollouts submitted meanwhile get the policy of before the step, as on real hardware.
    """

    def __init__(self, slots: int, cap: int, gen_rate: float,
                 launch: Callable[[int], list[tuple[int, int, object]]]) -> None:
        self.slots, self.cap, self.gen_rate, self.launch = slots, cap, gen_rate, launch
        self.pending: list[Rollout] = []          # submitted, not yet trained, in submission order
        self.running: list[tuple[float, int]] = []   # heap of (arrival, rid) of rollouts still generating
        self.now, self.busy, self.next_rid = 0.0, 0.0, 0
        self.picked_at = 0.0                      # when the last batch was chosen

    @property
    def utilisation(self) -> float:
        """Fraction of the elapsed time the trainer was busy."""
        return self.busy / self.now if self.now > 0 else 0.0

    def _submit(self, t: float) -> None:
        n = min(self.slots - len(self.running), self.cap - len(self.pending))
        if n <= 0:
            return
        for length, version, payload in self.launch(n):
            r = Rollout(rid=self.next_rid, length=length, version=version, arrival=t + length / self.gen_rate,
                        payload=payload)
            self.next_rid += 1
            self.pending.append(r)
            heapq.heappush(self.running, (r.arrival, r.rid))

    def _advance(self, until: float) -> None:
        """Move the clock to `until`, refilling slots at each arrival on the way."""
        while self.running and self.running[0][0] <= until:
            t, _ = heapq.heappop(self.running)
            self._submit(t)
        self.now = until

    def take(self, policy: str, batch: int, window: int,
             step_time: Callable[[list[Rollout]], float]) -> tuple[list[Rollout], float]:
        """The next batch and the time the trainer waited for it; the clock then runs through the training step."""
        start = self.now
        self._submit(self.now)
        while (chosen := select(policy, self.pending, self.now, batch, window)) is None:
            if not self.running:
                raise RuntimeError("scheduler: stalled (the rollout buffer is too small for the policy)")
            self._advance(self.running[0][0])        # the trainer idles until the next arrival
        self.picked_at = self.now
        ids = {r.rid for r in chosen}
        self.pending = [r for r in self.pending if r.rid not in ids]
        dt = step_time(chosen)
        self._advance(self.now + dt)                 # generation keeps going while the trainer works
        self.busy += dt
        return chosen, self.picked_at - start


def heavy_tailed_lengths(rng: random.Random, n: int, median: int = 256, sigma: float = 1.0,
                         max_len: int = 8192) -> list[int]:
    """n log-normal lengths (median `median`, shape sigma) clipped to [1, max_len]."""
    return [max(1, min(max_len, int(round(rng.lognormvariate(math.log(median), sigma))))) for _ in range(n)]


@dataclass
class SimResult:
    """Outcome of one simulated run."""

    policy: str
    steps: int
    utilisation: float       # fraction of wall time the trainer was busy
    mean_staleness: float    # policy versions between generation and training, mean over trained rollouts
    max_staleness: int
    p99_staleness: float
    wall_time: float
    max_wait: float = 0.0    # longest time an arrived rollout sat untrained
    tokens_per_s: float = 0.0  # trained tokens per unit of wall time
    staleness: list[int] = field(default_factory=list)
    consumed: list[list[int]] = field(default_factory=list)   # rids of each training batch, in order


def simulate(policy: str, lengths: list[int], batch: int, window: int, slots: int,
             gen_tokens_per_s: float, train_tokens_per_s: float, steps: int) -> SimResult:
    """Discrete-event simulation (VirtualClock): `slots` generators (each emitting `gen_tokens_per_s`), one trainer.

    The generator keeps every slot busy with the next prompt (lengths drawn in order from `lengths`, cycled),
    using the newest policy version; it never runs more than `slots + window + batch` rollouts ahead of
    training (bounded buffer). A training step takes tokens / train_tokens_per_s and bumps the version.
    """
    version, staleness, max_wait, consumed, drawn = 0, [], 0.0, [], 0

    def launch(n: int) -> list[tuple[int, int, object]]:
        nonlocal drawn
        out = [(lengths[(drawn + i) % len(lengths)], version, None) for i in range(n)]
        drawn += n
        return out

    clock = VirtualClock(slots, slots + window + batch, gen_tokens_per_s, launch)
    trained = 0
    for _ in range(steps):
        chosen, _ = clock.take(policy, batch, window, lambda rs: sum(r.length for r in rs) / train_tokens_per_s)
        consumed.append([r.rid for r in chosen])
        trained += sum(r.length for r in chosen)
        for r in chosen:
            staleness.append(version - r.version)
            max_wait = max(max_wait, clock.picked_at - r.arrival)
        version += 1
    now = clock.now
    s_sorted = sorted(staleness)
    return SimResult(policy=policy, steps=steps, utilisation=clock.utilisation,
                     mean_staleness=sum(staleness) / len(staleness), max_staleness=max(staleness),
                     p99_staleness=float(s_sorted[min(len(s_sorted) - 1, int(0.99 * len(s_sorted)))]),
                     wall_time=now, max_wait=max_wait, tokens_per_s=trained / now if now > 0 else 0.0,
                     staleness=staleness, consumed=consumed)
