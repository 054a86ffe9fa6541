"""Attention kernels: causal SDPA, a dense boolean mask through SDPA, or a FlexAttention BlockMask.

q [B, Hq, T, hd], k/v [B, Hkv, S, hd]; grouped-query attention is handled by the kernels
(`enable_gqa`), so k/v are never repeated in memory.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

try:  # FlexAttention exists in torch >= 2.5
    from torch.nn.attention.flex_attention import BlockMask, flex_attention
except ImportError:  # pragma: no cover - old torch
    BlockMask = None
    flex_attention = None

_compiled_flex = None


def _flex(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, block_mask) -> torch.Tensor:
    """FlexAttention, compiled once on CUDA (the eager path materialises scores and is slow)."""
    global _compiled_flex
    if q.device.type == "cuda":
        if _compiled_flex is None:
            # static shapes: Inductor's flex lowering found no kernel for symbolic lengths at small head_dim
            # (torch 2.11, H100); callers bucket lengths (pad_to) so few shapes are compiled
            _compiled_flex = torch.compile(flex_attention, dynamic=False)
            torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
        return _compiled_flex(q, k, v, block_mask=block_mask, enable_gqa=True)
    return flex_attention(q, k, v, block_mask=block_mask, enable_gqa=True)


def is_block_mask(mask: object) -> bool:
    """True when `mask` is a FlexAttention BlockMask."""
    return BlockMask is not None and isinstance(mask, BlockMask)


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask=None) -> torch.Tensor:
    """Scaled dot-product attention; mask: None (causal), bool [B|1, T, S] / [B|1, 1, T, S] (True = attend), or BlockMask."""
    if mask is None:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    if is_block_mask(mask):
        return _flex(q, k, v, mask)
    if mask.dim() == 3:
        mask = mask.unsqueeze(1)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
