#!/usr/bin/env python3
"""Reference results of the standard workloads, computed from the data files.

Usage:  python3 Scripts/bench-reference.py DIR

DIR holds the files of `python3 ../shared/bench/peers.py write-data DIR`.
Prints one line per workload, `reference WORKLOAD result`, with the result
to full double precision (`repr`), so that `compare-benchmarks.py` can check
Tally's results beyond the six decimals `peers.py` prints.

Each result follows Keras's definition, computed in float64 from the
float32/int64 arrays (where Keras computes an element in float32, as the
squared error of W5, so does this):

* W1 binary accuracy: mean of `(y_pred > 0.5) == y_true`.
* W3 sparse categorical accuracy: mean of `argmax(logits) == label`
  (the first maximum, as NumPy's and Keras's argmax).
* W4 mean IoU (21 classes): confusion matrix, `tp / (tp + fp + fn)` per class,
  averaged over the classes whose denominator is not zero.
* W5 mean squared error: `(y_true - y_pred)` squared in float32, averaged in float64.
* W6 sparse categorical cross-entropy from probabilities: each row divided
  by its sum, clipped to [1e-7, 1 - 1e-7], `-log` of the label's entry, averaged.
* W7 precision at 0.5: `tp / (tp + fp)` with `y_pred > 0.5`.
* W8 top-5 accuracy: the label is in the top 5 when fewer than 5 scores of its
  row are larger than the label's.
* W9 exact ROC AUC: scikit-learn's `roc_auc_score` (if installed; else the
  rank statistic with tied scores at their mean rank, which is the same number).
* W10 binary accuracy on w10.csv: `(score > 0.5) == (label > 0.5)`, the file
  parsed as float64 (polars or pandas if installed, else Python's csv module).

W2 (Keras's 200-threshold AUC) has no reference here: its buckets are Keras's
rule, checked against the Keras peers' results instead.
"""
import csv
import os
import sys

import numpy as np


def load(d, name):
    return np.load(os.path.join(d, name + ".npy"), mmap_mode="r")


def exact_auc(y_true, y_score):
    """Exact ROC AUC; scikit-learn's when installed."""
    try:
        from sklearn.metrics import roc_auc_score
        return float(roc_auc_score(y_true, y_score))
    except ImportError:
        order = np.argsort(y_score, kind="mergesort")
        s = np.asarray(y_score)[order]
        ranks = np.empty(len(s), dtype=np.float64)
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        ends = np.r_[starts[1:], len(s)]
        mean_rank = (starts + ends + 1) / 2.0  # 1-based mean rank of each run of ties
        ranks[order] = np.repeat(mean_rank, ends - starts)
        pos = np.asarray(y_true) > 0.5
        n_pos, n_neg = pos.sum(), (~pos).sum()
        return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def csv_accuracy(path):
    try:
        import polars as pl
        df = pl.read_csv(path, schema_overrides={"label": pl.Float64, "score": pl.Float64})
        label, score = df["label"].to_numpy(), df["score"].to_numpy()
    except ImportError:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))[1:]
        label = np.array([float(r[0]) for r in rows])
        score = np.array([float(r[1]) for r in rows])
    return float(np.mean((score > 0.5) == (label > 0.5)))


def main():
    d = sys.argv[1]
    out = {}
    yt, yp = np.asarray(load(d, "w1_y_true")), np.asarray(load(d, "w1_y_pred"))
    out["W1_binary_accuracy"] = float(np.mean((yp > 0.5).astype(np.float32) == yt))
    hit = yp > 0.5
    tp = np.count_nonzero(hit & (yt > 0.5))
    out["W7_precision_0.5"] = tp / np.count_nonzero(hit)
    out["W9_exact_auc"] = exact_auc(yt, yp)

    rt, rp = np.asarray(load(d, "w5_y_true")), np.asarray(load(d, "w5_y_pred"))
    diff = (rt - rp).astype(np.float32)
    out["W5_mse"] = float(np.sum((diff * diff).astype(np.float64)) / len(diff))

    st, sp = np.asarray(load(d, "w4_y_true")).ravel(), np.asarray(load(d, "w4_y_pred")).ravel()
    cm = np.bincount(st * 21 + sp, minlength=21 * 21).reshape(21, 21).astype(np.float64)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    out["W4_mean_iou_21"] = float(np.mean(inter[union > 0] / union[union > 0]))

    labels = np.asarray(load(d, "w3_labels"))
    logits = load(d, "w3_logits")
    right = top5 = 0
    for i in range(0, len(labels), 20_000):  # in blocks: 800 MB of logits
        block = np.asarray(logits[i:i + 20_000])
        lab = labels[i:i + 20_000]
        right += np.count_nonzero(block.argmax(1) == lab)
        own = block[np.arange(len(lab)), lab]
        top5 += np.count_nonzero((block > own[:, None]).sum(1) < 5)
    out["W3_sparse_categorical_accuracy"] = right / len(labels)
    out["W8_top5_accuracy"] = top5 / len(labels)

    probs = load(d, "w6_probs")
    total = 0.0
    for i in range(0, len(labels), 20_000):
        block = np.asarray(probs[i:i + 20_000], dtype=np.float64)
        lab = labels[i:i + 20_000]
        p = block[np.arange(len(lab)), lab] / block.sum(1)
        total += float(-np.log(np.clip(p, 1e-7, 1 - 1e-7)).sum())
    out["W6_sparse_categorical_crossentropy"] = total / len(labels)

    csv_path = os.path.join(d, "w10.csv")
    if os.path.exists(csv_path):
        out["W10_csv_binary_accuracy"] = csv_accuracy(csv_path)

    for name, value in out.items():
        print(f"reference {name} {float(value)!r}")


if __name__ == "__main__":
    main()
