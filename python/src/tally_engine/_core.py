"""What the Spark and Dask front ends share.

One partition = one ``tally evaluate --input npy-stream ... --save-state -``
process, fed with Arrow record batches turned into ``.npy`` arrays
(``np.save`` straight to its stdin, no per-row Python), returning one state
JSON. The driver writes the states to files and merges them with
``tally merge`` in partition-index order.

numpy is the only import at module level; pyarrow is imported where a
partition is converted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Union

import numpy as np

from ._errors import TallyError

if TYPE_CHECKING:
    import pyarrow as pa

MetricSpec = Union[str, Mapping[str, Any]]
"""A metric as ``tally evaluate --metric`` takes it: an identifier (``"auc"``)
or a Keras configuration (``{"class_name": "AUC", "config": {...}}``, or the
same as a JSON string)."""

#: Rows per batch sent to tally when the engine hands over larger ones
#: (a Dask partition arrives whole).
MAX_BATCH_ROWS = 65_536


@dataclass(frozen=True)
class Plan:
    """Everything a partition needs; pickled to the executors.

    ``columns`` are the DataFrame's column names in stream order: label,
    prediction, the weight if any, then the slice keys.
    """

    tally: str
    metrics: tuple[str, ...]
    label: str
    prediction: str
    weight: str | None
    slice_by: tuple[str, ...]
    bootstrap: int | None
    seed: int
    max_slices: int | None
    min_slice_weight: float | None
    skip_nulls: bool

    @property
    def columns(self) -> tuple[str, ...]:
        head = (self.label, self.prediction)
        return head + ((self.weight,) if self.weight is not None else ()) + self.slice_by

    def roles(self) -> list[str]:
        """What each entry of ``columns`` is, for messages."""
        return (
            ["label", "prediction"]
            + (["weight"] if self.weight is not None else [])
            + ["slice key"] * len(self.slice_by)
        )

    def evaluate_args(self, tally: str, row_offset: int | None) -> list[str]:
        args = [tally, "evaluate", "--input", "npy-stream"]
        for metric in self.metrics:
            args += ["--metric", metric]
        if self.weight is not None:
            args.append("--stream-weight")
        if self.slice_by:
            args += ["--stream-slice-keys", str(len(self.slice_by))]
        if self.bootstrap is not None:
            # name=value: a negative number after a separate flag reads as a missing value.
            args += [f"--bootstrap={self.bootstrap}", f"--seed={self.seed}"]
            args += [f"--row-offset={row_offset or 0}"]
        if self.max_slices is not None:
            args += [f"--max-slices={self.max_slices}"]
        if self.min_slice_weight is not None:
            args += [f"--min-slice-weight={float(self.min_slice_weight)!r}"]
        args += ["--save-state", "-", "--quiet"]
        return args


def metric_strings(metrics: Sequence[MetricSpec] | MetricSpec) -> tuple[str, ...]:
    """The ``--metric`` arguments: strings as they are, mappings as JSON."""
    if isinstance(metrics, (str, Mapping)):
        metrics = [metrics]
    out: list[str] = []
    for metric in metrics:
        if isinstance(metric, str):
            out.append(metric)
        elif isinstance(metric, Mapping):
            out.append(json.dumps(metric))
        else:
            raise TallyError(
                f"a metric is a string or a dict (a Keras configuration); received {type(metric).__name__}"
            )
    if not out:
        raise TallyError("no metric given: pass metrics=[...], e.g. ['auc', 'binary_accuracy']")
    return tuple(out)


def slice_columns(slice_by: str | Sequence[str] | None) -> tuple[str, ...]:
    if slice_by is None:
        return ()
    if isinstance(slice_by, str):
        return (slice_by,)
    columns = tuple(slice_by)
    for name in columns:
        if not isinstance(name, str):
            raise TallyError(f"slice_by takes column names; received {name!r}")
    return columns


def resolve_tally(tally: str | os.PathLike[str] | None) -> str:
    """The ``tally`` executable: the given path (or a name looked up on PATH),
    else ``shutil.which("tally")``; its absolute path."""
    if tally is None:
        found = shutil.which("tally")
        if found is None:
            raise TallyError(
                "the tally executable was not found on PATH; pass tally='/path/to/tally' "
                "(swift build -c release --product tally builds it)"
            )
        return os.path.abspath(found)
    path = os.fspath(tally)
    if os.sep not in path:
        found = shutil.which(path)
        if found is not None:
            return os.path.abspath(found)
    if not os.path.isfile(path):
        raise TallyError(f"the tally executable was not found: {path!r} is not a file")
    if not os.access(path, os.X_OK):
        raise TallyError(f"the tally executable {path!r} is not executable")
    return os.path.abspath(path)


def error_line(stderr: bytes, returncode: int) -> str:
    """tally's one-line error (``tally: error: ...``), or what is there."""
    text = stderr.decode("utf-8", "replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("tally: error:"):
            return line
    if lines:
        return lines[-1]
    if returncode < 0:
        return f"tally was killed by signal {-returncode}"
    return f"tally exited with status {returncode} and no message"


def run_tally(args: Sequence[str], stdin: bytes = b"", cwd: str | None = None) -> bytes:
    """Runs tally to completion on the driver; its stdout, or TallyError."""
    try:
        done = subprocess.run(list(args), input=stdin, capture_output=True, check=False, cwd=cwd)
    except OSError as error:
        raise TallyError(f"could not run tally {args[0]!r}: {error}") from None
    if done.returncode != 0:
        raise TallyError(error_line(done.stderr, done.returncode))
    return done.stdout


@dataclass(frozen=True)
class Empty:
    """The state of no rows, made on the driver before the job, or why not.

    ``tally evaluate --input npy-stream`` on an empty stream checks the
    metrics and flags, and gives the result when no partition has a row. It
    fails for metrics whose shapes come from the data (``categorical_accuracy``
    needs ``y_pred`` of shape (rows, classes)): that error is kept, and raised
    only if no partition has a row; an error in the metrics themselves then
    comes from the partitions instead.
    """

    state: str | None
    error: TallyError | None


def empty_state(plan: Plan) -> Empty:
    """Runs tally on an empty stream on the driver (a few milliseconds)."""
    try:
        return Empty(run_tally(plan.evaluate_args(plan.tally, 0)).decode("utf-8"), None)
    except TallyError as error:
        message = str(error)
        if "could not run tally" in message:
            raise
        if "Unknown option" in message or "'npy-stream' is invalid" in message:
            # All the options given exist in a tally with the streaming input.
            raise TallyError(
                f"{message} ({plan.tally} has no streaming input `--input npy-stream`: "
                "build a newer tally)"
            ) from None
        return Empty(None, error)


# ---------------------------------------------------------------- partitions


@dataclass
class Outcome:
    """What one partition sends back to the driver (one small row)."""

    index: int
    rows: int = 0
    skipped: int = 0
    nulls: dict[str, int] = field(default_factory=dict)
    null_rows: int = 0
    error: str | None = None
    state: str | None = None

    def to_row(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "rows": self.rows,
            "skipped": self.skipped,
            "nulls": json.dumps(self.nulls) if self.nulls else None,
            "null_rows": self.null_rows,
            "error": self.error,
            "state": self.state,
        }

    @staticmethod
    def from_row(row: Mapping[str, Any]) -> Outcome:
        nulls = row.get("nulls")
        return Outcome(
            index=int(row["index"]),
            rows=int(row["rows"]),
            skipped=int(row["skipped"]),
            nulls=json.loads(nulls) if nulls else {},
            null_rows=int(row["null_rows"]),
            error=row.get("error"),
            state=row.get("state"),
        )


OUTCOME_SPARK_SCHEMA = (
    "index int, rows long, skipped long, nulls string, null_rows long, error string, state string"
)


class _Rejected(Exception):
    """A column that cannot be sent (its message is the user's)."""


def type_message(name: str, role: str, kind: str) -> str:
    """The error for a column of a type tally cannot take."""
    if role == "slice key":
        return (
            f"slice key column {name!r} has {kind}; slice keys are integers, booleans or strings "
            "(cast other columns first)"
        )
    return (
        f"{role} column {name!r} has {kind}; tally needs numbers "
        "(integer, floating point or boolean, or arrays of them)"
    )


def is_number_type(kind: pa.DataType) -> bool:
    """An Arrow type of labels, predictions or weights."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        kind = kind.value_type
    return bool(
        pa.types.is_boolean(kind) or pa.types.is_integer(kind)
        or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    )


def is_key_type(kind: pa.DataType) -> bool:
    """An Arrow type of slice keys."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(
        pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_string(kind)
        or pa.types.is_large_string(kind) or str(kind) == "string_view"
    )


