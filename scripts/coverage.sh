#!/usr/bin/env bash
# Line coverage of the whole test suite (every crate's unit tests and the
# integration tests, which also run the real binary) with cargo-llvm-cov:
# per-crate and total figures, the live core's (actors/) and the live
# features' (the feature modules of engagement and live coverage, src/live/
# and the WebSocket edge). bench/ is left out (its tests and its files).
# Not part of CI: it rebuilds everything instrumented (target/llvm-cov-target)
# and takes a while on 2 cores.
#
#   ./scripts/coverage.sh            # text summary; line data in target/llvm-cov/lcov.info
#   ./scripts/coverage.sh --html     # and an HTML report in target/llvm-cov/html/
#   ./scripts/coverage.sh --report   # the figures of the last run again, no tests
set -euo pipefail
cd "$(dirname "$0")/.."

# What the tests need, as scripts/test.sh installs it.
source scripts/packages.sh
missing=()
need_test_packages
# llvm-cov and llvm-profdata of the same LLVM as rustc (Debian's llvm-<major>).
llvm_major=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
if [ -z "${LLVM_COV:-}" ] && ! rustup component list --installed 2>/dev/null | grep -q llvm-tools; then
  [ -x "/usr/lib/llvm-$llvm_major/bin/llvm-cov" ] || missing+=("llvm-$llvm_major")
fi
install_missing
(cd clients/js && npm ci --no-audit --no-fund --loglevel=error)
if [ -z "${LLVM_COV:-}" ] && [ -x "/usr/lib/llvm-$llvm_major/bin/llvm-cov" ]; then
  export LLVM_COV="/usr/lib/llvm-$llvm_major/bin/llvm-cov"
  export LLVM_PROFDATA="/usr/lib/llvm-$llvm_major/bin/llvm-profdata"
fi
command -v cargo-llvm-cov >/dev/null || cargo install cargo-llvm-cov --locked

# Left out: bench/, dependencies and the standard library, and test code
# (tests/ directories, tests.rs and test_support.rs modules; inline
# `#[cfg(test)] mod … { }` blocks are taken out below, from the line data).
ignore='(^|/)(bench|\.cargo|\.rustup|rustc|tests)/|/(tests|test_support)\.rs$'
status=0
if [ "${1:-}" != "--report" ]; then
  cargo llvm-cov clean --workspace
  cargo llvm-cov --no-report --workspace --exclude ringside-bench --locked --no-fail-fast || status=$?
fi

# `report` takes no --workspace and, without packages named, reports the
# root package's files only.
packages=(-p ringside -p ringside-actors -p ringside-push-fakes)
mkdir -p target/llvm-cov
cargo llvm-cov report "${packages[@]}" --lcov --ignore-filename-regex "$ignore" \
  --output-path target/llvm-cov/lcov.info
if [ "${1:-}" = "--html" ]; then
  cargo llvm-cov report "${packages[@]}" --html --ignore-filename-regex "$ignore" --output-dir target/llvm-cov
fi

python3 - "$PWD" target/llvm-cov/lcov.info <<'PY'
import re, sys
root, path = sys.argv[1].rstrip("/") + "/", sys.argv[2]

def test_lines(source):
    """Line numbers inside inline `#[cfg(test)] mod name { ... }` blocks."""
    lines = source.split("\n")
    out = set()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "#[cfg(test)]":
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or lines[j].strip().startswith("#[")):
                j += 1
            if j < len(lines) and re.match(r"\s*(pub(\([^)]*\))?\s+)?mod \w+\s*\{", lines[j]):
                depth, k = 0, j
                while k < len(lines):
                    depth += lines[k].count("{") - lines[k].count("}")
                    if depth <= 0 and k > j:
                        break
                    k += 1
                out.update(range(i + 1, k + 2))
                i = k
        i += 1
    return out

# Per file: (covered, total) over the lines llvm instrumented, test blocks out.
files = {}
current, hits = None, {}
for line in open(path):
    line = line.strip()
    if line.startswith("SF:"):
        current, hits = line[3:], {}
    elif line.startswith("DA:") and current:
        n, count = line[3:].split(",")[:2]
        hits[int(n)] = hits.get(int(n), 0) + int(count)
    elif line == "end_of_record" and current:
        skip = test_lines(open(current).read())
        kept = {n: c for n, c in hits.items() if n not in skip}
        files[current.removeprefix(root)] = (sum(1 for c in kept.values() if c > 0), len(kept))
        current = None
# The live features: engagement and live coverage in the feature layer, the
# persistence and bus glue, and the WebSocket edge (the REST handlers are not).
live_features = tuple(
    f"src/features/{m}.rs"
    for m in ("mod", "comments", "reactions", "reaction_writer", "polls", "totals",
              "live_updates", "live_events", "fight_control")
) + ("src/http/ws.rs", "src/http/ws_ops.rs", "src/http/socket.rs")
live_dirs = ("src/features/notifications/", "src/live/")
def live(f):
    return f in live_features or f.startswith(live_dirs)
groups = {
    "crate ringside-actors (actors/)": lambda f: f.startswith("actors/"),
    "crate ringside-push-fakes (push-fakes/)": lambda f: f.startswith("push-fakes/"),
    "crate ringside (src/)": lambda f: f.startswith("src/"),
    "total": lambda f: True,
    "live core: actors/": lambda f: f.startswith("actors/"),
    "live features: src/features/": lambda f: live(f) and f.startswith("src/features/"),
    "live features: src/live/": lambda f: f.startswith("src/live/"),
    "live features: src/http/ws*, socket": lambda f: live(f) and f.startswith("src/http/"),
    "live features together": live,
    "live core and features together": lambda f: f.startswith("actors/") or live(f),
}
print(f"{'lines':<42}{'covered':>9}{'total':>9}{'%':>8}")
for name, keep in groups.items():
    covered = total = 0
    for rel, (c, t) in files.items():
        if keep(rel):
            covered += c
            total += t
    pct = 100 * covered / total if total else 0
    print(f"{name:<42}{covered:>9}{total:>9}{pct:>7.1f}%")
# The live files below 100%, most lines missed first: where tests are thin.
print(f"\n{'live files not fully covered':<42}{'missed':>9}{'total':>9}{'%':>8}")
rows = []
for rel, (c, t) in files.items():
    if (rel.startswith("actors/") or live(rel)) and c < t:
        rows.append((t - c, t, rel))
for missed, total, rel in sorted(rows, reverse=True):
    print(f"{rel:<42}{missed:>9}{total:>9}{100 * (total - missed) / total:>7.1f}%")
print("(not counted: bench/, tests/, tests.rs, test_support.rs and inline #[cfg(test)] modules)")
PY
if [ "$status" -ne 0 ]; then
  echo "some tests failed (exit $status): the figures cover the tests that ran" >&2
fi
exit "$status"
