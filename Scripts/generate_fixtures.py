#!/usr/bin/env python3
"""Generate Keras reference fixtures for Tally's Swift tests.

Usage (from the repository root):

    KERAS_BACKEND=numpy python3 Scripts/generate_fixtures.py               # all families
    KERAS_BACKEND=numpy python3 Scripts/generate_fixtures.py --family reduction

Every metric family writes one file, ``Tests/TallyTests/Fixtures/<family>.json``:

    {
      "family": "reduction",
      "generator": "Scripts/generate_fixtures.py",
      "keras_version": "3.15.1",
      "backend": "numpy",
      "cases": [ <case>, ... ]
    }

Each case replays a fresh metric instance through a sequence of
``update_state`` calls and records ``metric.result()``:

    {
      "id":      "mean/weighted_rank2_w_rank1",   # unique within the file
      "metric":  keras.metrics.serialize(metric), made JSON-safe
      "call":    "values" | "labels",
      "updates": [{"values": T, "sample_weight": T|null}, ...]            # call == "values"
                 [{"y_true": T, "y_pred": T, "sample_weight": T|null}, ...]  # call == "labels"
      "expected": T | null,        # null when an update raised
      "error":    null | "<ExceptionClass>: <message>",
      "rtol":     1e-6,
      # only on cases where Tally deliberately differs from Keras:
      "deviation": "<why>", and one or both of
      "tally_expected": T,        # Tally's result where it differs from Keras's
      "tally_rejects": [i, ...]   # indices of updates Tally rejects with an error
                                  # (state unchanged); the other updates proceed
                                  # and the result is compared with "expected"
    }

T (a tensor) is ``{"dtype": ..., "shape": [...], "data": [row-major flat list]}``
with dtype one of float32/float64/int32/int64/uint8/bool.  Floats are written
as ``repr(float(x))`` (round-trips exactly; a float32 value is widened to the
Python float holding exactly the same value).  Non-finite floats are the
strings "nan", "inf", "-inf", so the files are strict JSON.

Adding a family: write a function ``<family>_cases() -> list[Case]`` and
register it in ``FAMILIES`` at the bottom of this file.  Use the ``Case`` /
``V`` / ``L`` helpers and the array constructors (``f32``, ``i32``, ...) so
that every input has an explicit numpy dtype.  Optionally add known-good
values to ``SPEC_CHECKS`` (verified against the spec) to guard the output.

Determinism: every family uses its own ``np.random.default_rng(seed)``,
and the Keras session (global name counter) is cleared before each case, so
auto-generated metric names (e.g. "mean_metric_wrapper") do not depend on
which other cases or families ran in the same process.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

# The fixtures pin the numpy backend; default to it if the caller forgot.
os.environ.setdefault("KERAS_BACKEND", "numpy")

import numpy as np  # noqa: E402

import keras  # noqa: E402

# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------

# Keras version the committed fixtures were generated with.  A different
# installed version is refused unless --allow-version-mismatch is given
# (the JSON always records the version actually used).
PINNED_KERAS_VERSION = "3.15.1"
PINNED_BACKEND = "numpy"

GENERATOR = "Scripts/generate_fixtures.py"
REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DIR = REPO_ROOT / "Tests" / "TallyTests" / "Fixtures"

DEFAULT_RTOL = 1e-6

ALLOWED_DTYPES = ("float32", "float64", "int32", "int64", "uint8", "bool")


# --------------------------------------------------------------------------
# Input helpers: every tensor handed to Keras is a numpy array of an explicit
# dtype (never a Python list), so the fixture records exactly what Keras saw.
# --------------------------------------------------------------------------

def f32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def f64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def i32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int32)


def i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def u8(x) -> np.ndarray:
    return np.asarray(x, dtype=np.uint8)


def b(x) -> np.ndarray:
    return np.asarray(x, dtype=np.bool_)


@dataclass
class Update:
    """One ``update_state`` call.  ``args`` are the positional tensors."""

    args: tuple[np.ndarray, ...]
    sample_weight: np.ndarray | None = None


def V(values, sample_weight=None) -> Update:
    """An update for ``call == "values"``: ``update_state(values, sample_weight)``."""
    return Update((values,), sample_weight)


def L(y_true, y_pred, sample_weight=None) -> Update:
    """An update for ``call == "labels"``: ``update_state(y_true, y_pred, sample_weight)``."""
    return Update((y_true, y_pred), sample_weight)


@dataclass
class Case:
    """A fixture case, declared by a family function and executed by ``run_case``.

    ``make_metric`` is a zero-argument factory; it is called after the Keras
    session is cleared so that auto-generated names are deterministic.
    """

    id: str
    make_metric: Callable[[], keras.metrics.Metric]
    call: str  # "values" or "labels"
    updates: list[Update]
    rtol: float = DEFAULT_RTOL
    # Only for cases where Tally deliberately differs from Keras.
    deviation: str | None = None
    tally_expected: np.ndarray | None = None
    tally_rejects: list[int] | None = None


# --------------------------------------------------------------------------
# JSON encoding
# --------------------------------------------------------------------------

def encode_float(x: float) -> float | str:
    """A Python float as a strict-JSON value (non-finite values as strings)."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(x)  # json.dumps writes repr(), which round-trips