def _numeric_array(array: pa.Array, name: str, role: str) -> np.ndarray:
    """A label, prediction or weight column as a numpy array tally reads."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = array.type
    if pa.types.is_boolean(kind):
        return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.bool_)
    if pa.types.is_integer(kind):
        values: np.ndarray = array.to_numpy(zero_copy_only=False)
        # tally's .npy reader takes int8-64 and uint8.
        if kind in (pa.uint16(), pa.uint32()):
            return values.astype(np.int64)
        if kind == pa.uint64():
            return values.astype(np.float64)
        return values
    if pa.types.is_floating(kind):
        return np.asarray(array.to_numpy(zero_copy_only=False))
    if pa.types.is_decimal(kind):
        return np.asarray(pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        rows = len(array)
        flat = array.flatten()
        if flat.null_count:
            raise _Rejected(f"{role} column {name!r} has null flat inside its arrays")
        width = 0
        if rows:
            lengths = pc.min_max(pc.list_value_length(array))
            low, high = lengths["min"].as_py(), lengths["max"].as_py()
            if low != high:
                raise _Rejected(
                    f"{role} column {name!r} holds arrays of different lengths ({low} and {high}); "
                    "tally needs one length per column"
                )
            width = int(low)
        inner = flat.type
        if pa.types.is_dictionary(inner):
            inner = inner.value_type
        nested = pa.types.is_list(inner) or pa.types.is_large_list(inner) or pa.types.is_fixed_size_list(inner)
        if nested or not is_number_type(inner):
            raise _Rejected(type_message(name, role, f"type {kind}"))
        return _numeric_array(flat, name, role).reshape(rows, width)
    raise _Rejected(type_message(name, role, f"type {kind}"))


def _key_array(array: pa.Array, name: str) -> np.ndarray:
    """A slice-key column: int64 keys, or unicode strings (``<U…``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_dictionary(kind):
        uniques = _key_array(array.dictionary, name)
        return np.asarray(uniques[array.indices.to_numpy(zero_copy_only=False)])
    if pa.types.is_boolean(kind):
        return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.int8)
    if pa.types.is_integer(kind):
        values: np.ndarray = array.to_numpy(zero_copy_only=False)
        if kind == pa.uint64():
            if len(values) and values.max() > np.iinfo(np.int64).max:
                raise _Rejected(f"slice key column {name!r} has values above 2^63 - 1")
            return values.astype(np.int64)
        if kind in (pa.uint16(), pa.uint32()):
            return values.astype(np.int64)
        return values
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or str(kind) == "string_view":
        # Only the distinct values become Python strings.
        encoded = pc.dictionary_encode(array)
        names: np.ndarray = encoded.dictionary.to_numpy(zero_copy_only=False).astype(np.str_)
        return np.asarray(names[encoded.indices.to_numpy(zero_copy_only=False)])
    raise _Rejected(type_message(name, "slice key", f"type {kind}"))


