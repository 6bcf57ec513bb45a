#!/usr/bin/env bash
# Runs every test on a fresh machine, in phases, and prints how long each took:
#   setup      .venv (maturin, pytest, the dev group), the npm test tools (tests/node and the conformance
#              suite with its Node in tests/conformance, `npm ci`),
#              and the Debian packages some tests need (PostgreSQL, nginx, openssl, chromium) where missing
#   lint       cargo fmt --check, clippy -D warnings, mypy --strict on both packages and the examples
#   rust       cargo test (the pure-Rust logic)
#   python     the extension built into .venv (maturin develop), then the whole pytest suite once,
#              its files spread over parallel workers (pytest-xdist; the suite waits more than it
#              computes); stubtest is one of its tests. Then the official runwayml SDK's own API
#              tests, from its sdist, against the simulator (tests/scripts/sdk_suite.py)
#   packaging  tests/scripts/wheels.sh: the sdist, one release abi3 wheel built from it, and a smoke set on
#              CPython 3.10-3.13 against that wheel, without Rust
#
#   bash tests/run.sh                 every phase
#   bash tests/run.sh lint python     some phases (setup always runs first)
#   bash tests/run.sh -k cancel       pytest arguments: setup, lint, rust and a narrowed pytest
# Environment: PYTEST_WORKERS (default 4), RUNWAY_SKIP_WHEELS=1 (leave out packaging).
set -euo pipefail
cd "$(dirname "$0")/.."

PHASES=()
while [ $# -gt 0 ]; do
    case $1 in
        lint | rust | python | packaging) PHASES+=("$1"); shift ;;
        *) break ;;
    esac
done
if [ ${#PHASES[@]} = 0 ]; then
    PHASES=(lint rust python packaging)
    if [ "${RUNWAY_SKIP_WHEELS:-}" = 1 ] || [ $# -gt 0 ]; then
        PHASES=(lint rust python)
        echo "== packaging: SKIPPED (pytest arguments given, or RUNWAY_SKIP_WHEELS=1); CI runs it"
    fi
fi
wants() { [[ " ${PHASES[*]} " == *" $1 "* ]]; }

T0=$SECONDS
TIMES=()
phase_start() { echo "== $1"; PHASE=$1; PHASE_T=$SECONDS; }
phase_end() { TIMES+=("$(printf '%-10s %4d s' "$PHASE" $((SECONDS - PHASE_T)))"); }
summary() {
    echo "== phase times"
    for t in "${TIMES[@]}"; do echo "   $t"; done
    echo "   total      $((SECONDS - T0)) s"
}
trap 'rc=$?; [ $rc = 0 ] || { echo "== FAILED in phase ${PHASE:-setup}" >&2; summary >&2; }' EXIT

# Quiet unless it fails: then its whole output.
quietly() {
    local log
    log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

phase_start setup
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# pip >= 25.1 understands dependency groups.
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade "pip>=25.1"
.venv/bin/python -m pip install -q --disable-pip-version-check --group dev

# The MCP Inspector and mcpb (tests/packaging/test_client_configs.py) and playwright-core (tests/apps, the
# browser tests; no browser download: Debian's chromium), exactly as tests/node/package-lock.json pins
# them (`npm ci` never rewrites the lock file).
npm ci --prefix tests/node --no-audit --no-fund --silent
# The official MCP conformance suite, 0.1 and 0.2 (tests/conformance/test_conformance.py), and the Node >= 22 it
# needs (CI's is 20), exactly as tests/conformance/package-lock.json pins them; the suite runs on the pinned Node.
npm ci --prefix tests/conformance --no-audit --no-fund --silent

# Debian packages some tests need, installed where missing (as root, as CI runs; a normal user is
# told what to do): `need WHY PACKAGE COMMAND...` (present when any COMMAND is there).
need() {
    local why=$1 package=$2
    shift 2
    for c in "$@"; do
        if command -v "$c" >/dev/null 2>&1 || compgen -G "$c" >/dev/null; then return 0; fi
    done
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "   install $package (apt-get install $package) for $why"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
    else
        echo "$why needs $package: apt-get install $package" >&2
        exit 1
    fi
}
if wants python; then
    # The journal tests start a throwaway PostgreSQL server (tests/scripts/pg_server.sh), and fail without one.
    need "the journal tests" postgresql initdb '/usr/lib/postgresql/*/bin/initdb'
    # The proxy test (tests/server/test_http_security.py) runs docs/deploy.md's nginx site on loopback.
    need "the reverse-proxy test" nginx-light nginx /usr/sbin/nginx
    # The TLS journal test makes its certificates (tests/scripts/pg_server.sh tls).
    need "the PostgreSQL TLS test" openssl openssl
    # The browser tests (tests/apps) drive Debian's chromium headless through playwright-core.
    need "the browser tests" chromium /usr/bin/chromium
fi
phase_end

# The extension in .venv (debug build), with the runtime dependencies (mcp) that mypy reads.
built=
build() {
    [ -z "$built" ] || return 0
    echo "   maturin develop"
    VIRTUAL_ENV="$PWD/.venv" quietly .venv/bin/maturin develop
    built=1
}

if wants lint; then
    phase_start lint
    cargo fmt --check
    cargo clippy --quiet --all-targets -- -D warnings
    build
    .venv/bin/python -m mypy --strict python/runway_core python/runway_mcp_server examples/make_video.py
    phase_end
fi

if wants rust; then
    phase_start rust
    cargo test --quiet
    phase_end
fi

if wants python; then
    phase_start python
    build
    .venv/bin/python -m pytest -q -n "${PYTEST_WORKERS:-4}" --dist worksteal "$@"
    if [ $# = 0 ]; then
        # The official SDK's own API tests (from its sdist) against the simulator.
        .venv/bin/python tests/scripts/sdk_suite.py -n "${PYTEST_WORKERS:-4}"
    fi
    phase_end
fi

if wants packaging; then
    phase_start packaging
    bash tests/scripts/wheels.sh
    phase_end
fi

summary
