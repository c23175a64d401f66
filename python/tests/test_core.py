"""The partition runner without an engine: column conversions, nulls, errors."""

from __future__ import annotations

import decimal
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from helpers import evaluate_arrays
from tally_engine import TallyError, _core


def plan(tally: str, metrics: list[Any], **changes: Any) -> _core.Plan:
    settings: dict[str, Any] = dict(
        metrics=metrics, label="y", prediction="p", weight=None, slice_by=None, bootstrap=None, seed=0,
        tally=tally, skip_nulls=False, confidence=0.95, max_slices=None, min_slice_weight=None,
    )
    settings.update(changes)
    return _core.make_plan(**settings)


def run(the_plan: _core.Plan, *columns: pa.Array, batch: int = 1000) -> _core.Outcome:
    names = [f"c{i}" for i in range(len(columns))]
    table = pa.Table.from_arrays(list(columns), names=names)
    return _core.run_partition(table.to_batches(max_chunksize=batch), the_plan, 0, None, the_plan.tally)


def merged(the_plan: _core.Plan, *outcomes: _core.Outcome) -> dict[str, Any]:
    return _core.merge(list(outcomes), the_plan, 0.95, _core.empty_state(the_plan))


def test_metric_specs_are_strings_or_json() -> None:
    config = {"class_name": "AUC", "config": {"num_thresholds": 7}}
    assert _core.metric_strings(["auc", config]) == ("auc", json.dumps(config))
    assert _core.metric_strings("mse") == ("mse",)
    with pytest.raises(TallyError, match="no metric"):
        _core.metric_strings([])
    with pytest.raises(TallyError, match="a string or a dict"):
        _core.metric_strings([3])  # type: ignore[list-item]


def test_argument_checks(tally: str) -> None:
    with pytest.raises(TallyError, match="bootstrap"):
        plan(tally, ["auc"], bootstrap=0)
    with pytest.raises(TallyError, match="confidence"):
        plan(tally, ["auc"], confidence=1.0)
    with pytest.raises(TallyError, match="max_slices"):
        plan(tally, ["auc"], max_slices=0)


def test_value_types_reach_tally_as_numbers(tally: str) -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(2_500) < 0.5)
    p = rng.random(2_500)
    expected = evaluate_arrays(tally, {"label": y.astype(np.float64), "score": p}, ["binary_accuracy", "mse"])
    the_plan = plan(tally, ["binary_accuracy", "mse"])
    for label in (
        pa.array(y),  # bool
        pa.array(y.astype(np.uint64)),
        pa.array(y.astype(np.uint16)),
        pa.array(y.astype(np.int8)),
        pa.array([decimal.Decimal(int(v)) for v in y], type=pa.decimal128(5, 2)),
        pa.array(y.astype(np.float64)).dictionary_encode(),
    ):
        result = merged(the_plan, run(the_plan, label, pa.array(p)))
        assert result == expected, label.type


def test_array_columns_are_rows_of_classes(tally: str) -> None:
    rng = np.random.default_rng(4)
    classes = rng.integers(0, 3, 1_200)
    y = np.eye(3, dtype=np.float32)[classes]
    p = rng.random((1_200, 3)).astype(np.float32)
    metrics = ["categorical_accuracy", "categorical_crossentropy"]
    expected = evaluate_arrays(tally, {"label": y, "score": p}, metrics)
    the_plan = plan(tally, metrics)
    as_lists = run(the_plan, pa.array(list(y)), pa.array(list(p)), batch=500)
    fixed = run(
        the_plan,
        pa.FixedSizeListArray.from_arrays(pa.array(y.ravel()), 3),
        pa.FixedSizeListArray.from_arrays(pa.array(p.ravel()), 3),
    )
    assert merged(the_plan, as_lists) == expected
    assert merged(the_plan, fixed) == expected
    ragged = run(the_plan, pa.array([[1.0, 0.0], [0.0]]), pa.array([[0.3, 0.7], [0.5, 0.5]]))
    assert ragged.error is not None and "arrays of different lengths (1 and 2)" in ragged.error


