#!/usr/bin/env python3
"""Run Tally's benchmark, the peers and the C floor side by side, and print a table.

Usage (from the repository root):

    python3 Scripts/compare-benchmarks.py [--peers-dir ../shared/bench] [--skip-build]

* Tally: `Benchmarks/` built in release mode twice, with the default target
  (`tally`) and with `-Xswiftc -target-cpu -Xswiftc native` (`tally-native`,
  as floor.c is built with -march=native); W1-W8, W2 with 10,000 thresholds,
  and W3/W8 with every label right; lines
  `tally WORKLOAD seconds Mrows/s result peak_MB`.
* Peers: `python3 peers.py LIB` for each of keras-jax, keras-tensorflow,
  keras-numpy, torchmetrics, sklearn whose packages are installed.
* Floor: floor.c compiled with `gcc -O3 -march=native -fopenmp` (W1, W5; 1 and 2 threads).

* Baseline (`--baseline REV`): the benchmark of another commit, built from a
  `git worktree` of REV in the same way, run alternately with the current one
  (`--rounds` times each; the best of all rounds counts for each), so that a
  change is judged before/after in one run; column `tally-before` and the
  ratio after/before.

Prints a Markdown table of Mrows/s per library, Tally's ratio to the best peer
and to the 2-thread floor, and the machine and date.
"""
import argparse
import datetime
import importlib.util
import os
import platform
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = {
    "keras-jax": ["keras", "jax"],
    "keras-tensorflow": ["keras", "tensorflow"],
    "keras-numpy": ["keras"],
    "torchmetrics": ["torch", "torchmetrics"],
    "sklearn": ["sklearn"],
}


