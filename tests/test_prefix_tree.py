"""Prefix-tree merging is exact: packed log-probs and gradients equal the per-trajectory ones."""

import pytest
import torch

from trainer.model import MoETransformer, get_preset
from trainer.prefix_tree import pack_group, pack_groups, tree_mask_dense

PROMPT = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9]
COMPLETIONS = [[32, 38, 46, 26], [4, 33], [8, 32, 7, 9, 50, 2, 8, 8, 4], [61], [32, 38, 1, 2, 3]]


def _separate(model, prompt, completions):
    out = []
    for c in completions:
        seq = torch.tensor([prompt + c])
        h = model(seq[:, :-1])
        lp = model.token_logprobs(h, seq[:, 1:])[0]
        out.append(lp[len(prompt) - 1:])
    return out


def _grads(model, lps):
    model.zero_grad()
    torch.stack([lp.sum() for lp in lps]).sum().backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("kw", [{}, {"balance": "aux_loss", "n_shared_experts": 0}, {"dense_layers": 1}])
@pytest.mark.parametrize("pad_to", [None, 64])
def test_packed_equals_separate_values_and_grads(kw, pad_to):
    torch.manual_seed(0)
    model = MoETransformer(get_preset("tiny", **kw))
    ref = _separate(model, PROMPT, COMPLETIONS)
    g_ref = _grads(model, ref)
    pg = pack_group(PROMPT, COMPLETIONS, pad_to=pad_to)
    got = pg.completion_logprobs(model)
    g_got = _grads(model, got)
    assert [len(x) for x in got] == [len(c) for c in COMPLETIONS]
    for a, b in zip(got, ref, strict=True):
        assert (a - b).abs().max() <= 1e-5
    assert set(g_ref) == set(g_got)
    for name in g_ref:
        assert (g_ref[name] - g_got[name]).abs().max() <= 1e-5, name


def test_layout_positions_and_mask():
    pg = pack_group([1, 2, 3], [[4, 5], [6, 7, 8]], pad_to=10)
    assert pg.tokens.tolist() == [[1, 2, 3, 4, 3, 6, 7, 0, 0, 0]]
    assert pg.positions.tolist() == [[0, 1, 2, 3, 2, 3, 4, 0, 0, 0]]
    assert pg.targets[0, :7].tolist() == [0, 0, 4, 5, 6, 7, 8]
    assert pg.completion_slices == [slice(2, 4), slice(4, 7)]
    m = pg.attn_mask[0]
    assert m[4, :2].all() and not m[4, 2:4].any() and m[4, 4]   # branch 2 sees the prefix, not branch 1
    assert not m[:7, 7:].any()                                   # nobody real sees padding
    assert m.any(-1).all()                                       # no empty rows
    assert pg.n_real == 7


def test_single_token_prompt_and_empty_completion():
    torch.manual_seed(1)
    model = MoETransformer(get_preset("tiny"))
    comps = [[5, 6, 7], [], [9]]
    got = pack_group([2], comps).completion_logprobs(model)
    ref = _separate(model, [2], [c for c in comps if c])
    assert got[1].numel() == 0
    assert (got[0] - ref[0]).abs().max() <= 1e-5 and (got[2] - ref[1]).abs().max() <= 1e-5


def test_errors():
    with pytest.raises(ValueError):
        pack_group([], [[1]])
    with pytest.raises(ValueError, match="pad_to"):
        pack_group([1, 2], [[3, 4]], pad_to=2)


def test_dense_mask_is_tree():
    ids = torch.tensor([0, 0, 1, 1, 2])
    m = tree_mask_dense(ids)[0]
    assert m.tolist() == [
        [True, False, False, False, False],
        [True, True, False, False, False],
        [True, True, True, False, False],
        [True, True, True, True, False],
        [True, True, False, False, True],
    ]


@pytest.mark.parametrize("pad_to", [None, 80])
def test_several_groups_in_one_row_equal_separate(pad_to):
    torch.manual_seed(2)
    model = MoETransformer(get_preset("tiny"))
    groups = [(PROMPT, COMPLETIONS[:3]), ([7], [[1, 2], [3]]), ([4, 5, 6], COMPLETIONS[3:])]
    ref = [lp for p, cs in groups for lp in _separate(model, p, cs)]
    g_ref = _grads(model, ref)
    pg = pack_groups(groups, pad_to=pad_to)
    got = pg.completion_logprobs(model)
    g_got = _grads(model, got)
    assert len(got) == len(ref)
    for a, b in zip(got, ref, strict=True):
        assert a.shape == b.shape and (a - b).abs().max() <= 1e-5
    for name in g_ref:
        assert (g_ref[name] - g_got[name]).abs().max() <= 1e-5, name
    # no token sees another group: group 2 (starting after group 1's tokens) sees nothing before it
    m = pg.attn_mask[0]
    n1 = len(PROMPT) - 1 + sum(len(c) for c in COMPLETIONS[:3])
    assert not m[n1:, :n1].any() and m[n1:pg.n_real].any(-1).all()
    # group 1: prefix 0, branches 1-3; group 2 (one-token prompt: empty prefix 4) starts with its branch 5
    assert (pg.root_ids[n1].item(), pg.branch_ids[n1].item()) == (4, 5)


def test_one_group_keeps_the_single_group_ids():
    a, b = pack_group([1, 2, 3], [[4, 5], [6]], pad_to=8), pack_groups([([1, 2, 3], [[4, 5], [6]])], pad_to=8)
    assert a.branch_ids.tolist() == b.branch_ids.tolist() == [0, 0, 1, 1, 2, 3, 3, 3]
    assert torch.equal(a.attn_mask, b.attn_mask)
