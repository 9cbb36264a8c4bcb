#!/usr/bin/env bash
# Ringside's test command (README, and CI's .ci/run): installs what the tests
# need on a fresh machine (PostgreSQL, libpq, Redis, nginx), then checks
# formatting and lints and runs every test against a real PostgreSQL, real
# Redis servers and a real nginx that the test harness starts itself.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null || missing+=(postgresql)
pkg-config --exists libpq 2>/dev/null || missing+=(libpq-dev pkg-config)
command -v redis-server >/dev/null || missing+=(redis-server)
# The proxy test runs the shipped nginx configuration (ops/nginx/).
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
# The web pages (/docs/) are checked in a real headless Chromium.
command -v chromium >/dev/null || missing+=(chromium)
# The alert rules and their unit tests (ops/prometheus/): Debian's promtool.
command -v promtool >/dev/null || missing+=(prometheus)
if ((${#missing[@]})); then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "missing system packages: ${missing[*]} (Debian/Ubuntu: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

promtool check rules ops/prometheus/alerts.yml
promtool test rules ops/prometheus/alerts_test.yml
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
