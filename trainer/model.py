"""Decoder-only MoE transformer: RoPE, RMSNorm, GQA attention, fine-grained routed experts + shared expert.

Shapes: B batch, T tokens, D d_model, Hq/Hkv query/key-value heads, hd head_dim, E experts, K top-k.
Parameters are kept in fp32 (master weights) unless the model is cast; every matmul runs in
`cfg.dtype` (weights are cast on use, a no-op when they already have that dtype). Norms, the
router and (by default) the LM head for log-probs run in fp32.

Load balancing (selectable with cfg.balance):
  "aux_free": DeepSeek-V3 bias update; a per-expert bias is added to the router scores for the
              top-k *selection only*; `update_router_bias()` nudges it by ±rate towards uniform load.
  "aux_loss": the classic Switch/GShard loss E * sum_e f_e * P_e (minimum 1 at uniform load),
              returned by `aux_loss()` already multiplied by cfg.aux_loss_coef.
The balance statistics (expert load f_e, mean router probability P_e) are taken in training forwards only,
over the tokens that count: `token_weight` [B, T] gives each position the number of sequences it stands for
(1 in a plain batch, 0 for padding, G for a prompt token shared by G prefix-tree branches), so padded,
flat and prefix-tree-packed batches of the same sequences give the same statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from trainer.attention import attend
from trainer.moe import expert_counts, run_experts

_DTYPES = {"bfloat16": torch.bfloat16, "float32": torch.float32, "float16": torch.float16}


@dataclass
class ModelConfig:
    """Model hyper-parameters (sizes, routing, balancing, kernels, dtype)."""

    vocab_size: int = 256
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    n_kv_heads: int = 2
    head_dim: int | None = None
    n_experts: int = 8
    top_k: int = 2
    n_shared_experts: int = 1
    expert_hidden: int = 32
    dense_layers: int = 0          # the first `dense_layers` layers use a dense SwiGLU FFN
    dense_hidden: int | None = None  # hidden size of those dense FFNs (default: expert_hidden * (top_k + n_shared))
    max_seq_len: int = 256
    rope_theta: float = 10000.0
    balance: str = "aux_free"      # "aux_free" | "aux_loss"
    aux_loss_coef: float = 0.01
    bias_update_rate: float = 1e-3
    expert_impl: str = "auto"      # "auto" | "grouped_mm" | "loop"
    dtype: str = "bfloat16"        # compute dtype: "bfloat16" | "float32"
    tie_embeddings: bool = False
    norm_eps: float = 1e-6
    init_std: float = 0.02
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.head_dim is None:
            self.head_dim = self.d_model // self.n_heads
        checks = [
            (self.n_heads % self.n_kv_heads == 0, "n_heads must be a multiple of n_kv_heads"),
            (self.head_dim % 2 == 0, "head_dim must be even (RoPE rotates pairs)"),
            (1 <= self.top_k <= self.n_experts, "top_k must be in 1..n_experts"),
            (0 <= self.dense_layers <= self.n_layers, "dense_layers must be in 0..n_layers"),
            (self.balance in ("aux_free", "aux_loss"), "balance must be 'aux_free' or 'aux_loss'"),
            (self.expert_impl in ("auto", "grouped_mm", "loop"), "expert_impl must be auto, grouped_mm or loop"),
            (self.dtype in _DTYPES, f"dtype must be one of {sorted(_DTYPES)}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(f"ModelConfig: {msg}")

    @property
    def torch_dtype(self) -> torch.dtype:
        """The compute dtype as a torch.dtype."""
        return _DTYPES[self.dtype]


PRESETS: dict[str, ModelConfig] = {
    # CPU tests: runs a forward+backward in milliseconds
    "tiny": ModelConfig(vocab_size=64, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, n_experts=8, top_k=2,
                        n_shared_experts=1, expert_hidden=16, max_seq_len=256, dtype="float32"),
    # small GPU experiments (~119M total, ~31M active)
    "small": ModelConfig(vocab_size=8192, d_model=512, n_layers=8, n_heads=8, n_kv_heads=4, n_experts=32, top_k=4,
                         n_shared_experts=1, expert_hidden=256, max_seq_len=2048),
    # ~1.09B total, ~0.29B active (incl. LM head), MiniMax-M2 proportions: expert hidden = d_model / 2,
    # head_dim 128; 8 layers, 32 experts x 768 hidden, top-4 + 1 shared
    "1b": ModelConfig(vocab_size=32768, d_model=1536, n_layers=8, n_heads=12, n_kv_heads=4, n_experts=32, top_k=4,
                      n_shared_experts=1, expert_hidden=768, max_seq_len=8192),
    # ~0.93B total, ~0.22B active: finer experts (hidden = d_model / 4): 16 layers, 64 experts x 256, top-8 + 1 shared
    "1b_fine": ModelConfig(vocab_size=32768, d_model=1024, n_layers=16, n_heads=16, n_kv_heads=4, n_experts=64,
                           top_k=8, n_shared_experts=1, expert_hidden=256, max_seq_len=8192),
}


def get_preset(name: str, **overrides) -> ModelConfig:
    """A copy of PRESETS[name] with fields replaced by `overrides`."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r} (choose from {sorted(PRESETS)})")
    if ("d_model" in overrides or "n_heads" in overrides) and "head_dim" not in overrides:
        overrides["head_dim"] = None            # recompute d_model // n_heads
    return replace(PRESETS[name], **overrides)


