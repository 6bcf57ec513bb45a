#!/usr/bin/env bash
# Runs every test on a fresh machine: sets up .venv (maturin, pytest, the dev group), builds the
# extension into it, then `cargo test` (pure Rust) and pytest (library, stubs, exit stress).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# pip >= 25.1 understands dependency groups.
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade "pip>=25.1"
.venv/bin/python -m pip install -q --disable-pip-version-check --group dev

echo "== cargo test"
cargo test --quiet

echo "== build the extension (maturin develop)"
VIRTUAL_ENV="$PWD/.venv" .venv/bin/maturin develop --quiet

echo "== pytest"
.venv/bin/python -m pytest -q "$@"