def _arrays(columns: Sequence[pa.Array], plan: Plan) -> list[np.ndarray]:
    out = []
    for array, name, role in zip(columns, plan.columns, plan.roles()):
        if role == "slice key":
            out.append(_key_array(array, name))
        else:
            out.append(_numeric_array(array, name, role))
    return out


class _Pipe:
    """A pipe as np.save sees it: a plain writable object. Given the pipe's
    file object itself, np.save would call ``ndarray.tofile``, which needs a
    seekable file; this way it writes the array's bytes in buffered chunks."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    def write(self, data: bytes) -> int:
        return self._file.write(data)


class _Process:
    """One ``tally evaluate --input npy-stream`` fed through its stdin.

    stdout and stderr go to temporary files, so that nothing can block while
    the batches are written."""

    def __init__(self, args: list[str]) -> None:
        self._stdout: IO[bytes] = tempfile.TemporaryFile()
        self._stderr: IO[bytes] = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(
                args, stdin=subprocess.PIPE, stdout=self._stdout, stderr=self._stderr
            )
        except OSError as error:
            self._stdout.close()
            self._stderr.close()
            if isinstance(error, FileNotFoundError):
                raise _Rejected(
                    f"the tally executable {args[0]!r} was not found on this worker (ship it with "
                    "SparkContext.addFile, or install it at the same path on every worker)"
                ) from None
            raise _Rejected(f"could not run tally {args[0]!r} on this worker: {error}") from None
        self.broken = False

    def send(self, arrays: Sequence[np.ndarray]) -> None:
        if self.broken:
            return
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            for array in arrays:
                np.save(_Pipe(stdin), np.ascontiguousarray(array), allow_pickle=False)
        except (BrokenPipeError, ConnectionResetError):
            # tally stopped reading: it exited, and its error is on stderr.
            self.broken = True

    def finish(self) -> str:
        """Closes stdin and waits: the state JSON, or _Rejected with tally's error."""
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass
        code = self._proc.wait()
        self._stderr.seek(0)
        stderr = self._stderr.read()
        self._stdout.seek(0)
        stdout = self._stdout.read()
        self.close()
        if code != 0:
            raise _Rejected(error_line(stderr, code))
        return stdout.decode("utf-8")

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        try:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        except OSError:
            pass
        self._proc.wait()
        self.close()

    def close(self) -> None:
        self._stdout.close()
        self._stderr.close()


