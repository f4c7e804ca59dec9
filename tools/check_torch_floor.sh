#!/usr/bin/env bash
# Checks the torch floor declared in setup.py (install_requires 'torch>=X.Y'): creates a
# virtual environment with the oldest allowed torch (the last patch release of X.Y) and the
# base install's other packages, then runs the tests that need torch only
# (pytest -m "not mmaction", without the tests of timm, ONNX, the benchmark and the
# upstream names of timm, whose extras are not part of a base install). The result is recorded in docs/installation.md.
#
#   bash tools/check_torch_floor.sh [VENV [PYTEST ARGS...]]   # VENV: /tmp/smallbig-torch-floor
#
# Needs network access to PyPI once (PyPI's Linux torch wheels pull the CUDA libraries:
# about 3.5 GB); a second run reuses VENV. Python: python3 on PATH, or $PYTHON.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV=/tmp/smallbig-torch-floor
if [ $# -gt 0 ]; then
    VENV="$1"
    shift
fi
FLOOR="$(sed -n "s/.*'torch>=\([0-9][0-9.]*\)'.*/\1/p" "$ROOT/setup.py" | head -n 1)"
if [ -z "$FLOOR" ]; then
    echo "error: no 'torch>=X.Y' in $ROOT/setup.py" >&2
    exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --progress-bar off "torch==$FLOOR.*" numpy opencv-python pytest
TORCH="$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
echo "[floor] setup.py declares torch>=$FLOOR; testing torch $TORCH in $VENV"

cd "$ROOT"
# PYTHONPATH: the package from this checkout (no install, so nothing else is pulled in).
PYTHONPATH="$ROOT" OMP_NUM_THREADS=1 "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
    -m "not mmaction" --ignore=tests/timm_models --ignore=tests/deploy \
    --ignore=tests/analysis/test_benchmark.py --ignore=tests/compat/test_upstream_names.py "$@"
