#!/usr/bin/env bash
# Install the real XML-RPC implementations used by the interop sweep
# (tests/interop/peers, fixtures in tests/data/peers), tcpdump for the live pcap
# import test, and the ONC RPC peers (rpcbind, rpcgen, libtirpc) of tests/oncrpc.
#
# Usage: scripts/install-peers.sh [PYTHON]
#   PYTHON  the venv python that gets PyPI `supervisor` (default: .venv/bin/python)
#
# Idempotent. One line per peer: "ok" or "FAILED: why". One failed peer never
# aborts the run. Exit 0 whenever the fixture tests can run (they need only the
# committed files and Python), so the exit is non-zero only on misuse; a loud
# "INTEROP PEERS MISSING: ..." line lists what did not install.
set -u

HERE="$(cd "$(dirname "$0")/.." && pwd)"
PY="${1:-$HERE/.venv/bin/python}"
PEERDIR="$HERE/tests/interop/peers"
MISSING=()
LOG="$(mktemp -t install-peers.XXXXXX.log)"

say() { printf '%-28s %s\n' "$1" "$2"; }
fail() { say "$1" "FAILED: $2"; MISSING+=("$1"); }

SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

APT_UPDATED=0
apt_install() {  # apt_install PKG... ; returns apt's status
    local need=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
    done
    [ ${#need[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || return 1
    if [ $APT_UPDATED = 0 ]; then
        $SUDO apt-get update -q >>"$LOG" 2>&1
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >>"$LOG" 2>&1
}
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }

# --- Perl: XMLRPC::Lite (SOAP::Lite) ---------------------------------------
if apt_install libxmlrpc-lite-perl && perl -MXMLRPC::Lite -e1 2>>"$LOG"; then
    say "perl-xmlrpc-lite" "ok (libxmlrpc-lite-perl $(ver libxmlrpc-lite-perl))"
else
    fail "perl-xmlrpc-lite" "apt libxmlrpc-lite-perl or 'use XMLRPC::Lite' failed (see $LOG)"
fi

# --- Perl: Frontier::RPC2 / Frontier::Daemon --------------------------------
if apt_install libfrontier-rpc-perl && perl -MFrontier::Client -MFrontier::Daemon -e1 2>>"$LOG"; then
    say "perl-frontier" "ok (libfrontier-rpc-perl $(ver libfrontier-rpc-perl))"
else
    fail "perl-frontier" "apt libfrontier-rpc-perl or 'use Frontier::Client' failed (see $LOG)"
fi

# --- Ruby xmlrpc -------------------------------------------------------------
if apt_install ruby ruby-xmlrpc && ruby -e 'require "xmlrpc/client"; require "xmlrpc/server"' 2>>"$LOG"; then
    say "ruby-xmlrpc" "ok (ruby-xmlrpc $(ver ruby-xmlrpc), ruby $(ruby -e 'print RUBY_VERSION'))"
else
    fail "ruby-xmlrpc" "apt ruby ruby-xmlrpc or require xmlrpc failed (see $LOG)"
fi

# --- PHP xmlrpc extension (xmlrpc-epi, PECL build packaged by Debian) --------
PHPV=""
if apt-cache show php8.2-xmlrpc >/dev/null 2>&1; then PHPV=8.2; fi
if [ -z "$PHPV" ] && apt-cache show php-xmlrpc >/dev/null 2>&1; then PHPV=any; fi
if [ -n "$PHPV" ]; then
    if [ "$PHPV" = 8.2 ]; then pkgs=(php8.2-cli php8.2-xmlrpc); else pkgs=(php-cli php-xmlrpc); fi
    if apt_install "${pkgs[@]}" && php -r 'exit(function_exists("xmlrpc_encode_request") ? 0 : 1);' 2>>"$LOG"; then
        say "php-xmlrpc" "ok (${pkgs[1]} $(ver "${pkgs[1]}"), php $(php -r 'echo PHP_VERSION;'))"
    else
        fail "php-xmlrpc" "apt ${pkgs[*]} or xmlrpc_encode_request missing (see $LOG)"
    fi
else
    fail "php-xmlrpc" "no php*-xmlrpc package in apt; PECL route skipped"
fi

# --- xmlrpc-c (C) -------------------------------------------------------------
# Debian's xmlrpc-api-utils no longer ships the `xmlrpc` CLI client (only
# xml-rpc-api2cpp/api2txt), and no xmlrpc-c server tool is packaged, so the C
# peer is a small client and Abyss server (tests/interop/peers/c/*.c) that
# sweep.py compiles against libxmlrpc-core-c3-dev.
if apt_install xmlrpc-api-utils libxmlrpc-core-c3-dev gcc libc6-dev \
    && command -v xmlrpc-c-config >/dev/null 2>&1 && command -v cc >/dev/null 2>&1; then
    say "xmlrpc-c" "ok (libxmlrpc-core-c3-dev $(ver libxmlrpc-core-c3-dev), xmlrpc-api-utils $(ver xmlrpc-api-utils); no 'xmlrpc' CLI in Debian)"
else
    fail "xmlrpc-c" "apt libxmlrpc-core-c3-dev/gcc failed (see $LOG)"
fi

# --- Node: npm `xmlrpc` (project-local, versions pinned by package-lock) -----
if command -v npm >/dev/null 2>&1 || apt_install nodejs npm; then
    if (cd "$PEERDIR" && { [ -d node_modules/xmlrpc ] || npm ci --no-audit --no-fund >>"$LOG" 2>&1 || npm install --no-audit --no-fund >>"$LOG" 2>&1; }) \
        && (cd "$PEERDIR" && node -e 'require("xmlrpc")' 2>>"$LOG"); then
        say "node-xmlrpc" "ok (npm xmlrpc $(cd "$PEERDIR" && node -p 'require("xmlrpc/package.json").version'), node $(node --version))"
    else
        fail "node-xmlrpc" "npm install in tests/interop/peers failed (see $LOG)"
    fi
else
    fail "node-xmlrpc" "no node/npm"
fi

# --- Java aXMLRPC (Debian package; client-only library; javac compiles the peer)
JDK=()
command -v javac >/dev/null 2>&1 || JDK=(default-jdk-headless)
if apt_install libaxmlrpc-java "${JDK[@]}" && [ -f /usr/share/java/axmlrpc.jar ] && command -v javac >/dev/null 2>&1; then
    say "java-axmlrpc" "ok (libaxmlrpc-java $(ver libaxmlrpc-java), $(javac -version 2>&1))"
else
    fail "java-axmlrpc" "apt libaxmlrpc-java or a JDK missing (see $LOG)"
fi

# --- tcpdump: the live pcap import test (tests/ingest/test_tcpdump_live.py) ---
if apt_install tcpdump && command -v tcpdump >/dev/null 2>&1; then
    say "tcpdump" "ok (tcpdump $(ver tcpdump))"
else
    fail "tcpdump" "apt tcpdump failed (see $LOG)"
fi

# --- ONC RPC: rpcbind + rpcinfo, and rpcgen + libtirpc for the example C peers -
# (tests/oncrpc/test_live.py; fixtures in tests/data/oncrpc). The C peers are
# built from examples/rpc_example.x by `make -C examples` when the tests run.
if apt_install rpcbind && [ -x /usr/sbin/rpcbind ] && [ -x /usr/sbin/rpcinfo ]; then
    say "rpcbind" "ok (rpcbind $(ver rpcbind))"
else
    fail "rpcbind" "apt rpcbind failed (see $LOG)"
fi
if apt_install rpcsvc-proto libtirpc-dev gcc libc6-dev make pkg-config \
    && command -v rpcgen >/dev/null 2>&1 && [ -f /usr/include/tirpc/rpc/rpc.h ] \
    && make -s -C "$HERE/examples" OUT="$(mktemp -d -t rpc_example.XXXXXX)" >>"$LOG" 2>&1; then
    say "rpcgen-libtirpc" "ok (rpcsvc-proto $(ver rpcsvc-proto), libtirpc-dev $(ver libtirpc-dev); examples/ builds)"
else
    fail "rpcgen-libtirpc" "apt rpcsvc-proto/libtirpc-dev or make -C examples failed (see $LOG)"
fi

# --- Python: supervisor (PyPI) into the given venv ----------------------------
if [ -x "$PY" ] && "$PY" -m pip install -q supervisor >>"$LOG" 2>&1 \
    && "$PY" -c 'import supervisor' 2>>"$LOG"; then
    say "supervisor" "ok (PyPI supervisor $("$PY" -c 'import importlib.metadata as m; print(m.version("supervisor"))'))"
else
    fail "supervisor" "pip install supervisor into $PY failed (see $LOG)"
fi

if [ ${#MISSING[@]} -gt 0 ]; then
    echo "INTEROP PEERS MISSING: ${MISSING[*]}"
fi
# The fixture tests need only Python and the committed files.
if "$PY" -c 'import xmlrpc.client' 2>/dev/null || python3 -c 'import xmlrpc.client' 2>/dev/null; then
    exit 0
fi
echo "no Python to run the fixture tests with ($PY)"
exit 1
