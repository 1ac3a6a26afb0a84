#!/usr/bin/env bash
# Runs every benchmark in bench/ and prints each one's report. Each reports ratios against a
# baseline measured in the same run. Pass --quick for a short run; name benchmarks to run only those
# (e.g. bench/run.sh decode proxy).
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
ensure_venv
cd "$RPCSPY_ROOT"
args=()
names=()
for a in "$@"; do
    case "$a" in
        -*) args+=("$a") ;;
        *) names+=("$a") ;;
    esac
done
if [ ${#names[@]} -eq 0 ]; then
    for f in bench/*.py; do
        n="$(basename "$f" .py)"
        [ "${n#_}" = "$n" ] && names+=("$n")
    done
fi
status=0
for n in "${names[@]}"; do
    echo "==> bench/$n.py ${args[*]:-}"
    "$VENV/bin/python" "bench/$n.py" "${args[@]}" || status=1
    echo
done
exit $status
