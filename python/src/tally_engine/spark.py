"""Tally's metrics over a Spark DataFrame.

Each partition streams its Arrow record batches (``DataFrame.mapInArrow``)
into one ``tally evaluate --input npy-stream`` process on its executor and
returns one state; the driver merges the states with ``tally merge`` in
partition-index order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import _core
from ._core import MetricSpec, Outcome, Plan
from ._errors import TallyError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import DataType

__all__ = ["evaluate"]


def evaluate(
    df: DataFrame,
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
    """Evaluates ``metrics`` over all rows of ``df``.

    Args:
        df: a Spark DataFrame.
        metrics: ``tally evaluate --metric`` specs: identifiers (``"auc"``,
            ``"mse"``), Keras configurations as dicts or JSON strings.
        label, prediction: the columns of labels and predictions (numbers,
            booleans, or arrays of numbers of one length for class scores).
        weight: the column of per-row sample weights, if any.
        slice_by: a column of slice keys (integers, booleans or strings), or
            a list of them (crossed keys: country × device).
        bootstrap: Poisson-bootstrap replicates for confidence intervals
            (200 is a good value). Adds a first job that counts the rows of
            each partition, to give each its ``--row-offset``.
        seed: the bootstrap's seed.
        tally: the ``tally`` executable on the driver (default: the one on
            PATH). Executors run the copy shipped with
            ``spark.sparkContext.addFile(path)`` when there is one (found by
            file name), else the same path.
        skip_nulls: leave out rows with a null in any of the columns used
            (their count is ``result["skipped_nulls"]``) instead of raising.
        confidence: the confidence level of the intervals.
        max_slices: the most distinct slice keys (tally's default: 10,000).
        min_slice_weight: slices of less weight are listed without values.

    Returns:
        What ``tally merge --format json`` prints: ``{"results": {...},
        "samples": n}``, with ``"intervals"`` and ``"slices"`` when asked,
        plus ``"skipped_nulls"`` when ``skip_nulls`` is true.

    Raises:
        TallyError: a missing or non-numeric column, nulls (unless
            ``skip_nulls``), no ``tally`` executable, or tally's own error
            (its ``tally: error: ...`` line) on the driver or an executor.
            No partial result is returned.
    """
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
    _core.check_columns(plan, df.columns)
    _check_types(plan, df)
    empty = _core.empty_state(plan)

    from pyspark.sql import functions as F

    selected = df.select(
        *[_column(name).alias(f"c{position}") for position, name in enumerate(plan.columns)]
    )
    counts: dict[int, int] | None = None
    offsets: dict[int, int] | None = None
    if plan.bootstrap is not None:
        # First pass (in the JVM, no Python): the rows of each partition, so
        # that partition p's rows get the global indices that follow those of
        # partitions 0..p-1, as in one `tally evaluate` over them in order.
        counted = selected
        if plan.skip_nulls:
            for position in range(len(plan.columns)):
                counted = counted.where(F.col(f"c{position}").isNotNull())
        counts = {
            int(row[0]): int(row[1])
            for row in counted.groupBy(F.spark_partition_id()).count().collect()
        }
        offsets = _core.row_offsets(counts, max(counts, default=-1) + 1)

    def partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        from pyspark import TaskContext

        context = TaskContext.get()
        index = context.partitionId() if context is not None else 0
        offset = None if offsets is None else offsets.get(index, 0)
        outcome = _core.run_partition(batches, plan, index, offset, _executor_tally(plan))
        yield pa.RecordBatch.from_pylist([outcome.to_row()], schema=_outcome_schema())

    rows = selected.mapInArrow(partition, _core.OUTCOME_SPARK_SCHEMA).collect()
    outcomes = [Outcome.from_row(row.asDict()) for row in rows]
    return _core.merge(outcomes, plan, confidence, empty, expected_rows=counts)


def _column(name: str) -> Column:
    from pyspark.sql import functions as F

    # Backquoted: a name with dots or spaces is one column, not a field path.
    return F.col("`" + name.replace("`", "``") + "`")


def _outcome_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("index", pa.int32()),
            ("rows", pa.int64()),
            ("skipped", pa.int64()),
            ("nulls", pa.string()),
            ("null_rows", pa.int64()),
            ("error", pa.string()),
            ("state", pa.string()),
        ]
    )


def _executor_tally(plan: Plan) -> str:
    """The binary on this executor: the copy shipped with
    ``SparkContext.addFile`` under the driver path's file name when there is
    one, else the driver's path."""
    try:
        from pyspark import SparkFiles

        shipped = SparkFiles.get(os.path.basename(plan.tally))
    except Exception:  # no SparkFiles root in this process
        return plan.tally
    if os.path.isfile(shipped):
        if not os.access(shipped, os.X_OK):
            os.chmod(shipped, 0o755)
        return shipped
    return plan.tally


def _is_number(kind: DataType) -> bool:
    from pyspark.sql import types as T

    if isinstance(kind, (T.NumericType, T.BooleanType)):
        return True
    return isinstance(kind, T.ArrayType) and isinstance(kind.elementType, (T.NumericType, T.BooleanType))


def _is_key(kind: DataType) -> bool:
    from pyspark.sql import types as T

    return isinstance(kind, (T.IntegralType, T.BooleanType, T.StringType))


def _check_types(plan: Plan, df: DataFrame) -> None:
    fields: Mapping[str, DataType] = {field.name: field.dataType for field in df.schema.fields}
    for name, role in zip(plan.columns, plan.roles()):
        kind = fields[name]
        if role == "slice key":
            if not _is_key(kind):
                raise TallyError(_core.type_message(name, role, f"type {kind.simpleString()}"))
        elif not _is_number(kind):
            message = _core.type_message(name, role, f"type {kind.simpleString()}")
            if type(kind).__name__ == "VectorUDT":
                message += "; convert an ML vector with pyspark.ml.functions.vector_to_array first"
            raise TallyError(message)
