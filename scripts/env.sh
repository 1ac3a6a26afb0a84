# Shared by setup.sh and run-tests.sh: find a Python >= 3.12 and keep .venv/ installed and current.
# Sourced, not executed.

RPCSPY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$RPCSPY_ROOT/.venv"

# Prints the first interpreter that really runs and is >= 3.12. A pyenv shim for a version that is
# not selected exits non-zero, so every candidate is run, not just looked up on PATH.
find_python() {
    local candidates=()
    [ -n "${RPCSPY_PYTHON:-}" ] && candidates+=("$RPCSPY_PYTHON")
    candidates+=(python3.13 python3.12 python3.14 python3 python)
    local dir
    for dir in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]* \
               /usr/local/bin /usr/bin /opt/homebrew/bin /opt/local/bin; do
        local v
        for v in "$dir"/bin/python3 "$dir"/python3.13 "$dir"/python3.12 "$dir"/python3.14; do
            [ -x "$v" ] && candidates+=("$v")
        done
    done
    local c
    for c in "${candidates[@]}"; do
        if "$c" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then
            command -v "$c" 2>/dev/null || echo "$c"
            return 0
        fi
    done
    return 1
}

# pip install into .venv/, errors only: -qq drops pip's warnings and the banner setuptools prints
# for every editable install ("Please be careful with folders in your working directory ...");
# a failing install still prints its error and returns non-zero.
pip_install() {
    "$VENV/bin/python" -m pip install -qq --disable-pip-version-check "$@" >&2
}

# Creates .venv/ with a suitable Python and installs rpcspy (editable) with its dev tools.
# Re-installs only when pyproject.toml changed since the last install.
ensure_venv() {
    local stamp="$VENV/.rpcspy-installed"
    local want
    want="$(cksum < "$RPCSPY_ROOT/pyproject.toml")"
    if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
        && "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
        return 0
    fi
    local py
    if ! py="$(find_python)"; then
        echo "error: rpcspy needs Python 3.12 or newer and none was found." >&2
        echo "       Install one (python3.12 on PATH), or point RPCSPY_PYTHON at its interpreter." >&2
        return 1
    fi
    echo "==> using $py ($("$py" -c 'import sys; print(sys.version.split()[0])'))" >&2
    if [ -d "$VENV" ] && ! "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
        echo "==> removing $VENV (wrong or broken Python)" >&2
        rm -rf "$VENV"
    fi
    [ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV" || return 1
    echo "==> installing rpcspy and its dependencies into .venv/" >&2
    pip_install --upgrade pip || return 1
    pip_install -e "$RPCSPY_ROOT[dev]" || return 1
    echo "$want" > "$stamp"
}

# Byte-compiles rpcspy's own modules, as pip does for an installed package (an editable install
# is not compiled): a start then reads bytecode instead of compiling every module (about 0.3 s
# of the TUI's first screen). Python still recompiles any module changed since.
compile_rpcspy() {
    "$VENV/bin/python" -m compileall -q -j 0 "$RPCSPY_ROOT/rpcspy" >/dev/null || true
}
