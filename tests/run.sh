#!/usr/bin/env bash
# Runs every test on a fresh machine: sets up .venv (maturin, pytest, the dev group) and the npm
# test tools (tests/node), runs the lint gates (cargo fmt --check, clippy -D warnings, mypy
# --strict on both packages), builds the extension into it, then `cargo test` (pure Rust) and
# pytest (library, MCP, stubtest, exit stress), then tests/wheels.sh (the release wheel on CPython
# 3.10-3.13, without Rust, and the sdist). The journal suites run on SQLite and on PostgreSQL:
# installed here when missing (Debian's package), and so are nginx (reverse-proxy test) and openssl.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# pip >= 25.1 understands dependency groups.
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade "pip>=25.1"
.venv/bin/python -m pip install -q --disable-pip-version-check --group dev

# The MCP Inspector and mcpb (tests/test_clients.py), pinned by tests/node/package-lock.json.
echo "== npm tools for the client tests"
npm install --prefix tests/node --no-audit --no-fund --silent

# Debian packages some tests need, installed where missing (as root, as CI runs; a normal user is
# told what to do): `need WHY PACKAGE COMMAND...` (present when any COMMAND is there).
need() {
    local why=$1 package=$2
    shift 2
    for c in "$@"; do
        if command -v "$c" >/dev/null 2>&1 || compgen -G "$c" >/dev/null; then return 0; fi
    done
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== install $package (apt-get install $package) for $why"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
    else
        echo "$why needs $package: apt-get install $package" >&2
        exit 1
    fi
}
# The journal tests start a throwaway PostgreSQL server (tests/pg_server.sh), and fail without one.
need "the journal tests" postgresql initdb '/usr/lib/postgresql/*/bin/initdb'
# The proxy test (tests/test_http_security.py) runs docs/deploy.md's nginx site on loopback.
need "the reverse-proxy test" nginx-light nginx /usr/sbin/nginx
# The TLS journal test makes its certificates (tests/pg_server.sh tls).
need "the PostgreSQL TLS test" openssl openssl

echo "== lint gates: rustfmt, clippy"
cargo fmt --check
cargo clippy --quiet --all-targets -- -D warnings

echo "== cargo test"
cargo test --quiet

echo "== build the extension (maturin develop)"
VIRTUAL_ENV="$PWD/.venv" .venv/bin/maturin develop --quiet

# After the build: it installs the runtime dependencies (mcp) that the type check reads.
echo "== lint gate: mypy --strict on both packages and the examples"
.venv/bin/python -m mypy --strict python/runway_core python/runway_mcp_server examples/make_video.py

echo "== pytest"
.venv/bin/python -m pytest -q "$@"

# The shipped artefacts: one release abi3 wheel under CPython 3.10-3.13 (the whole suite against
# the installed wheel), the wheel without Rust, and the sdist built from scratch.
# A run narrowed by pytest arguments (`bash tests/run.sh -k cancel`) leaves them out, and says so.
if [ "${RUNWAY_SKIP_WHEELS:-}" = 1 ] || [ $# -gt 0 ]; then
    echo "== wheels: SKIPPED (pytest arguments given, or RUNWAY_SKIP_WHEELS=1); CI runs them"
else
    bash tests/wheels.sh
fi
