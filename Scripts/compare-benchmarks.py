#!/usr/bin/env python3
"""Run Tally's benchmark, the peers and the C floor side by side on the same
data files, check that their results agree, and print a table.

Usage (from the repository root):

    python3 Scripts/compare-benchmarks.py [--data DIR] [--python PATH]
                                          [--peers-dir ../shared/bench] [--skip-build]

* Data: `PY peers.py write-data DIR` writes every workload's arrays as `.npy`
  and W10's CSV once into DIR (default `.bench-data/`, ignored by git); it is
  skipped when DIR already holds every file. Everything below reads those
  bytes: Tally with `tally-bench --data DIR`, the floor its own stand-in
  arrays (see floor.c), the peers the arrays `peers.py` generates in memory
  with the same seeded code that wrote the files (`peers.py LIB` takes no
  data directory; run with the interpreter that wrote the files, they are the
  same bytes; the result check below would show any difference).
* Tally: `Benchmarks/` built in release mode twice, with the default target
  (`tally`) and with `-Xswiftc -target-cpu -Xswiftc native` (`tally-native`,
  as floor.c is built with -march=native); W1-W10, W2 with 10,000 thresholds,
  and W3/W8 with every label right; lines
  `tally WORKLOAD seconds Mrows/s result peak_MB`. W10 there is in-process
  (Tally's CSVReader and BinaryAccuracy); the `tally` command-line tool is
  also built (release) and `tally evaluate --metric binary_accuracy` timed
  end to end on DIR/w10.csv (best of 3 after a warm-up, as peers.py), row
  `W10(tally evaluate)`.
* Peers: `PY peers.py LIB` for each of keras-jax, keras-tensorflow,
  keras-numpy, torchmetrics, sklearn whose packages PY can import, and
  `PY peers.py dataframes DIR` (polars, pandas: W10). PY is `--python`,
  by default the venv `~/.cache/tally/venv-peers` if it exists, else this
  interpreter.
* Floor: floor.c compiled with `gcc -O3 -march=native -fopenmp` (W1, W5,
  W3; 1 and 2 threads). W7 is compared with the W1 loop (same bytes), W6 and
  W8 with the W3 loop (the same 200,000 x 1,000 rows).

* Baseline (`--baseline REV`): the benchmark of another commit, built from a
  `git worktree` of REV in the same way, run alternately with the current one
  (`--rounds` times each; the best of all rounds counts for each), so that a
  change is judged before/after in one run; column `tally-before` and the
  ratio after/before. A baseline whose tally-bench has no `--data` option
  runs on its own generated data (its results are then not checked).

Agreement (the run exits with status 1 after printing the table if any check
fails; `--no-check` skips the checks):

* `Scripts/bench-reference.py DIR` computes each workload's result from the
  files in float64 (scikit-learn's `roc_auc_score` for W9) at full precision.
  Tally's results (printed with 12 significant digits) must be within
  1e-6 relative of the reference: float32 inputs and float32 element-wise
  arithmetic (Keras's definition, e.g. W5's squared differences, W6's
  logarithms) leave each element within a few float32 ulps (2^-24 = 6e-8
  relative), and Tally accumulates in compensated double-double, so its sums
  carry no more than that; counts (W1, W3, W7, W8, W10) are exact. The exact
  AUC (W9) must be within 1e-9 of scikit-learn's, absolute.
* Each peer's result for a workload of the same name (peers.py prints six
  decimals) must be within 1e-6 relative of Tally's plus half a unit in the
  last printed digit of each (5e-7 each): peers accumulate in float32, whose
  rounding over 10 batches stays within that. W2 has no reference; it is
  checked against the peers only. scikit-learn's `W2_auc_roc_exact` (its
  stand-in for W2 in the table) is not W2's metric and is not checked,
  nor is a peer result listed in NOT_THE_SAME_METRIC (another definition:
  TorchMetrics' MeanIoU averages per image), which the output names.

Prints a Markdown table of Mrows/s per library, Tally's ratio to the best peer
and to the 2-thread floor, a table of the targets of issue 15, and the
machine and date.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = {
    "keras-jax": ["keras", "jax"],
    "keras-tensorflow": ["keras", "tensorflow"],
    "keras-numpy": ["keras"],
    "torchmetrics": ["torch", "torchmetrics"],
    "sklearn": ["sklearn"],
}
DATAFRAMES = ["polars", "pandas"]
DEFAULT_VENV = os.path.expanduser("~/.cache/tally/venv-peers/bin/python")
DATA_FILES = ["w1_y_true.npy", "w1_y_pred.npy", "w3_labels.npy", "w3_logits.npy", "w4_y_true.npy",
              "w4_y_pred.npy", "w5_y_true.npy", "w5_y_pred.npy", "w6_probs.npy", "w10.csv"]
CSV_ROWS = 2_000_000

# Agreement tolerances (see the docstring).
REL_TOL = 1e-6
EXACT_ABS_TOL = {"W9_exact_auc": 1e-9}
# Peer results that are another quantity than Keras's, so not compared.
NOT_THE_SAME_METRIC = {
    ("torchmetrics", "W4_mean_iou_21"): "TorchMetrics' segmentation MeanIoU averages the IoU of each of "
                                        "the 8 images; Keras's (and Tally's) is the IoU of the summed "
                                        "confusion matrix (NumPy, per image: 0.5563623)",
}


def run(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def parse(text):
    """Lines `LIB WORKLOAD seconds Mrows/s result [peak_MB]` -> {(lib, workload): (secs, rate, result, peak)}."""
    rows = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 5:
            try:
                rows[(parts[0], parts[1])] = (float(parts[2]), float(parts[3]), parts[4],
                                              float(parts[5]) if len(parts) > 5 else None)
            except ValueError:
                pass
    return rows


ROWS = {"W1": 10_000_000, "W2": 10_000_000, "W3": 200_000, "W4": 8 * 512 * 512,
        "W5": 10_000_000, "W6": 200_000, "W7": 10_000_000, "W8": 200_000, "W9": 10_000_000,
        "W10": CSV_ROWS}


def mrows(workload, secs, rate):
    """Mrows/s from the printed seconds (4 decimals) or the printed rate (1
    decimal: 0.0 for peers' slowest W8), whichever is the more precise."""
    n = ROWS.get(workload.split("_")[0])
    if not n or secs <= 0:
        return rate
    return n / secs / 1e6 if rate <= 0 or 5e-5 / secs < 0.05 / rate else rate


def key(workload):
    """The table row of a workload: W2_auc_roc_200 / W2_auc_roc_exact -> W2
    (exact AUC is scikit-learn's stand-in for W2)."""
    if workload.endswith("10000"):
        return "W2(10k)"
    if workload.endswith("all_right"):
        return workload.split("_")[0] + "(all right)"
    return workload.split("_")[0]


def lib_of(lib, workload):
    """peers.py prints W10 as `dataframes W10_..._polars`: the column is polars."""
    if lib == "dataframes":
        return workload.rsplit("_", 1)[-1]
    return lib


def printed_half_unit(text):
    """Half a unit in the last digit of a printed decimal (0 for 12+ significant digits)."""
    m = re.fullmatch(r"-?\d*\.(\d+)", text)
    if not m or len(m.group(1)) >= 10:
        return 0.0
    return 0.5 * 10.0 ** -len(m.group(1))


def python_has(python, modules):
    """The subset of `modules` that `python` can import."""
    code = ("import importlib.util, sys\n"
            "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m)))")
    try:
        return set(run([python, "-c", code] + modules).split())
    except (subprocess.CalledProcessError, OSError) as e:
        print(f"cannot run {python}: {e}", file=sys.stderr)
        return set()


def time_command(cmd, repeats=3):
    """Best wall time of `cmd` over `repeats` runs after a warm-up, and its output."""
    out = run(cmd)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        out = run(cmd)
        best = min(best, time.perf_counter() - t)
    return best, out


def default_peers_dir():
    """../shared/bench beside the repository (beside its main tree, from a git worktree)."""
    here = os.path.join(ROOT, "..", "shared", "bench")
    if os.path.exists(here):
        return here
    try:
        common = subprocess.run(["git", "-C", ROOT, "rev-parse", "--path-format=absolute", "--git-common-dir"],
                                check=True, capture_output=True, text=True).stdout.strip()
        return os.path.join(os.path.dirname(os.path.dirname(common)), "shared", "bench")
    except (subprocess.CalledProcessError, OSError):
        return here


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peers-dir", default=default_peers_dir())
    ap.add_argument("--data", default=os.path.join(ROOT, ".bench-data"),
                    help="the data directory (written by `peers.py write-data` unless complete)")
    ap.add_argument("--python", default=DEFAULT_VENV if os.path.exists(DEFAULT_VENV) else sys.executable,
                    help="the peers' interpreter (default: ~/.cache/tally/venv-peers if present, else this one)")
    ap.add_argument("--scratch", default=os.path.join(ROOT, "Benchmarks", ".build"),
                    help="build directory of tally-bench; SCRATCH-native and SCRATCH-cli hold the others")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--only", help="comma-separated peers to run")
    ap.add_argument("--no-native", action="store_true", help="skip the -target-cpu native build")
    ap.add_argument("--no-peers", action="store_true", help="run Tally (and the baseline) only")
    ap.add_argument("--no-check", action="store_true", help="do not check that the results agree")
    ap.add_argument("--baseline", metavar="REV", help="also benchmark commit REV, alternating with this tree")
    ap.add_argument("--rounds", type=int, default=1, help="alternating runs of each build (best counts)")
    args = ap.parse_args()
    data = os.path.abspath(args.data)
    peers_py = os.path.join(args.peers_dir, "peers.py")

    # The data, once.
    if not all(os.path.exists(os.path.join(data, f)) for f in DATA_FILES):
        run([args.python, peers_py, "write-data", data])

    results = {}  # lib -> {row: Mrows/s}
    outputs = {}  # (lib, workload) -> printed result
    peaks = {}  # (lib, row) -> peak MB
    details = []
    # Two builds of the same code: the default one (baseline x86-64, SSE2;
    # what a package that depends on Tally gets) and one for this machine's
    # CPU, as floor.c is built (-march=native). Ratios are the default build's.
    scratch = os.path.abspath(args.scratch)
    builds = [("tally", scratch, [])]
    if not args.no_native:
        builds.append(("tally-native", scratch + "-native", ["-Xswiftc", "-target-cpu", "-Xswiftc", "native"]))
    bench = os.path.join(ROOT, "Benchmarks")
    binaries = []
    for name, path, flags in builds:
        if not args.skip_build:
            run(["swift", "build", "-c", "release", "--package-path", bench, "--scratch-path", path] + flags)
        binaries.append((name, os.path.join(path, "release", "tally-bench"), ["--data", data]))
    cli = os.path.join(scratch + "-cli", "release", "tally")
    if not args.skip_build:
        run(["swift", "build", "-c", "release", "--package-path", ROOT, "--product", "tally",
             "--scratch-path", scratch + "-cli"])
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
        before = os.path.join(ROOT, ".build-baseline", "build")
        run(["swift", "build", "-c", "release", "--package-path", os.path.join(tree, "Benchmarks"),
             "--scratch-path", before])
        with open(os.path.join(tree, "Benchmarks", "Sources", "TallyBench", "main.swift")) as f:
            takes_data = "--data" in f.read()
        if not takes_data:
            print("baseline: its tally-bench has no --data option; it runs on its own generated data",
                  file=sys.stderr)
        binaries.insert(0, ("tally-before", os.path.join(before, "release", "tally-bench"),
                            ["--data", data] if takes_data else []))
    # Alternate the order of the builds from round to round, so that neither
    # profits from the machine's speed drifting over the run; the best rate
    # of all rounds counts (the benchmark's own rate: its seconds are rounded).
    for round in range(max(1, args.rounds)):
        for name, binary, extra in (binaries if round % 2 == 0 else binaries[::-1]):
            out = run([binary] + extra)
            details.append(out.replace("tally ", name + " ") if name != "tally" else out)
            for (lib, w), (secs, rate, res, peak) in parse(out).items():
                rate = mrows(w, secs, rate)
                best = results.setdefault(name, {}).get(key(w), 0)
                if rate > best:
                    peaks[(name, key(w))] = peak
                results[name][key(w)] = max(best, rate)
                if name != "tally-before" or extra:
                    outputs[(name, w)] = res

    # W10 end to end: the command-line tool on the CSV file.
    csv_path = os.path.join(data, "w10.csv")
    if os.path.exists(cli) and os.path.exists(csv_path):
        cmd = [cli, "evaluate", "--metric", "binary_accuracy", "--y-true", csv_path, "--y-true-columns", "label",
               "--y-pred", csv_path, "--y-pred-columns", "score", "--quiet"]
        try:
            secs, out = time_command(cmd)
            numbers = re.findall(r"binary_accuracy\D*?([-+]?\d+\.\d+(?:[eE][-+]?\d+)?)", out)
            res = numbers[0] if numbers else "nan"
            line = f"tally-cli W10_csv_binary_accuracy_cli {secs:.4f} {CSV_ROWS / secs / 1e6:.1f} {res}"
            details.append(line + "\n# (" + " ".join(cmd) + "; output: " + out.strip().replace("\n", " / ") + ")")
            results.setdefault("tally", {})["W10(tally evaluate)"] = CSV_ROWS / secs / 1e6
            outputs[("tally-cli", "W10_csv_binary_accuracy")] = res
        except subprocess.CalledProcessError as e:
            print(f"tally evaluate failed: {e.stderr[-500:]}", file=sys.stderr)

    peers = []
    frames = False
    if not args.no_peers:
        have = python_has(args.python, sorted({m for ms in PEERS.values() for m in ms} | set(DATAFRAMES)))
        peers = [p for p in PEERS if all(m in have for m in PEERS[p])]
        missing = [p for p in PEERS if p not in peers]
        frames = any(m in have for m in DATAFRAMES)
        if missing:
            print(f"peers not installed for {args.python}: {', '.join(missing)}", file=sys.stderr)
    if args.only:
        peers = [p for p in peers if p in args.only.split(",")]
        frames = frames and "dataframes" in args.only.split(",")
    peer_runs = [[p] for p in peers] + ([["dataframes", data]] if frames else [])
    for peer in peer_runs:
        try:
            out = run([args.python, peers_py] + peer)
        except subprocess.CalledProcessError as e:
            print(f"{peer[0]} failed: {e.stderr[-500:]}", file=sys.stderr)
            continue
        details.append(out)
        for (lib, w), (secs, rate, res, _) in parse(out).items():
            lib = lib_of(lib, w)
            w = w[:-len(lib) - 1] if lib in DATAFRAMES else w
            results.setdefault(lib, {})[key(w)] = mrows(w, secs, rate)
            outputs[(lib, w)] = res

    floor = {}
    try:
        binary = "/tmp/tally-floor"
        run(["gcc", "-O3", "-march=native", "-fopenmp", "-o", binary, os.path.join(args.peers_dir, "floor.c")])
        out = run([binary])
        details.append(out)
        for line in out.splitlines():
            _, w, threads, secs, rate = line.split()
            if threads == "2":
                floor[w.split("_")[0]] = mrows(w, float(secs), float(rate))
    except Exception as e:  # noqa: BLE001
        print(f"floor failed: {e}", file=sys.stderr)
    # W7 reads the same two float arrays as W1; W6 and W8 the same rows as W3.
    floor_row = {"W1": "W1", "W5": "W5", "W7": "W1", "W3": "W3", "W6": "W3", "W8": "W3"}
    floor = {w: floor[f] for w, f in floor_row.items() if f in floor}

    # Agreement.
    problems = []
    checked = 0
    if not args.no_check:
        reference = {}
        try:
            for line in run([args.python, os.path.join(ROOT, "Scripts", "bench-reference.py"), data]).splitlines():
                _, w, value = line.split()
                reference[w] = float(value)
            details.append("\n".join(f"reference {w} {v!r}" for w, v in reference.items()))
        except (subprocess.CalledProcessError, OSError) as e:
            problems.append(f"the reference results could not be computed: {e}")
        mine = [(lib, w, v) for (lib, w), v in outputs.items() if lib.startswith("tally")]
        for lib, w, text in mine:
            w_ref = "W10_csv_binary_accuracy" if lib == "tally-cli" else w
            value = float(text)
            if w_ref in reference:
                ref = reference[w_ref]
                tol = EXACT_ABS_TOL.get(w_ref, REL_TOL * abs(ref)) + printed_half_unit(text)
                checked += 1
                if not abs(value - ref) <= tol:
                    problems.append(f"{lib} {w}: {text}, reference {ref!r} (|diff| {abs(value - ref):.3g} > {tol:.3g})")
            for (peer, pw), ptext in outputs.items():
                if peer.startswith("tally") or pw != w_ref or (peer, pw) in NOT_THE_SAME_METRIC:
                    continue
                tol = REL_TOL * abs(value) + printed_half_unit(text) + printed_half_unit(ptext)
                checked += 1
                if not abs(value - float(ptext)) <= tol:
                    problems.append(f"{lib} {w}: {text}, {peer} {ptext} (|diff| {abs(value - float(ptext)):.3g} > {tol:.3g})")

    mine = [l for l in ("tally-before", "tally", "tally-native") if l in results]
    libs = mine + [p for p in results if p not in mine]
    workloads = ["W1", "W2", "W2(10k)", "W3", "W3(all right)", "W4", "W5", "W6", "W7", "W8", "W8(all right)",
                 "W9", "W10", "W10(tally evaluate)"]
    peer_row = {"W10(tally evaluate)": "W10"}  # the peers' W10 figures, against the command-line tool
    print(f"Run {datetime.datetime.now().isoformat(timespec='minutes')} on {platform.node()}: "
          f"{os.cpu_count()} cores, {platform.machine()}, {platform.platform()}")
    print()
    native = "tally-native" in results
    print("| workload | " + " | ".join(libs) + " | best peer | Tally / best peer | C floor (2 threads) | Tally / floor |"
          + (" native / floor |" if native else ""))
    print("| --- " * (len(libs) + 5 + native) + "|")

    def fmt(x):
        return f"{x:,.1f}" if x >= 10 else f"{x:.3g}"

    best_peer = {}
    for w in workloads:
        if not any(w in results.get(l, {}) for l in libs):
            continue
        pw = peer_row.get(w, w)
        cells = [fmt(results[l][w]) if w in results.get(l, {}) else "—" for l in libs]
        for i, l in enumerate(libs):
            if l not in mine and pw != w and pw in results.get(l, {}):
                cells[i] = fmt(results[l][pw])
        peer_rates = [(results[l][pw], l) for l in libs if l not in mine and pw in results.get(l, {})]
        best = max(peer_rates) if peer_rates else None
        best_peer[w] = best
        t = results.get("tally", {}).get(w)
        ratio = f"{t / best[0]:.2f}×" if best and t else "—"
        fl = floor.get(w)
        floor_cells = f"{fmt(fl)} | {t / fl:.0%}" if fl and t else "— | —"
        tn = results.get("tally-native", {}).get(w)
        native_cell = (f" {tn / fl:.0%} |" if fl and tn else " — |") if native else ""
        print(f"| {w} | " + " | ".join(cells) + f" | {fmt(best[0]) + ' (' + best[1] + ')' if best else '—'} | "
              f"{ratio} | {floor_cells} |" + native_cell)

    # The targets of issue 15 (default build).
    print()
    print("| target | measured | met |")
    print("| --- | --- | --- |")
    tally = results.get("tally", {})
    sk = results.get("sklearn", {}).get("W9")
    if "W9" in tally and sk:
        peak = peaks.get(("tally", "W9"))
        print(f"| W9 ≥ 10× scikit-learn, peak RSS < 1 GB | {tally['W9'] / sk:.1f}× ({fmt(tally['W9'])} vs {fmt(sk)}), "
              f"{peak:.0f} MB | {'yes' if tally['W9'] >= 10 * sk and peak is not None and peak < 1024 else 'no'} |")
    pl = results.get("polars", {}).get("W10")
    for w in ("W10", "W10(tally evaluate)"):
        if w in tally and pl:
            print(f"| {w} ≥ 1× polars | {tally[w] / pl:.2f}× ({fmt(tally[w])} vs {fmt(pl)}) | "
                  f"{'yes' if tally[w] >= pl else 'no'} |")
    for ws, goal in ((("W3", "W6", "W8"), 0.8), (("W1", "W5", "W7"), 0.7)):
        for w in ws:
            if w in tally and w in floor:
                print(f"| {w} ≥ {goal:.0%} of floor {floor_row[w]} | {tally[w] / floor[w]:.0%} "
                      f"({fmt(tally[w])} vs {fmt(floor[w])}) | {'yes' if tally[w] >= goal * floor[w] else 'no'} |")
    if "tally-before" in results:
        print()
        print("| workload | before (Mrows/s) | after (Mrows/s) | after / before |")
        print("| --- | --- | --- | --- |")
        for w in workloads:
            b, a = results["tally-before"].get(w), results.get("tally", {}).get(w)
            if a and b:
                print(f"| {w} | {fmt(b)} | {fmt(a)} | {a / b:.3f} |")
    print()
    for (peer, w), why in NOT_THE_SAME_METRIC.items():
        if (peer, w) in outputs and not args.no_check:
            print(f"Not compared: {peer} {w} ({outputs[(peer, w)]}): {why}.")
    if args.no_check:
        print("Results not checked (--no-check).")
    elif problems:
        print(f"Results DISAGREE ({len(problems)} of {checked} checks):")
        for p in problems:
            print(f"- {p}")
    else:
        print(f"Results agree: {checked} checks (Tally against the float64 reference and every peer's "
              f"result of the same workload; 1e-6 relative, W9 1e-9 absolute, plus print rounding).")
    print()
    print("Raw output:")
    print()
    print("```")
    for d in details:
        print(d.strip())
    print("```")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
