#!/usr/bin/env bash
# Ringside's test command (README, and CI's .ci/run): installs what the tests
# need on a fresh machine (PostgreSQL, libpq, Redis, nginx, Chromium,
# promtool, Node.js: scripts/packages.sh; the client's npm packages from its
# lockfile), then checks the alert rules, formatting and lints and runs every
# test against a real PostgreSQL, real Redis servers, a real nginx and a real
# headless Chromium that the tests start themselves, the client's Node suite
# included.
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
