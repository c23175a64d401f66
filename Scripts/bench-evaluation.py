#!/usr/bin/env python3
"""Time `tally evaluate` plain, bootstrapped and sliced, beside TorchMetrics, on W1's data.

Usage (from the repository root):

    python3 Scripts/bench-evaluation.py [--data .bench-data] [--runs 3]
        [--peer-python /work/venv-bench/bin/python] [--peer-bootstraps 20]
        [--peer-slice-keys 1000] [--no-build] [--tally PATH] [--peers ../shared/bench/peers.py]

* Data: W1 of the standard workloads (10,000,000 float32 rows; see WORKLOADS.md),
  written into `--data` by `python3 peers.py write-data DIR` when missing (this writes
  every workload, about 1.8 GB), plus `w1_slices1000.npy`: int64 slice keys uniform
  in 0..999 from `numpy.random.default_rng(12)`, written once, and the same keys as
  int32 in `w1_slices1000_int32.npy` (half the bytes: the key file of int64 keys is
  as large as both inputs together).
* Tally: built with `swift build -c release --product tally` (skip with `--no-build`),
  then each command timed as a whole process (wall clock, start-up and file reading
  included, and the process's CPU time, user + system): best of `--runs` after one
  warm-up round, for `tally evaluate --metric binary_accuracy --metric auc`, the
  same with `--bootstrap 200 --seed 1`, and the same with `--slice-by
  w1_slices1000.npy`, and with the int32 keys (whose slices must come out the same).
  The four take turns (one of each per round), so a ratio is
  not one command's fast minutes against another's slow ones: this VM's speed swings
  threefold within minutes.
* Peer: TorchMetrics, in a subprocess of `--peer-python` (a venv with torch and
  torchmetrics; skipped with a note when it has none), on the same arrays in-process
  (no file reading timed; the warm-up of the bootstrap is one batch, of the slices
  5 keys), 10 batches of 1,000,000 rows:
  `BinaryAccuracy()` + `BinaryAUROC(thresholds=200)`; then one
  `BootStrapper(..., sampling_strategy="poisson")` for each; then, for slices, for each
  key a boolean mask over all rows and both metrics on the masked rows.
  BootStrapper costs about a second per replicate per million rows, so by default it
  runs `--peer-bootstraps 20` replicates and the time is scaled linearly to 200
  (marked "extrapolated"); `--peer-bootstraps 200` measures it in full (about half an
  hour per pass). `--peer-slice-keys K` < 1000 times K keys and scales to 1,000 in the
  same way. The peer runs with OMP_WAIT_POLICY=PASSIVE unless the environment sets it
  (torch's default busy-waiting was 5-15x slower on the 2-vCPU VM this was written on).

Prints the values of both (they must agree to float32 rounding) and a Markdown table:
seconds, ratio to Tally's plain pass, CPU seconds and their ratio, TorchMetrics
seconds and the speed-up (TorchMetrics seconds / Tally seconds).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SLICE_KEYS = 1000
BOOTSTRAPS = 200
BATCH = 1_000_000
METRICS = ["--metric", "binary_accuracy", "--metric", "auc"]
Json = dict[str, Any]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def best_of(fn: Callable[[], Any], runs: int, warmup: Optional[Callable[[], Any]] = None) -> tuple[float, Any]:
    """Best wall-clock seconds of `runs` calls after one warm-up call; the last call's result."""
    (warmup or fn)()
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


# ---------------------------------------------------------------------------- data

def ensure_data(data: Path, peers_py: Path) -> None:
    if not (data / "w1_y_true.npy").exists() or not (data / "w1_y_pred.npy").exists():
        log(f"writing the standard workloads into {data} (peers.py write-data) ...")
        subprocess.run([sys.executable, str(peers_py), "write-data", str(data)], check=True)
    keys = data / "w1_slices1000.npy"
    if not keys.exists():
        n = np.load(data / "w1_y_true.npy", mmap_mode="r").shape[0]
        np.save(keys, np.random.default_rng(12).integers(0, SLICE_KEYS, size=n, dtype=np.int64))
        log(f"wrote {keys}")
    narrow = data / "w1_slices1000_int32.npy"
    if not narrow.exists():
        np.save(narrow, np.load(keys).astype(np.int32))
        log(f"wrote {narrow}")


