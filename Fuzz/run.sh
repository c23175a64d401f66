#!/usr/bin/env bash
# Builds the fuzzing harnesses (libFuzzer + AddressSanitizer) and runs each
# for SECONDS (default 15) on a copy of its committed corpus.
#
#   Fuzz/run.sh [SECONDS_PER_HARNESS] [HARNESS ...]
#   Fuzz/run.sh 60 FuzzCSV          # one harness, a minute
#
# Exits non-zero if a harness crashed, trapped, broke an invariant, hung
# (more than 60 s on one input: a legal 1,000,000-bin calibration state takes over 10 s through the harness under AddressSanitizer) or ran out of memory (4 GB: a legal 1,000,000-bin calibration state, copied by the harness under AddressSanitizer, passes 2 GB), after printing
# where the input that did it was saved. See Fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=${1:-15}
shift || true
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then harnesses=(FuzzNPY FuzzCSV FuzzState FuzzConfig); fi

scratch=${TALLY_FUZZ_SCRATCH:-$root/.build-fuzz}
# --sanitize=fuzzer tells SwiftPM that libFuzzer supplies `main`; the
# -sanitize flag that counts is the last one, which names both sanitizers:
# given two, the Swift driver keeps only the last (and SwiftPM's
# --sanitize=fuzzer --sanitize=address come in no set order, losing either
# the coverage or AddressSanitizer). --disable-dead-strip keeps the coverage
# counters, which --gc-sections would remove.
build=(swift build --package-path Fuzz --scratch-path "$scratch" -c release --disable-dead-strip
  --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing)
"${build[@]}" 2>&1 | grep -v "^/usr/bin/ld.gold: warning: Cannot export local symbol" || {
  echo "Fuzz/run.sh: the build failed" >&2
  exit 1
}
bin=$("${build[@]}" --show-bin-path)

# The Swift runtime's crash reporter waits on libFuzzer's dying process;
# libFuzzer and AddressSanitizer report crashes themselves.
export SWIFT_BACKTRACE=enable=no
# Swift's runtime keeps metadata caches for the life of the process (not
# leaks); short allocation stacks make allocating code 20 % faster.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:malloc_context_size=4}

work=$(mktemp -d "${TMPDIR:-/tmp}/tally-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
artifacts=$scratch/artifacts

# TALLY_FUZZ_CI=1 (.ci/run): first every committed input (Fuzz/Corpus and
# Fuzz/Crashes) is run once, and any failure there fails the script: those
# are regressions. Then each harness explores for a fixed number of runs
# (about 15 s each here; SECONDS is only a cap). libFuzzer's exploration is
# not repeatable even with a fixed seed (it takes the bytes of compared
# strings and times into its choices; measured: two runs of one commit
# reach different inputs), so what it finds there is reported loudly, kept
# under .build-fuzz/artifacts, and does not fail CI: a new find is a defect
# to fix and keep in Fuzz/Crashes, not a verdict on the commit under test.
# Without TALLY_FUZZ_CI each harness explores for SECONDS and any find fails.
declare -A ci_runs=([FuzzNPY]=150000 [FuzzCSV]=60000 [FuzzState]=20000 [FuzzConfig]=3000)

failed=()
regressions=()
for h in "${harnesses[@]}"; do
  [ -x "$bin/$h" ] || { echo "Fuzz/run.sh: no harness $h" >&2; exit 2; }
  # A harness built without coverage would "fuzz" blindly and find nothing.
  # (The output is read whole first: `grep -q` quitting early would give the
  # harness a SIGPIPE, which pipefail reports as a failure.)
  probe=$("$bin/$h" -runs=0 2>&1 || true)
  grep -q "inline 8-bit counters" <<<"$probe" || {
    echo "Fuzz/run.sh: $h is not instrumented for coverage (see Fuzz/README.md)" >&2
    exit 2
  }
  mkdir -p "$work/$h/corpus" "$work/$h/tmp" "$artifacts/$h"
  cp Fuzz/Corpus/"$h"/* "$work/$h/corpus/"
  dict=()
  [ -f "Fuzz/Dictionaries/$h.dict" ] && dict=(-dict="Fuzz/Dictionaries/$h.dict")
  runs=()
  if [ -n "${TALLY_FUZZ_CI:-}" ]; then
    replay=(Fuzz/Corpus/"$h")
    [ -d "Fuzz/Crashes/$h" ] && replay+=(Fuzz/Crashes/"$h")
    count=$(find "${replay[@]}" -type f | wc -l)
    echo "== $h: replaying $count committed inputs"
    if ! TMPDIR="$work/$h/tmp" "$bin/$h" "${replay[@]}" -runs=0 -rss_limit_mb=4096 -timeout=60 \
      -artifact_prefix="$artifacts/$h/replay-" >"$work/$h/replay.log" 2>&1; then
      echo "!! $h fails on a committed input (a regression):"
      grep -E -A40 "ERROR: |==ERROR|Fatal error|INVARIANT|deadly signal|timeout after|out-of-memory" \
        "$work/$h/replay.log" | head -80 || tail -60 "$work/$h/replay.log"
      regressions+=("$h")
      continue
    fi
    runs=(-runs="${ci_runs[$h]}")
    echo "== $h: ${ci_runs[$h]} runs (at most ${seconds}s)"
  else
    echo "== $h: ${seconds}s"
  fi
  status=0
  TMPDIR="$work/$h/tmp" "$bin/$h" "$work/$h/corpus" "${dict[@]}" "${runs[@]}" \
    -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 -timeout=60 \
    -seed="${TALLY_FUZZ_SEED:-1}" \
    -print_final_stats=1 -artifact_prefix="$artifacts/$h/" \
    >"$work/$h/log" 2>&1 || status=$?
  # The summary: coverage and speed at the end, and any report.
  grep -E "^#[0-9]+[[:space:]]+DONE|^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::peak_rss_mb" \
    "$work/$h/log" || true
  if [ $status -ne 0 ]; then
    failed+=("$h")
    echo "!! $h failed (exit $status):"
    grep -E -A40 "ERROR: |==ERROR|Fatal error|INVARIANT|deadly signal|timeout after|out-of-memory|malloc\(" \
      "$work/$h/log" | head -80 || tail -60 "$work/$h/log"
    cp "$work/$h/log" "$artifacts/$h/last-failure.log"
    input=$(grep -o "Test unit written to .*" "$work/$h/log" | sed 's/Test unit written to //' | tail -1)
    echo "!! input: ${input:-(see $artifacts/$h/last-failure.log)}"
    echo "!! replay: $bin/$h ${input:-<input>}"
    echo "!! keep it as a regression: copy it to Fuzz/Crashes/$h/ (see Fuzz/README.md)"
  fi
done

if [ ${#regressions[@]} -ne 0 ]; then
  echo "Fuzz/run.sh: committed inputs fail in ${regressions[*]}" >&2
  exit 1
fi
if [ ${#failed[@]} -ne 0 ]; then
  if [ -n "${TALLY_FUZZ_CI:-}" ]; then
    echo "Fuzz/run.sh: NEW FINDS in ${failed[*]} (not a regression: fix them and keep the inputs in Fuzz/Crashes)" >&2
    exit 0
  fi
  echo "Fuzz/run.sh: failures in ${failed[*]}" >&2
  exit 1
fi
echo "Fuzz/run.sh: no failures"
