#!/usr/bin/env bash
# The shipped artefacts, tested as a user gets them (the packaging phase of tests/run.sh):
#  1. The sdist (`maturin sdist`), unpacked, and ONE release abi3 wheel built from those sources
#     (the profile that ships: [profile.release]). So the sdist is proven to build, and to hold
#     every Python file, without a second compile of the crate; the crates.io dependencies
#     compiled in target/ are reused. The extension links nothing outside the manylinux policy.
#  2. For CPython 3.10, 3.11, 3.12 and 3.13 (pyenv), in parallel: a fresh venv with that wheel and
#     the test dependencies, and the smoke set (`pytest -m smoke`: the stubs against the binary,
#     every generation tool over stdio, streamable HTTP, the version) run from a copy of tests/
#     against the INSTALLED wheel (conftest refuses to run if runway_core comes from anywhere but
#     that venv). A version pyenv lacks is an error, not a skip. The whole suite runs once, in
#     the python phase.
#  3. The wheel on a machine without Rust, in each of those venvs: PATH holding only the venv (no
#     cargo, rustc or C compiler), HOME without ~/.cargo; `runway-mcp-server --version` and one
#     simulated generation through the console script.
# Prints each step's time. Environment: WHEELS_PYTHONS="3.10 3.11 3.12 3.13" (the versions),
# CARGO_TARGET_DIR (default: target/ of the repository).
set -euo pipefail
cd "$(dirname "$0")/../.."
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

step "sdist, and one release abi3 wheel built from it"
VIRTUAL_ENV="$REPO/.venv" .venv/bin/maturin sdist --out "$WORK/sdist" 2>&1 | grep 'source distribution' | sed 's/^ */   /'
SDIST=$(ls "$WORK"/sdist/*.tar.gz)
mkdir "$WORK/sdist-src"
tar -C "$WORK/sdist-src" -xzf "$SDIST"
SRC=$(ls -d "$WORK"/sdist-src/*/)
# This crate's own release artefacts are dropped first: cargo would otherwise take the unpacked
# sources (older than those artefacts) as unchanged and compile nothing from the sdist.
cargo clean --quiet --release -p runway-core
(cd "$SRC" && VIRTUAL_ENV="$REPO/.venv" "$REPO/.venv/bin/maturin" build --release --out "$WORK/dist") >"$WORK/build.log" 2>&1 \
    || { tail -n 40 "$WORK/build.log" >&2; fail "the release wheel did not build from the sdist"; }
compiled=$(grep -E -o 'Compiling runway-core v[^ ]+ \([^)]*\)' "$WORK/build.log" || true)
[[ $compiled == *"($WORK/sdist-src/"* ]] || fail "the crate was not compiled from the sdist: ${compiled:-no Compiling line}"
echo "   $compiled"
# Those artefacts are the sdist's; the next build compiles the crate from the repository.
cargo clean --quiet --release -p runway-core

WHEEL=$(ls "$WORK"/dist/*.whl)
[ "$(ls "$WORK"/dist/*.whl | wc -l)" = 1 ] || fail "expected one wheel"
echo "   $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KB)"
[[ $(basename "$WHEEL") == *-cp310-abi3-manylinux_*.whl ]] || fail "not a cp310-abi3 manylinux wheel: $WHEEL"
mkdir "$WORK/unpacked"
"$HOST_PY" -m zipfile -e "$WHEEL" "$WORK/unpacked"
# Every Python source the repository tracks is in the wheel, so the sdist dropped none.
for f in $(git ls-files 'python/*.py' 'python/*.pyi' 'python/*/py.typed'); do
    [ -f "$WORK/unpacked/${f#python/}" ] || fail "the wheel built from the sdist lacks ${f#python/}"
done
took

step "the extension links only what manylinux allows"
SO=$(ls "$WORK"/unpacked/runway_core/_core*.so)
ldd "$SO" | sed 's/^/   /'
# glibc's own libraries, libgcc_s and the kernel's vDSO: the manylinux policy's whitelist subset we use.
bad=$(ldd "$SO" | awk '{print $1}' | grep -v -E '^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|ld-linux.*|lib(c|m|dl|rt|pthread|gcc_s)\.so\.[0-9]+)$' || true)
[ -z "$bad" ] || fail "the extension links libraries outside the manylinux policy: $bad"
took

one_python() {  # $1 = X.Y: venv, the wheel, the smoke set against it, the no-Rust check
    local v=$1 py venv tree
    py=$(find_python "$v")
    venv="$WORK/venv-$v"
    "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install "${PIP_FLAGS[@]}" "$WHEEL" -r "$WORK/test-requirements.txt"
    # A copy of the tests (and the media files they read) outside the source tree: python/ is
    # never importable, so every import is the installed wheel's (conftest asserts it).
    tree="$WORK/tree-$v"
    mkdir -p "$tree/src/simulator"
    # (The npm test tools are linked, not copied: 160 MB.)
    tar -cf - --exclude=tests/node/node_modules --exclude=tests/conformance/node_modules tests examples docs mcpb README.md server.json | tar -C "$tree" -xf -
    ln -s "$REPO/tests/node/node_modules" "$tree/tests/node/node_modules"
    cp -r src/simulator/media "$tree/src/simulator/media"
    cp pyproject.toml "$tree/"
    (cd "$tree" && RUNWAY_TEST_INSTALLED_IN="$venv" "$venv/bin/python" -m pytest -q -p no:cacheprovider -m smoke) \
        || fail "the smoke set failed on CPython $v against the installed wheel"
    smoke "$venv"
}

step "CPython $VERSIONS, in parallel: fresh venv, the wheel, the smoke set against it, no Rust"
pids=()
for v in $VERSIONS; do
    find_python "$v" >/dev/null
    one_python "$v" >"$WORK/py-$v.log" 2>&1 &
    pids+=($!)
done
failed=
i=0
for v in $VERSIONS; do
    if ! wait "${pids[$i]}"; then failed="$failed $v"; fi
    echo "   -- CPython $v:"
    sed 's/^/   /' "$WORK/py-$v.log"
    i=$((i + 1))
done
[ -z "$failed" ] || fail "CPython$failed"
took

echo "== wheels: all passed in $((SECONDS - T0)) s"
