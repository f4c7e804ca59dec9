#!/usr/bin/env bash
# One prepared GPU check (issues 14 and 22): builds the native extension, runs the CUDA
# tests (the native route's, Triton kernels against max_pool3d; the fast path's where
# MMAction2 is installed), then times SmallBig-R50 against C2D-R50 on CUDA, interleaved,
# on the native and on the pure-PyTorch pooling route.
#
#   bash tools/gpu_check.sh [OUT_DIR]        # default: $OUT, else work_dirs/gpu_check
#
# Writes at most 7 files: OUT_DIR/gpu_check.log (device, build, tests, every table) and
# OUT_DIR/<mode>_<dtype>_<route>.json per benchmark. Each step has its own time limit
# (the CUDA tests take about 6 minutes: Triton compiles each clip length; 12 at most in all);
# a failed step is reported and the script goes on.
# Needs torch (and Triton for the native CUDA route); the benchmark needs timm.
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${1:-${OUT:-work_dirs/gpu_check}}
mkdir -p "$OUT_DIR"
exec > >(tee "$OUT_DIR/gpu_check.log") 2>&1
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
PY=${PYTHON:-$(command -v python3 || command -v python)}
status=0
has() { $PY -c "import $1" >/dev/null 2>&1; }

if ! $PY -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
    echo "error: no CUDA device visible to torch" >&2
    exit 1
fi
$PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name())'
for module in triton pytest timm mmaction; do has $module && echo "$module: yes" || echo "$module: no"; done

echo "== build the extension ($(date -u +%T))"
start=$(date +%s)
SMALLBIG_MM_BUILD_EXT=1 MAX_JOBS=8 timeout 180 $PY setup.py build_ext --inplace 2>&1 | tail -n 5
echo "build took $(( $(date +%s) - start )) s"
$PY -c 'from smallbig_mm.ops import bigview_pool as n; import os; os.environ["SMALLBIG_MM_NATIVE"] = "triton"; print("route on cuda:", n.route_name("cuda")); print("load error:", n.LOAD_ERROR)' \
    || status=1

echo "== CUDA tests ($(date -u +%T))"
if has pytest && has mmaction; then  # tests/conftest.py loads the MMAction2 side
    timeout 420 $PY -m pytest tests/models/test_native_pooling_cuda.py \
        tests/models/test_fast_path_cuda.py -q -p no:cacheprovider 2>&1 | tail -n 25 || status=1
elif has pytest; then  # the self-contained CUDA tests only
    timeout 420 $PY -m pytest --noconftest tests/models/test_native_pooling_cuda.py -q \
        -p no:cacheprovider 2>&1 | tail -n 25 || status=1
else
    timeout 180 $PY tests/models/test_native_pooling_cuda.py 2>&1 | tail -n 5 || status=1
fi

bench() {  # bench NAME ROUTE(triton: native, 0: pure) LIMIT_S ARGS...
    local name=$1 route=$2 limit=$3
    shift 3
    echo "== benchmark $name ($(date -u +%T))"
    SMALLBIG_MM_NATIVE=$route timeout "$limit" $PY tools/benchmark.py smallbig_resnet50 \
        smallbig_c2d_resnet50 --device cuda --baseline smallbig_c2d_resnet50 \
        --json "$OUT_DIR/$name.json" --force "$@" 2>&1 | tail -n 6 \
        || { echo "failed: $name"; status=1; }
}

if has timm; then
    COMMON="--batch 8 --warmup 2 --repeats 5"
    bench train_fp32_native triton 45 --mode train $COMMON
    bench train_fp32_pure 0 45 --mode train $COMMON
    bench train_bf16_native triton 45 --mode train $COMMON --dtype bf16
    bench train_bf16_pure 0 45 --mode train $COMMON --dtype bf16
    bench eval_bf16_native triton 35 --mode eval $COMMON --dtype bf16
    bench eval_fp32_native triton 35 --mode eval $COMMON
else
    echo "skipped the benchmark: it builds smallbig_resnet50 and smallbig_c2d_resnet50 with timm"
    status=1
fi
echo "== done ($(date -u +%T)), status $status"
exit $status
