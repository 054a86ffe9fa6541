#!/usr/bin/env bash
# torchrun smoke test: the same `evoforge train` entry point on N processes (default: every GPU, or 2 CPU
# processes with gloo when no GPU is visible), once per variant run.parallel x rl.pack (default: DDP and FSDP2,
# each with flat batches and with prefix-tree packing). For every variant it checks that rank 0 wrote one
# metrics line per step, a checkpoint, and finite RL losses; then it reloads every checkpoint in one process
# (full state dicts) and prints how far the DDP and FSDP2 weights are apart.
#   bash bench/torchrun_smoke.sh                        # all visible GPUs (e.g. the 2-GPU machine)
#   VARIANTS="fsdp2:tree" bash bench/torchrun_smoke.sh  # one variant (parallel:pack)
#   NPROC=2 CONFIG=tiny_cpu SETS="--set sft.steps=20 --set rl.steps=6" bash bench/torchrun_smoke.sh   # CPU, 2 ranks
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
CONFIG=${CONFIG:-trainer/configs/ddp_smoke.yaml}
VARIANTS=${VARIANTS:-"ddp:flat fsdp2:flat ddp:tree fsdp2:tree"}
NGPU=$($PY -c 'import torch; print(torch.cuda.device_count())')
NPROC=${NPROC:-$([ "$NGPU" -gt 0 ] && echo "$NGPU" || echo 2)}
RUN_ROOT=${RUN_DIR:-${OUT:-/tmp}/torchrun-smoke}
rm -rf "$RUN_ROOT"
# the full CLI where its dependencies are installed, else the trainer's own entry (same command function)
if $PY -c 'import agent.cli' 2>/dev/null; then ENTRY=(-m agent.cli train); else ENTRY=(-m trainer); fi
EXTRA=()
[ "$NGPU" -eq 0 ] && EXTRA=(--set run.device=cpu)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
echo "torchrun: $NPROC processes, ${NGPU} GPUs visible, config $CONFIG, entry ${ENTRY[*]}, variants: $VARIANTS"
for v in $VARIANTS; do
    par=${v%%:*}
    pack=${v##*:}
    run="$RUN_ROOT/$par-$pack"
    echo "=== run.parallel=$par rl.pack=$pack -> $run"
    t0=$(date +%s)
    $PY -m torch.distributed.run --standalone --nproc_per_node="$NPROC" "${ENTRY[@]}" "$CONFIG" \
        --run-dir "$run" "${EXTRA[@]}" ${SETS:-} --set log.tensorboard=false --set run.parallel="$par" --set rl.pack="$pack"
    echo "wall: $(( $(date +%s) - t0 )) s"
    $PY - "$run" <<'PYEOF'
import json, math, sys
from pathlib import Path
run = Path(sys.argv[1])
lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
steps = [r for r in lines if "phase" in r]
assert [r["step"] for r in steps] == list(range(len(steps))), "one metrics line per step, in order"
assert (run / "ckpt" / "last.pt").exists(), "checkpoint written"
rl = [r for r in steps if r["phase"] == "rl"]
assert rl and all(r["loss"] is not None and math.isfinite(r["loss"]) for r in rl), "finite RL losses"
evals = [r for r in lines if r.get("event") == "eval"]
print(f"ok: {len(steps)} steps ({len(rl)} RL); last RL line: loss {rl[-1]['loss']:.4f}, reward "
      f"{rl[-1]['reward_mean']:.3f}, tokens/s {rl[-1]['tokens_per_s']:.0f} (all ranks), mfu {rl[-1].get('mfu')}, "
      f"step time {rl[-1]['step_time_s']:.3f} s")
for e in evals:
    print(f"eval after {e['after']}: greedy accuracy {e['greedy_accuracy']:.3f} (mean over ranks)")
PYEOF
done
# every checkpoint is a full one-process checkpoint: load them here and compare DDP with FSDP2 per packing
$PY - "$RUN_ROOT" <<'PYEOF'
import sys
from pathlib import Path
import torch
root = Path(sys.argv[1])
ck = {p.parent.parent.name: torch.load(p, map_location="cpu", weights_only=False) for p in root.glob("*/ckpt/last.pt")}
for name, c in sorted(ck.items()):
    for phase, opt in c["optimizers"].items():      # full optimizer states, keyed by parameter index
        assert sorted(opt["state"]) == list(range(len(opt["state"]))), (name, phase)
    print(f"{name}: checkpoint step {c['step']}, {len(c['model'])} tensors, per-rank RNG states {len(c['rank_rng'])}")
for pack in ("flat", "tree"):
    a, b = ck.get(f"ddp-{pack}"), ck.get(f"fsdp2-{pack}")
    if a and b:
        diff = max((a["model"][k].float() - b["model"][k].float()).abs().max().item() for k in a["model"])
        print(f"rl.pack={pack}: max |ddp - fsdp2| over all weights after {a['step']} steps: {diff:.3g}")
PYEOF
