#!/usr/bin/env bash
# Quick start: set up the environment (once), write the built-in motion dataset (once),
# train SmallBig with MMAction2's own runner, test the final checkpoint and print its
# top-1 accuracy. Each run writes to a new folder under work_dirs/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. tools/setup_env.sh

# One thread: on a small shared CPU, two torch threads competing with other work ran the
# same training 3-4x slower (measured on a 2-core machine).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
CONFIG=${CONFIG:-configs/recognition/smallbig/smallbig_r23-w16_1xb16-8x1x1-20e_motion-rgb.py}
WORK_DIR=${WORK_DIR:-work_dirs/quickstart/$(date +%Y%m%d_%H%M%S)}
if [ -e "$WORK_DIR" ]; then
    echo "error: $WORK_DIR exists; set WORK_DIR to a new folder" >&2
    exit 1
fi

python tools/data/generate_motion.py --out-dir data/smallbig_motion
python tools/train.py "$CONFIG" --work-dir "$WORK_DIR" --seed 0
CHECKPOINT=$(cat "$WORK_DIR/last_checkpoint")
python tools/test.py "$CONFIG" "$CHECKPOINT" --work-dir "$WORK_DIR" | tee "$WORK_DIR/test.txt"
TOP1=$(grep -o 'acc/top1=[0-9.]*' "$WORK_DIR/test.txt" | tail -n 1 | cut -d= -f2)
echo
echo "SmallBig top-1 on the motion validation set: $TOP1 (checkpoint: $CHECKPOINT)"