def run_partition(
    batches: Iterable[pa.RecordBatch], plan: Plan, index: int, row_offset: int | None, tally: str
) -> Outcome:
    """Feeds one partition's batches (columns in ``plan.columns`` order) to
    one tally process, started at the first row (an empty partition starts
    none and returns no state: the empty state is the identity of a merge).
    Never raises for the data: errors come back in the Outcome, so that the
    driver can report the first one in index order."""
    import pyarrow.compute as pc

    outcome = Outcome(index=index)
    process: _Process | None = None
    failed = False  # a null seen without skip_nulls: only nulls are counted after it
    try:
        for batch in batches:
            rows = batch.num_rows
            if rows == 0:
                continue
            outcome.rows += rows
            columns = list(batch.columns)
            nulls = [column.null_count for column in columns]
            if any(nulls):
                valid = None
                for column, count in zip(columns, nulls):
                    if count:
                        mask = pc.is_valid(column)
                        valid = mask if valid is None else pc.and_(valid, mask)
                assert valid is not None
                kept = int(pc.sum(pc.cast(valid, "int64")).as_py() or 0)
                for name, count in zip(plan.columns, nulls):
                    if count:
                        outcome.nulls[name] = outcome.nulls.get(name, 0) + count
                outcome.null_rows += rows - kept
                if not plan.skip_nulls:
                    failed = True
                    if process is not None:
                        process.kill()
                        process = None
                    continue
                outcome.skipped += rows - kept
                columns = [column.filter(valid) for column in columns]
                rows = kept
            if failed or rows == 0:
                continue
            if process is None:
                process = _Process(plan.evaluate_args(tally, row_offset))
            for start in range(0, rows, MAX_BATCH_ROWS):
                part = [column.slice(start, MAX_BATCH_ROWS) for column in columns]
                process.send(_arrays(part, plan))
                if process.broken:
                    break
            if process.broken:
                break
        if process is not None:
            finished, process = process, None
            outcome.state = finished.finish()
    except _Rejected as rejected:
        outcome.error = str(rejected)
    except Exception as error:  # a bug or an engine's surprise: still no partial result
        outcome.error = f"{type(error).__name__}: {error}"
    finally:
        if process is not None:
            process.kill()
    return outcome


# ---------------------------------------------------------------- the driver


def _describe_nulls(outcomes: Sequence[Outcome], plan: Plan) -> str:
    totals: dict[str, int] = {}
    for outcome in outcomes:
        for name, count in outcome.nulls.items():
            totals[name] = totals.get(name, 0) + count
    rows = sum(outcome.rows for outcome in outcomes)
    null_rows = sum(outcome.null_rows for outcome in outcomes)
    roles = dict(zip(plan.columns, plan.roles()))
    parts = [
        f"{roles.get(name, 'column')} column {name!r} has {count:,} null value{'s' if count != 1 else ''}"
        for name, count in sorted(totals.items(), key=lambda item: plan.columns.index(item[0]))
    ]
    return (
        f"{'; '.join(parts)} ({null_rows:,} of {rows:,} rows have a null); "
        "pass skip_nulls=True to leave those rows out"
    )


