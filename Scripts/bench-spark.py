#!/usr/bin/env python3
"""Tally on Spark against Spark MLlib's own evaluator, on W1's data as Parquet.

Usage (from the repository root, with the engines' venv of Scripts/engine-env.sh):

    "$(Scripts/engine-env.sh | tail -n1)" Scripts/bench-spark.py [--data .bench-data]
        [--tally .build/release/tally] [--runs 2] [--files 4]

* Data: W1 of the standard workloads (10,000,000 float32 rows; `python3
  ../shared/bench/peers.py write-data DIR` writes `w1_y_true.npy`, `w1_y_pred.npy`),
  written once as `--files` Parquet files (`w1_parquet/part-K.parquet`, columns
  `label` float64 and `score` float64, the float32 values widened) and read as one
  DataFrame.
* Spark: `local[2]`, loopback only (SPARK_LOCAL_IP=127.0.0.1, driver bound to
  127.0.0.1, UI off), one session for everything; the DataFrame is read from
  Parquet in every timed run (no caching: each program reads the same files).
* Timed, best of `--runs` after one warm-up run each:
  - `tally_engine.spark.evaluate(df, ["auc"])` (200 thresholds, as Keras),
  - `tally_engine.spark.evaluate(df, ["exact_auc"])`,
  - MLlib `BinaryClassificationEvaluator(metricName="areaUnderROC")` (default
    numBins=1000), the score column as its raw prediction (MLlib accepts a
    double column there).
* Values: each program's AUC, and scikit-learn's exact `roc_auc_score` on the
  same float32 arrays (when scikit-learn is importable) for reference.

Prints a Markdown table: seconds, AUC, and MLlib's time over Tally's.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def write_parquet(data: Path, files: int) -> Path:
    out = data / "w1_parquet"
    if out.exists() and len(list(out.glob("*.parquet"))) == files:
        return out
    import pyarrow as pa
    import pyarrow.parquet as pq

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    y = np.load(data / "w1_y_true.npy")
    p = np.load(data / "w1_y_pred.npy")
    bounds = np.linspace(0, len(y), files + 1).astype(int)
    for k in range(files):
        a, b = bounds[k], bounds[k + 1]
        table = pa.table({"label": y[a:b].astype(np.float64), "score": p[a:b].astype(np.float64)})
        pq.write_table(table, out / f"part-{k}.parquet")
    return out


def best(runs: int, f):
    f()  # warm-up
    times, value = [], None
    for _ in range(runs):
        t = time.perf_counter()
        value = f()
        times.append(time.perf_counter() - t)
    return min(times), value


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / ".bench-data"))
    ap.add_argument("--tally", default=str(ROOT / ".build/release/tally"))
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--files", type=int, default=4)
    args = ap.parse_args()
    data = Path(args.data)
    if not (data / "w1_y_true.npy").exists():
        sys.exit(f"no W1 data in {data}: run python3 ../shared/bench/peers.py write-data {data}")
    parquet = write_parquet(data, args.files)

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    import tally_engine.spark as tspark

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")

    def df():
        return spark.read.parquet(str(parquet))

    rows = []
    t, r = best(args.runs, lambda: tspark.evaluate(df(), ["auc"], label="label", prediction="score", tally=args.tally))
    rows.append(("tally_engine.spark.evaluate(['auc']) (200 thresholds)", t, r["results"]["auc"]))
    t, r = best(
        args.runs, lambda: tspark.evaluate(df(), ["exact_auc"], label="label", prediction="score", tally=args.tally)
    )
    rows.append(("tally_engine.spark.evaluate(['exact_auc'])", t, r["results"]["exact_auc"]))
    evaluator = BinaryClassificationEvaluator(
        rawPredictionCol="score", labelCol="label", metricName="areaUnderROC"
    )
    t, v = best(args.runs, lambda: evaluator.evaluate(df()))
    rows.append(("MLlib BinaryClassificationEvaluator(areaUnderROC), numBins=1000", t, v))
    spark.stop()

    exact = None
    try:
        from sklearn.metrics import roc_auc_score

        exact = roc_auc_score(np.load(data / "w1_y_true.npy"), np.load(data / "w1_y_pred.npy"))
    except ImportError:
        pass

    mllib = rows[-1][1]
    print(f"\n10,000,000 rows in {args.files} Parquet files, Spark local[2], best of {args.runs}\n")
    print("| program | seconds | AUC | MLlib time / this |")
    print("| --- | ---: | ---: | ---: |")
    for name, t, v in rows:
        print(f"| {name} | {t:.2f} | {v:.8f} | {mllib / t:.1f}× |")
    if exact is not None:
        print(f"| scikit-learn roc_auc_score (exact, reference) | | {exact:.8f} | |")


if __name__ == "__main__":
    main()
