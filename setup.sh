#!/usr/bin/env bash
# Sets up .venv/ (finding a Python >= 3.12 by itself) and runs the demo.
set -euo pipefail
source "$(dirname "$0")/scripts/env.sh"
ensure_venv
compile_rpcspy
echo "==> ready: $VENV/bin/rpcspy" >&2
exec "$VENV/bin/rpcspy" demo "$@"
