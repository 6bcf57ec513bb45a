#!/usr/bin/env bash
# Runs every test on a fresh machine: sets up .venv (maturin, pytest, the dev group), runs the lint
# gates (cargo fmt --check, clippy -D warnings, mypy --strict on both packages), builds the
# extension into it, then `cargo test` (pure Rust) and pytest (library, MCP, stubtest, exit stress),
# then tests/wheels.sh (the release wheel on CPython 3.10-3.13, without Rust, and the sdist).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# pip >= 25.1 understands dependency groups.
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade "pip>=25.1"
.venv/bin/python -m pip install -q --disable-pip-version-check --group dev

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
