"""Where the time of one MoE layer goes: torch.profiler kernel table of compiled fwd+bwd (bf16, one GPU).

    python bench/moe_profile.py --tokens 32768 --set n_experts=32 expert_hidden=512 top_k=4
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.mfu import bench_ms, parse_set  # noqa: E402
from trainer.model import MoE, get_preset  # noqa: E402


def main() -> None:
    """Compile the preset's MoE layer, time it, then print the profiler's top CUDA kernels."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preset", default="1b")
    ap.add_argument("--tokens", type=int, default=32768)
    ap.add_argument("--set", nargs="*", default=[])
    ap.add_argument("--rows", type=int, default=30)
    ap.add_argument("--tf32", action="store_true", help="allow TF32 for the fp32 router matmuls")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    cfg = get_preset(args.preset, dtype="bfloat16", **parse_set(args.set))
    moe = MoE(cfg).cuda().to(torch.bfloat16)
    for p in moe.parameters():
        torch.nn.init.normal_(p, 0, 0.02)
    layer = torch.compile(moe)
    x = torch.randn(1, args.tokens, cfg.d_model, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    gy = torch.randn_like(x)

    def step() -> None:
        for p in moe.parameters():
            p.grad = None
        layer(x).backward(gy)

    step()
    ms = bench_ms(step)
    print(f"MoE E={cfg.n_experts} H={cfg.expert_hidden} top-{cfg.top_k} tokens={args.tokens}: {ms:.3f} ms fwd+bwd")
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        for _ in range(5):
            step()
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=args.rows, max_name_column_width=90))


if __name__ == "__main__":
    main()
