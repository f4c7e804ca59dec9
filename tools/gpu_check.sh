#!/usr/bin/env bash
# One prepared GPU check: the CUDA fast-path tests, then the --compare benchmark on CUDA
# (fp32, bf16, bf16 + channels_last_3d; eval and train; without and with torch.compile).
#
#   bash tools/gpu_check.sh [OUT_DIR]        # default: $OUT, else work_dirs/gpu_check
#
# Writes OUT_DIR/tests.txt, OUT_DIR/<mode>_<dtype>[_cl][_compiled].json and a log per run.
# Each step has its own time limit, so one slow step cannot eat the others' time; a
# failed step is reported and the script goes on. Budget: about 10 minutes on one GPU.
set -u
cd "$(dirname "$0")/.."
OUT_DIR=${1:-${OUT:-work_dirs/gpu_check}}
mkdir -p "$OUT_DIR"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
PY=${PYTHON:-python}
status=0

if ! $PY -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
    echo "error: no CUDA device visible to torch" >&2
    exit 1
fi
$PY -c 'import torch; print(torch.__version__, torch.cuda.get_device_name())' | tee "$OUT_DIR/device.txt"

echo '== CUDA fast-path tests'
timeout 300 $PY -m pytest tests/models/test_fast_path_cuda.py -q -p no:cacheprovider \
    2>&1 | tee "$OUT_DIR/tests.txt" || status=1

bench() {  # bench NAME LIMIT_S ARGS...
    local name=$1 limit=$2
    shift 2
    echo "== benchmark $name"
    rm -f "$OUT_DIR/$name.json"
    timeout "$limit" $PY tools/benchmark.py smallbig_resnet50 --compare --device cuda \
        --baseline c2d_r50 --json "$OUT_DIR/$name.json" "$@" \
        > "$OUT_DIR/$name.log" 2>&1 || { echo "failed: $name (see $name.log)"; status=1; }
    tail -n 8 "$OUT_DIR/$name.log"
}

COMMON="--batch 8 --warmup 3 --repeats 10"
bench eval_fp32 120 --mode eval $COMMON
bench eval_bf16_cl 120 --mode eval $COMMON --dtype bf16 --channels-last
bench train_fp32 150 --mode train $COMMON
bench train_bf16 150 --mode train $COMMON --dtype bf16
bench train_bf16_cl 150 --mode train $COMMON --dtype bf16 --channels-last
bench eval_bf16_cl_compiled 300 --mode eval $COMMON --dtype bf16 --channels-last --compile
bench train_bf16_compiled 300 --mode train $COMMON --dtype bf16 --compile
exit $status
