#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need
# (Python grpcio in a virtual environment under target/peers), then checks
# formatting, lints and docs, and runs every test of the workspace.
#
#   ./scripts/test.sh           everything
#   ./scripts/test.sh --quick   tests only (skip fmt, clippy and docs)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1

step() { printf '\n==> %s\n' "$*"; }

# Python peers for the cross-implementation tests.
peers=target/peers
venv="$peers/venv"
step "Python peers (grpcio) in $venv"
mkdir -p "$peers"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r examples/python/requirements.txt \
    -r interop/python/requirements.txt
"$venv/bin/python" -c 'import grpc, grpc_tools; print("grpcio", grpc.__version__)'
export GRPC_TEST_PYTHON="$PWD/$venv/bin/python"

# Node peers for the interop matrix (grpc-js), into interop/node/node_modules.
step "Node peers (@grpc/grpc-js) in interop/node/node_modules"
(cd interop/node && npm install --no-audit --no-fund --no-package-lock --loglevel=error)
node -e 'console.log("grpc-js", require("./interop/node/node_modules/@grpc/grpc-js/package.json").version)'

if [ "$quick" = 0 ]; then
    step "cargo fmt --check"
    cargo fmt --all -- --check
    step "cargo clippy (warnings are errors)"
    cargo clippy --workspace --all-targets -- -D warnings
    step "cargo doc (warnings are errors)"
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
fi

step "cargo test --workspace"
cargo test --workspace

# The workspace build turns on only the grpc-layers features its members use;
# this runs every layer and compression algorithm (zstd too).
step "cargo test -p grpc-layers --all-features"
cargo test -p grpc-layers --all-features

step "benchmark programs: smoke run (benches/smoke.sh, not a timing)"
benches/smoke.sh

# Last, so its closing "N passed, N failed" line ends the output.
step "interop matrix (interop/run_matrix.py)"
"$venv/bin/python" interop/run_matrix.py
