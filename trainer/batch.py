"""Log-prob batches: sequences laid out for one training forward, flat (padded rows) or as prefix trees.

Both layouts hold what `LogProbs` needs and what the step's accounting needs:
  tokens, targets [R, T]   inputs and next-token targets (R rows: B sequences flat, 1 packed row as trees)
  positions [R, T] | None  RoPE positions (None: 0..T-1 in every row)
  attn_mask                None (causal), a dense bool tree mask or a FlexAttention BlockMask
  token_weight [R, T]      how many sequences each position stands for in the MoE balance statistics:
                           1 for a real token of a flat row, 0 for padding, G for a prompt token shared by the
                           G branches of a prefix tree, so flat and tree batches balance the experts alike
  pick [B, W]              flat indices into R * T of the positions whose log-probs are needed: completion
                           token j of sequence b (W = the longest completion; the LM head runs only there)
  mask [B, W]              1 for real completion tokens, 0 past the end of a shorter completion
  n_tokens                 real (unpadded) positions the blocks compute
  n_pairs                  (query, key) pairs real positions attend to, per layer and head
Flat sequences are prompt + completion; the forward reads tokens[:-1] and predicts tokens[1:], so completion
token j is predicted at position len(prompt) - 1 + j.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from trainer.prefix_tree import pack_groups


@dataclass
class LogProbBatch:
    """One forward's inputs and the positions to score; see the module docstring."""

    tokens: torch.Tensor
    targets: torch.Tensor
    positions: torch.Tensor | None
    attn_mask: object
    token_weight: torch.Tensor
    pick: torch.Tensor
    mask: torch.Tensor
    n_tokens: int
    n_pairs: int

    @property
    def n_scored(self) -> int:
        """Positions that go through the LM head (real completion tokens)."""
        return int(self.mask.sum())


def _completion_mask(completions: list[list[int]], device: torch.device) -> torch.Tensor:
    width = max(1, max(len(c) for c in completions))
    mask = torch.zeros(len(completions), width, device=device)
    for b, c in enumerate(completions):
        mask[b, :len(c)] = 1.0
    return mask


def flat_batch(prompts: list[list[int]], completions: list[list[int]], pad_id: int,
               device: torch.device) -> LogProbBatch:
    """Sequence b = prompts[b] + completions[b], right-padded into rows [B, S - 1] (S = the longest sequence)."""
    seqs = [p + c for p, c in zip(prompts, completions, strict=True)]
    width = max(len(s) for s in seqs)
    full = torch.tensor([s + [pad_id] * (width - len(s)) for s in seqs], dtype=torch.long, device=device)
    tokens, targets = full[:, :-1], full[:, 1:]
    t = tokens.shape[1]
    lengths = torch.tensor([len(s) - 1 for s in seqs], device=device)                 # real input positions
    weight = (torch.arange(t, device=device).unsqueeze(0) < lengths.unsqueeze(1)).float()
    mask = _completion_mask(completions, device)
    starts = torch.tensor([len(p) - 1 for p in prompts], device=device)
    cols = (starts.unsqueeze(1) + torch.arange(mask.shape[1], device=device)).clamp_max(t - 1)
    pick = torch.arange(len(seqs), device=device).unsqueeze(1) * t + cols
    n = [len(s) - 1 for s in seqs]
    return LogProbBatch(tokens=tokens, targets=targets, positions=None, attn_mask=None, token_weight=weight,
                        pick=pick, mask=mask, n_tokens=sum(n), n_pairs=sum(k * (k + 1) // 2 for k in n))


def tree_batch(groups: list[tuple[list[int], list[list[int]]]], device: torch.device,
               mask_kind: str = "auto") -> LogProbBatch:
    """Every (prompt, completions) group as one prefix tree, all trees in one row [1, N] (trainer.prefix_tree).

    N is rounded up to one of 8 lengths per octave (multiples of 128) so the compiled FlexAttention sees few
    shapes; mask_kind "auto" uses a BlockMask on CUDA (head_dim >= 16) and the dense tree mask elsewhere."""
    n_real = sum(len(p) - 1 + sum(len(c) for c in comps) for p, comps in groups)
    step = max(128, 1 << max(0, n_real.bit_length() - 4))
    pg = pack_groups(groups, pad_to=-(-n_real // step) * step, device=device, mask=mask_kind)
    completions = [c for _, comps in groups for c in comps]
    mask = _completion_mask(completions, device)
    cols = torch.zeros(mask.shape, dtype=torch.long, device=device)
    for b, s in enumerate(pg.completion_slices):
        cols[b] = torch.arange(s.start, s.start + mask.shape[1], device=device).clamp_max(pg.n_real - 1) \
            if s.stop > s.start else 0
    pairs = 0
    for p, comps in groups:
        prefix = len(p) - 1
        pairs += prefix * (prefix + 1) // 2 + sum(len(c) * prefix + len(c) * (len(c) + 1) // 2 for c in comps)
    return LogProbBatch(tokens=pg.tokens, targets=pg.targets, positions=pg.positions, attn_mask=pg.attn_mask,
                        token_weight=pg.token_weight.unsqueeze(0), pick=cols, mask=mask, n_tokens=pg.n_real,
                        n_pairs=pairs)
