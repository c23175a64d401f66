"""Tally's metrics over a Dask DataFrame.

Each partition (a pandas DataFrame) is turned into Arrow arrays and streamed
into one ``tally evaluate --input npy-stream`` process (``to_delayed``, one
task per partition, on whatever scheduler is in use); the driver merges the
states with ``tally merge`` in partition-index order.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import _core
from ._core import MetricSpec, Outcome, Plan
from ._errors import TallyError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from dask.dataframe import DataFrame

__all__ = ["evaluate"]


def evaluate(
    ddf: DataFrame,
    metrics: Sequence[MetricSpec] | MetricSpec,
    label: str = "label",
    prediction: str = "score",
    weight: str | None = None,
    slice_by: str | Sequence[str] | None = None,
    bootstrap: int | None = None,
    seed: int = 0,
    tally: str | os.PathLike[str] | None = None,
    skip_nulls: bool = False,
    confidence: float = 0.95,
    *,
    max_slices: int | None = None,
    min_slice_weight: float | None = None,
) -> dict[str, Any]:
    """Evaluates ``metrics`` over all rows of ``ddf``; the arguments and the
    result are those of :func:`tally_engine.spark.evaluate`.

    Differences from Spark: ``tally`` must be at the same path on every
    worker; a missing value is what pandas calls one (``isna``: None, NaN,
    ``pd.NA``, NaT), so a NaN label, score or weight counts as a null here;
    with ``bootstrap`` the partitions are read twice (a first pass counts
    their rows).
    """
    from dask.base import compute
    from dask.delayed import delayed

    plan = _core.make_plan(
        metrics=metrics,
        label=label,
        prediction=prediction,
        weight=weight,
        slice_by=slice_by,
        bootstrap=bootstrap,
        seed=seed,
        tally=tally,
        skip_nulls=skip_nulls,
        confidence=confidence,
        max_slices=max_slices,
        min_slice_weight=min_slice_weight,
    )
    _core.check_columns(plan, [str(column) for column in ddf.columns])
    _check_types(plan, ddf)
    empty = _core.empty_state(plan)

    parts = ddf[list(dict.fromkeys(plan.columns))].to_delayed()
    counts: dict[int, int] | None = None
    offsets: dict[int, int] = {}
    if plan.bootstrap is not None:
        # First pass: the rows of each partition, so that partition p's rows
        # get the global indices that follow those of partitions 0..p-1.
        counted = compute(*[delayed(_count_rows)(part, plan) for part in parts])  # type: ignore[no-untyped-call]
        counts = {index: int(count) for index, count in enumerate(counted)}
        offsets = _core.row_offsets(counts, len(parts))
    tasks = [
        delayed(_run)(part, plan, index, offsets.get(index) if counts is not None else None)
        for index, part in enumerate(parts)
    ]
    outcomes: list[Outcome] = list(compute(*tasks))  # type: ignore[no-untyped-call]
    return _core.merge(outcomes, plan, confidence, empty, expected_rows=counts)


def _arrays(frame: pd.DataFrame, plan: Plan) -> list[pa.Array]:
    """The partition's columns as Arrow arrays; pandas's missing values
    (None, NaN, NA, NaT) become nulls."""
    import pyarrow as pa

    arrays = []
    for name in plan.columns:
        try:
            array = pa.array(frame[name], from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError) as error:
            raise _core._Rejected(f"column {name!r} could not be read as numbers or keys: {error}") from None
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        arrays.append(array)
    return arrays


def _run(frame: pd.DataFrame, plan: Plan, index: int, offset: int | None) -> Outcome:
    import pyarrow as pa

    try:
        arrays = _arrays(frame, plan)
    except _core._Rejected as rejected:
        return Outcome(index=index, rows=len(frame), error=str(rejected))
    batch = pa.RecordBatch.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])
    return _core.run_partition([batch], plan, index, offset, plan.tally)


def _count_rows(frame: pd.DataFrame, plan: Plan) -> int:
    """The rows that will be fed to tally (without nulls when they are skipped)."""
    if not plan.skip_nulls:
        return len(frame)
    import pyarrow.compute as pc

    try:
        arrays = _arrays(frame, plan)
    except _core._Rejected:
        return len(frame)  # the evaluation pass reports the error
    valid = None
    for array in arrays:
        mask = pc.is_valid(array)
        valid = mask if valid is None else pc.and_(valid, mask)
    if valid is None:
        return len(frame)
    return int(pc.sum(pc.cast(valid, "int64")).as_py() or 0)


def _check_types(plan: Plan, ddf: DataFrame) -> None:
    """What the dtypes already tell; an object column is checked per partition."""
    import pandas as pd
    from pandas.api import types

    dtypes = ddf.dtypes
    for name, role in zip(plan.columns, plan.roles()):
        dtype = dtypes[name]
        if isinstance(dtype, pd.DataFrame) or isinstance(dtype, pd.Series):  # duplicate names
            raise TallyError(f"column name {name!r} appears more than once in the DataFrame")
        if types.is_object_dtype(dtype):
            continue  # arrays of numbers, or strings as keys: seen in the data
        if isinstance(dtype, pd.ArrowDtype):
            kind = dtype.pyarrow_dtype
            if role == "slice key":
                ok = _core.is_key_type(kind)
            else:
                ok = _core.is_number_type(kind)
            if not ok:
                raise TallyError(_core.type_message(name, role, str(kind)))
            continue
        if role == "slice key":
            if isinstance(dtype, pd.CategoricalDtype):
                dtype = dtype.categories.dtype
                if types.is_object_dtype(dtype):
                    continue
            ok = types.is_integer_dtype(dtype) or types.is_bool_dtype(dtype) or types.is_string_dtype(dtype)
            if not ok:
                raise TallyError(
                    f"slice key column {name!r} has dtype {dtype}; slice keys are integers, "
                    "booleans or strings (cast other columns first)"
                )
        elif not (types.is_numeric_dtype(dtype) or types.is_bool_dtype(dtype)) or types.is_complex_dtype(dtype):
            raise TallyError(
                f"{role} column {name!r} has dtype {dtype}; tally needs numbers "
                "(integer, floating point or boolean, or arrays of them)"
            )
