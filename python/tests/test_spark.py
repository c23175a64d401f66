"""tally_engine.spark on a real local Spark (local[2], loopback), against the
real tally binary run on the same rows as .npy files."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import Dataset, evaluate_arrays, merge_states, relative_difference
from tally_engine import TallyError
from tally_engine import spark as tally_spark

#: Whole-number states: any partitioning gives the same bits.
COUNT_METRICS: list[Any] = [
    "binary_accuracy",
    "precision",
    "recall",
    "auc",
    {"class_name": "AUC", "config": {"num_thresholds": 500, "curve": "PR", "name": "pr_auc"}},
    {"class_name": "Precision", "config": {"thresholds": 0.55, "name": "precision_55"}},
]
#: Sums of doubles (tally keeps them compensated).
SUM_METRICS: list[Any] = ["mse", "mae", "binary_crossentropy", "binary_accuracy", "auc"]


@contextlib.contextmanager
def spark_conf(spark: Any, **settings: str) -> Iterator[None]:
    keys = {key.replace("_", "."): value for key, value in settings.items()}
    for key, value in keys.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key in keys:
            spark.conf.unset(key)


def union_of_files(spark: Any, ds: Dataset, order: Sequence[int]) -> Any:
    """Partition k holds file order[k], whole (each file is one small split)."""
    frames = [spark.read.parquet(str(ds.files[i])) for i in order]
    return functools.reduce(lambda a, b: a.union(b), frames)


def partition_sizes(df: Any) -> list[int]:
    return df.rdd.mapPartitions(lambda rows: [sum(1 for _ in rows)]).collect()


def test_reading_the_folder_gives_a_partition_per_file_and_an_empty_one(spark: Any, dataset: Dataset) -> None:
    with spark_conf(spark, spark_sql_files_openCostInBytes=str(1 << 30)):
        df = spark.read.parquet(str(dataset.folder))
        assert sorted(partition_sizes(df)) == sorted([17_000, 0, 13_000, 10_001])


@pytest.mark.parametrize("layout", ["per-file", "row-groups", "repartitioned"])
def test_count_metrics_equal_one_run_over_all_rows(spark: Any, dataset: Dataset, tally: str, layout: str) -> None:
    settings = {
        "per-file": {"spark_sql_files_openCostInBytes": str(1 << 30)},  # 4 partitions, one empty
        "row-groups": {"spark_sql_files_openCostInBytes": "0", "spark_sql_files_maxPartitionBytes": "20000"},
        "repartitioned": {},
    }[layout]
    with spark_conf(spark, **settings):
        df = spark.read.parquet(str(dataset.folder))
        if layout == "repartitioned":
            df = df.repartition(7)
        assert df.rdd.getNumPartitions() >= 4
        result = tally_spark.evaluate(df, COUNT_METRICS, label="label", prediction="score", tally=tally)
    expected = evaluate_arrays(tally, dataset.rows(), COUNT_METRICS)
    assert result == expected
    assert result["samples"] == sum(len(part["label"]) for part in dataset.parts)


def test_sums_equal_the_merge_of_per_file_states(spark: Any, dataset: Dataset, tally: str, workdir: Path) -> None:
    order = [0, 1, 2, 3]
    df = union_of_files(spark, dataset, order)
    assert partition_sizes(df) == [17_000, 0, 13_000, 10_001]
    result = tally_spark.evaluate(df, SUM_METRICS, weight="weight", tally=tally)

    states = []
    for index in order:
        if len(dataset.parts[index]["label"]) == 0:
            continue  # an empty partition sends no state: the identity of a merge
        path = str(workdir / f"file-{index}.json")
        evaluate_arrays(tally, dataset.parts[index], SUM_METRICS, weight=True, save_state=path)
        states.append(path)
    assert result == merge_states(tally, states)

    single = evaluate_arrays(tally, dataset.rows(order), SUM_METRICS, weight=True)
    assert relative_difference(result, single) <= 1e-12


def test_partition_order_changes_nothing(spark: Any, dataset: Dataset, tally: str) -> None:
    metrics = COUNT_METRICS + ["mse", "mae"]
    results = [
        tally_spark.evaluate(union_of_files(spark, dataset, order), metrics, weight=weight, tally=tally)
        for weight in (None, "weight")
        for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1])
    ]
    assert results[0] == results[1] == results[2]
    assert results[3] == results[4] == results[5]


def test_empty_partitions_change_nothing(spark: Any, dataset: Dataset, tally: str) -> None:
    metrics = COUNT_METRICS + ["mse"]
    with_empty = tally_spark.evaluate(union_of_files(spark, dataset, [0, 1, 2, 3]), metrics, weight="weight", tally=tally)
    without = tally_spark.evaluate(union_of_files(spark, dataset, [0, 2, 3]), metrics, weight="weight", tally=tally)
    more_empty = tally_spark.evaluate(
        union_of_files(spark, dataset, [1, 0, 1, 2, 1, 3, 1]), metrics, weight="weight", tally=tally
    )
    assert with_empty == without == more_empty


def test_no_rows_at_all_is_the_empty_result(spark: Any, dataset: Dataset, tally: str) -> None:
    df = spark.read.parquet(str(dataset.folder)).where("label > 5")
    result = tally_spark.evaluate(df, ["binary_accuracy", "mse"], tally=tally)
    assert result["samples"] == 0
    only_empty = tally_spark.evaluate(union_of_files(spark, dataset, [1, 1]), ["binary_accuracy", "mse"], tally=tally)
    assert only_empty == result


@pytest.mark.parametrize("slice_by", ["device", "country", ["country", "device"]])
def test_slices_equal_separate_runs_on_the_filtered_rows(
    spark: Any, dataset: Dataset, tally: str, slice_by: str | list[str]
) -> None:
    metrics = COUNT_METRICS + ["mse"]
    with spark_conf(spark, spark_sql_files_openCostInBytes="0", spark_sql_files_maxPartitionBytes="20000"):
        df = spark.read.parquet(str(dataset.folder))
        result = tally_spark.evaluate(df, metrics, slice_by=slice_by, tally=tally)
    rows = dataset.rows()
    overall = evaluate_arrays(tally, rows, metrics)
    assert relative_difference(result["results"], overall["results"]) <= 1e-12
    assert result["samples"] == overall["samples"]

    names = [slice_by] if isinstance(slice_by, str) else slice_by
    keys = sorted({tuple(values) for values in zip(*(rows[name].tolist() for name in names))})
    assert len(result["slices"]) == len(keys)
    for key in keys:
        mask = np.ones(len(rows["label"]), dtype=bool)
        for name, value in zip(names, key):
            mask &= rows[name] == value
        subset = {name: column[mask] for name, column in rows.items()}
        expected = evaluate_arrays(tally, subset, metrics)
        got = result["slices"]["|".join(str(value) for value in key)]
        assert got["key"] == list(key)
        assert got["samples"] == expected["samples"] == int(mask.sum())
        for name, value in expected["results"].items():
            if name == "mse":
                assert relative_difference(got["results"][name], value) <= 1e-12
            else:
                assert got["results"][name] == value, name


def test_bootstrap_intervals_equal_one_run_over_the_rows_in_partition_order(
    spark: Any, dataset: Dataset, tally: str
) -> None:
    order = [2, 1, 3, 0]
    df = union_of_files(spark, dataset, order)
    metrics = ["binary_accuracy", "auc", "precision"]
    # Small: with slices and replicates, states take tally a while to write and read.
    result = tally_spark.evaluate(df, metrics, slice_by="device", bootstrap=20, seed=7, confidence=0.9, tally=tally)
    expected = evaluate_arrays(
        tally, dataset.rows(order), metrics, slice_by=["device"],
        extra=["--bootstrap", "20", "--seed", "7", "--confidence", "0.9"],
    )
    assert result == expected
    assert result["intervals"]["auc"]["replicates"] == 20
    assert result["intervals"]["auc"]["confidence"] == 0.9


# ------------------------------------------------------------------ nulls


def frame_with_nulls(spark: Any) -> tuple[Any, list[tuple[Any, ...]]]:
    from pyspark.sql.types import DoubleType, FloatType, LongType, StringType, StructField, StructType

    rng = np.random.default_rng(5)
    rows: list[tuple[Any, ...]] = []
    for i in range(2_000):
        label = float(rng.random() < 0.4)
        score = float(np.float32(rng.random()))
        weight = float(rng.random())
        rows.append((label if i % 97 else None, score if i % 89 else None, weight if i % 211 else None, ["a", "b"][i % 2] if i % 101 else None, i % 3))
    schema = StructType([
        StructField("label", FloatType()), StructField("score", FloatType()), StructField("w", DoubleType()),
        StructField("group", StringType()), StructField("device", LongType()),
    ])
    return spark.createDataFrame(rows, schema).repartition(3), rows


def test_nulls_are_an_error_naming_the_column_and_counting_the_rows(spark: Any, tally: str) -> None:
    df, rows = frame_with_nulls(spark)
    label_nulls = sum(1 for row in rows if row[0] is None)
    score_nulls = sum(1 for row in rows if row[1] is None)
    null_rows = sum(1 for row in rows if row[0] is None or row[1] is None)
    with pytest.raises(TallyError) as caught:
        tally_spark.evaluate(df, ["binary_accuracy"], tally=tally)
    message = str(caught.value)
    assert f"label column 'label' has {label_nulls} null values" in message
    assert f"prediction column 'score' has {score_nulls} null values" in message
    assert f"{null_rows} of 2,000 rows have a null" in message
    assert "skip_nulls=True" in message

    with pytest.raises(TallyError, match=r"slice key column 'group' has \d+ null values"):
        tally_spark.evaluate(df.where("label IS NOT NULL AND score IS NOT NULL"), ["auc"], slice_by="group", tally=tally)
    with pytest.raises(TallyError, match=r"weight column 'w' has \d+ null values"):
        tally_spark.evaluate(df.where("label IS NOT NULL AND score IS NOT NULL"), ["auc"], weight="w", tally=tally)


def test_skip_nulls_drops_the_rows_and_counts_them(spark: Any, tally: str) -> None:
    df, rows = frame_with_nulls(spark)
    metrics = ["binary_accuracy", "auc", "mse"]
    kept = [row for row in rows if None not in row[:4]]
    result = tally_spark.evaluate(df, metrics, weight="w", slice_by="group", skip_nulls=True, tally=tally)
    assert result["skipped_nulls"] == len(rows) - len(kept)
    assert result["samples"] == len(kept)
    columns = {
        "label": np.array([row[0] for row in kept], dtype=np.float32),
        "score": np.array([row[1] for row in kept], dtype=np.float32),
        "weight": np.array([row[2] for row in kept], dtype=np.float64),
    }
    expected = evaluate_arrays(tally, columns, metrics, weight=True)
    assert relative_difference(result["results"], expected["results"]) <= 1e-12
    assert result["results"]["binary_accuracy"] == pytest.approx(expected["results"]["binary_accuracy"], rel=1e-12)
    assert sum(s["samples"] for s in result["slices"].values()) == len(kept)


def test_skip_nulls_with_bootstrap_counts_the_kept_rows_for_offsets(spark: Any, tally: str) -> None:
    df, rows = frame_with_nulls(spark)
    df = df.coalesce(1).union(df.coalesce(1))  # two partitions, known order: the rows twice
    kept = [row for row in rows if None not in row[:2]] * 2
    result = tally_spark.evaluate(df, ["binary_accuracy", "auc"], skip_nulls=True, bootstrap=30, seed=1, tally=tally)
    # The order within a coalesced partition is the repartitioned order, not `rows`;
    # the point estimate and the replicate count are what can be compared here.
    columns = {
        "label": np.array([row[0] for row in kept], dtype=np.float32),
        "score": np.array([row[1] for row in kept], dtype=np.float32),
    }
    expected = evaluate_arrays(tally, columns, ["binary_accuracy", "auc"])
    assert result["results"] == expected["results"]
    assert result["skipped_nulls"] == 2 * sum(1 for row in rows if None in row[:2])
    assert result["intervals"]["auc"]["replicates"] == 30


# ------------------------------------------------------------------ errors


def test_a_missing_column_is_an_error(spark: Any, dataset: Dataset, tally: str) -> None:
    df = spark.read.parquet(str(dataset.folder))
    with pytest.raises(TallyError, match="prediction column 'prob' not found"):
        tally_spark.evaluate(df, ["auc"], prediction="prob", tally=tally)
    with pytest.raises(TallyError, match="slice key column 'region' not found"):
        tally_spark.evaluate(df, ["auc"], slice_by=["device", "region"], tally=tally)


def test_a_non_numeric_column_is_an_error(spark: Any, dataset: Dataset, tally: str) -> None:
    df = spark.read.parquet(str(dataset.folder))
    with pytest.raises(TallyError, match="prediction column 'country' has type string; tally needs numbers"):
        tally_spark.evaluate(df, ["auc"], prediction="country", tally=tally)
    with pytest.raises(TallyError, match="slice key column 'score' has type float"):
        tally_spark.evaluate(df, ["auc"], slice_by="score", tally=tally)


def test_tally_not_found_is_an_error(spark: Any, dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    df = spark.read.parquet(str(dataset.folder))
    with pytest.raises(TallyError, match="not found"):
        tally_spark.evaluate(df, ["auc"], tally="/nonexistent/tally")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(TallyError, match="not found on PATH"):
        tally_spark.evaluate(df, ["auc"])


def test_an_unknown_metric_fails_with_tallys_message(spark: Any, dataset: Dataset, tally: str) -> None:
    df = spark.read.parquet(str(dataset.folder))
    with pytest.raises(TallyError, match=r"tally: error: .*bogus"):
        tally_spark.evaluate(df, ["auc", "bogus"], tally=tally)


def test_tally_failing_on_an_executor_is_one_error_with_its_message(spark: Any, dataset: Dataset, tally: str) -> None:
    df = union_of_files(spark, dataset, [0, 1, 2, 3])
    with pytest.raises(TallyError, match=r"^partition 0: tally: error: .*2") as caught:
        tally_spark.evaluate(df, ["auc"], slice_by="device", max_slices=2, tally=tally)
    assert caught.value.partition == 0


def failing_tally(folder: Path, tally: str) -> str:
    """A tally that gives up after reading a little of a non-empty stream."""
    path = folder / "tally-failing"
    path.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = evaluate ]; then\n'
        "  first=$(head -c 100 | wc -c)\n"
        '  if [ "$first" -gt 0 ]; then echo "tally: error: boom after $first bytes" >&2; exit 3; fi\n'
        "fi\n"
        f'exec {tally} "$@"\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_tally_dying_mid_stream_is_reported(spark: Any, dataset: Dataset, tally: str, workdir: Path) -> None:
    df = union_of_files(spark, dataset, [1, 0, 2, 3])
    with pytest.raises(TallyError, match=r"^partition 1: tally: error: boom after 100 bytes$"):
        tally_spark.evaluate(df, ["auc"], tally=failing_tally(workdir, tally))


def test_a_binary_shipped_with_addFile_is_the_one_executors_run(
    spark: Any, dataset: Dataset, tally: str, workdir: Path
) -> None:
    # On the driver, a tally that would fail on data; shipped under the same
    # name, the real one: a right result means the executors ran the shipped copy.
    driver = Path(failing_tally(workdir, tally))
    name = f"tally-shipped-{os.getpid()}"
    driver = driver.rename(driver.with_name(name))
    shipped_folder = workdir / "ship"
    shipped_folder.mkdir()
    shutil.copy(tally, shipped_folder / name)
    spark.sparkContext.addFile(str(shipped_folder / name))
    df = union_of_files(spark, dataset, [0, 1, 2, 3])
    result = tally_spark.evaluate(df, COUNT_METRICS, tally=str(driver))
    assert result == evaluate_arrays(tally, dataset.rows(), COUNT_METRICS)


def test_array_columns_give_class_scores(spark: Any, tally: str) -> None:
    from pyspark.sql.types import ArrayType, FloatType, StructField, StructType

    rng = np.random.default_rng(11)
    classes = rng.integers(0, 4, 3_000)
    y = np.eye(4, dtype=np.float32)[classes]
    p = rng.random((3_000, 4)).astype(np.float32)
    schema = StructType([StructField("label", ArrayType(FloatType())), StructField("score", ArrayType(FloatType()))])
    df = spark.createDataFrame([(a.tolist(), b.tolist()) for a, b in zip(y, p)], schema).repartition(3)
    metrics = ["categorical_accuracy", "top_k_categorical_accuracy", "categorical_crossentropy"]
    result = tally_spark.evaluate(df, metrics, tally=tally)
    expected = evaluate_arrays(tally, {"label": y, "score": p}, metrics)
    assert result["results"] == {**expected["results"], "categorical_crossentropy": result["results"]["categorical_crossentropy"]}
    assert relative_difference(result, expected) <= 1e-12
