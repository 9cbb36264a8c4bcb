#!/usr/bin/env bash
# Mutation testing of the live core (actors/) with cargo-mutants, against the
# crate's own unit tests: each mutant is a small bug put into a copy of the
# tree; one that no test catches is a behaviour nobody checks. Not part of
# CI: every mutant is a rebuild and a test run (about 700 of them, hours on
# 2 cores), so a uniform sample is the practical measure.
#
#   ./scripts/mutants.sh                  # every mutant
#   ./scripts/mutants.sh --shard 0/8      # a uniform sample: every 8th mutant
#   ./scripts/mutants.sh --shard 0/8 --iterate   # again, only what was not caught
#   ./scripts/mutants.sh --list | wc -l   # how many there are
#
# Other arguments go to `cargo mutants` as they are. Results: mutants.out/
# (caught.txt, missed.txt, timeout.txt, unviable.txt; not in git).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked

# Round-robin sharding: shard k/n takes every n-th mutant of the whole list,
# a sample spread over every file rather than the first files only.
status=0
cargo mutants -p ringside-actors --sharding round-robin "$@" || status=$?
case " $* " in *" --list "* | *" --list-files "*) exit "$status" ;; esac

# cargo-mutants exits 2 when mutants were missed and 3 on timeouts: report
# the score rather than fail on them.
out=mutants.out
if [ -d "$out" ]; then
  # grep -c prints 0 (and fails) on an empty file.
  count() { if [ -f "$out/$1.txt" ]; then grep -c . "$out/$1.txt" || true; else echo 0; fi; }
  caught=$(count caught) missed=$(count missed) timeouts=$(count timeout) unviable=$(count unviable)
  python3 - "$caught" "$missed" "$timeouts" "$unviable" <<'PY'
import sys
caught, missed, timeouts, unviable = map(int, sys.argv[1:])
viable = caught + missed + timeouts
print(f"caught {caught}, missed {missed}, timeouts {timeouts}, unviable {unviable}")
if viable:
    print(f"mutation score: {100 * (caught + timeouts) / viable:.1f}% "
          f"(caught and timed out over viable mutants; {100 * caught / viable:.1f}% caught alone)")
PY
fi
case "$status" in 0 | 2 | 3) exit 0 ;; *) exit "$status" ;; esac
