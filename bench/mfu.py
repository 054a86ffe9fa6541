"""MFU of the MoE transformer (forward+backward, bf16) on one GPU, on active parameters.

MFU = flops_per_token(T) * tokens / time / peak, peak = 989 TFLOP/s (H100 SXM dense bf16 spec).
flops_per_token(T) (trainer.model) = 6 x (active matmul weights of the blocks: attention, router, shared expert,
routed experts at top_k / n_experts; plus the LM head) + causal attention, 12 x layers x heads x head_dim x (T+1)/2.
Timed: one forward + backward of the mean next-token NLL over random tokens (LM head at every position).
Not timed: the optimizer step (AdamW), the aux-free router-bias update, data, generation.
The same run also measures a large bf16 matmul, the practical ceiling on this card, for comparison.

    python bench/mfu.py --preset 1b --batch 4 --seq 4096 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.model import MoETransformer, get_preset  # noqa: E402

H100_BF16_PEAK = 989e12


def bench_ms(fn, warmup_ms: float = 300, rep_ms: float = 1500) -> float:
    """Median milliseconds of fn() with CUDA-event timing after warm-up (triton.testing.do_bench)."""
    from triton.testing import do_bench

    return float(do_bench(fn, warmup=warmup_ms, rep=rep_ms, return_mode="median"))


def matmul_ceiling_tflops(n: int = 8192) -> float:
    """Achieved TFLOP/s of an n^3 bf16 matmul on random data."""
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    ms = bench_ms(lambda: a @ b)
    return 2 * n**3 / (ms * 1e-3) / 1e12


def parse_set(items: list[str]) -> dict:
    """--set key=value pairs -> ModelConfig overrides (ints, floats or strings)."""
    out = {}
    for item in items:
        key, _, val = item.partition("=")
        for cast in (int, float):
            try:
                out[key] = cast(val)
                break
            except ValueError:
                continue
        else:
            out[key] = val
    return out


def build(preset: str, impl: str, compile_blocks: bool, mode: str | None = None, **overrides) -> MoETransformer:
    """The preset on CUDA with bf16 parameters; optionally each block torch.compile'd (in `mode`)."""
    torch.manual_seed(0)
    model = MoETransformer(get_preset(preset, expert_impl=impl, dtype="bfloat16", **overrides))
    model = model.cuda().to(torch.bfloat16)
    if compile_blocks:
        for blk in model.blocks:
            blk.compile(mode=mode)
    return model


def train_step_fn(model: MoETransformer, batch: int, seq: int, fp32_head: bool, compile_head: bool = False):
    """A closure running one forward+backward of the mean next-token NLL (LM head + loss optionally compiled)."""
    tok = torch.randint(0, model.cfg.vocab_size, (batch, seq + 1), device="cuda")
    inp, tgt = tok[:, :-1], tok[:, 1:]

    def head_loss(h: torch.Tensor) -> torch.Tensor:
        return -model.token_logprobs(h, tgt, fp32=fp32_head).mean()

    loss_fn = torch.compile(head_loss) if compile_head else head_loss

    def step() -> None:
        for p in model.parameters():
            p.grad = None
        loss_fn(model(inp)).backward()

    return step


def measure(preset: str, impl: str, compile_blocks: bool, batch: int, seq: int, fp32_head: bool,
            overrides: dict | None = None, mode: str | None = None) -> dict:
    """Time one configuration; returns a result row."""
    model = build(preset, impl, compile_blocks, mode, **(overrides or {}))
    step = train_step_fn(model, batch, seq, fp32_head, compile_head=compile_blocks)
    t0 = time.time()
    step()
    torch.cuda.synchronize()
    first_s = time.time() - t0
    torch.cuda.reset_peak_memory_stats()
    ms = bench_ms(step)
    tokens = batch * seq
    flops = model.flops_per_token(seq) * tokens
    row = dict(preset=preset, overrides=overrides or {}, impl=impl, compiled=compile_blocks, mode=mode, batch=batch, seq=seq, fp32_head=fp32_head,
               total_params=model.num_params(), active_params=model.num_params(active_only=True),
               flops_per_token=model.flops_per_token(seq), step_ms=ms, tokens_per_s=tokens / (ms * 1e-3),
               tflops=flops / (ms * 1e-3) / 1e12, mfu=flops / (ms * 1e-3) / H100_BF16_PEAK,
               first_step_s=first_s, peak_mem_gib=torch.cuda.max_memory_allocated() / 2**30)
    del model, step
    torch.cuda.empty_cache()
    return row


def main() -> None:
    """Run the requested variants and print a markdown table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preset", default="1b")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=4096)
    ap.add_argument("--variants", default="grouped_mm:eager,grouped_mm:compile,grouped_mm:compile:8",
                    help="comma list of impl:eager|compile[:batch]")
    ap.add_argument("--fp32-head", action="store_true", help="fp32 LM head (as RL log-probs use)")
    ap.add_argument("--set", nargs="*", default=[], help="ModelConfig overrides, e.g. expert_hidden=512")
    ap.add_argument("--mode", default=None, help="torch.compile mode, e.g. max-autotune-no-cudagraphs")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    ceiling = matmul_ceiling_tflops()
    rows = []
    for v in args.variants.split(","):
        impl, mode, *bs = v.split(":")
        batch = int(bs[0]) if bs else args.batch
        try:
            rows.append(measure(args.preset, impl, mode == "compile", batch, args.seq, args.fp32_head,
                                parse_set(args.set), args.mode))
        except Exception as e:  # keep going: report the failure as a row
            rows.append(dict(preset=args.preset, impl=impl, compiled=mode == "compile", error=repr(e)[:400]))
        print(json.dumps(rows[-1]), flush=True)
    print(f"\nbf16 8192^3 matmul on this card: {ceiling:.0f} TFLOP/s ({ceiling * 1e12 / H100_BF16_PEAK:.1%} of 989)")
    print("\n| preset | experts | compiled | tokens/step | step ms | tokens/s | TFLOP/s | MFU (989) | MFU vs matmul ceiling | peak GiB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        name = r["preset"] + "".join(f" {k}={v}" for k, v in r.get("overrides", {}).items())
        name += f" ({r['mode']})" if r.get("mode") else ""
        if "error" in r:
            print(f"| {name} | {r['impl']} | {r['compiled']} | error: {r['error'][:80]} |")
            continue
        print(f"| {name} | {r['impl']} | {r['compiled']} | {r['batch']}x{r['seq']} | {r['step_ms']:.1f} | "
              f"{r['tokens_per_s']:.0f} | {r['tflops']:.0f} | {r['mfu']:.1%} | {r['tflops'] / ceiling:.1%} | "
              f"{r['peak_mem_gib']:.1f} |")
    if args.json:
        path = Path(args.json)
        old = json.loads(path.read_text())["rows"] if path.exists() else []
        path.write_text(json.dumps(dict(matmul_ceiling_tflops=ceiling, rows=old + rows), indent=1))


if __name__ == "__main__":
    main()
