"""MoE FFN layer vs a dense SwiGLU FFN of equal active FLOPs (forward+backward, bf16).

The dense layer's hidden size is expert_hidden * (top_k + n_shared), so both do the same expert matmul
FLOPs per token; the MoE adds its router (d_model x n_experts, fp32). FLOPs counted per row, from the code
that runs (forward x 3 for forward + backward):
  dense          6 N * 3 d H (K + S)                   H = expert_hidden, K = top_k, S = n_shared
  MoE            6 N * (3 d H (K + S) + d E)           routed experts, shared expert, router
  GEMMs only     6 N * 3 d H K                         the two grouped GEMMs of the routed experts, nothing else
Time ratio = best dense time / the row's time, meaningful for the rows doing the dense layer's work (dense, MoE);
TFLOP/s ratio = the row's TFLOP/s / the best dense row's, for every row (the GEMMs-only row does K/(K+S) of the
work). Timed: forward + backward of one layer on random bf16 inputs; not timed: optimizer step, the aux-free
router-bias update (a few element-wise ops per step), anything outside the layer.

    python bench/moe_vs_dense.py --tokens 16384 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.mfu import bench_ms, parse_set  # noqa: E402
from trainer.model import MoE, SwiGLU, get_preset  # noqa: E402


def fwd_bwd(layer: torch.nn.Module, x: torch.Tensor):
    """Closure: forward + backward of sum(layer(x) * fixed weights)."""
    gy = torch.randn_like(x)

    def step() -> None:
        for p in layer.parameters():
            p.grad = None
        x.grad = None
        y = layer(x)
        y.backward(gy)

    return step


def gemm_only_step(cfg, n: int):
    """Closure: compiled fwd+bwd of grouped_mm(xs, w13) -> SwiGLU -> grouped_mm(h, w2), equal-size groups."""
    e, h, d = cfg.n_experts, cfg.expert_hidden, cfg.d_model
    rows = n * cfg.top_k
    xs = torch.randn(rows, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    w13 = (torch.randn(e, 2 * h, d, device="cuda", dtype=torch.bfloat16) * 0.02).requires_grad_()
    w2 = (torch.randn(e, d, h, device="cuda", dtype=torch.bfloat16) * 0.02).requires_grad_()
    offs = torch.linspace(rows / e, rows, e, device="cuda").round().to(torch.int32) // 16 * 16
    offs[-1] = rows
    gy = torch.randn(rows, d, device="cuda", dtype=torch.bfloat16)

    @torch.compile
    def gemms(xs: torch.Tensor, w13: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
        h13 = torch._grouped_mm(xs, w13.transpose(-2, -1), offs=offs)
        hh = torch.nn.functional.silu(h13[:, :h]) * h13[:, h:]
        return torch._grouped_mm(hh, w2.transpose(-2, -1), offs=offs)

    def step() -> None:
        for t in (xs, w13, w2):
            t.grad = None
        gemms(xs, w13, w2).backward(gy)

    return step


def main() -> None:
    """Time the MoE layer (grouped GEMM / loop, eager / compiled) and the equal-FLOP dense layer."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preset", default="1b")
    ap.add_argument("--tokens", default="16384,32768")
    ap.add_argument("--set", nargs="*", default=[], help="ModelConfig overrides, e.g. expert_hidden=512")
    ap.add_argument("--mode", default=None, help="torch.compile mode of the compiled variants")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    over = parse_set(args.set)
    cfg = get_preset(args.preset, dtype="bfloat16", **over)
    hidden = cfg.expert_hidden * (cfg.top_k + cfg.n_shared_experts)
    rows = []
    for n in [int(t) for t in args.tokens.split(",")]:
        torch.manual_seed(0)
        x = torch.randn(1, n, cfg.d_model, device="cuda", dtype=torch.bfloat16, requires_grad=True)
        dense_flops = 6 * n * 3 * cfg.d_model * hidden                            # fwd+bwd, see the docstring
        moe_flops = dense_flops + 6 * n * cfg.d_model * cfg.n_experts
        gemm_flops = 6 * n * 3 * cfg.d_model * cfg.expert_hidden * cfg.top_k
        variants = {}
        dense = SwiGLU(cfg.d_model, hidden).cuda().to(torch.bfloat16)
        torch.nn.init.normal_(dense.w1, 0, 0.02)
        torch.nn.init.normal_(dense.w3, 0, 0.02)
        torch.nn.init.normal_(dense.w2, 0, 0.02)
        variants["dense eager"] = dense
        variants["dense compiled"] = torch.compile(dense, mode=args.mode)
        for impl in ("grouped_mm", "loop"):
            c = get_preset(args.preset, dtype="bfloat16", expert_impl=impl, **over)
            moe = MoE(c).cuda().to(torch.bfloat16)
            for p in moe.parameters():
                torch.nn.init.normal_(p, 0, 0.02)
            variants[f"moe {impl} eager"] = moe
            if impl == "grouped_mm":
                variants[f"moe {impl} compiled"] = torch.compile(moe, mode=args.mode)
        res = {}
        try:   # the two grouped GEMMs alone on pre-sorted, balanced rows (routed experts only, no shared expert)
            res["grouped GEMMs only (routed experts, balanced, no routing/permute/shared), compiled"] = \
                bench_ms(gemm_only_step(cfg, n))
        except Exception as e:
            print(f"gemm-only: error {e!r}"[:300], flush=True)
        for name, layer in variants.items():
            try:
                step = fwd_bwd(layer, x)
                step()
                res[name] = bench_ms(step)
            except Exception as e:
                res[name] = None
                print(f"{name}: error {e!r}"[:300], flush=True)
        best_dense = min(v for k, v in res.items() if k.startswith("dense") and v)
        dense_tflops = dense_flops / (best_dense * 1e-3) / 1e12
        for name, ms in res.items():
            flops = dense_flops if name.startswith("dense") else gemm_flops if name.startswith("grouped") else moe_flops
            tflops = None if ms is None else flops / (ms * 1e-3) / 1e12
            row = dict(tokens=n, variant=name, ms=ms, flops=flops, tflops=tflops,
                       time_ratio_vs_best_dense=None if ms is None or name.startswith("grouped") else best_dense / ms,
                       tflops_ratio_vs_best_dense=None if ms is None else tflops / dense_tflops)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\nMoE: d={cfg.d_model}, E={cfg.n_experts}, hidden={cfg.expert_hidden}, top-{cfg.top_k}, "
          f"shared={cfg.n_shared_experts}; dense SwiGLU hidden={hidden} (equal expert FLOPs)")
    print("\n| tokens | layer | fwd+bwd ms | GFLOP | TFLOP/s | time ratio vs best dense | TFLOP/s ratio vs best dense |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ms = "error" if r["ms"] is None else f"{r['ms']:.3f}"
        tf = "" if r["tflops"] is None else f"{r['tflops']:.0f}"
        tr = "" if r["time_ratio_vs_best_dense"] is None else f"{r['time_ratio_vs_best_dense']:.2f}"
        fr = "" if r["tflops_ratio_vs_best_dense"] is None else f"{r['tflops_ratio_vs_best_dense']:.2f}"
        print(f"| {r['tokens']} | {r['variant']} | {ms} | {r['flops'] / 1e9:.0f} | {tf} | {tr} | {fr} |")
    if args.json:
        path = Path(args.json)
        old = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps(old + [dict(r, overrides=over) for r in rows], indent=1))


if __name__ == "__main__":
    main()
