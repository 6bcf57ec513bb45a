#!/usr/bin/env bash
# The shipped artefacts, tested as a user gets them (called at the end of tests/run.sh):
#  1. ONE release abi3 wheel, built once with maturin (the profile that ships: [profile.release]);
#     its extension links nothing outside the manylinux policy (ldd).
#  2. For CPython 3.10, 3.11, 3.12 and 3.13 (pyenv): a fresh venv with that wheel and the test
#     dependencies, and the whole pytest suite run from a copy of tests/ against the INSTALLED
#     wheel (conftest refuses to run if runway_core comes from anywhere but that venv).
#     A version pyenv lacks is an error, not a skip.
#  3. The wheel on a machine without Rust: PATH holding only the venv (no cargo, rustc or C
#     compiler), HOME without ~/.cargo;
#     `runway-mcp-server --version` and one simulated generation through the console script.
#  4. The sdist: `maturin sdist`, then `pip install` of it in a fresh venv (compiles the crate from
#     the sdist's sources, reusing the dependencies compiled in this run's target dir), then the
#     same smoke check.
# Prints each step's time. Environment: WHEELS_PYTHONS="3.10 3.11 3.12 3.13" (the versions),
# CARGO_TARGET_DIR (default: target/ of the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
HOST_PY=.venv/bin/python        # made by tests/run.sh: has maturin
VERSIONS=${WHEELS_PYTHONS:-"3.10 3.11 3.12 3.13"}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/runway-wheels.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PIP_FLAGS=(-q --disable-pip-version-check)

T0=$SECONDS
step() { echo "== wheels: $*"; STEP_T=$SECONDS; }
took() { echo "   ($((SECONDS - STEP_T)) s)"; }
fail() { echo "wheels.sh: FAIL: $*" >&2; exit 1; }

# The test dependencies: the dev group without the build tool (a wheel user has no maturin).
"$HOST_PY" - > "$WORK/test-requirements.txt" <<'EOF'
import tomllib
with open("pyproject.toml", "rb") as f:
    dev = tomllib.load(f)["dependency-groups"]["dev"]
print("\n".join(d for d in dev if not d.startswith("maturin")))
EOF

