#!/usr/bin/env bash
# Builds the DocC catalog of the Tally library with warnings as errors.
# Usage: Scripts/check-docs.sh   (from the repository root; needs the docc in the toolchain)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
swift build --target Tally -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir \
  -Xswiftc "$work/all" >/dev/null
mkdir -p "$work/tally"
cp "$work"/all/Tally*.symbols.json "$work/tally/"
docc convert Sources/Tally/Documentation.docc --additional-symbol-graph-dir "$work/tally" \
  --fallback-display-name Tally --fallback-bundle-identifier tally \
  --output-dir "$work/out" --warnings-as-errors
echo "documentation builds without warnings"