# ----------------------------------------------------------------------------- building blocks

def _linear(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """x @ w.T with w cast to x's dtype (no-op when equal)."""
    return F.linear(x, w.to(x.dtype))


class RMSNorm(nn.Module):
    """RMSNorm computed in fp32, returned in the input dtype."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (xf * self.weight.float()).to(x.dtype)


def rope_cos_sin(positions: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin [B, 1, T, hd/2] (fp32) for integer positions [B, T]."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=positions.device, dtype=torch.float32) / head_dim))
    ang = positions.float().unsqueeze(-1) * inv_freq          # [B, T, hd/2]
    return ang.cos().unsqueeze(1), ang.sin().unsqueeze(1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (x[..., :hd/2], x[..., hd/2:]) of x [B, H, T, hd] by the position angles."""
    x1, x2 = x.float().chunk(2, dim=-1)
    out = torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
    return out.to(x.dtype)


class Attention(nn.Module):
    """Grouped-query self-attention with RoPE and an optional KV cache."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        hd = cfg.head_dim
        self.wq = nn.Parameter(torch.empty(cfg.n_heads * hd, cfg.d_model))
        self.wk = nn.Parameter(torch.empty(cfg.n_kv_heads * hd, cfg.d_model))
        self.wv = nn.Parameter(torch.empty(cfg.n_kv_heads * hd, cfg.d_model))
        self.wo = nn.Parameter(torch.empty(cfg.d_model, cfg.n_heads * hd))

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask, cache=None) -> torch.Tensor:
        bsz, t, _ = x.shape
        hd = self.cfg.head_dim
        q = _linear(x, self.wq).view(bsz, t, self.cfg.n_heads, hd).transpose(1, 2)     # [B, Hq, T, hd]
        k = _linear(x, self.wk).view(bsz, t, self.cfg.n_kv_heads, hd).transpose(1, 2)  # [B, Hkv, T, hd]
        v = _linear(x, self.wv).view(bsz, t, self.cfg.n_kv_heads, hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None and isinstance(cache[2], tuple):
            # (k_buf, v_buf, (rows [B], pos [B], kv_len)): one token per row into rows of a shared cache
            # (continuous batching), then attend over each row's first kv_len columns (mask picks the valid ones)
            k_buf, v_buf, (rows, pos, kv_len) = cache
            k_buf[rows, :, pos] = k[:, :, 0]
            v_buf[rows, :, pos] = v[:, :, 0]
            k, v = k_buf[rows, :, :kv_len], v_buf[rows, :, :kv_len]                   # [B, Hkv, kv_len, hd]
        elif cache is not None:                    # (k_buf, v_buf, start): write, then attend over [0, start+T)
            k_buf, v_buf, start = cache
            k_buf[:, :, start:start + t] = k
            v_buf[:, :, start:start + t] = v
            k, v = k_buf[:, :, :start + t], v_buf[:, :, :start + t]
        y = attend(q, k, v, mask)                  # [B, Hq, T, hd]
        return _linear(y.transpose(1, 2).reshape(bsz, t, -1), self.wo)


class SwiGLU(nn.Module):
    """Dense SwiGLU FFN (used for the shared expert and for dense layers)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.w1 = nn.Parameter(torch.empty(hidden, dim))
        self.w3 = nn.Parameter(torch.empty(hidden, dim))
        self.w2 = nn.Parameter(torch.empty(dim, hidden))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _linear(F.silu(_linear(x, self.w1)) * _linear(x, self.w3), self.w2)


class MoE(nn.Module):
    """Fine-grained routed experts (top-k of E, softmax gates renormalised over the k) + shared experts."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        e, h, d = cfg.n_experts, cfg.expert_hidden, cfg.d_model
        self.router = nn.Parameter(torch.empty(e, d))
        self.register_buffer("router_bias", torch.zeros(e), persistent=True)   # aux-free selection bias
        self.w13 = nn.Parameter(torch.empty(e, 2 * h, d))   # fused gate (:h) and up (h:) projections
        self.w2 = nn.Parameter(torch.empty(e, d, h))
        self.shared = SwiGLU(d, h * cfg.n_shared_experts) if cfg.n_shared_experts > 0 else None
        self.last_load: torch.Tensor | None = None    # [E] fraction of assignments per expert (last training forward)
        self.last_aux: torch.Tensor | None = None

    def route(self, xf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (idx [N,K], gates [N,K] fp32 summing to 1, probs [N,E]) for tokens xf [N, D]."""
        probs = torch.softmax(F.linear(xf.float(), self.router.float()), dim=-1)       # [N, E]
        sel = probs + self.router_bias if self.cfg.balance == "aux_free" else probs
        idx = torch.topk(sel, self.cfg.top_k, dim=-1).indices                          # [N, K]
        gates = probs.gather(-1, idx)
        gates = gates / gates.sum(-1, keepdim=True)
        return idx, gates, probs

    def forward(self, x: torch.Tensor, token_weight: torch.Tensor | None = None) -> torch.Tensor:
        bsz, t, d = x.shape
        xf = x.reshape(-1, d)
        idx, gates, probs = self.route(xf)
        if self.training:
            self._balance_stats(idx, probs, None if token_weight is None else token_weight.reshape(-1))
        w_dtype = x.dtype
        y = run_experts(self.cfg.expert_impl, xf, self.w13.to(w_dtype), self.w2.to(w_dtype), idx, gates)
        if self.shared is not None:
            y = y + self.shared(xf)
        return y.view(bsz, t, d)

    def _balance_stats(self, idx: torch.Tensor, probs: torch.Tensor, weight: torch.Tensor | None) -> None:
        """Expert load f_e [E] and (aux_loss) E * sum_e f_e P_e over the weighted tokens (see the module docstring)."""
        n_e = self.cfg.n_experts
        if weight is None:
            counts = expert_counts(idx, n_e).float()
            p_mean = probs.mean(0)
        else:
            w = weight.to(torch.float32)
            counts = torch.zeros(n_e, device=idx.device).scatter_add_(
                0, idx.reshape(-1), w.unsqueeze(1).expand(idx.shape).reshape(-1))
            p_mean = (probs * w.unsqueeze(1)).sum(0) / w.sum().clamp_min(1e-9)
        load = counts / counts.sum().clamp_min(1e-9)                                   # f_e, sums to 1
        self.last_load = load.detach()
        self.last_aux = n_e * (load.detach() * p_mean).sum() if self.cfg.balance == "aux_loss" else None


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)); x + ffn(norm(x))."""

    def __init__(self, cfg: ModelConfig, dense: bool) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.ffn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        hidden = cfg.dense_hidden or cfg.expert_hidden * (cfg.top_k + cfg.n_shared_experts)
        self.ffn = SwiGLU(cfg.d_model, hidden) if dense else MoE(cfg)

    def forward(self, x: torch.Tensor, cos, sin, mask, cache=None, token_weight=None) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), cos, sin, mask, cache)
        if isinstance(self.ffn, MoE):
            return x + self.ffn(self.ffn_norm(x), token_weight)
        return x + self.ffn(self.ffn_norm(x))


@dataclass
class GenerateOutput:
    """Completions (without the prompt) and the sampling policy's fp32 log-prob of each token."""

    tokens: list[list[int]]
    logprobs: list[list[float]]


