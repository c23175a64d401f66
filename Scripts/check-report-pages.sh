#!/usr/bin/env bash
# Writes `tally report` pages for a binary, a multi-class, a regression and a
# sliced, bootstrapped input, one drawn from merged state files and the
# demo's, then
# renders each in headless Chromium (Scripts/check-report.py: no console
# errors, no network, every plot non-blank, in light, dark and print).
# The browser check's own self-test runs first, so a check that passes
# everything cannot go unnoticed. Run from anywhere; .ci/run runs it.
#
#   Scripts/check-report-pages.sh [OUT_DIR]   (default .build/report-pages)
#
# Screenshots land in OUT_DIR/screenshots. Needs Debian's apt and PyPI the
# first time (Scripts/browser-env.sh, about 35 s), then nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.build/report-pages}
rm -rf "$out"
mkdir -p "$out/data" "$out/screenshots"

python=$(Scripts/browser-env.sh | tail -n1)
"$python" Scripts/check-report.py --self-test >"$out/self-test.log" 2>&1 || {
  cat "$out/self-test.log"
  echo "check-report-pages: the browser check's self-test failed" >&2
  exit 1
}
tail -n1 "$out/self-test.log"

swift build --product tally 2>&1 | tail -n1
tally=$(swift build --product tally --show-bin-path)/tally

# Seeded data as CSV (the standard library's random; no numpy needed).
python3 - "$out/data" <<'EOF'
import math, random, sys
d = sys.argv[1]
r = random.Random(7)
n = 4000
with open(f"{d}/binary.csv", "w") as f:
    f.write("label,score,country\n")
    for i in range(n):
        y = 1 if r.random() < 0.3 else 0
        s = min(1.0, max(0.0, r.gauss(0.35 + 0.3 * y, 0.18)))
        f.write(f"{y},{s:.6f},{['US', 'FR', 'JP', '<b>DE</b>'][i % 4]}\n")
with open(f"{d}/classes.csv", "w") as f:
    f.write("label,p0,p1,p2,p3\n")
    for i in range(n):
        y = r.randrange(4)
        z = [r.gauss(1.4 if k == y else 0, 1) for k in range(4)]
        e = [math.exp(v) for v in z]
        f.write(f"{y}," + ",".join(f"{v / sum(e):.6f}" for v in e) + "\n")
with open(f"{d}/regression.csv", "w") as f:
    f.write("y,prediction\n")
    for i in range(n):
        y = r.gauss(10, 3)
        f.write(f"{y:.5f},{y + r.gauss(0, 1):.5f}\n")
EOF

d=$out/data
"$tally" report --quiet --y-true "$d/binary.csv" --y-pred "$d/binary.csv" -o "$out/binary.html" >/dev/null
"$tally" report --quiet --y-true "$d/classes.csv" --y-pred "$d/classes.csv" --y-pred-columns p0,p1,p2,p3 \
  --class-names 'cat,dog,<script>alert(1)</script>,fish' -o "$out/multiclass.html" >/dev/null
"$tally" report --quiet --y-true "$d/regression.csv" --y-pred "$d/regression.csv" -o "$out/regression.html" >/dev/null
"$tally" report --quiet --y-true "$d/binary.csv" --y-pred "$d/binary.csv" --slice-by-column country \
  --bootstrap 50 -o "$out/sliced.html" >/dev/null
# Two shards saved, then drawn from their merged states.
head -n 2001 "$d/binary.csv" >"$d/shard0.csv"
(head -n 1 "$d/binary.csv" && tail -n +2002 "$d/binary.csv") >"$d/shard1.csv"
"$tally" evaluate --quiet --metric binary_accuracy --metric exact_auc --y-true "$d/shard0.csv" \
  --y-pred "$d/shard0.csv" --save-state "$d/shard0.json" >/dev/null
"$tally" evaluate --quiet --metric binary_accuracy --metric exact_auc --y-true "$d/shard1.csv" \
  --y-pred "$d/shard1.csv" --row-offset 2000 --save-state "$d/shard1.json" >/dev/null
"$tally" report --quiet --state "$d/shard0.json" --state "$d/shard1.json" -o "$out/states.html" >/dev/null
# The demo's report of Keras's fit() example (two epochs suffice).
"$tally" demo --epochs 2 --report "$out/demo.html" >/dev/null

binary=roc,pr,confusion,calibration,histogram
"$python" Scripts/check-report.py --screenshots "$out/screenshots" --expect-plots "$binary" \
  "$out/binary.html" "$out/states.html"
"$python" Scripts/check-report.py --screenshots "$out/screenshots" --expect-plots confusion "$out/multiclass.html" \
  "$out/demo.html"
"$python" Scripts/check-report.py --screenshots "$out/screenshots" --expect-plots scatter,residuals \
  "$out/regression.html"
"$python" Scripts/check-report.py --screenshots "$out/screenshots" --expect-plots "$binary,slices-0" \
  "$out/sliced.html"
echo "check-report-pages: every page renders with its plots (screenshots in $out/screenshots)"
