#!/usr/bin/env bash
# Runs every test on a fresh machine: sets up .venv (maturin, pytest, the dev group) and the npm
# test tools (tests/node), runs the lint gates (cargo fmt --check, clippy -D warnings, mypy
# --strict on both packages), builds the extension into it, then `cargo test` (pure Rust) and
# pytest (library, MCP, stubtest, exit stress), then tests/wheels.sh (the release wheel on CPython
# 3.10-3.13, without Rust, and the sdist). The journal suites run on SQLite and on PostgreSQL:
# installed here when missing (Debian's package), and so is nginx for the reverse-proxy test.
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

# The journal tests start a throwaway PostgreSQL server (tests/pg_server.sh) and fail without one:
# install Debian's package where there is none (as root, as CI runs; a normal user is told what to do).
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== install PostgreSQL (apt-get install postgresql) for the journal tests"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
        echo "the journal tests need PostgreSQL's server binaries (initdb): apt-get install postgresql" >&2
        exit 1
    fi
fi

# The proxy test (tests/test_http_security.py) runs docs/deploy.md's nginx site on loopback.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== install nginx (apt-get install nginx-light) for the reverse-proxy test"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
    else
        echo "the reverse-proxy test needs nginx: apt-get install nginx-light" >&2
        exit 1
    fi
fi

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
