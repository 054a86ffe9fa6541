"""Kernel choices behind the MoE layer and attention (forward+backward, bf16, one GPU).

Part "gemm": the two expert GEMMs of a SwiGLU MoE (x@w13 -> SwiGLU -> @w2) on pre-sorted, balanced rows,
in several layouts and compile modes, next to one dense SwiGLU of the same FLOPs:
  aten_nt      torch._grouped_mm with weights stored [E, N, K] and passed transposed (trainer.moe today)
  aten_nn      torch._grouped_mm with weights stored [E, K, N] (row-major B)
  inductor     torch.compile (default mode) of the same function
  autotune     torch.compile(mode="max-autotune-no-cudagraphs"): Inductor may pick its Triton grouped-GEMM template
Part "attn": causal SDPA at head_dim 64 and 128 through each backend, GQA by enable_gqa or by repeating k/v.

    python bench/moe_kernels.py --parts gemm,attn --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.mfu import bench_ms  # noqa: E402


def _gemm_fn(layout: str, hidden: int):
    """fwd of grouped SwiGLU experts; weights in the given layout."""
    def fn(xs: torch.Tensor, w13: torch.Tensor, w2: torch.Tensor, offs: torch.Tensor) -> torch.Tensor:
        b13 = w13.transpose(-2, -1) if layout == "nt" else w13
        b2 = w2.transpose(-2, -1) if layout == "nt" else w2
        h13 = torch._grouped_mm(xs, b13, offs=offs)
        h = F.silu(h13[:, :hidden]) * h13[:, hidden:]
        return torch._grouped_mm(h, b2, offs=offs)
    return fn


def gemm_rows(n_exp: int, hidden: int, d: int, top_k: int, tokens: int) -> list[dict]:
    """Time each grouped-GEMM variant and the equal-FLOP dense SwiGLU."""
    rows_n = tokens * top_k
    dev, bf = "cuda", torch.bfloat16
    xs = torch.randn(rows_n, d, device=dev, dtype=bf, requires_grad=True)
    offs = torch.linspace(rows_n / n_exp, rows_n, n_exp, device=dev).round().to(torch.int32) // 16 * 16
    offs[-1] = rows_n
    gy = torch.randn(rows_n, d, device=dev, dtype=bf)
    flops = 6 * rows_n * 3 * d * hidden
    out = []

    def timed(name: str, fn, params: list[torch.Tensor], inputs: tuple, grad: torch.Tensor) -> None:
        def step() -> None:
            for p in params:
                p.grad = None
            fn(*inputs).backward(grad)
        try:
            step()
            ms = bench_ms(step)
            out.append(dict(part="gemm", experts=n_exp, hidden=hidden, top_k=top_k, tokens=tokens, variant=name,
                            ms=ms, tflops=flops / (ms * 1e-3) / 1e12))
        except Exception as e:  # report, keep going
            out.append(dict(part="gemm", experts=n_exp, hidden=hidden, top_k=top_k, tokens=tokens, variant=name,
                            error=repr(e)[:300]))
        print(json.dumps(out[-1]), flush=True)

    w13_nt = (torch.randn(n_exp, 2 * hidden, d, device=dev, dtype=bf) * 0.02).requires_grad_()
    w2_nt = (torch.randn(n_exp, d, hidden, device=dev, dtype=bf) * 0.02).requires_grad_()
    w13_nn = w13_nt.detach().transpose(-2, -1).contiguous().requires_grad_()
    w2_nn = w2_nt.detach().transpose(-2, -1).contiguous().requires_grad_()
    for layout, (w13, w2) in (("nt", (w13_nt, w2_nt)), ("nn", (w13_nn, w2_nn))):
        fn = _gemm_fn(layout, hidden)
        args = (xs, w13, w2, offs)
        timed(f"aten_{layout}", fn, [xs, w13, w2], args, gy)
        timed(f"inductor_{layout}", torch.compile(fn), [xs, w13, w2], args, gy)
        timed(f"autotune_{layout}", torch.compile(fn, mode="max-autotune-no-cudagraphs"), [xs, w13, w2], args, gy)
    # dense reference: tokens x (top_k * hidden) SwiGLU, same FLOPs
    x = torch.randn(tokens, d, device=dev, dtype=bf, requires_grad=True)
    hd = top_k * hidden
    w1 = (torch.randn(2 * hd, d, device=dev, dtype=bf) * 0.02).requires_grad_()
    w2d = (torch.randn(d, hd, device=dev, dtype=bf) * 0.02).requires_grad_()
    gyd = torch.randn(tokens, d, device=dev, dtype=bf)

    def dense(x: torch.Tensor, w1: torch.Tensor, w2d: torch.Tensor) -> torch.Tensor:
        h = x @ w1.t()
        return (F.silu(h[:, :hd]) * h[:, hd:]) @ w2d.t()

    for name, fn in (("dense_eager", dense), ("dense_inductor", torch.compile(dense)),
                     ("dense_autotune", torch.compile(dense, mode="max-autotune-no-cudagraphs"))):
        timed(name, fn, [x, w1, w2d], (x, w1, w2d), gyd)
    return out


def _attn_step(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, go: torch.Tensor, backend: str, gqa: str):
    """Closure: causal SDPA fwd+bwd through one backend; GQA by enable_gqa or by repeating k/v."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    rep = q.shape[1] // k.shape[1]
    backends = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
                "efficient": SDPBackend.EFFICIENT_ATTENTION}

    def step() -> None:
        for t in (q, k, v):
            t.grad = None
        kk, vv, kw = k, v, dict(enable_gqa=True)
        if gqa == "repeat":
            kk, vv, kw = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1), {}
        if backend == "default":
            y = F.scaled_dot_product_attention(q, kk, vv, is_causal=True, **kw)
        else:
            with sdpa_kernel(backends[backend]):
                y = F.scaled_dot_product_attention(q, kk, vv, is_causal=True, **kw)
        y.backward(go)

    return step


