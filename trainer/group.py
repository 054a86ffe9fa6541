"""A group: one prompt's G sampled completions with the sampling policy's log-probs and the checker's rewards.

What every rollout source produces (trainer.rollouts, trainer.rollout_worker) and an RL step trains on.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainer.envs import Env, Problem
from trainer.tokenizer import CharTokenizer


@dataclass
class Group:
    """One prompt's G rollouts: token ids, sampling log-probs, rewards and the policy version that sampled them."""

    problem: Problem
    prompt: list[int]
    completions: list[list[int]]
    old_logp: list[list[float]]
    rewards: list[float]
    version: int = 0


def rewarded_group(env: Env, tok: CharTokenizer, problem: Problem, prompt: list[int], completions: list[list[int]],
                   logps: list[list[float]], version: int) -> Group:
    """A Group whose completions are scored by the environment's checker (text before EOS; none: reward 0)."""
    rewards = [env.reward(problem, tok.completion_text(c)) for c in completions]
    return Group(problem, prompt, completions, logps, rewards, version)
