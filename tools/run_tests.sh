#!/usr/bin/env bash
# Sets up the environment (once) and runs the test suite; other arguments go to pytest.
# One pytest-xdist worker per core, each test file on one worker (module fixtures built
# once); -n 0 runs in this process only.
#   bash tools/run_tests.sh                      # everything (tests/ and the docstring examples)
#   bash tools/run_tests.sh -m "not mmaction"    # all but what needs MMEngine/MMAction2/MMCV
#   bash tools/run_tests.sh --torch-only         # that part in .venv-torch, without them
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --torch-only ]; then
    shift
    export SMALLBIG_TORCH_ONLY=1
    # shellcheck disable=SC1091
    . tools/setup_env.sh
    python -m pytest -n auto --dist loadfile -m "not mmaction" "$@"
else
    # shellcheck disable=SC1091
    . tools/setup_env.sh
    # tests/ and the docstring examples of smallbig_mm/ (pytest.ini)
    python -m pytest -n auto --dist loadfile "$@"
fi
