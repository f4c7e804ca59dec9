#!/usr/bin/env bash
# Quick start: set up the environment (once), write the built-in motion dataset (once),
# train SmallBig and then the C2D baseline (same network, 2D blocks only) on the same data
# with MMAction2's own runner, test both final checkpoints and print their top-1 side by
# side. Each run writes to a new folder under work_dirs/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. tools/setup_env.sh

# One thread: on a small shared CPU, two torch threads competing with other work ran the
# same training 3-4x slower (measured on a 2-core machine).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
SMALLBIG=configs/recognition/smallbig/smallbig_r23-w16_1xb16-8x1x1-20e_motion-rgb.py
C2D=configs/recognition/smallbig/c2d_r23-w16_1xb16-8x1x1-20e_motion-rgb.py
WORK_DIR=${WORK_DIR:-work_dirs/quickstart/$(date +%Y%m%d_%H%M%S)}
if [ -e "$WORK_DIR" ]; then
    echo "error: $WORK_DIR exists; set WORK_DIR to a new folder" >&2
    exit 1
fi

python tools/data/generate_motion.py --out-dir data/smallbig_motion

# train_and_test NAME CONFIG: trains with seed 0, tests the last checkpoint, prints top-1
train_and_test() {
    local dir="$WORK_DIR/$1" start
    start=$(date +%s)
    python tools/train.py "$2" --work-dir "$dir" --seed 0
    echo $(( $(date +%s) - start )) > "$dir/train_seconds.txt"
    python tools/test.py "$2" "$(cat "$dir/last_checkpoint")" --work-dir "$dir" | tee "$dir/test.txt"
}
top1() { grep -o 'acc/top1=[0-9.]*' "$WORK_DIR/$1/test.txt" | tail -n 1 | cut -d= -f2; }
minutes() { awk '{printf "%.1f", $1 / 60}' "$WORK_DIR/$1/train_seconds.txt"; }

train_and_test smallbig "$SMALLBIG"
train_and_test c2d "$C2D"
echo
echo "Top-1 on the motion validation set (only the frame order tells the classes apart):"
printf '| %-44s | %-7s | %-14s |\n' model 'top-1' 'training (min)'
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" '---------' '----------------'
printf '| %-44s | %-7s | %-14s |\n' 'SmallBig-R23 (big views pool across frames)' \
    "$(top1 smallbig)" "$(minutes smallbig)"
printf '| %-44s | %-7s | %-14s |\n' 'C2D-R23 (same net, 2D blocks only)' \
    "$(top1 c2d)" "$(minutes c2d)"
echo "(logs and checkpoints: $WORK_DIR)"