# ---------------------------------------------------------------------------- tally

def build_tally() -> None:
    # SwiftPM waits by itself while another build holds the .build lock.
    log("swift build -c release --product tally ...")
    subprocess.run(["swift", "build", "-c", "release", "--product", "tally"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def time_tally(tally: Path, data: Path, commands: dict[str, list[str]], runs: int) -> dict[str, Json]:
    """Each command's best wall-clock and best CPU seconds (user + system, of the process) of `runs`,
    after one warm-up round; the commands take turns, so each round sees the machine in one state."""
    def cmd(extra: list[str]) -> list[str]:
        return [str(tally), "evaluate", *METRICS, "--y-true", str(data / "w1_y_true.npy"),
                "--y-pred", str(data / "w1_y_pred.npy"), "--format", "json", "--quiet", *extra]

    def run(extra: list[str]) -> tuple[float, float, Json]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        out = subprocess.run(cmd(extra), check=True, capture_output=True, text=True).stdout
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        result: Json = json.loads(out)
        return wall, cpu, result

    for key, extra in commands.items():
        log("timing " + " ".join(cmd(extra)[1:]))
    best: dict[str, Json] = {}
    for r in range(runs + 1):
        for key, extra in commands.items():
            wall, cpu, result = run(extra)
            if r == 0:
                continue
            b = best.setdefault(key, {"seconds": wall, "cpu_seconds": cpu, **result})
            b["seconds"], b["cpu_seconds"] = min(b["seconds"], wall), min(b["cpu_seconds"], cpu)
    return best


# ---------------------------------------------------------------------------- peer

def peer_worker(data: Path, runs: int, bootstraps: int, slice_keys: int) -> None:
    """Runs under the peer's Python; prints one JSON object on stdout."""
    import torch
    import torchmetrics
    from torchmetrics.classification import BinaryAccuracy, BinaryAUROC
    from torchmetrics.wrappers import BootStrapper

    preds = torch.from_numpy(np.load(data / "w1_y_pred.npy"))
    target = torch.from_numpy(np.load(data / "w1_y_true.npy")).long()
    keys = torch.from_numpy(np.load(data / "w1_slices1000.npy"))
    n = preds.shape[0]
    batches = [(preds[i:i + BATCH], target[i:i + BATCH]) for i in range(0, n, BATCH)]

    def stream(metrics: list[Any], parts: list[tuple[Any, Any]]) -> list[Any]:
        for m in metrics:
            m.reset()
        for p, t in parts:
            for m in metrics:
                m.update(p, t)
        return [m.compute() for m in metrics]

    log("TorchMetrics: plain pass ...")
    plain = [BinaryAccuracy(), BinaryAUROC(thresholds=200)]
    t_plain, (acc, auc) = best_of(lambda: stream(plain, batches), runs)

    log(f"TorchMetrics: BootStrapper x {bootstraps} ...")
    boot = [BootStrapper(BinaryAccuracy(), num_bootstraps=bootstraps, sampling_strategy="poisson"),
            BootStrapper(BinaryAUROC(thresholds=200), num_bootstraps=bootstraps, sampling_strategy="poisson")]
    t_boot, (b_acc, b_auc) = best_of(lambda: stream(boot, batches), runs,
                                     warmup=lambda: stream(boot, batches[:1]))

    log(f"TorchMetrics: {slice_keys} slices ...")
    per_slice = [BinaryAccuracy(), BinaryAUROC(thresholds=200)]

    def slices(count: int) -> dict[str, list[float]]:
        values: dict[str, list[float]] = {}
        for k in range(count):
            mask = keys == k
            values[str(k)] = [float(v) for v in stream(per_slice, [(preds[mask], target[mask])])]
        return values

    t_slices, slice_values = best_of(lambda: slices(slice_keys), runs, warmup=lambda: slices(5))

    print(json.dumps({
        "versions": {"torch": torch.__version__, "torchmetrics": torchmetrics.__version__,
                     "torch_threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")},
        "plain": {"seconds": t_plain, "binary_accuracy": float(acc), "auc": float(auc)},
        "bootstrap": {"seconds": t_boot, "measured_replicates": bootstraps,
                      "scaled_seconds": t_boot * BOOTSTRAPS / bootstraps,
                      "binary_accuracy": {k: float(v) for k, v in b_acc.items()},
                      "auc": {k: float(v) for k, v in b_auc.items()}},
        "slices": {"seconds": t_slices, "measured_keys": slice_keys,
                   "scaled_seconds": t_slices * SLICE_KEYS / slice_keys, "values": slice_values},
    }))


def run_peer(python: str, data: Path, runs: int, bootstraps: int, slice_keys: int) -> Optional[Json]:
    try:
        probe = subprocess.run([python, "-c", "import torch, torchmetrics"], capture_output=True)
    except OSError:
        probe = None
    if probe is None or probe.returncode != 0:
        print(f"NOTE: {python} is missing or has no torch/torchmetrics; TorchMetrics skipped.\n")
        return None
    cmd = [python, str(Path(__file__).resolve()), "--peer-worker", "--data", str(data), "--runs", str(runs),
           "--peer-bootstraps", str(bootstraps), "--peer-slice-keys", str(slice_keys)]
    # libgomp's default busy-waiting made torch 5-15x slower on a 2-vCPU VM; passive waiting was never
    # slower there, so it is the peer's default unless the caller sets OMP_WAIT_POLICY.
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
    result: Json = json.loads(out.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------------------- report

def header(peer: Optional[Json]) -> str:
    git = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    libs = [f"tally {git.stdout.strip() or '?'}", f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    if peer:
        v = peer["versions"]
        libs += [f"torch {v['torch']} ({v['torch_threads']} threads, OMP_WAIT_POLICY={v['omp_wait_policy']})",
                 f"torchmetrics {v['torchmetrics']}"]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"{date}, {platform.machine()}, {os.cpu_count()} cores; " + ", ".join(libs)


def print_values(tally: dict[str, Json], peer: Optional[Json]) -> None:
    plain = tally["plain"]["results"]
    print("Values")
    print(f"  tally plain:        binary_accuracy {plain['binary_accuracy']:.7f}  auc {plain['auc']:.7f}")
    for name, iv in tally["bootstrap"]["intervals"].items():
        print(f"  tally --bootstrap:  {name} stderr {iv['stderr']:.7f}  {iv['confidence']:.0%} CI "
              f"[{iv['ci'][0]:.7f}, {iv['ci'][1]:.7f}]  ({iv['replicates']} replicates)")
    t_slices = {str(s["key"][0]): s["results"] for s in tally["slices"]["slices"].values()}
    print(f"  tally slices:       {len(t_slices)} slices")
    if not peer:
        print()
        return
    p = peer["plain"]
    print(f"  TorchMetrics plain: accuracy        {p['binary_accuracy']:.7f}  auroc {p['auc']:.7f}"
          f"  (|diff| {abs(p['binary_accuracy'] - plain['binary_accuracy']):.1e}, {abs(p['auc'] - plain['auc']):.1e})")
    b = peer["bootstrap"]
    for name in ("binary_accuracy", "auc"):
        print(f"  TorchMetrics BootStrapper: {name} mean {b[name]['mean']:.7f}  std {b[name]['std']:.7f}"
              f"  ({b['measured_replicates']} replicates)")
    diffs = [max(abs(a - t_slices[k][m]) for a, m in zip(v, ("binary_accuracy", "auc")))
             for k, v in peer["slices"]["values"].items()]
    print(f"  TorchMetrics slices: {len(diffs)} keys, largest |diff| to tally's slice values {max(diffs):.1e}\n")


def print_table(tally: dict[str, Json], peer: Optional[Json]) -> None:
    base = tally["plain"]["seconds"]
    peer_cells: dict[str, tuple[float, str]] = {}
    notes: list[str] = []
    if peer:
        peer_cells["plain"] = (peer["plain"]["seconds"], "")
        b, s = peer["bootstrap"], peer["slices"]
        extrapolated = " (extrapolated)"
        peer_cells["bootstrap"] = (b["scaled_seconds"], extrapolated if b["measured_replicates"] != BOOTSTRAPS else "")
        peer_cells["slices"] = (s["scaled_seconds"], extrapolated if s["measured_keys"] != SLICE_KEYS else "")
        if b["measured_replicates"] != BOOTSTRAPS:
            notes.append(f"TorchMetrics BootStrapper: {b['measured_replicates']} replicates measured "
                         f"({b['seconds']:.1f} s), scaled linearly to {BOOTSTRAPS}.")
        if s["measured_keys"] != SLICE_KEYS:
            notes.append(f"TorchMetrics slices: {s['measured_keys']} keys measured ({s['seconds']:.1f} s), "
                         f"scaled linearly to {SLICE_KEYS}.")
    rows = [("plain", "plain pass"), ("bootstrap", f"--bootstrap {BOOTSTRAPS}"), ("slices", "1,000 slices"),
            ("slices_int32", "1,000 slices, int32 keys")]
    print(header(peer) + "\n")
    cpu_base = tally["plain"]["cpu_seconds"]
    print("| W1, 10,000,000 rows, binary_accuracy + auc | tally s | × tally plain | tally CPU s | × plain CPU "
          "| TorchMetrics s | speed-up |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key, label in rows:
        t, c = tally[key]["seconds"], tally[key]["cpu_seconds"]
        if key in peer_cells:
            ps, mark = peer_cells[key]
            peer_text, speedup = f"{ps:.2f}{mark}", f"{ps / t:.0f}×"
        else:
            peer_text, speedup = "—", "—"
        print(f"| {label} | {t:.3f} | {t / base:.2f} | {c:.3f} | {c / cpu_base:.2f} | {peer_text} | {speedup} |")
    print("\nTally: whole `tally evaluate` process, wall clock (start-up and .npy reading included), and its CPU "
          "time (user + system, both cores); the four commands take turns, best of runs after a warm-up round. "
          "TorchMetrics: in-process update loop + compute on arrays already in memory, best of runs after a warm-up.")
    for note in notes:
        print("NOTE: " + note)


# ---------------------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / ".bench-data", help="data folder (default: .bench-data)")
    ap.add_argument("--peers", type=Path, default=ROOT.parent / "shared/bench/peers.py",
                    help="the standard workloads' peers.py (default: ../shared/bench/peers.py)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs after one warm-up; the best counts")
    ap.add_argument("--tally", type=Path, default=ROOT / ".build/release/tally", help="the tally binary")
    ap.add_argument("--no-build", action="store_true", help="don't run swift build first")
    ap.add_argument("--peer-python", default="/work/venv-bench/bin/python", help="a Python with torchmetrics")
    ap.add_argument("--peer-bootstraps", type=int, default=20, help="BootStrapper replicates timed (scaled to 200)")
    ap.add_argument("--peer-slice-keys", type=int, default=SLICE_KEYS, help="slice keys timed (scaled to 1,000)")
    ap.add_argument("--peer-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    data = args.data.resolve()
    if args.peer_worker:
        peer_worker(data, args.runs, args.peer_bootstraps, args.peer_slice_keys)
        return

    ensure_data(data, args.peers)
    if not args.no_build:
        build_tally()
    tally = time_tally(args.tally, data, {
        "plain": [], "bootstrap": ["--bootstrap", str(BOOTSTRAPS), "--seed", "1"],
        "slices": ["--slice-by", str(data / "w1_slices1000.npy")],
        "slices_int32": ["--slice-by", str(data / "w1_slices1000_int32.npy")]}, args.runs)
    if tally["slices_int32"]["slices"] != tally["slices"]["slices"]:
        sys.exit("the int32 keys' slices differ from the int64 keys' slices")
    peer = run_peer(args.peer_python, data, args.runs, args.peer_bootstraps, args.peer_slice_keys)
    print_values(tally, peer)
    print_table(tally, peer)


if __name__ == "__main__":
    main()
