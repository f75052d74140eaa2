#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints, and the whole test suite.
# Installs what the tests need (Python venv for schema validation) idempotently under ignored
# folders, so it works on a fresh clone and is quick on the second run.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

log "python test environment (.venv)"
if [ ! -x .venv/bin/python ] || ! cmp -s tests/requirements.txt .venv/.requirements 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
  cp tests/requirements.txt .venv/.requirements
fi
export AIRLOCK_TEST_PYTHON="$PWD/.venv/bin/python"

log "node MCP test servers (tests/node/node_modules)"
# npm's own tests/node/node_modules/.package-lock.json is not a byte copy of the lock, so a copy
# of the committed lock taken after a successful `npm ci` tells whether the install is current.
if ! cmp -s tests/node/package-lock.json tests/node/node_modules/.airlock-package-lock.json 2>/dev/null; then
  npm ci --prefix tests/node --no-audit --no-fund
  cp tests/node/package-lock.json tests/node/node_modules/.airlock-package-lock.json
fi
export AIRLOCK_TEST_NODE_MODULES="$PWD/tests/node/node_modules"

if ! command -v cargo-nextest >/dev/null 2>&1; then
  log "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo nextest"
cargo nextest run --workspace --locked --no-fail-fast

log "doc tests"
cargo test --workspace --doc --locked

log "the shipped injection model is reproducible (retrain from ../shared/data, compare bytes)"
cargo run --release --locked -p airlock-train -- injection --check
