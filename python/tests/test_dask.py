"""tally_engine.dask on real Dask DataFrames (threads scheduler), against the
real tally binary run on the same rows as .npy files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from helpers import Dataset, evaluate_arrays, merge_states, relative_difference
from tally_engine import TallyError, _core
from tally_engine import dask as tally_dask
from test_spark import COUNT_METRICS, SUM_METRICS, failing_tally


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # A Dask partition arrives whole; cut it into several batches to test the framing.
    monkeypatch.setattr(_core, "MAX_BATCH_ROWS", 4_000)


def read_folder(dataset: Dataset) -> Any:
    import dask.dataframe as dd

    return dd.read_parquet(str(dataset.folder))


def concat_files(dataset: Dataset, order: Sequence[int]) -> Any:
    import dask.dataframe as dd

    return dd.concat([dd.read_parquet(str(dataset.files[i])) for i in order])


def test_the_folder_is_four_partitions_one_empty(dataset: Dataset) -> None:
    ddf = read_folder(dataset)
    assert ddf.map_partitions(len).compute().tolist() == [17_000, 0, 13_000, 10_001]


def test_count_metrics_equal_one_run_over_all_rows(dataset: Dataset, tally: str) -> None:
    result = tally_dask.evaluate(read_folder(dataset), COUNT_METRICS, tally=tally)
    assert result == evaluate_arrays(tally, dataset.rows(), COUNT_METRICS)


def test_sums_equal_the_merge_of_per_file_states(dataset: Dataset, tally: str, workdir: Path) -> None:
    result = tally_dask.evaluate(read_folder(dataset), SUM_METRICS, weight="weight", tally=tally)
    states = []
    for index, part in enumerate(dataset.parts):
        if len(part["label"]):
            path = str(workdir / f"file-{index}.json")
            evaluate_arrays(tally, part, SUM_METRICS, weight=True, save_state=path)
            states.append(path)
    assert result == merge_states(tally, states)
    single = evaluate_arrays(tally, dataset.rows(), SUM_METRICS, weight=True)
    assert relative_difference(result, single) <= 1e-12


def test_partition_order_and_empty_partitions_change_nothing(dataset: Dataset, tally: str) -> None:
    metrics = COUNT_METRICS + ["mse"]
    results = [
        tally_dask.evaluate(concat_files(dataset, order), metrics, weight="weight", tally=tally)
        for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1], [0, 2, 3], [1, 0, 1, 2, 1, 3])
    ]
    assert all(result == results[0] for result in results)


@pytest.mark.parametrize("slice_by", ["device", ["country", "device"]])
def test_slices_equal_separate_runs_on_the_filtered_rows(
    dataset: Dataset, tally: str, slice_by: str | list[str]
) -> None:
    metrics = COUNT_METRICS + ["mse"]
    result = tally_dask.evaluate(read_folder(dataset), metrics, slice_by=slice_by, tally=tally)
    rows = dataset.rows()
    names = [slice_by] if isinstance(slice_by, str) else slice_by
    keys = sorted({tuple(values) for values in zip(*(rows[name].tolist() for name in names))})
    assert len(result["slices"]) == len(keys)
    for key in keys:
        mask = np.ones(len(rows["label"]), dtype=bool)
        for name, value in zip(names, key):
            mask &= rows[name] == value
        expected = evaluate_arrays(tally, {name: column[mask] for name, column in rows.items()}, metrics)
        got = result["slices"]["|".join(str(value) for value in key)]
        assert got["key"] == list(key)
        assert got["samples"] == expected["samples"]
        assert relative_difference(got["results"], expected["results"]) <= 1e-12
        assert {k: v for k, v in got["results"].items() if k != "mse"} == {
            k: v for k, v in expected["results"].items() if k != "mse"
        }


def test_bootstrap_intervals_equal_one_run(dataset: Dataset, tally: str) -> None:
    order = [3, 1, 0, 2]
    metrics = ["binary_accuracy", {"class_name": "AUC", "config": {"num_thresholds": 50}}]
    result = tally_dask.evaluate(
        concat_files(dataset, order), metrics, slice_by=["country", "device"], bootstrap=8, seed=3, tally=tally
    )
    rows = dataset.rows(order)
    # tally's --slice-by files take integer keys: the country as its index.
    rows["country_code"] = np.searchsorted(np.array(["BR", "DE", "US"]), rows["country"]).astype(np.int64)
    expected = evaluate_arrays(
        tally, rows, metrics, slice_by=["country_code", "device"], extra=["--bootstrap", "8", "--seed", "3"]
    )
    assert result["results"] == expected["results"]
    assert result["intervals"] == expected["intervals"]
    for key, got in result["slices"].items():
        country, device = key.split("|")
        want = expected["slices"][f"{['BR', 'DE', 'US'].index(country)}|{device}"]
        assert got["results"] == want["results"] and got["intervals"] == want["intervals"]


def frame_with_nulls() -> tuple[Any, pd.DataFrame]:
    import dask.dataframe as dd

    rng = np.random.default_rng(9)
    n = 3_000
    frame = pd.DataFrame({
        "label": (rng.random(n) < 0.4).astype(np.float64),
        "score": rng.random(n),
        "device": pd.array(rng.integers(0, 3, n), dtype="Int64"),
    })
    frame.loc[frame.index % 97 == 0, "label"] = np.nan
    frame.loc[frame.index % 89 == 0, "score"] = np.nan
    frame.loc[frame.index % 101 == 0, "device"] = pd.NA
    return dd.from_pandas(frame, npartitions=3), frame


def test_nulls_are_an_error_unless_skipped(tally: str) -> None:
    ddf, frame = frame_with_nulls()
    with pytest.raises(TallyError) as caught:
        tally_dask.evaluate(ddf, ["binary_accuracy"], slice_by="device", tally=tally)
    message = str(caught.value)
    assert f"label column 'label' has {frame['label'].isna().sum()} null values" in message
    assert f"prediction column 'score' has {frame['score'].isna().sum()} null values" in message
    assert f"slice key column 'device' has {frame['device'].isna().sum()} null values" in message

    result = tally_dask.evaluate(ddf, ["binary_accuracy", "mse"], slice_by="device", skip_nulls=True, tally=tally)
    kept = frame.dropna()
    assert result["skipped_nulls"] == len(frame) - len(kept)
    expected = evaluate_arrays(
        tally, {"label": kept["label"].to_numpy(), "score": kept["score"].to_numpy()}, ["binary_accuracy", "mse"]
    )
    assert result["samples"] == len(kept)
    assert result["results"]["binary_accuracy"] == expected["results"]["binary_accuracy"]
    assert relative_difference(result["results"], expected["results"]) <= 1e-12


def test_errors(dataset: Dataset, tally: str, workdir: Path) -> None:
    ddf = read_folder(dataset)
    with pytest.raises(TallyError, match="label column 'y' not found"):
        tally_dask.evaluate(ddf, ["auc"], label="y", tally=tally)
    with pytest.raises(TallyError, match="prediction column 'country' has dtype"):
        tally_dask.evaluate(ddf, ["auc"], prediction="country", tally=tally)
    with pytest.raises(TallyError, match="slice key column 'weight' has dtype float64"):
        tally_dask.evaluate(ddf, ["auc"], slice_by="weight", tally=tally)
    with pytest.raises(TallyError, match="not found"):
        tally_dask.evaluate(ddf, ["auc"], tally=str(workdir / "no-tally"))
    with pytest.raises(TallyError, match=r"tally: error: .*bogus"):
        tally_dask.evaluate(ddf, ["bogus"], tally=tally)
    with pytest.raises(TallyError, match=r"^partition 0: tally: error: .*2"):
        tally_dask.evaluate(ddf, ["auc"], slice_by="device", max_slices=2, tally=tally)
    with pytest.raises(TallyError, match=r"^partition 0: tally: error: boom after 100 bytes$"):
        tally_dask.evaluate(ddf, ["auc"], tally=failing_tally(workdir, tally))


def test_an_object_column_of_strings_is_refused_per_partition(tally: str) -> None:
    import dask.dataframe as dd

    frame = pd.DataFrame({"label": [1.0, 0.0, 1.0], "score": pd.array(["0.9", "0.1", "x"], dtype=object)})
    ddf = dd.from_pandas(frame, npartitions=1)
    with pytest.raises(TallyError, match="prediction column 'score' has"):
        tally_dask.evaluate(ddf, ["auc"], tally=tally)


def test_object_columns_of_arrays_give_class_scores(tally: str) -> None:
    import dask.dataframe as dd

    rng = np.random.default_rng(12)
    classes = rng.integers(0, 3, 2_000)
    p = rng.random((2_000, 3))
    import pyarrow as pa

    # A typed column of lists (an object column of arrays would become strings:
    # Dask converts object columns to strings by default).
    scores = pd.array(list(p), dtype=pd.ArrowDtype(pa.list_(pa.float64())))
    frame = pd.DataFrame({"label": classes, "score": scores})
    metrics = ["sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy"]
    result = tally_dask.evaluate(dd.from_pandas(frame, npartitions=3), metrics, tally=tally)
    assert result == evaluate_arrays(tally, {"label": classes, "score": p}, metrics)
