#!/usr/bin/env bash
# Source this file: it creates the virtual environment once (the tested stack of
# docs/installation.md, then this package in editable mode) and activates it. A second
# run finds the stamp and only activates. Override the location with SMALLBIG_VENV.
# Sourced by tools/quickstart.sh and tools/run_tests.sh, which run under `set -e`.
# SMALLBIG_TORCH_ONLY=1: the environment without MMEngine, MMAction2 and MMCV (.venv-torch),
# where `pytest -m "not mmaction"` runs (tools/run_tests.sh --torch-only).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TORCH_ONLY="${SMALLBIG_TORCH_ONLY:-0}"
if [ "$TORCH_ONLY" = 1 ]; then
    VENV="${SMALLBIG_VENV:-$ROOT/.venv-torch}"
else
    VENV="${SMALLBIG_VENV:-$ROOT/.venv}"
fi
STAMP="$VENV/.smallbig-mm-installed"
WANT="$(cat "$ROOT/setup.py" "$ROOT/tools/setup_env.sh" | sha256sum | cut -d' ' -f1)"

if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "[setup] creating the environment in $VENV (a few minutes, once)"
    python3 -m venv "$VENV"
    # shellcheck disable=SC1091
    . "$VENV/bin/activate"
    pip install -q torch==2.14.1 torchvision==0.29.1
    pip install -q timm==1.0.31
    pip install -q onnx==1.23.2 onnxruntime==1.32.0 onnxscript==0.7.2
    pip install -q tensorboard==2.21.0  # the experiment-tracking test (tests extra)
    pip install -q pytest-xdist==3.8.0  # tools/run_tests.sh runs the suite on every core
    # --no-build-isolation: setup.py builds the native pooling against this torch
    if [ "$TORCH_ONLY" = 1 ]; then
        pip install -q decord av  # the video readers of smallbig_mm.apis
        pip install -q --no-build-isolation -e "$ROOT[hub,tests]"
    else
        pip install -q "setuptools<81" mmengine==0.10.7 mmcv-lite==2.1.0
        pip install -q --no-deps mmaction2==1.2.0
        pip install -q ruff==0.17.6 mypy==2.4.1  # tools/lint.sh
        pip install -q --no-build-isolation -e "$ROOT[all,tests]"
    fi
    echo "$WANT" > "$STAMP"
else
    # shellcheck disable=SC1091
    . "$VENV/bin/activate"
fi