def run(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def parse(text):
    rows = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 5:
            try:
                rows[(parts[0], parts[1])] = (float(parts[2]), float(parts[3]), parts[4], parts[5:] and parts[5])
            except ValueError:
                pass
    return rows


ROWS = {"W1": 10_000_000, "W2": 10_000_000, "W3": 200_000, "W4": 8 * 512 * 512,
        "W5": 10_000_000, "W6": 200_000, "W7": 10_000_000, "W8": 200_000}


def mrows(workload, secs, rate):
    """Mrows/s from the seconds (peers.py prints one decimal: 0.0 for W8's slowest)."""
    n = ROWS.get(workload.split("_")[0])
    return n / secs / 1e6 if n and secs > 0 else rate


def key(workload):
    """W2_auc_roc_200 / W2_auc_roc_exact -> W2 (exact AUC is scikit-learn's stand-in)."""
    if workload.endswith("10000"):
        return "W2(10k)"
    if workload.endswith("all_right"):
        return workload.split("_")[0] + "(all right)"
    return workload.split("_")[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peers-dir", default=os.path.join(ROOT, "..", "shared", "bench"))
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--only", help="comma-separated peers to run")
    ap.add_argument("--no-native", action="store_true", help="skip the -target-cpu native build")
    ap.add_argument("--no-peers", action="store_true", help="run Tally (and the baseline) only")
    ap.add_argument("--baseline", metavar="REV", help="also benchmark commit REV, alternating with this tree")
    ap.add_argument("--rounds", type=int, default=1, help="alternating runs of each build (best counts)")
    args = ap.parse_args()

    results = {}  # lib -> {W: Mrows/s}
    details = []
    # Two builds of the same code: the default one (baseline x86-64, SSE2;
    # what a package that depends on Tally gets) and one for this machine's
    # CPU, as floor.c is built (-march=native). Ratios are the default build's.
    builds = [("tally", ".build", [])]
    if not args.no_native:
        builds.append(("tally-native", ".build-native", ["-Xswiftc", "-target-cpu", "-Xswiftc", "native"]))
    bench = os.path.join(ROOT, "Benchmarks")
    binaries = []
    for name, scratch, flags in builds:
        if not args.skip_build:
            run(["swift", "build", "-c", "release", "--package-path", bench,
                 "--scratch-path", os.path.join(bench, scratch)] + flags)
        binaries.append((name, os.path.join(bench, scratch, "release", "tally-bench")))
    if args.baseline:
        tree = os.path.join(ROOT, ".build-baseline", "tree")
        want = run(["git", "-C", ROOT, "rev-parse", args.baseline + "^{commit}"]).strip()
        have = run(["git", "-C", tree, "rev-parse", "HEAD"]).strip() if os.path.exists(tree) else None
        if have != want:
            if os.path.exists(tree):
                run(["git", "-C", ROOT, "worktree", "remove", "--force", tree])
            run(["git", "-C", ROOT, "worktree", "add", "--detach", tree, want])
        # Commits before 21fe11f named the root package by its folder ("main"),
        # which does not build elsewhere: use this tree's manifest.
        shutil.copy(os.path.join(bench, "Package.swift"), os.path.join(tree, "Benchmarks", "Package.swift"))
        scratch = os.path.join(ROOT, ".build-baseline", "build")
        run(["swift", "build", "-c", "release", "--package-path", os.path.join(tree, "Benchmarks"),
             "--scratch-path", scratch])
        binaries.insert(0, ("tally-before", os.path.join(scratch, "release", "tally-bench")))
    # Alternate the order of the builds from round to round, so that neither
    # profits from the machine's speed drifting over the run; the best rate
    # of all rounds counts (the benchmark's own rate: its seconds are rounded).
    for round in range(max(1, args.rounds)):
        for name, binary in (binaries if round % 2 == 0 else binaries[::-1]):
            out = run([binary])
            details.append(out.replace("tally ", name + " ") if name != "tally" else out)
            for (lib, w), (secs, rate, res, peak) in parse(out).items():
                best = results.setdefault(name, {}).get(key(w), 0)
                results[name][key(w)] = max(best, rate)

    peers = [] if args.no_peers else [p for p in PEERS if all(importlib.util.find_spec(m) for m in PEERS[p])]
    if args.only:
        peers = [p for p in peers if p in args.only.split(",")]
    for peer in peers:
        try:
            out = run([sys.executable, os.path.join(args.peers_dir, "peers.py"), peer])
        except subprocess.CalledProcessError as e:
            print(f"{peer} failed: {e.stderr[-500:]}", file=sys.stderr)
            continue
        details.append(out)
        for (lib, w), (secs, rate, res, _) in parse(out).items():
            results.setdefault(lib, {})[key(w)] = mrows(w, secs, rate)

    floor = {}
    try:
        binary = "/tmp/tally-floor"
        run(["gcc", "-O3", "-march=native", "-fopenmp", "-o", binary, os.path.join(args.peers_dir, "floor.c")])
        out = run([binary])
        details.append(out)
        for line in out.splitlines():
            _, w, threads, secs, rate = line.split()
            if threads == "2":
                floor[w.split("_")[0]] = float(rate)
    except Exception as e:  # noqa: BLE001
        print(f"floor failed: {e}", file=sys.stderr)

    mine = [l for l in ("tally-before", "tally", "tally-native") if l in results]
    libs = mine + [p for p in results if p not in mine]
    workloads = ["W1", "W2", "W2(10k)", "W3", "W3(all right)", "W4", "W5", "W6", "W7", "W8", "W8(all right)"]
    floor["W7"] = floor.get("W1")  # W7 reads the same two float arrays as W1
    print(f"Run {datetime.datetime.now().isoformat(timespec='minutes')} on {platform.node()}: "
          f"{os.cpu_count()} cores, {platform.machine()}, {platform.platform()}")
    print()
    native = "tally-native" in results
    print("| workload | " + " | ".join(libs) + " | best peer | Tally / best peer | C floor (2 threads) | Tally / floor |"
          + (" native / floor |" if native else ""))
    print("| --- " * (len(libs) + 5 + native) + "|")
    def fmt(x):
        return f"{x:,.1f}" if x >= 10 else f"{x:.3g}"

    for w in workloads:
        cells = [fmt(results[l][w]) if w in results.get(l, {}) else "—" for l in libs]
        peer_rates = [results[l][w] for l in libs if l not in mine and w in results.get(l, {})]
        best = max(peer_rates) if peer_rates else None
        t = results.get("tally", {}).get(w)
        ratio = f"{t / best:.2f}×" if best and t else "—"
        fl = floor.get(w)
        floor_cells = f"{fl:,.0f} | {t / fl:.0%}" if fl and t else "— | —"
        tn = results.get("tally-native", {}).get(w)
        native_cell = (f" {tn / fl:.0%} |" if fl and tn else " — |") if native else ""
        print(f"| {w} | " + " | ".join(cells) + f" | {fmt(best) if best else '—'} | {ratio} | {floor_cells} |" + native_cell)
    if "tally-before" in results:
        print()
        print("| workload | before (Mrows/s) | after (Mrows/s) | after / before |")
        print("| --- | --- | --- | --- |")
        for w in workloads:
            b, a = results["tally-before"].get(w), results.get("tally", {}).get(w)
            if a and b:
                print(f"| {w} | {fmt(b)} | {fmt(a)} | {a / b:.3f} |")
    print()
    print("Raw output:")
    print()
    print("```")
    for d in details:
        print(d.strip())
    print("```")


if __name__ == "__main__":
    main()
