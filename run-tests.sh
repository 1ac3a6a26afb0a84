#!/usr/bin/env bash
# Runs the whole test suite: lint (ruff), types (mypy) and pytest. Sets up .venv/ first if needed.
# Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/scripts/env.sh"
ensure_venv
cd "$RPCSPY_ROOT"
echo "==> ruff" >&2
"$VENV/bin/ruff" check rpcspy addons tests bench
echo "==> ruff format" >&2
"$VENV/bin/ruff" format --check rpcspy addons tests bench
echo "==> mypy" >&2
"$VENV/bin/mypy"
compile_rpcspy
echo "==> pytest" >&2
exec "$VENV/bin/python" -m pytest "$@"