def merge(
    outcomes: Sequence[Outcome],
    plan: Plan,
    confidence: float,
    empty: Empty,
    expected_rows: Mapping[int, int] | None = None,
) -> dict[str, Any]:
    """Checks the partitions' outcomes and merges their states with
    ``tally merge`` in index order: the result dict, or TallyError."""
    outcomes = sorted(outcomes, key=lambda outcome: outcome.index)
    for outcome in outcomes:
        if outcome.error is not None:
            raise TallyError(
                f"partition {outcome.index}: {outcome.error}", partition=outcome.index
            )
    if not plan.skip_nulls and any(outcome.null_rows for outcome in outcomes):
        first = next(outcome.index for outcome in outcomes if outcome.null_rows)
        raise TallyError(_describe_nulls(outcomes, plan), partition=first)
    if expected_rows is not None:
        for outcome in outcomes:
            fed = outcome.rows - outcome.skipped
            if expected_rows.get(outcome.index, 0) != fed:
                raise TallyError(
                    f"partition {outcome.index} had {expected_rows.get(outcome.index, 0):,} rows "
                    f"when counted for the bootstrap's row offsets and {fed:,} when evaluated: "
                    "the DataFrame is not deterministic (cache or checkpoint it first)",
                    partition=outcome.index,
                )
    states = [outcome.state for outcome in outcomes if outcome.state is not None]
    if not states:
        if empty.state is None:
            assert empty.error is not None
            raise empty.error
        states = [empty.state]
    with tempfile.TemporaryDirectory(prefix="tally-merge-") as folder:
        names = []
        for position, state in enumerate(states):
            name = f"p{position:06d}.json"
            with open(os.path.join(folder, name), "w", encoding="utf-8") as file:
                file.write(state)
            names.append(name)
        args = [plan.tally, "merge", *names, "--format", "json"]
        if plan.bootstrap is not None:
            args += ["--confidence", repr(float(confidence))]
        # Short relative names: a command line holds tens of thousands of them.
        result: dict[str, Any] = json.loads(run_tally(args, cwd=folder))
    if plan.skip_nulls:
        result["skipped_nulls"] = sum(outcome.skipped for outcome in outcomes)
    return result


def row_offsets(counts: Mapping[int, int], partitions: int) -> dict[int, int]:
    """The global index of each partition's first row: the rows of the
    partitions before it, in index order."""
    offsets: dict[int, int] = {}
    total = 0
    for index in range(partitions):
        offsets[index] = total
        total += counts.get(index, 0)
    return offsets


def make_plan(
    *,
    metrics: Sequence[MetricSpec] | MetricSpec,
    label: str,
    prediction: str,
    weight: str | None,
    slice_by: str | Sequence[str] | None,
    bootstrap: int | None,
    seed: int,
    tally: str | os.PathLike[str] | None,
    skip_nulls: bool,
    confidence: float,
    max_slices: int | None,
    min_slice_weight: float | None,
) -> Plan:
    """Checks the arguments that need no data."""
    if bootstrap is not None and (isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 1):
        raise TallyError(f"bootstrap is a number of replicates ≥ 1 (200 is a good value); received {bootstrap!r}")
    if max_slices is not None and (isinstance(max_slices, bool) or not isinstance(max_slices, int) or max_slices < 1):
        raise TallyError(f"max_slices is a number of slices ≥ 1; received {max_slices!r}")
    if not 0 < confidence < 1:
        raise TallyError(f"confidence must be in (0, 1); received {confidence!r}")
    for role, name in (("label", label), ("prediction", prediction)):
        if not isinstance(name, str):
            raise TallyError(f"{role} is a column name; received {name!r}")
    if weight is not None and not isinstance(weight, str):
        raise TallyError(f"weight is a column name or None; received {weight!r}")
    return Plan(
        tally=resolve_tally(tally),
        metrics=metric_strings(metrics),
        label=label,
        prediction=prediction,
        weight=weight,
        slice_by=slice_columns(slice_by),
        bootstrap=bootstrap,
        seed=int(seed),
        max_slices=max_slices,
        min_slice_weight=min_slice_weight,
        skip_nulls=bool(skip_nulls),
    )


def check_columns(plan: Plan, available: Sequence[str]) -> None:
    missing = [name for name in plan.columns if name not in available]
    if missing:
        roles = dict(zip(plan.columns, plan.roles()))
        described = ", ".join(f"{roles[name]} column {name!r}" for name in dict.fromkeys(missing))
        raise TallyError(f"{described} not found; the DataFrame has columns {list(available)}")
