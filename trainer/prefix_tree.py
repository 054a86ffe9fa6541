"""Prefix-tree merging: one prompt's G completions packed as branches of one sequence (exact).

Layout of the packed sequence (p = len(prompt), L_i = len(completion_i)):

    [ prompt[:-1] | prompt[-1], c_1[:-1] | prompt[-1], c_2[:-1] | ... | pad ... ]
      prefix (p-1)  branch 1 (L_1 tokens)  branch 2 (L_2 tokens)

Each branch starts with a copy of the last prompt token, because that token's hidden state is what
predicts the completion's first token; giving every branch its own copy makes the predicted tokens
of branch i a contiguous slice with targets c_i. Positions: the prefix has 0..p-2 and every branch
continues at p-1..p-2+L_i, exactly as in the unpacked sequence prompt + c_i.

Tree mask: query q may attend key k iff k <= q and (k is in the prefix or k is in q's branch).
Pad tokens form one extra branch, so real tokens never see them and no row is empty.
Since attention sees exactly the keys it would see unpacked, at the same positions, and every other
layer (norms, MoE routing, FFNs) acts per token, log-probs and gradients equal the unpacked ones.
Packed tokens: p - 1 + sum L_i instead of sum (p + L_i).
The MoE balance statistics (expert load, auxiliary loss, aux-free bias update) are made exact too: `token_weight`
counts each prefix token G times (it stands for the G unpacked copies), each branch token once and padding never.

`pack_groups` puts several such trees one after another into one row (a forest): every token additionally
carries the id of its own group's prefix (root_ids), and q may attend k iff k <= q and (k is in q's group
prefix or in q's branch), so one forward serves a whole batch of groups with no cross-group attention.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

try:
    from torch.nn.attention.flex_attention import create_block_mask
except ImportError:  # pragma: no cover - old torch
    create_block_mask = None


@dataclass
class PackedGroup:
    """Packed prompt group(s): tokens/positions/targets [1, N], the tree mask and per-completion slices."""

    tokens: torch.Tensor
    positions: torch.Tensor
    targets: torch.Tensor
    branch_ids: torch.Tensor          # [N]: 0 prefix, i+1 completion i, G+1 padding (one group; see pack_groups)
    attn_mask: object                 # dense bool [1, N, N] (True = attend) or a FlexAttention BlockMask
    completion_slices: list[slice]
    n_real: int                       # tokens before padding
    root_ids: torch.Tensor | None = None   # [N]: the branch id of the prefix each token may see (None: 0)
    token_weight: torch.Tensor | None = None   # [N]: unpacked sequences each token stands for (G prefix, 1, 0 pad)

    def completion_logprobs(self, model, fp32: bool = True) -> list[torch.Tensor]:
        """Per-completion log-probs [L_i], equal to running each prompt + completion_i separately."""
        weight = None if self.token_weight is None else self.token_weight.unsqueeze(0)
        h = model(self.tokens, positions=self.positions, attn_mask=self.attn_mask, token_weight=weight)
        lp = model.token_logprobs(h, self.targets, fp32=fp32)[0]
        return [lp[s] for s in self.completion_slices]


def tree_mask_dense(branch_ids: torch.Tensor, root_ids: torch.Tensor | None = None) -> torch.Tensor:
    """Dense bool tree mask [1, N, N] from branch ids [N] (root_ids [N]: the prefix id each token sees; None = 0)."""
    n = branch_ids.shape[0]
    idx = torch.arange(n, device=branch_ids.device)
    roots = torch.zeros_like(branch_ids) if root_ids is None else root_ids
    causal = idx.unsqueeze(1) >= idx.unsqueeze(0)                                  # [q, k]
    bk = branch_ids.unsqueeze(0)                                                   # [1, k]
    same = (bk == roots.unsqueeze(1)) | (bk == branch_ids.unsqueeze(1))
    return (causal & same).unsqueeze(0)


def tree_block_mask(branch_ids: torch.Tensor, block_size: int = 128, root_ids: torch.Tensor | None = None):
    """FlexAttention BlockMask of the same tree mask (CUDA)."""
    if create_block_mask is None:
        raise RuntimeError("FlexAttention is not available in this torch build")
    n = branch_ids.shape[0]
    roots = torch.zeros_like(branch_ids) if root_ids is None else root_ids

    def mask_mod(b, h, q, k):
        bk = branch_ids[k]
        return (k <= q) & ((bk == roots[q]) | (bk == branch_ids[q]))

    return create_block_mask(mask_mod, B=None, H=None, Q_LEN=n, KV_LEN=n, device=branch_ids.device,
                             BLOCK_SIZE=block_size)


def pack_group(prompt: list[int], completions: list[list[int]], pad_to: int | None = None,
               device: torch.device | str | None = None, mask: str = "auto") -> PackedGroup:
    """Pack prompt + G completions into one tree-masked sequence; mask: "auto" (BlockMask on CUDA), "dense" or "block"."""
    return pack_groups([(prompt, completions)], pad_to=pad_to, device=device, mask=mask)


def pack_groups(groups: list[tuple[list[int], list[list[int]]]], pad_to: int | None = None,
                device: torch.device | str | None = None, mask: str = "auto") -> PackedGroup:
    """Pack several (prompt, completions) groups one after another into one row [1, N] of prefix trees.

    Branch ids run over all groups (group j: its prefix, then its G_j branches), padding last; root_ids give
    each token its group's prefix id. completion_slices list every completion, group by group.
    """
    device = torch.device(device) if device is not None else torch.device("cpu")
    toks: list[int] = []
    pos: list[int] = []
    tgt: list[int] = []
    bid: list[int] = []
    root: list[int] = []
    weight: list[float] = []
    slices: list[slice] = []
    next_id = 0
    for prompt, completions in groups:
        if len(prompt) == 0:
            raise ValueError("pack_group: the prompt needs at least one token")
        p, prefix_id = len(prompt), next_id
        toks += prompt[:-1]
        pos += range(p - 1)
        tgt += [0] * (p - 1)                # prefix predictions are not used
        bid += [prefix_id] * (p - 1)
        root += [prefix_id] * (p - 1)
        weight += [float(len(completions))] * (p - 1)
        for i, comp in enumerate(completions):
            start = len(toks)
            n = len(comp)
            toks += ([prompt[-1]] + list(comp[:-1]))[:n]
            pos += range(p - 1, p - 1 + n)
            tgt += comp
            bid += [prefix_id + i + 1] * n
            root += [prefix_id] * n
            weight += [1.0] * n
            slices.append(slice(start, start + n))
        next_id = prefix_id + len(completions) + 1
    n_real = len(toks)
    if pad_to is not None:
        if pad_to < n_real:
            raise ValueError(f"pack_group: pad_to={pad_to} is shorter than the packed length {n_real}")
        extra = pad_to - n_real
        toks += [0] * extra
        pos += [0] * extra
        tgt += [0] * extra
        bid += [next_id] * extra            # padding: its own branch and root, seen by no real token
        root += [next_id] * extra
        weight += [0.0] * extra
    as_long = dict(dtype=torch.long, device=device)
    branch_ids = torch.tensor(bid, **as_long)
    root_ids = torch.tensor(root, **as_long)
    use_block = mask == "block" or (mask == "auto" and device.type == "cuda")
    attn_mask = tree_block_mask(branch_ids, root_ids=root_ids) if use_block else tree_mask_dense(branch_ids, root_ids)
    return PackedGroup(
        tokens=torch.tensor(toks, **as_long).unsqueeze(0),
        positions=torch.tensor(pos, **as_long).unsqueeze(0),
        targets=torch.tensor(tgt, **as_long).unsqueeze(0),
        branch_ids=branch_ids,
        attn_mask=attn_mask,
        completion_slices=slices,
        n_real=n_real,
        root_ids=root_ids,
        token_weight=torch.tensor(weight, dtype=torch.float32, device=device),
    )
