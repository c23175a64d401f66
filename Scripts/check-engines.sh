#!/usr/bin/env bash
# Runs the Spark and Dask integration tests (python/tests) on the real
# engines in local mode (Spark local[2] on 127.0.0.1, Dask's threads), with a
# release `tally`:
#   1. Scripts/engine-env.sh: the venv (cached outside the repository, in
#      ${TALLY_CACHE:-$HOME/.cache/tally}/venv-engines) and `pip install ./python`;
#   2. the release binary: TALLY_BIN when set, else
#      `swift build -c release --product tally` (scratch path
#      TALLY_ENGINES_SCRATCH, default .build: CI runs this alone; while other
#      builds run, give it its own, e.g. TALLY_ENGINES_SCRATCH=.build-engines);
#   3. pytest, then a summary of the steps' times.
# Usage: Scripts/check-engines.sh [pytest arguments; default python/tests]
#   e.g. Scripts/check-engines.sh python/tests/test_dask.py -k slices
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "check-engines: $*" >&2; }
now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

start=$(now)
py=$(Scripts/engine-env.sh | tail -n1)
env_done=$(now)

if [ -n "${TALLY_BIN:-}" ]; then
  tally=$TALLY_BIN
  log "using TALLY_BIN=$tally"
else
  scratch=${TALLY_ENGINES_SCRATCH:-.build}
  log "swift build -c release --product tally --scratch-path $scratch"
  swift build -c release --product tally --scratch-path "$scratch" >&2
  tally=$PWD/$scratch/release/tally
fi
help=$("$tally" evaluate --help 2>&1 || true)
if ! grep -q -- 'npy-stream' <<<"$help"; then
  log "$tally has no --input npy-stream"
  exit 1
fi
build_done=$(now)

# No .pytest_cache or bytecode left in the work tree.
if [ $# -eq 0 ]; then set -- python/tests; fi
status=0
TALLY_BIN=$tally PYTHONDONTWRITEBYTECODE=1 "$py" -m pytest -p no:cacheprovider -q "$@" || status=$?
tests_done=$(now)

log "environment $(seconds "$start" "$env_done") s, tally build $(seconds "$env_done" "$build_done") s, tests $(seconds "$build_done" "$tests_done") s"
exit "$status"
