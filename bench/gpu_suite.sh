#!/usr/bin/env bash
# All GPU tests and benchmarks of the trainer model in one command; results under $OUT (default runs/gpu_suite).
#   bash bench/gpu_suite.sh            # everything (~6 min on one H100)
#   SUITE="tests mfu" bash bench/gpu_suite.sh
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
    tests)  $PY -m pytest -q -m gpu tests/test_gpu_model.py -p no:cacheprovider 2>&1 | tee "$OUT/gpu_tests.log" || rc=1 ;;
    moe)    $PY bench/moe_vs_dense.py --json "$OUT/moe_vs_dense.json" ${MOE_ARGS:-} 2>&1 | tee "$OUT/moe_vs_dense.log" || rc=1 ;;
    mfu)    $PY bench/mfu.py --json "$OUT/mfu.json" ${MFU_ARGS:-} 2>&1 | tee "$OUT/mfu.log" || rc=1 ;;
    fine)   $PY bench/mfu.py --preset 1b_fine --variants grouped_mm:compile:8 --json "$OUT/mfu.json" 2>&1 | tee -a "$OUT/mfu.log" || rc=1 ;;
    prefix) $PY bench/prefix_merge.py --json "$OUT/prefix_merge.json" ${PREFIX_ARGS:-} 2>&1 | tee "$OUT/prefix_merge.log" || rc=1 ;;
  esac
done
echo "=== done ($(date -u +%T)) rc=$rc"
exit $rc