find_python() {  # newest pyenv CPython X.Y.N; fails loudly when there is none
    local root pythons
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    pythons=$(ls -d "$root"/versions/"$1".[0-9]*/bin/python 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$pythons" ] && [ -x "$pythons" ] || fail "CPython $1 not found under $root/versions (install it: pyenv install $1)"
    echo "$pythons"
}

smoke() {  # $1 = venv: the console script with nothing on PATH but the venv, and no ~/.cargo
    local venv=$1 home out
    home=$(mktemp -d "$WORK/home.XXXXXX")
    local clean=(env -i "PATH=$venv/bin" "HOME=$home" "LANG=C.UTF-8")
    if "${clean[@]}" /bin/sh -c 'command -v cargo || command -v rustc || command -v cc || test -d "$HOME/.cargo"' >/dev/null; then
        fail "the no-Rust environment still sees a Rust toolchain"
    fi
    out=$("${clean[@]}" runway-mcp-server --version)
    [[ $out == "runway-mcp-server "* ]] || fail "--version printed: $out"
    out=$(cd "$home" && "${clean[@]}" RUNWAY_MCP_SIM_TASK_SECONDS=1 \
        runway-mcp-server call generate_image_gen4 '{"prompt_text":"a cat"}' --simulate 2>"$home/stderr") \
        || { cat "$home/stderr" >&2; fail "simulated call failed in $venv"; }
    grep -q '"status": "SUCCEEDED"' <<<"$out" || fail "simulated call did not succeed: $out"
    ls "$home"/runway-mcp-outputs/*.png >/dev/null || fail "simulated call saved no PNG under \$HOME/runway-mcp-outputs"
    echo "   only the venv on PATH, no ~/.cargo: $("${clean[@]}" runway-mcp-server --version); one simulated call SUCCEEDED, output saved"
}

step "build one release abi3 wheel"
rm -rf "$WORK/dist"
VIRTUAL_ENV="$REPO/.venv" .venv/bin/maturin build --quiet --release --out "$WORK/dist" 2>&1 | sed 's/^/   /'

WHEEL=$(ls "$WORK"/dist/*.whl)
[ "$(ls "$WORK"/dist/*.whl | wc -l)" = 1 ] || fail "expected one wheel"
echo "   $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KB)"
[[ $(basename "$WHEEL") == *-cp310-abi3-manylinux_*.whl ]] || fail "not a cp310-abi3 manylinux wheel: $WHEEL"
took

step "the extension links only what manylinux allows"
mkdir "$WORK/unpacked"
"$HOST_PY" -m zipfile -e "$WHEEL" "$WORK/unpacked"
SO=$(ls "$WORK"/unpacked/runway_core/_core*.so)
ldd "$SO" | sed 's/^/   /'
# glibc's own libraries, libgcc_s and the kernel's vDSO: the manylinux policy's whitelist subset we use.
bad=$(ldd "$SO" | awk '{print $1}' | grep -v -E '^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|ld-linux.*|lib(c|m|dl|rt|pthread|gcc_s)\.so\.[0-9]+)$' || true)
[ -z "$bad" ] || fail "the extension links libraries outside the manylinux policy: $bad"
took

for v in $VERSIONS; do
    step "CPython $v: fresh venv, the wheel, the whole pytest suite against it"
    py=$(find_python "$v")
    venv="$WORK/venv-$v"
    "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install "${PIP_FLAGS[@]}" "$WHEEL" -r "$WORK/test-requirements.txt"
    # A copy of the tests (and the media files they read) outside the source tree: python/ is
    # never importable, so every import is the installed wheel's (conftest asserts it).
    tree="$WORK/tree-$v"
    mkdir -p "$tree/src/simulator"
    # (The npm test tools are linked, not copied: 160 MB.)
    tar -cf - --exclude=tests/node/node_modules tests examples docs mcpb README.md server.json | tar -C "$tree" -xf -
    ln -s "$PWD/tests/node/node_modules" "$tree/tests/node/node_modules"
    cp -r src/simulator/media "$tree/src/simulator/media"
    cp pyproject.toml "$tree/"
    (cd "$tree" && RUNWAY_TEST_INSTALLED_IN="$venv" "$venv/bin/python" -m pytest -q -p no:cacheprovider) \
        || fail "pytest failed on CPython $v against the installed wheel"
    smoke "$venv"
    took
done

step "sdist: build, then install from scratch in a fresh venv (compiles)"
VIRTUAL_ENV="$REPO/.venv" .venv/bin/maturin sdist --out "$WORK/sdist" 2>&1 | grep 'source distribution' | sed 's/^ */   /'
SDIST=$(ls "$WORK"/sdist/*.tar.gz)
"$(find_python 3.11)" -m venv "$WORK/venv-sdist"
"$WORK/venv-sdist/bin/python" -m pip install "${PIP_FLAGS[@]}" --upgrade "pip>=25.1"
# Same CARGO_TARGET_DIR as the wheel above, so the crates.io dependencies compiled there are reused.
# This crate's own release artefacts are dropped first: cargo would otherwise take the unpacked
# sources (older than those artefacts) as unchanged and compile nothing from the sdist.
cargo clean --quiet --release -p runway-core
sdist_t=$SECONDS
"$WORK/venv-sdist/bin/python" -m pip install --disable-pip-version-check -v --no-cache-dir "$SDIST" >"$WORK/sdist-build.log" 2>&1 \
    || { tail -n 40 "$WORK/sdist-build.log" >&2; fail "pip install of the sdist failed"; }
echo "   pip install of the sdist: $((SECONDS - sdist_t)) s"
compiled=$(grep -E -o 'Compiling runway-core v[^ ]+ \([^)]*\)' "$WORK/sdist-build.log" || true)
[ -n "$compiled" ] && [[ $compiled != *"($REPO)"* ]] || fail "the sdist's crate was not compiled from the sdist: ${compiled:-no Compiling line}"
echo "   $compiled"
# Those artefacts are the sdist's now; the next wheel build compiles the crate from the repository.
cargo clean --quiet --release -p runway-core
(cd "$WORK" && "$WORK/venv-sdist/bin/python" -c '
import runway_core, runway_mcp_server, sys
assert runway_core.__file__.startswith(sys.prefix), runway_core.__file__
print("   import from", runway_core.__file__.rsplit("/", 2)[0], runway_core.__version__)')
smoke "$WORK/venv-sdist"
took

echo "== wheels: all passed in $((SECONDS - T0)) s"
