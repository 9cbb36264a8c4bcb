#!/usr/bin/env bash
# Ringside's test command (README, and CI's .ci/run): installs what the tests
# need on a fresh machine (PostgreSQL, libpq, Redis, nginx, Chromium,
# promtool, Node.js: scripts/packages.sh; the client's npm packages from its
# lockfile), then checks the alert rules, formatting and lints and runs every
# test against a real PostgreSQL, real Redis servers, a real nginx and a real
# headless Chromium that the tests start themselves, the client's Node suite
# included; then the bench's chaos scenarios, small.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/packages.sh
missing=()
need_test_packages
install_missing

# The TypeScript client's compiler, exactly as locked (its tests run in cargo test).
(cd clients/js && npm ci --no-audit --no-fund --loglevel=error)

promtool check rules ops/prometheus/alerts.yml
promtool test rules ops/prometheus/alerts_test.yml
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# The chaos scenarios, small, on the debug build: a cluster of three nodes on
# one PostgreSQL and one Redis, a node killed, a reconnect storm, a rolling
# restart, PostgreSQL frozen; PASS or FAIL each (bench/README.md).
cargo build --locked -p ringside -p ringside-bench
target/debug/ringside-bench chaos --server-bin target/debug/ringside \
  --nodes 3 --subscribers 600 --storm 900 --updates 30 --database-down-secs 10
