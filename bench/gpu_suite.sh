#!/usr/bin/env bash
# All GPU tests and benchmarks of the trainer in one command; results under $OUT (default runs/gpu_suite).
#   bash bench/gpu_suite.sh            # tests, MoE vs dense, MFU, prefix merging (~6 min on one H100)
#   SUITE="tests sched" bash bench/gpu_suite.sh
# Parts: tests (every -m gpu test of the trainer), moe, mfu, fine (the 1b_fine preset), prefix, sched (the rollout
# schedulers with the real asynchronous generator, rl.clock=wall, heavy-tailed lengths; SCHED_ARGS overrides).
set -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu_suite}
mkdir -p "$OUT"
rm -f "$OUT"/moe_vs_dense.json "$OUT"/mfu.json "$OUT"/prefix_merge.json   # the parts append to these
PY=${PY:-python3}
SUITE=${SUITE:-"tests moe mfu prefix"}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/machine.txt"
$PY -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)" | tee -a "$OUT/machine.txt"
rc=0
for part in $SUITE; do
  echo "=== $part ($(date -u +%T))"
  case $part in
    tests)  $PY -m pytest -q -m gpu tests/test_gpu_model.py tests/test_train.py tests/test_rollout_worker.py \
              -p no:cacheprovider 2>&1 | tee "$OUT/gpu_tests.log" || rc=1 ;;
    moe)    $PY bench/moe_vs_dense.py --json "$OUT/moe_vs_dense.json" ${MOE_ARGS:-} 2>&1 | tee "$OUT/moe_vs_dense.log" || rc=1 ;;
    mfu)    $PY bench/mfu.py --json "$OUT/mfu.json" ${MFU_ARGS:-} 2>&1 | tee "$OUT/mfu.log" || rc=1 ;;
    fine)   $PY bench/mfu.py --preset 1b_fine --variants grouped_mm:compile:8 --json "$OUT/mfu.json" 2>&1 | tee -a "$OUT/mfu.log" || rc=1 ;;
    prefix) $PY bench/prefix_merge.py --json "$OUT/prefix_merge.json" ${PREFIX_ARGS:-} 2>&1 | tee "$OUT/prefix_merge.log" || rc=1 ;;
    sched)  $PY bench/scheduler_sim.py --real --clock wall --json "$OUT/sched_wall.json" --work /tmp/evoforge-sched \
              ${SCHED_ARGS:---sft-steps 300 --steps 40 --policy-budget-s 110 --real-slots 32 --real-window 32 --overrides \
              model.preset=small model.d_model=256 model.n_layers=4 model.n_heads=8 model.n_kv_heads=4 \
              model.n_experts=16 model.top_k=2 model.expert_hidden=256 model.max_seq_len=1024 model.dtype=bfloat16 \
              run.device=cuda env.name=sort_lognormal env.level=4 sft.batch_size=64 sft.lr=1e-3 \
              rl.prompts_per_step=16 rl.group_size=4 rl.minibatches=1 rl.lr=1e-5} 2>&1 | tee "$OUT/sched_wall.log" || rc=1 ;;
  esac
done
echo "=== done ($(date -u +%T)) rc=$rc"
exit $rc