def attn_rows(batch: int, seq: int) -> list[dict]:
    """Causal SDPA fwd+bwd at d_model 1024: (16 q / 4 kv heads, hd 64) and (8 q / 2 kv heads, hd 128)."""
    out = []
    for hq, hkv, hd in ((16, 4, 64), (8, 2, 128)):
        q = torch.randn(batch, hq, seq, hd, device="cuda", dtype=torch.bfloat16, requires_grad=True)
        k = torch.randn(batch, hkv, seq, hd, device="cuda", dtype=torch.bfloat16, requires_grad=True)
        v = torch.randn(batch, hkv, seq, hd, device="cuda", dtype=torch.bfloat16, requires_grad=True)
        go = torch.randn(batch, hq, seq, hd, device="cuda", dtype=torch.bfloat16)
        flops = 4 * batch * hq * hd * seq * seq / 2 * 3.5   # causal; bwd = 2.5x fwd (recompute of scores)
        for backend in ("default", "flash", "cudnn", "efficient"):
            for gqa in ("enable_gqa", "repeat"):
                step = _attn_step(q, k, v, go, backend, gqa)
                row = dict(part="attn", heads=hq, kv_heads=hkv, head_dim=hd, batch=batch, seq=seq, backend=backend,
                           gqa=gqa)
                try:
                    step()
                    ms = bench_ms(step)
                    row.update(ms=ms, tflops_hw=flops / (ms * 1e-3) / 1e12)
                except Exception as e:
                    row.update(error=repr(e)[:200])
                out.append(row)
                print(json.dumps(row), flush=True)
    return out


def main() -> None:
    """Run the chosen parts; print a table; append rows to --json."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--parts", default="gemm,attn")
    ap.add_argument("--configs", default="64x256x8,32x512x4,16x1024x2", help="EXPERTSxHIDDENxTOPK list")
    ap.add_argument("--tokens", default="16384,65536")
    ap.add_argument("--d-model", type=int, default=1024)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rows = []
    if "gemm" in args.parts:
        for c in args.configs.split(","):
            e, h, k = (int(v) for v in c.split("x"))
            for n in (int(t) for t in args.tokens.split(",")):
                rows += gemm_rows(e, h, args.d_model, k, n)
    if "attn" in args.parts:
        rows += attn_rows(4, 4096)
    print("\n| part | shape | tokens | variant | ms | TFLOP/s |\n|---|---|---|---|---|---|")
    for r in rows:
        if r["part"] == "gemm":
            shape, var = f"{r['experts']}x{r['hidden']} top-{r['top_k']}", r["variant"]
            tf = r.get("tflops")
        else:
            shape, var = f"hq{r['heads']}/kv{r['kv_heads']}/hd{r['head_dim']}", f"{r['backend']} {r['gqa']}"
            tf = r.get("tflops_hw")
        ms = f"{r['ms']:.3f}" if "ms" in r else "error"
        print(f"| {r['part']} | {shape} | {r.get('tokens', r.get('seq'))} | {var} | {ms} | "
              f"{'' if tf is None else f'{tf:.0f}'} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
