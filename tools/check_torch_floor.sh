#!/usr/bin/env bash
# Checks the torch floor declared in setup.py (install_requires 'torch>=X.Y'): creates a
# virtual environment with the oldest allowed torch (the last patch release of X.Y), the
# base install's other packages, the timm extra (timm, with the torchvision pip picks
# for that torch) and the video readers, then runs every test that needs neither MMAction2 nor ONNX
# (pytest -m "not mmaction", without tests/deploy). The result is recorded in
# docs/installation.md ("The torch floor").
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
"$VENV/bin/pip" install -q --progress-bar off "torch==$FLOOR.*" numpy opencv-python pytest \
    "timm>=1.0.20,<1.1" decord av  # decord, PyAV: the video readers of smallbig_mm.apis
TORCH="$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
echo "[floor] setup.py declares torch>=$FLOOR; testing torch $TORCH in $VENV"

# A copy of this checkout (without its environments and build outputs) where the native
# extension is built against the floor's torch, as pip builds it without build isolation.
SRC="$VENV/checkout"
rm -rf "$SRC"
mkdir -p "$SRC"
tar -C "$ROOT" --exclude=./.git --exclude='./.venv*' --exclude=./work_dirs --exclude=./build \
    --exclude='*.so' --exclude=__pycache__ -cf - . | tar -C "$SRC" -xf -
cd "$SRC"
if SMALLBIG_MM_BUILD_EXT=1 "$VENV/bin/python" setup.py -q build_ext --inplace >build_ext.log 2>&1; then
    echo "[floor] built the native extension against torch $TORCH"
else
    echo "[floor] the native extension did not build (see $SRC/build_ext.log): the pure route runs"
fi
# PYTHONPATH: the package from the copy (no install, so nothing else is pulled in).
PYTHONPATH="$SRC" OMP_NUM_THREADS=1 "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
    -m "not mmaction" --ignore=tests/deploy "$@"
