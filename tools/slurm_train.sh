#!/usr/bin/env bash
# Training on a Slurm cluster: one task per GPU, MMEngine reads Slurm's variables
# (--launcher slurm). Usage, in MMAction2's form:
#   [GPUS=16] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#       bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py options]
set -euo pipefail
# One rendezvous port per job, as MMAction2's scripts choose it (12000-31999, at random),
# so two jobs on one node do not collide; a MASTER_PORT you export is kept. MMEngine's
# slurm launcher reads it (its default, 29500, would be the same for every job).
export MASTER_PORT=${MASTER_PORT:-$((12000 + RANDOM % 20000))}
if [ $# -lt 3 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py options]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
WORK_DIR_ARGS=()
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then  # a 4th positional argument: the work dir
    WORK_DIR_ARGS=(--work-dir "$1")
    shift
fi
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-$((GPUS < 8 ? GPUS : 8))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
# shellcheck disable=SC2086  # SRUN_ARGS holds several words on purpose
srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 ${SRUN_ARGS:-} \
    python -u "$(dirname "$0")/train.py" "$CONFIG" "${WORK_DIR_ARGS[@]}" --launcher slurm "$@"
