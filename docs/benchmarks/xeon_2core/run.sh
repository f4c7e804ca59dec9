#!/usr/bin/env bash
# issue 22 on the quiet 2-core machine: both routes, interleaved against C2D, 2 threads
set -u
O=${1:?usage: run.sh OUTPUT_FOLDER}
REPEATS=${REPEATS:-5}
cd "$(dirname "$0")/../../.."
M="smallbig_resnet50 c2d_r50"
run() { # name route args...
  local name=$1 route=$2; shift 2
  echo "== $name $route $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
  SMALLBIG_MM_NATIVE=$route python tools/benchmark.py $M --baseline c2d_r50 --repeats $REPEATS "$@" --json $O/${name}_${route_name[$route]}.json 2>&1 | tail -6
}
declare -A route_name=([1]=native [0]=pure)
for t in 1 2; do
  python tools/analysis_tools/benchmark_pooling_routes.py --threads $t --json $O/pooling_routes_${t}thread.json 2>&1 | tail -12
done
for r in 1 0; do run train_fp32 $r --mode train --batch 2; done
for r in 1 0; do run train_bf16 $r --mode train --batch 2 --dtype bf16; done
for r in 1 0; do run eval_fp32 $r --mode eval --batch 8; done
for r in 1 0; do run eval_bf16 $r --mode eval --batch 8 --dtype bf16; done
for r in 0 1; do run train_fp32_again $r --mode train --batch 2; done
for r in 0 1; do run train_bf16_again $r --mode train --batch 2 --dtype bf16; done
echo done $(date -u +%T)
