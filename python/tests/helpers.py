"""Reference runs of the real `tally` binary on .npy files, and the test data."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

#: Rows of the four Parquet files; the second one is empty.
FILE_ROWS = (17_000, 0, 13_000, 10_001)
COUNTRIES = np.array(["BR", "DE", "US"])


@dataclass
class Dataset:
    """Four Parquet files and their columns as numpy arrays (file order)."""

    folder: Path
    files: list[Path]
    parts: list[dict[str, np.ndarray]]

    def rows(self, order: Sequence[int] | None = None) -> dict[str, np.ndarray]:
        """All rows, the files concatenated in ``order`` (default: 0, 1, 2, 3)."""
        order = range(len(self.parts)) if order is None else order
        return {
            name: np.concatenate([self.parts[i][name] for i in order])
            for name in self.parts[0]
        }


def make_dataset(folder: Path) -> Dataset:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(20261202)
    folder.mkdir(parents=True, exist_ok=True)
    files, parts = [], []
    for index, rows in enumerate(FILE_ROWS):
        device = rng.integers(0, 3, rows)
        label = (rng.random(rows) < 0.3 + 0.1 * device).astype(np.float32)
        # Scores a little worse on devices 1 and 2; float32, as a model writes them.
        score = np.clip(0.35 * label + rng.random(rows) * (0.65 + 0.1 * device), 0, 1).astype(np.float32)
        part = {
            "label": label,
            "score": score,
            "weight": rng.random(rows) * 2.0,
            "device": device.astype(np.int64),
            "country": COUNTRIES[rng.integers(0, 3, rows)],
        }
        path = folder / f"part-{index}.parquet"
        pq.write_table(pa.table(part), path, row_group_size=4_000)
        files.append(path)
        parts.append(part)
    return Dataset(folder, files, parts)


def tally_json(tally: str, *args: str) -> dict[str, Any]:
    done = subprocess.run([tally, *args], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def metric_args(metrics: Sequence[Any]) -> list[str]:
    args = []
    for metric in metrics:
        args += ["--metric", metric if isinstance(metric, str) else json.dumps(metric)]
    return args


def evaluate_arrays(
    tally: str,
    rows: dict[str, np.ndarray],
    metrics: Sequence[Any],
    *,
    weight: bool = False,
    slice_by: Sequence[str] = (),
    extra: Sequence[str] = (),
    save_state: str | None = None,
) -> dict[str, Any]:
    """One `tally evaluate` over .npy files of these rows (`--format json`)."""
    with tempfile.TemporaryDirectory() as folder:
        def npy(name: str) -> str:
            path = os.path.join(folder, f"{name}.npy")
            np.save(path, rows[name])
            return path

        args = ["evaluate", *metric_args(metrics), "--y-true", npy("label"), "--y-pred", npy("score")]
        if weight:
            args += ["--sample-weight", npy("weight")]
        for name in slice_by:
            args += ["--slice-by", npy(name)]
        args += [*extra, "--format", "json", "--quiet"]
        if save_state is not None:
            args += ["--save-state", save_state]
        return tally_json(tally, *args)


def merge_states(tally: str, paths: Sequence[str], *extra: str) -> dict[str, Any]:
    return tally_json(tally, "merge", *paths, "--format", "json", *extra)


def relative_difference(a: Any, b: Any) -> float:
    """The largest relative difference between two results' numbers."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        return max([relative_difference(a[k], b[k]) for k in a] + [0.0])
    if isinstance(a, list):
        assert len(a) == len(b)
        return max([relative_difference(x, y) for x, y in zip(a, b)] + [0.0])
    if isinstance(a, float) or isinstance(b, float):
        if a == b:
            return 0.0
        return abs(a - b) / max(abs(a), abs(b))
    assert a == b
    return 0.0
