"""Log-prob batches: flat and prefix-tree layouts give the same log-probs, gradients and MoE balance statistics
(padding never counts), the LM head runs only where log-probs are needed, and the FLOP counts match the masks."""

import pytest
import torch

from trainer.batch import flat_batch, tree_batch
from trainer.model import MoETransformer, get_preset
from trainer.prefix_tree import tree_mask_dense
from trainer.train import LogProbs

GROUPS = [([1, 14, 15, 9, 26, 5], [[32, 38, 46, 2], [4, 2], [8, 32, 7, 9, 50, 2], [61, 2]]),
          ([1, 20, 21], [[5, 6, 7, 8, 9, 10, 11, 2], [2], [40, 41, 2], [30, 2]])]


def _model(**kw) -> MoETransformer:
    torch.manual_seed(0)
    return MoETransformer(get_preset("tiny", **kw)).train()


def _flat():
    return flat_batch([p for p, cs in GROUPS for _ in cs], [c for _, cs in GROUPS for c in cs], 0, torch.device("cpu"))


def _tree():
    return tree_batch(GROUPS, torch.device("cpu"), "dense")


def _run(model, batch):
    """Masked log-probs of the batch, the balance statistics of the forward and the gradients of sum(lp) + aux."""
    model.zero_grad()
    lp, _ = LogProbs(model)(batch.tokens, batch.targets, positions=batch.positions, attn_mask=batch.attn_mask,
                            token_weight=batch.token_weight, pick=batch.pick)
    lp = lp * batch.mask
    loads = [m.last_load.clone() for m in model.moe_layers()]
    aux = model.aux_loss()
    (lp.sum() + aux).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return lp.detach(), loads, float(aux.detach()), grads


@pytest.mark.parametrize("balance", ["aux_loss", "aux_free"])
def test_flat_and_tree_batches_balance_experts_alike(balance):
    model = _model(balance=balance, aux_loss_coef=1.0)
    flat, tree = _flat(), _tree()
    assert flat.token_weight.sum() == tree.token_weight.sum() == flat.n_tokens   # every unpacked token, once
    lp_f, load_f, aux_f, g_f = _run(model, flat)
    lp_t, load_t, aux_t, g_t = _run(model, tree)
    assert torch.allclose(lp_f, lp_t, atol=1e-5)
    for a, b in zip(load_f, load_t, strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    assert aux_f == pytest.approx(aux_t, abs=1e-6)
    for name in g_f:
        assert torch.allclose(g_f[name], g_t[name], atol=1e-5), name
    if balance == "aux_free":                       # the bias update reads the same loads
        biases = []
        for batch in (flat, tree):
            for m in model.moe_layers():
                m.router_bias.zero_()
            _run(model, batch)
            model.update_router_bias()
            biases.append([m.router_bias.clone() for m in model.moe_layers()])
        assert all(torch.equal(a, b) for a, b in zip(*biases, strict=True))
        assert any(b.abs().sum() > 0 for b in biases[0])


def test_padding_does_not_count_in_the_expert_load():
    """The load of a padded batch equals the token-weighted load of its sequences run one by one, unpadded."""
    model = _model()
    prompts, comps = [[1, 3, 4], [1, 5]], [[6, 7, 8, 9, 10, 11, 2], [12, 2]]
    _run(model, flat_batch(prompts, comps, 0, torch.device("cpu")))
    padded = [m.last_load.clone() for m in model.moe_layers()]
    counts = [torch.zeros(model.cfg.n_experts) for _ in padded]
    for p, c in zip(prompts, comps, strict=True):
        b = flat_batch([p], [c], 0, torch.device("cpu"))
        _run(model, b)
        for acc, m in zip(counts, model.moe_layers(), strict=True):
            acc += m.last_load * b.n_tokens
    for got, acc in zip(padded, counts, strict=True):
        assert torch.allclose(got, acc / acc.sum(), atol=1e-6)


def test_lm_head_runs_only_where_log_probs_are_needed():
    model = _model()
    seen = []
    logits = model.logits
    model.logits = lambda h, fp32=False: (seen.append(h.shape[:-1].numel()), logits(h, fp32))[1]
    for batch in (_flat(), _tree()):
        seen.clear()
        lp, _ = LogProbs(model)(batch.tokens, batch.targets, positions=batch.positions, attn_mask=batch.attn_mask,
                                pick=batch.pick)
        assert seen == [batch.pick.numel()] and batch.pick.numel() < batch.tokens.numel()
        full, _ = LogProbs(model)(batch.tokens, batch.targets, positions=batch.positions, attn_mask=batch.attn_mask)
        assert torch.allclose(lp * batch.mask, full.reshape(-1)[batch.pick] * batch.mask, atol=1e-6)


def test_flop_counts_match_the_attention_masks():
    """n_tokens / n_pairs / n_scored count exactly the real positions, the (query, key) pairs the masks allow
    between real positions, and the completion tokens."""
    tree = _tree()
    real = tree.token_weight[0] > 0
    mask = tree_mask_dense(*_tree_ids())[0]
    assert tree.n_tokens == int(real.sum()) and tree.n_pairs == int(mask[real][:, real].sum())
    flat = _flat()
    real = flat.token_weight > 0
    causal = torch.ones(flat.tokens.shape[1], flat.tokens.shape[1]).tril().bool()
    assert flat.n_tokens == int(real.sum())
    assert flat.n_pairs == sum(int(causal[r][:, r].sum()) for r in real)
    n_comp = sum(len(c) for _, cs in GROUPS for c in cs)
    assert flat.n_scored == tree.n_scored == n_comp
    model = _model()
    body, head = model.matmul_params()
    assert model.flops(10, 4, 55) == 3 * (2 * body * 10 + 2 * head * 4 + 4 * 2 * 4 * 8 * 55)   # tiny: 2 layers, 4 heads of 8
    assert model.flops_per_token(16) == pytest.approx(model.flops(16, 16, 16 * 17 / 2) / 16)


def _tree_ids():
    from trainer.prefix_tree import pack_groups
    pg = pack_groups(GROUPS, pad_to=_tree().tokens.shape[1], mask="dense")
    return pg.branch_ids, pg.root_ids