# ----------------------------------------------------------------------------- the model

class MoETransformer(nn.Module):
    """The full decoder: embedding -> blocks -> final norm; `logits`/`token_logprobs` apply the LM head."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Parameter(torch.empty(cfg.vocab_size, cfg.d_model))
        self.blocks = nn.ModuleList([Block(cfg, dense=i < cfg.dense_layers) for i in range(cfg.n_layers)])
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.lm_head = None if cfg.tie_embeddings else nn.Parameter(torch.empty(cfg.vocab_size, cfg.d_model))
        self._compiled: list | None = None     # torch.compile'd blocks for cache-free forwards (compile_blocks)
        self.reset_parameters()

    def compile_blocks(self, **compile_kwargs) -> None:
        """torch.compile every block for cache-free forwards (training); KV-cache generation stays eager.

        The compiled wrappers share the blocks' parameters; they are kept in a plain list, so state dicts,
        parameter counts and FSDP/DDP wrapping see only the blocks themselves.
        """
        self._compiled = [torch.compile(b, **compile_kwargs) for b in self.blocks]

    def reset_parameters(self) -> None:
        """Normal(0, init_std) weights; output projections scaled by 1/sqrt(2 * n_layers); norms at 1."""
        std = self.cfg.init_std
        out_std = std / math.sqrt(2 * self.cfg.n_layers)
        for name, p in self.named_parameters():
            if name.endswith("norm.weight"):
                nn.init.ones_(p)
            elif name.endswith(("wo", "w2")):
                nn.init.normal_(p, 0.0, out_std)
            else:
                nn.init.normal_(p, 0.0, std)
        for m in self.moe_layers():
            m.router_bias.zero_()

    # -- helpers
    def moe_layers(self) -> list[MoE]:
        """The MoE FFN modules, in layer order."""
        return [b.ffn for b in self.blocks if isinstance(b.ffn, MoE)]

    @property
    def head_weight(self) -> torch.Tensor:
        """The LM head (the embedding when tied)."""
        return self.embed if self.lm_head is None else self.lm_head

    # -- forward
    def forward(self, tokens: torch.Tensor, positions: torch.Tensor | None = None, attn_mask=None,
                cache: list | None = None, cache_start: int = 0,
                token_weight: torch.Tensor | None = None) -> torch.Tensor:
        """Hidden states [B, T, D] (final-normed). attn_mask None = causal; else bool mask or BlockMask.
        token_weight [B, T]: how much each position counts in the MoE balance statistics (None: 1 each)."""
        bsz, t = tokens.shape
        if positions is None:
            positions = torch.arange(cache_start, cache_start + t, device=tokens.device).expand(bsz, t)
        cos, sin = rope_cos_sin(positions, self.cfg.head_dim, self.cfg.rope_theta)
        x = F.embedding(tokens, self.embed).to(self.cfg.torch_dtype)
        blocks = self._compiled if (self._compiled is not None and cache is None) else self.blocks
        for i, block in enumerate(blocks):
            layer_cache = None if cache is None else (cache[i][0], cache[i][1], cache_start)
            x = block(x, cos, sin, attn_mask, layer_cache, token_weight)
        return self.norm(x)

    def logits(self, h: torch.Tensor, fp32: bool = False) -> torch.Tensor:
        """LM-head logits [B, T, V] (fp32 matmul when fp32=True)."""
        if fp32:
            return F.linear(h.float(), self.head_weight.float())
        return _linear(h, self.head_weight)

    def token_logprobs(self, h: torch.Tensor, targets: torch.Tensor, fp32: bool = True) -> torch.Tensor:
        """log p(targets[b, t] | tokens[b, :t+1]) as [B, T] (fp32 LM head by default)."""
        logits = self.logits(h, fp32=fp32).float()
        return -F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view(targets.shape)

    def token_entropy(self, h: torch.Tensor, fp32: bool = True) -> torch.Tensor:
        """Entropy of the next-token distribution at every position, [B, T]."""
        logp = torch.log_softmax(self.logits(h, fp32=fp32).float(), dim=-1)
        return -(logp.exp() * logp).sum(-1)

    # -- balancing
    def aux_loss(self) -> torch.Tensor:
        """coef * mean over MoE layers of E * sum_e f_e P_e from the last training forward (0 for aux_free)."""
        terms = [m.last_aux for m in self.moe_layers() if m.last_aux is not None]
        if not terms:
            return torch.zeros((), device=self.embed.device)
        return self.cfg.aux_loss_coef * torch.stack(terms).mean()

    @torch.no_grad()
    def update_router_bias(self) -> None:
        """DeepSeek-V3 aux-free update: bias_e += rate * sign(mean_load - load_e) from the last forward."""
        if self.cfg.balance != "aux_free":
            return
        for m in self.moe_layers():
            if m.last_load is not None:
                m.router_bias += self.cfg.bias_update_rate * torch.sign(m.last_load.mean() - m.last_load)

    def expert_load(self) -> torch.Tensor:
        """[n_moe_layers, E] fraction of routed assignments per expert in the last forward."""
        loads = [m.last_load if m.last_load is not None else torch.zeros(self.cfg.n_experts, device=self.embed.device)
                 for m in self.moe_layers()]
        if not loads:
            return torch.zeros(0, self.cfg.n_experts)
        return torch.stack(loads)

    # -- counting
    def num_params(self, active_only: bool = False) -> int:
        """Total parameters, or those touched per token (routed experts scaled by top_k / n_experts)."""
        total = sum(p.numel() for p in self.parameters())
        if not active_only:
            return total
        routed = sum(m.w13.numel() + m.w2.numel() for m in self.moe_layers())
        return int(total - routed + routed * self.cfg.top_k / self.cfg.n_experts)

    def matmul_params(self) -> tuple[float, int]:
        """(body, head): weights multiplied per token in the blocks (routed experts at top_k / n_experts; norms,
        the embedding lookup and the router bias excluded) and in the LM head."""
        head = self.head_weight.numel()
        body = 0.0
        for name, p in self.named_parameters():
            if name in ("embed", "lm_head") or name.endswith("norm.weight"):
                continue
            routed = name.endswith(("ffn.w13", "ffn.w2")) and p.dim() == 3
            body += p.numel() * (self.cfg.top_k / self.cfg.n_experts if routed else 1)
        return body, head

    def flops(self, tokens: float, head_tokens: float, attn_pairs: float, backward: bool = True) -> float:
        """Model FLOPs of one pass: `tokens` positions through the blocks, `head_tokens` through the LM head and
        `attn_pairs` (query, key) pairs attended per layer and head; x3 for forward + backward.

        Per pair and head: q.k and p.v, 2 * head_dim multiply-adds each = 4 * head_dim FLOPs forward."""
        body, head = self.matmul_params()
        fwd = 2 * (body * tokens + head * head_tokens) + 4 * self.cfg.n_layers * self.cfg.n_heads * self.cfg.head_dim \
            * attn_pairs
        return 3 * fwd if backward else fwd

    def flops_per_token(self, seq_len: int | None = None) -> float:
        """Training FLOPs per token (fwd+bwd) of one causal sequence of seq_len tokens with the LM head everywhere:
        6 * matmul params + causal attention (T (T + 1) / 2 pairs)."""
        t = seq_len or self.cfg.max_seq_len
        return self.flops(t, t, t * (t + 1) / 2) / t

    # -- generation
    @torch.no_grad()
    def decode_rows(self, tokens: torch.Tensor, cache: list, rows: torch.Tensor, pos: torch.Tensor,
                    kv_len: int) -> torch.Tensor:
        """One decoding step for rows `rows` of a shared per-row KV cache (continuous batching).

        tokens [N] (the last sampled token of each row), cache: per layer (k_buf, v_buf) [R, Hkv, S, hd],
        rows [N] (which cache rows), pos [N] (each row's token count so far = the new token's position and
        cache column), kv_len = max(pos) + 1 (known on the host). Returns the final-normed hidden state [N, D].
        """
        key_valid = torch.arange(kv_len, device=pos.device).unsqueeze(0) <= pos.unsqueeze(1)     # [N, kv_len]
        cos, sin = rope_cos_sin(pos.unsqueeze(1), self.cfg.head_dim, self.cfg.rope_theta)
        x = F.embedding(tokens.unsqueeze(1), self.embed).to(self.cfg.torch_dtype)                # [N, 1, D]
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, key_valid[:, None, None, :], (cache[i][0], cache[i][1], (rows, pos, kv_len)))
        return self.norm(x)[:, -1]

    @torch.no_grad()
    def sample_next(self, h: torch.Tensor, temperature: float, top_k: int | None = None,
                    generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Next tokens [N] from hidden states h [N, D] and their log-probs [N] under the distribution sampled
        from (fp32 LM head; temperature and top-k applied; the raw model distribution when greedy)."""
        logits = self.logits(h, fp32=True)                                                   # [N, V]
        if temperature == 0:
            logp = torch.log_softmax(logits, -1)
            nxt = logp.argmax(-1)
        else:
            logits = logits / temperature
            if top_k is not None and top_k < logits.shape[-1]:
                kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            logp = torch.log_softmax(logits, -1)
            nxt = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(1)
        return nxt, logp.gather(-1, nxt.unsqueeze(1)).squeeze(1)

    @torch.no_grad()
    def generate(self, prompts: list[list[int]], max_new_tokens: int, temperature: float = 1.0,
                 eos_id: int | None = None, top_k: int | None = None,
                 generator: torch.Generator | None = None) -> GenerateOutput:
        """Batched sampling with a KV cache (prompts left-padded); temperature 0 = greedy.

        Log-probs are those of the distribution actually sampled from (temperature / top-k applied;
        the raw model distribution when greedy), computed with an fp32 LM head.
        """
        if not prompts or any(len(p) == 0 for p in prompts):
            raise ValueError("generate: every prompt needs at least one token")
        cfg = self.cfg
        dev = self.embed.device
        bsz, plen = len(prompts), max(len(p) for p in prompts)
        total = plen + max_new_tokens
        if total > cfg.max_seq_len:
            raise ValueError(f"generate: prompt + max_new_tokens = {total} exceeds max_seq_len {cfg.max_seq_len}")
        was_training = self.training
        self.eval()
        pads = torch.tensor([plen - len(p) for p in prompts], device=dev)                   # [B]
        tokens = torch.zeros(bsz, plen, dtype=torch.long, device=dev)
        for b, p in enumerate(prompts):
            tokens[b, plen - len(p):] = torch.tensor(p, device=dev)
        slots = torch.arange(total, device=dev)
        key_valid = slots.unsqueeze(0) >= pads.unsqueeze(1)                                  # [B, S]
        positions = (slots.unsqueeze(0) - pads.unsqueeze(1)).clamp_min(0)                   # [B, S]
        cache = [(torch.zeros(bsz, cfg.n_kv_heads, total, cfg.head_dim, dtype=cfg.torch_dtype, device=dev),
                  torch.zeros(bsz, cfg.n_kv_heads, total, cfg.head_dim, dtype=cfg.torch_dtype, device=dev))
                 for _ in range(cfg.n_layers)]
        causal = torch.ones(plen, plen, dtype=torch.bool, device=dev).tril()
        mask = (causal.unsqueeze(0) & key_valid[:, None, :plen]) | torch.eye(plen, dtype=torch.bool, device=dev)
        h = self.forward(tokens, positions[:, :plen], mask, cache=cache, cache_start=0)[:, -1]   # [B, D]
        out_tok: list[list[int]] = [[] for _ in range(bsz)]
        out_lp: list[list[float]] = [[] for _ in range(bsz)]
        done = torch.zeros(bsz, dtype=torch.bool, device=dev)
        for step in range(max_new_tokens):
            nxt, lp = self.sample_next(h, temperature, top_k, generator)                     # [B], [B]
            for b in range(bsz):
                if not done[b]:
                    out_tok[b].append(int(nxt[b]))
                    out_lp[b].append(float(lp[b]))
            if eos_id is not None:
                done = done | (nxt == eos_id)
            if bool(done.all()) or step == max_new_tokens - 1:
                break
            s = plen + step
            h = self.forward(nxt.unsqueeze(1), positions[:, s:s + 1], key_valid[:, None, None, :s + 1],
                             cache=cache, cache_start=s)[:, -1]
        self.train(was_training)
        return GenerateOutput(tokens=out_tok, logprobs=out_lp)