def test_slice_keys(tally: str) -> None:
    y = np.array([1, 0, 1, 1, 0, 1], dtype=np.float32)
    p = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.6], dtype=np.float32)
    keys = ["new", "old", "new", "old", "old", "new"]
    the_plan = plan(tally, ["binary_accuracy"], slice_by="segment")
    for column in (pa.array(keys), pa.array(keys, type=pa.large_string()), pa.array(keys).dictionary_encode()):
        result = merged(the_plan, run(the_plan, pa.array(y), pa.array(p), column, batch=4))
        assert {k: v["results"]["binary_accuracy"] for k, v in result["slices"].items()} == {
            "new": 1.0, "old": pytest.approx(1 / 3, rel=1e-15)
        }
    flags = pa.array([True, False, True, False, False, True])
    result = merged(the_plan, run(the_plan, pa.array(y), pa.array(p), flags))
    assert sorted(result["slices"]) == ["0", "1"]
    bad = run(the_plan, pa.array(y), pa.array(p), pa.array(p))
    assert bad.error is not None and "slice key column 'segment' has type float" in bad.error


def test_nulls_are_counted_per_column_and_per_row(tally: str) -> None:
    the_plan = plan(tally, ["binary_accuracy"])
    y = pa.array([1.0, None, 0.0, None, 1.0, 1.0])
    p = pa.array([0.9, 0.1, None, None, 0.8, 0.3])
    outcome = run(the_plan, y, p, batch=4)
    assert outcome.nulls == {"y": 2, "p": 2} and outcome.null_rows == 3 and outcome.state is None
    with pytest.raises(TallyError, match=r"label column 'y' has 2 null values; prediction column 'p' has 2 null values \(3 of 6 rows"):
        merged(the_plan, outcome)
    skipping = plan(tally, ["binary_accuracy"], skip_nulls=True)
    result = merged(skipping, run(skipping, y, p, batch=4))
    assert result["skipped_nulls"] == 3 and result["samples"] == 3
    assert result["results"]["binary_accuracy"] == pytest.approx(2 / 3, rel=1e-15)


def test_a_tally_missing_on_the_worker_is_reported(tally: str, tmp_path: Path) -> None:
    the_plan = plan(tally, ["auc"])
    outcome = _core.run_partition(
        pa.table({"y": [1.0], "p": [0.5]}).to_batches(), the_plan, 3, None, str(tmp_path / "gone")
    )
    assert outcome.error is not None and "was not found on this worker" in outcome.error
    with pytest.raises(TallyError, match="^partition 3: the tally executable") as caught:
        merged(the_plan, outcome)
    assert caught.value.partition == 3


def test_an_empty_partition_starts_no_process(tally: str, tmp_path: Path) -> None:
    the_plan = plan(tally, ["auc"])
    empty = pa.table({"y": pa.array([], pa.float64()), "p": pa.array([], pa.float64())})
    # A missing binary is never run: no rows, no process, no state.
    outcome = _core.run_partition(empty.to_batches(), the_plan, 0, None, str(tmp_path / "gone"))
    assert outcome.error is None and outcome.state is None
    assert merged(the_plan, outcome)["samples"] == 0


def test_metrics_shaped_by_the_data_need_rows_for_an_empty_result(tally: str) -> None:
    # tally cannot make the empty state of categorical_accuracy without a
    # batch to give y_pred's shape: the driver's check is deferred, and its
    # error raised only when no partition has a row.
    the_plan = plan(tally, ["categorical_accuracy"])
    empty = _core.empty_state(the_plan)
    if empty.state is None:
        with pytest.raises(TallyError, match="tally: error: .*rank"):
            _core.merge([], the_plan, 0.95, empty)


def test_an_unknown_metric_is_tallys_error(tally: str) -> None:
    the_plan = plan(tally, ["bogus"])
    empty = _core.empty_state(the_plan)
    outcome = run(the_plan, pa.array([1.0, 0.0]), pa.array([0.5, 0.5]))
    with pytest.raises(TallyError, match=r'^partition 0: tally: error: .*"bogus"'):
        _core.merge([outcome], the_plan, 0.95, empty)
    with pytest.raises(TallyError, match=r'^tally: error: .*"bogus"'):
        _core.merge([], the_plan, 0.95, empty)
