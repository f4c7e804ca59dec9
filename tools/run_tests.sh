#!/usr/bin/env bash
# Sets up the environment (once) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. tools/setup_env.sh
python -m pytest "$@"  # tests/ and the docstring examples of smallbig_mm/ (pytest.ini)