def encode_tensor(x) -> dict:
    """Encode an array-like as {"dtype", "shape", "data"} (row-major)."""
    a = np.asarray(x)
    dtype = a.dtype.name
    if dtype not in ALLOWED_DTYPES:
        raise TypeError(f"unsupported fixture dtype {dtype!r}")
    flat = a.reshape(-1).tolist()  # Python bool/int/float (float32 widened exactly)
    if a.dtype.kind == "f":
        flat = [encode_float(v) for v in flat]
    return {"dtype": dtype, "shape": list(a.shape), "data": flat}


def json_safe(obj: Any) -> Any:
    """Make a Keras config (serialize() output) strict-JSON serializable.

    Dicts/lists/strings/ints/bools/None pass through unchanged; tuples become
    lists; numpy scalars become Python scalars; non-finite floats become
    "nan"/"inf"/"-inf"; numpy arrays become tensor dicts (encode_tensor).
    """
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return encode_tensor(obj)
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return encode_float(obj)
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    raise TypeError(f"cannot make {type(obj).__name__} JSON-safe: {obj!r}")


def dumps_fixture(obj: Any, indent: int = 2, _level: int = 0) -> str:
    """Strict JSON, indented, but with every tensor dict and every list of
    scalars on a single line (keeps the files diff-able and readable)."""
    compact = lambda o: json.dumps(o, allow_nan=False, ensure_ascii=False)  # noqa: E731
    is_scalar = lambda o: o is None or isinstance(o, (str, int, float, bool))  # noqa: E731
    if is_scalar(obj):
        return compact(obj)
    if isinstance(obj, dict) and set(obj) == {"dtype", "shape", "data"}:
        return compact(obj)
    if isinstance(obj, list) and all(is_scalar(v) for v in obj):
        return compact(obj)
    pad, inner = " " * (indent * _level), " " * (indent * (_level + 1))
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{compact(str(k))}: {dumps_fixture(v, indent, _level + 1)}"
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if not obj:
            return "[]"
        items = [inner + dumps_fixture(v, indent, _level + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    raise TypeError(f"not JSON-serializable: {type(obj).__name__}")


def encode_update(call: str, upd: Update) -> dict:
    sw = None if upd.sample_weight is None else encode_tensor(upd.sample_weight)
    if call == "values":
        (values,) = upd.args
        return {"values": encode_tensor(values), "sample_weight": sw}
    if call == "labels":
        y_true, y_pred = upd.args
        return {"y_true": encode_tensor(y_true), "y_pred": encode_tensor(y_pred), "sample_weight": sw}
    raise ValueError(f"unknown call kind {call!r}")


# --------------------------------------------------------------------------
# Running a case against Keras
# --------------------------------------------------------------------------

def run_case(case: Case) -> dict:
    """Execute ``case`` with a fresh metric and return its JSON dict."""
    keras.utils.clear_session()  # reset the global name-uniquifying counter
    metric = case.make_metric()
    serialized = json_safe(keras.metrics.serialize(metric))

    expected = None
    error = None
    try:
        # numpy warns on 0/0 inside divide_no_nan (the where() discards it).
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for upd in case.updates:
                if upd.sample_weight is None:
                    metric.update_state(*upd.args)
                else:
                    metric.update_state(*upd.args, sample_weight=upd.sample_weight)
            expected = encode_tensor(np.asarray(metric.result()))
    except Exception as e:  # noqa: BLE001 - any Keras error is a fixture outcome
        error = f"{type(e).__name__}: {e}"

    out = {
        "id": case.id,
        "metric": serialized,
        "call": case.call,
        "updates": [encode_update(case.call, u) for u in case.updates],
        "expected": expected,
        "error": error,
        "rtol": case.rtol,
    }
    if case.deviation is not None:
        if case.tally_expected is None and case.tally_rejects is None:
            raise ValueError(f"{case.id}: 'deviation' requires 'tally_expected' or 'tally_rejects'")
        out["deviation"] = case.deviation
        if case.tally_expected is not None:
            out["tally_expected"] = encode_tensor(case.tally_expected)
        if case.tally_rejects is not None:
            out["tally_rejects"] = case.tally_rejects
    return out


# ==========================================================================
# Family: reduction  (Sum, Mean, MeanMetricWrapper)
#
# Keras source: keras/src/metrics/reduction_metrics.py.  Sum and Mean share
# reduce_to_samplewise_values (spec §3.2): weights are rank-aligned with
# squeeze_or_expand_to_same_rank (§3.1), the values' extra trailing axes are
# reduced (sum for Sum, mean for Mean), weights are broadcast and multiplied
# in, and Mean counts samples (first axis) or the summed per-sample weight.
# ==========================================================================

REDUCTION_SEED = 20240611

_EMPTY_BATCH = ("Tally rejects a batch with no elements (MetricError.emptyBatch) and keeps "
                "its state, where Keras silently adds nothing; later updates proceed, so the "
                "final result equals Keras's.")

NAN, INF = float("nan"), float("inf")


def _sum_mean_common_cases(prefix: str, make: Callable[..., keras.metrics.Metric]) -> list[Case]:
    """Cases run identically for Sum and Mean (``make`` = the metric class)."""
    m = lambda **kw: (lambda: make(**kw))  # noqa: E731  (factory with kwargs)
    v14 = f32([1, 3, 5, 7])
    v22 = f32([[1, 3], [5, 7]])
    v223 = f32(np.arange(12).reshape(2, 2, 3))
    return [
        # --- Keras docstring examples ----------------------------------------
        Case(f"{prefix}/docstring_unweighted", m(), "values", [V(v14)]),
        Case(f"{prefix}/docstring_weighted", m(), "values", [V(v14, f32([1, 1, 0, 0]))]),
        # --- value ranks 0..3, no weight ---------------------------------------
        Case(f"{prefix}/rank0_unweighted", m(), "values", [V(f32(5.0))]),
        Case(f"{prefix}/rank2_unweighted", m(), "values", [V(v22)]),
        Case(f"{prefix}/rank3_unweighted", m(), "values", [V(v223)]),
        # --- scalar (rank-0) weight: values reduced to a scalar, which is
        #     weighted by w (Mean: the batch counts as w samples) ---------------
        Case(f"{prefix}/rank0_w_rank0", m(), "values", [V(f32(5.0), f32(2.0))]),
        Case(f"{prefix}/rank1_w_rank0", m(), "values", [V(v14, f32(0.5))]),
        Case(f"{prefix}/rank1_w_rank0_then_unweighted", m(), "values",
             [V(f32([1, 3]), f32(2.0)), V(f32([5]))]),
        # --- rank-1 weights ------------------------------------------------------
        Case(f"{prefix}/rank2_w_rank1", m(), "values", [V(v22, f32([2.0, 0.5]))]),
        Case(f"{prefix}/rank3_w_rank1", m(), "values", [V(v223, f32([1.0, 3.0]))]),
        # --- rank-2 weights ------------------------------------------------------
        Case(f"{prefix}/rank2_w_rank2_same_shape", m(), "values",
             [V(v22, f32([[1, 1], [1, 0]]))]),
        Case(f"{prefix}/rank2_w_rank2_broadcast_row", m(), "values", [V(v22, f32([[1, 0]]))]),
        Case(f"{prefix}/rank2_w_rank2_column_n1", m(), "values", [V(v22, f32([[2], [0.5]]))]),
        Case(f"{prefix}/rank3_w_rank2", m(), "values", [V(v223, f32([[1, 0], [0.5, 2]]))]),
        # --- rank-3 weights ------------------------------------------------------
        Case(f"{prefix}/rank3_w_rank3_same_shape", m(), "values",
             [V(v223, f32(np.array([1, 0, 2, 0.5, 1, 1, 0, 0, 3, 1, 1, 0.25]).reshape(2, 2, 3)))]),
        # --- rank mismatches fixed by squeeze_or_expand_to_same_rank (§3.1) -----
        Case(f"{prefix}/values_n1_w_n", m(), "values", [V(f32([[1], [3]]), f32([2, 1]))]),
        Case(f"{prefix}/values_n_w_n1", m(), "values", [V(f32([1, 3]), f32([[2], [1]]))]),
        # --- weight signs and magnitudes ---------------------------------------
        Case(f"{prefix}/negative_weights", m(), "values", [V(v14, f32([-1, -1, 0, 0]))]),
        Case(f"{prefix}/fractional_weights", m(), "values",
             [V(f32([0.1, 0.2, 0.3]), f32([0.3, 0.25, 0.7]))]),
        # --- several batches of different sizes ----------------------------------
        Case(f"{prefix}/multi_batch_5_sizes_vary", m(), "values",
             [V(f32([1])), V(f32([2, 3])), V(f32([4, 5, 6])), V(f32([7, 8, 9, 10])), V(f32([0.5]))]),
        Case(f"{prefix}/multi_batch_trailing_shape_differs", m(), "values",
             [V(f32([[1, 3]])), V(f32([[5, 7], [9, 11]]))]),
        # --- input dtypes (values cast to the metric dtype, float32) -------------
        Case(f"{prefix}/int32_values", m(), "values", [V(i32([1, 3, 5, 7]))]),
        Case(f"{prefix}/int64_values_w_rank1", m(), "values", [V(i64([[1, 2], [3, 4]]), f32([1, 0.5]))]),
        Case(f"{prefix}/bool_values", m(), "values", [V(b([True, False, True, True]))]),
        Case(f"{prefix}/uint8_values", m(), "values", [V(u8([0, 128, 255]))]),
        Case(f"{prefix}/float64_values", m(), "values", [V(f64([0.1, 0.2, 0.7]))]),
        # --- metric dtype int32: values truncated toward zero ----------------------
        Case(f"{prefix}/metric_dtype_int32", m(dtype="int32"), "values", [V(f32([1.5, 2.5, -1.7]))]),
        # --- degenerate inputs ---------------------------------------------------
        Case(f"{prefix}/no_updates", m(), "values", []),
        Case(f"{prefix}/empty_batch", m(), "values", [V(f32(np.zeros((0,))))],
             deviation=_EMPTY_BATCH, tally_rejects=[0]),
        # --- Keras raises (weights cannot broadcast to the values) -------------
        Case(f"{prefix}/error_w_length_mismatch", m(), "values", [V(v14, f32([1, 1, 1]))]),
        Case(f"{prefix}/error_w_rank_above_values", m(), "values",
             [V(f32([1, 2]), f32([[1, 1, 1], [1, 1, 1]]))]),
    ]


def _random_sum_mean_cases(prefix: str, make, rng: np.random.Generator,
                           which: tuple[str, ...]) -> list[Case]:
    """Seeded random batches (values in [-5, 10), weights in [0, 1)).

    ``which`` selects (in order) among the kinds below; only the selected
    ones draw from ``rng``.
    """
    rv = lambda *shape: f32(rng.uniform(-5.0, 10.0, size=shape))  # noqa: E731
    rw = lambda *shape: f32(rng.uniform(0.0, 1.0, size=shape))  # noqa: E731
    kinds = {
        "random_3x_5x4_w_5x4": lambda: [V(rv(5, 4), rw(5, 4)) for _ in range(3)],
        "random_3x_5x4_w_5": lambda: [V(rv(5, 4), rw(5)) for _ in range(3)],
        "random_batches_unweighted": lambda: [V(rv(n, 3)) for n in (2, 7, 4, 1)],
        "random_ntc_w_nt": lambda: [V(rv(3, 4, 2), rw(3, 4)), V(rv(2, 4, 2), rw(2, 4))],
    }
    return [Case(f"{prefix}/{k}", make, "values", kinds[k]()) for k in which]


# Why Keras's float accumulation differs from the exact result (used by the
# "deviation" cases below).
_F32_ACCUM = ("Keras accumulates `total` with float32 arithmetic and no compensation, so "
              "each +1 added to 2^24 = 16777216 rounds away; Tally keeps the exact sum.")
_F64_DEMOTED = ("On the numpy/JAX backends keras.backend.result_type demotes float64 to "
                "float32 (BIT64_TO_BIT32_DTYPE), so Variable.assign_add of a float64 metric "
                "still adds in float32 (2^24 + 1 -> 2^24); the TensorFlow backend and Tally "
                "give the exact 16777217.")


def _sum_only_cases() -> list[Case]:
    S = keras.metrics.Sum
    return [
        Case("sum/named", lambda: S(name="my_sum"), "values", [V(f32([1, 2]))]),
        Case("sum/nan_value", S, "values", [V(f32([1, NAN, 3]))]),
        Case("sum/inf_value", S, "values", [V(f32([1, INF]))]),
        Case("sum/inf_then_minus_inf", S, "values", [V(f32([INF])), V(f32([-INF]))]),
        Case("sum/metric_dtype_float64", lambda: S(dtype="float64"), "values",
             [V(f64([0.1, 0.2, 0.7])), V(f64([1e-3]), f64(2.0))]),
        # Deliberate precision deviations (compare with rtol 0).
        Case("sum/float32_accumulation_2pow24_plus_1", S, "values",
             [V(f32([16777216.0])), V(f32([1.0]))],
             rtol=0.0, deviation=_F32_ACCUM, tally_expected=f64(16777217.0)),
        Case("sum/float32_accumulation_2pow24_plus_4x1", S, "values",
             [V(f32([16777216.0]))] + [V(f32([1.0])) for _ in range(4)],
             rtol=0.0, deviation=_F32_ACCUM, tally_expected=f64(16777220.0)),
        Case("sum/float64_metric_2pow24_plus_1", lambda: S(dtype="float64"), "values",
             [V(f64([16777216.0])), V(f64([1.0]))],
             rtol=0.0, deviation=_F64_DEMOTED, tally_expected=f64(16777217.0)),
    ]


def _mean_only_cases() -> list[Case]:
    M = keras.metrics.Mean
    return [
        Case("mean/named_my_mean", lambda: M(name="my_mean"), "values", [V(f32([1, 3, 5, 7]))]),
        Case("mean/rank1_w_rank1", M, "values", [V(f32([1, 3, 5, 7]), f32([0.5, 2, 1, 0]))]),
        Case("mean/rank3_w_rank3_broadcast", M, "values",
             [V(f32(np.arange(12).reshape(2, 2, 3)), f32([[[1, 0, 2]]]))]),
        Case("mean/values_nt1_w_nt", M, "values",
             [V(f32([[[1], [2]], [[3], [4]]]), f32([[1, 0], [2, 1]]))]),
        Case("mean/multi_batch_weighted_and_unweighted", M, "values",
             [V(f32([1, 3]), f32([1, 0])), V(f32([[5, 7]])), V(f32([2, 4, 6]), f32([0.5, 0.5, 2]))]),
        Case("mean/mixed_sign_weights", M, "values", [V(f32([1, 3, 5, 7]), f32([2, -0.5, 1, -1]))]),
        # count == 0 -> divide_no_nan gives 0, whatever the total.
        Case("mean/all_zero_weights", M, "values", [V(f32([1, 3, 5, 7]), f32([0, 0, 0, 0]))]),
        Case("mean/weights_sum_to_zero", M, "values", [V(f32([1, 3]), f32([1, -1]))]),
        Case("mean/int32_weights", M, "values", [V(f32([1, 3, 5, 7]), i32([1, 2, 0, 3]))]),
        Case("mean/bool_weights", M, "values", [V(f32([1, 3, 5, 7]), b([True, False, True, False]))]),
        Case("mean/empty_batch_then_values", M, "values",
             [V(f32(np.zeros((0, 3)))), V(f32([[1, 2, 3]]))],
             deviation=_EMPTY_BATCH, tally_rejects=[0]),
        # NaN * 0 is NaN: a zero weight does not mask a NaN value.
        Case("mean/nan_value_zero_weight", M, "values", [V(f32([1, NAN, 3]), f32([1, 0, 1]))]),
        # Result dtype stays float32 on this backend (divide_no_nan promotion).
        Case("mean/metric_dtype_float64", lambda: M(dtype="float64"), "values",
             [V(f64([0.1, 0.2, 0.7])), V(f64([1e-3]), f64(2.0))]),
        Case("mean/error_second_update_raises", M, "values",
             [V(f32([1, 2])), V(f32([[1, 2], [3, 4]]), f32([[1, 1, 1]]))]),
    ]


def _mmw_cases(fn_name: str, rng: np.random.Generator, full: bool) -> list[Case]:
    """MeanMetricWrapper(fn=keras.metrics.<fn_name>) cases ("labels" call).

    ``full`` adds the cases that exercise the wrapper rather than ``fn``
    (custom name, extra dtype/rank variants); they are run for one fn only.
    """
    fn = getattr(keras.metrics, fn_name)
    p = f"mean_metric_wrapper/{fn_name}"
    m = lambda **kw: (lambda: keras.metrics.MeanMetricWrapper(fn=fn, **kw))  # noqa: E731
    yt22 = f32([[0, 1], [0, 0]])
    yp22 = f32([[1, 1], [0, 0]])
    y232 = f32(np.arange(12).reshape(2, 3, 2))
    rt = lambda *s: f32(rng.uniform(-2.0, 2.0, size=s))  # noqa: E731
    rw = lambda *s: f32(rng.uniform(0.0, 1.0, size=s))  # noqa: E731
    cases = [
        # Docstring example of keras.metrics.MeanSquaredError / MeanAbsoluteError.
        Case(f"{p}/docstring_unweighted", m(), "labels", [L(yt22, yp22)]),
        Case(f"{p}/docstring_weighted", m(), "labels", [L(yt22, yp22, f32([1, 0]))]),
        Case(f"{p}/rank2_w_rank2_column_n1", m(), "labels",
             [L(f32([[0, 1, 2], [3, 4, 5]]), f32([[1, 1, 1], [3, 3, 7]]), f32([[1], [0.25]]))]),
        Case(f"{p}/rank3_w_rank2", m(), "labels",
             [L(y232, f32(np.ones((2, 3, 2))), f32([[1, 0, 0.5], [0, 0, 2]]))]),
        # Rank 1: fn reduces the last (only) axis -> one scalar per batch, which
        # Mean counts as a single sample (a scalar weight weights that sample).
        Case(f"{p}/rank1_w_rank0", m(), "labels",
             [L(f32([0, 1, 2]), f32([1, 1, 0])), L(f32([1, 1]), f32([1, 3]), f32(3.0))]),
        Case(f"{p}/rank3_unweighted", m(), "labels", [L(y232, y232 * 0.5)]),
        # (N,1) vs (N,): y_true/y_pred are rank-aligned inside fn.
        Case(f"{p}/y_true_n1_y_pred_n", m(), "labels",
             [L(f32([[1], [2], [3]]), f32([1.5, 2, 0]))]),
        # y_true (N,1) broadcast against y_pred (N,3).
        Case(f"{p}/y_true_n1_broadcast_y_pred_n3", m(), "labels",
             [L(f32([[1], [0]]), f32([[1, 0.5, 0], [0.25, 0, 1]]))]),
        # Several batches with varying sizes and weights.
        Case(f"{p}/multi_batch", m(), "labels",
             [L(f32([[0, 1]]), f32([[0.5, 0.5]])),
              L(f32([[1, 1], [0, 0], [2, 2]]), f32([[1, 0], [0, 1], [1, 1]]), f32([1, 2, 0.5])),
              L(f32([[3, 3], [1, 0]]), f32([[3, 2], [0, 1]]))]),
        # Integer y_true with float y_pred (y_true converted to y_pred's dtype).
        Case(f"{p}/int_y_true_float_y_pred", m(), "labels",
             [L(i32([[0, 1, 1], [1, 0, 0]]), f32([[0.1, 0.8, 0.6], [0.9, 0.2, 0.3]]))]),
        Case(f"{p}/random_3_batches_w_rank1", m(), "labels",
             [L(rt(n, 4), rt(n, 4), rw(n)) for n in (5, 3, 6)]),
        # Keras raises: last dimensions 3 and 4 cannot broadcast.
        Case(f"{p}/error_incompatible_shapes", m(), "labels",
             [L(f32([[0, 1, 0], [1, 0, 0]]), f32([[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]]))]),
    ]
    if full:
        cases += [
            Case(f"{p}/custom_name", m(name=f"my_{fn_name}"), "labels", [L(yt22, yp22)]),
            # Rank 1 (see rank1_w_rank0).
            Case(f"{p}/rank1_unweighted", m(), "labels",
                 [L(f32([0, 1, 2, 3]), f32([0.5, 1, 1, 5]))]),
            # A rank-1 weight of length > 1 cannot broadcast to the scalar per-batch
            # value of rank-1 inputs: Keras raises.
            Case(f"{p}/error_rank1_w_rank1", m(), "labels",
                 [L(f32([0, 1, 2]), f32([1, 1, 0]), f32([1, 0, 1]))]),
            Case(f"{p}/rank3_w_rank1", m(), "labels",
                 [L(y232, f32(np.ones((2, 3, 2))), f32([2, 1]))]),
            Case(f"{p}/y_true_n_y_pred_n1_w_rank1", m(), "labels",
                 [L(f32([1, 2, 3]), f32([[1.5], [2], [0]]), f32([1, 2, 1]))]),
            Case(f"{p}/int64_y_true_float64_y_pred", m(), "labels",
                 [L(i64([[0, 2], [1, 1]]), f64([[0.1, 1.7], [1.2, 0.9]]))]),
            # uint8 inputs stay uint8 inside fn (chosen so that y_true >= y_pred:
            # no wrap-around in the subtraction).
            Case(f"{p}/uint8_y_true_uint8_y_pred", m(), "labels",
                 [L(u8([[1, 2], [5, 4]]), u8([[0, 0], [5, 1]]))]),
        ]
    return cases


def reduction_cases() -> list[Case]:
    rng = np.random.default_rng(REDUCTION_SEED)
    cases: list[Case] = []
    cases += _sum_mean_common_cases("sum", keras.metrics.Sum)
    cases += _sum_only_cases()
    cases += _random_sum_mean_cases("sum", keras.metrics.Sum, rng, ("random_3x_5x4_w_5x4",))
    cases += _sum_mean_common_cases("mean", keras.metrics.Mean)
    cases += _mean_only_cases()
    cases += _random_sum_mean_cases("mean", keras.metrics.Mean, rng,
                                    ("random_3x_5x4_w_5x4", "random_batches_unweighted",
                                     "random_ntc_w_nt"))
    cases += _mmw_cases("mean_squared_error", rng, full=True)
    cases += _mmw_cases("mean_absolute_error", rng, full=False)
    return cases


# Values checked by hand / taken from the spec (§2.1, §3.2) and the Keras
# docstrings.  build_family() refuses to write a family whose output disagrees.
# id -> (expected value, relative tolerance).
SPEC_CHECKS: dict[str, dict[str, tuple[float, float]]] = {
    "reduction": {
        "sum/docstring_unweighted": (16.0, 0.0),
        "sum/docstring_weighted": (4.0, 0.0),
        "sum/values_n1_w_n": (5.0, 0.0),
        "sum/rank2_w_rank1": (14.0, 0.0),  # [1+3, 5+7] . [2, 0.5]
        "sum/float32_accumulation_2pow24_plus_1": (16777216.0, 0.0),
        "mean/docstring_unweighted": (4.0, 0.0),
        "mean/docstring_weighted": (2.0, 0.0),
        "mean/multi_batch_trailing_shape_differs": (6.0, 0.0),
        "mean/rank2_w_rank2_same_shape": (3.0, 0.0),
        "mean/rank2_w_rank2_broadcast_row": (3.0, 0.0),
        "mean/rank1_w_rank0_then_unweighted": (3.0, 0.0),
        "mean/values_n1_w_n": (5.0 / 3.0, 1e-6),
        "mean/negative_weights": (2.0, 0.0),
        "mean/weights_sum_to_zero": (0.0, 0.0),
        "mean/no_updates": (0.0, 0.0),
        "mean/metric_dtype_int32": (2.0 / 3.0, 1e-6),  # int(1.5)+int(2.5)+int(-1.7) = 2
        "mean_metric_wrapper/mean_squared_error/docstring_unweighted": (0.25, 0.0),
        "mean_metric_wrapper/mean_squared_error/docstring_weighted": (0.5, 0.0),
        "mean_metric_wrapper/mean_absolute_error/docstring_unweighted": (0.25, 0.0),
        "mean_metric_wrapper/mean_absolute_error/docstring_weighted": (0.5, 0.0),
    },
}


# ==========================================================================
# Driver
# ==========================================================================

# family name -> function returning the list of cases.  Add new families here.
FAMILIES: dict[str, Callable[[], list[Case]]] = {
    "reduction": reduction_cases,
}


def build_family(family: str) -> dict:
    cases = [run_case(c) for c in FAMILIES[family]()]

    ids = [c["id"] for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise SystemExit(f"{family}: duplicate case ids: {dupes}")

    by_id = {c["id"]: c for c in cases}
    for case_id, (want, rtol) in SPEC_CHECKS.get(family, {}).items():
        got = by_id[case_id]["expected"]
        if got is None or abs(float(got["data"][0]) - want) > rtol * abs(want):
            raise SystemExit(f"{family}: spec check failed for {case_id}: got {got}, want {want}")

    return {
        "family": family,
        "generator": GENERATOR,
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "cases": cases,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=sorted(FAMILIES), action="append",
                        help="family to regenerate (repeatable; default: all)")
    parser.add_argument("--out-dir", type=Path, default=FIXTURE_DIR,
                        help=f"output directory (default: {FIXTURE_DIR.relative_to(REPO_ROOT)})")
    parser.add_argument("--allow-version-mismatch", action="store_true",
                        help=f"run even if Keras is not {PINNED_KERAS_VERSION}")
    args = parser.parse_args(argv)

    backend = keras.backend.backend()
    print(f"keras {keras.__version__} (backend {backend}), numpy {np.__version__}")
    if backend != PINNED_BACKEND:
        print(f"error: fixtures must be generated with KERAS_BACKEND={PINNED_BACKEND}", file=sys.stderr)
        return 2
    if keras.__version__ != PINNED_KERAS_VERSION and not args.allow_version_mismatch:
        print(f"error: fixtures are pinned to keras {PINNED_KERAS_VERSION}; "
              f"pass --allow-version-mismatch to override", file=sys.stderr)
        return 2

    args.out_dir.mkdir(parents=True, exist_ok=True)
    for family in args.family or list(FAMILIES):
        doc = build_family(family)
        path = args.out_dir / f"{family}.json"
        # allow_nan=False (inside dumps_fixture) guarantees strict JSON.
        text = dumps_fixture(doc)
        assert json.loads(text) == json.loads(json.dumps(doc, allow_nan=False))
        path.write_text(text + "\n", encoding="utf-8")
        n_err = sum(c["error"] is not None for c in doc["cases"])
        print(f"wrote {path} ({len(doc['cases'])} cases, {n_err} expecting an error)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
