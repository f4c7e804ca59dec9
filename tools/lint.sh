#!/usr/bin/env bash
# The lint of CI (.ci/run): ruff's rules and format (ruff.toml), then mypy (mypy.ini).
# Run it in the project's environment (tools/setup_env.sh installs ruff and mypy).
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check .
ruff format --check .
mypy
