#!/usr/bin/env bash
# Line coverage of the whole test suite (every crate's unit tests and the
# integration tests, which also run the real binary) with cargo-llvm-cov:
# per-crate and total figures, and the live core's (actors/, src/engagement/,
# src/live/, src/http/ws.rs). bench/ is left out (its tests and its files).
# Not part of CI: it rebuilds everything instrumented (target/llvm-cov-target)
# and takes a while on 2 cores.
#
#   ./scripts/coverage.sh            # text summary; JSON in target/llvm-cov/summary.json
#   ./scripts/coverage.sh --html     # and an HTML report in target/llvm-cov/html/
set -euo pipefail
cd "$(dirname "$0")/.."

# What the tests need, as scripts/test.sh installs it.
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null || missing+=(postgresql)
pkg-config --exists libpq 2>/dev/null || missing+=(libpq-dev pkg-config)
command -v redis-server >/dev/null || missing+=(redis-server)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v promtool >/dev/null || missing+=(prometheus)
# llvm-cov and llvm-profdata of the same LLVM as rustc (Debian's llvm-<major>).
llvm_major=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
if [ -z "${LLVM_COV:-}" ] && ! rustup component list --installed 2>/dev/null | grep -q llvm-tools; then
  [ -x "/usr/lib/llvm-$llvm_major/bin/llvm-cov" ] || missing+=("llvm-$llvm_major")
fi
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
if [ -z "${LLVM_COV:-}" ] && [ -x "/usr/lib/llvm-$llvm_major/bin/llvm-cov" ]; then
  export LLVM_COV="/usr/lib/llvm-$llvm_major/bin/llvm-cov"
  export LLVM_PROFDATA="/usr/lib/llvm-$llvm_major/bin/llvm-profdata"
fi
command -v cargo-llvm-cov >/dev/null || cargo install cargo-llvm-cov --locked

# Left out: bench/, dependencies and the standard library, and test code
# (tests/ directories, tests.rs and test_support.rs modules).
ignore='(^|/)(bench|\.cargo|\.rustup|rustc|tests)/|/(tests|test_support)\.rs$'
cargo llvm-cov clean --workspace
status=0
cargo llvm-cov --no-report --workspace --exclude ringside-bench --locked -- --no-fail-fast || status=$?

mkdir -p target/llvm-cov
cargo llvm-cov report --json --summary-only --ignore-filename-regex "$ignore" \
  --output-path target/llvm-cov/summary.json
if [ "${1:-}" = "--html" ]; then
  cargo llvm-cov report --html --ignore-filename-regex "$ignore" --output-dir target/llvm-cov
fi

python3 - "$PWD" target/llvm-cov/summary.json <<'PY'
import json, sys
root, path = sys.argv[1].rstrip("/") + "/", sys.argv[2]
files = json.load(open(path))["data"][0]["files"]
groups = {
    "crate ringside-actors (actors/)": lambda f: f.startswith("actors/"),
    "crate ringside-push-fakes (push-fakes/)": lambda f: f.startswith("push-fakes/"),
    "crate ringside (src/)": lambda f: f.startswith("src/"),
    "total": lambda f: True,
    "  live: actors/": lambda f: f.startswith("actors/"),
    "  live: src/engagement/": lambda f: f.startswith("src/engagement/"),
    "  live: src/live/": lambda f: f.startswith("src/live/"),
    "  live: src/http/ws.rs": lambda f: f == "src/http/ws.rs",
    "  live core together": lambda f: f.startswith(("actors/", "src/engagement/", "src/live/"))
    or f == "src/http/ws.rs",
}
print(f"{'lines':<42}{'covered':>9}{'total':>9}{'%':>8}")
for name, keep in groups.items():
    covered = total = 0
    for f in files:
        rel = f["filename"].removeprefix(root)
        if keep(rel):
            covered += f["summary"]["lines"]["covered"]
            total += f["summary"]["lines"]["count"]
    pct = 100 * covered / total if total else 0
    print(f"{name:<42}{covered:>9}{total:>9}{pct:>7.1f}%")
print("(not counted: bench/, tests/, tests.rs and test_support.rs; inline #[cfg(test)] modules are)")
PY
if [ "$status" -ne 0 ]; then
  echo "some tests failed (exit $status): the figures cover the tests that ran" >&2
fi
exit "$status"
