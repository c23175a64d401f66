#!/usr/bin/env python3
"""Generate reference fixtures (Keras; scikit-learn, TorchMetrics) for Tally's Swift tests.

Usage (from the repository root):

    KERAS_BACKEND=numpy python3 Scripts/generate_fixtures.py               # all families
    KERAS_BACKEND=numpy python3 Scripts/generate_fixtures.py --family reduction
    KERAS_BACKEND=numpy python3 Scripts/generate_fixtures.py --family agreement --family calibration
    KERAS_BACKEND=numpy python3 Scripts/generate_fixtures.py --compare-backend jax  # no output;
                                     # lists the cases whose Keras outcome differs on JAX

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
      "expected": T | null,        # null when Keras raised
      "error":    null | "<ExceptionClass>: <message>",  # free text; only "an error" counts
      "error_at": "construction" | "update" | "result",  # only with an error, and
                                  # not in reduction.json (written before this key)
      "rtol":     1e-6,
      # only on cases where Tally deliberately differs from Keras:
      "deviation": "<why>", and one or both of (or, where Tally's config
                                  # differs, a "metric" config the generator edited)
      "tally_expected": T,        # Tally's result where it differs from Keras's
      "tally_rejects": [i, ...],  # indices of updates Tally rejects with an error
                                  # (state unchanged); the other updates proceed
                                  # and the result is compared with "expected"
      "note": "<remark>",         # optional, informational
      "backend": "jax"            # only on cases Keras ran with another backend
                                  # than the file's (see below)
    }

A family may run some cases with another Keras backend (``Case(backend=
"jax")``, e.g. every from_logits=True case of "probabilistic", because the
numpy backend computes binary_crossentropy from logits as sigmoid + clip
where TF/JAX and Tally use the stable log-sigmoid form).  Those cases are
executed by this script in a subprocess with KERAS_BACKEND=<backend> and
carry "backend": "<backend>"; the file's "backend" stays "numpy".

"metric" is keras.metrics.serialize() of the instance, except when Keras
refuses the configuration in __init__ ("error_at": "construction"): then it
is built by hand as {"module": "keras.metrics", "class_name": ..., "config":
{<the keyword arguments passed, Keras names>}, "registered_name": null} and
"updates" is [].  "error_at": "result" means result() raised after the
updates (a lazily built state with no update yet; or Keras's IoU(axis=1)
bug, iou/error_axis_1_rank3_result).  Results are tensors of
any shape (e.g. a vector for a list of thresholds or FBetaScore(average=None)).

The "exact" family (exact.json) is not Keras: "metric" is {"class_name":
"ExactAUC", "config": {"name": "exact_auc", "curve": "ROC" | "PR"}},
"expected" is scikit-learn's float64 value (roc_auc_score /
average_precision_score on all updates concatenated), the file adds
"sklearn_version", and cases may add "note", "sklearn_warning" (sklearn's
warning text where the value is undefined) and "keras_auc_200"
(keras.metrics.AUC(curve=<curve>) on the same updates, for comparison).

The "agreement" (MatthewsCorrelationCoefficient, CohenKappa) and
"calibration" (BrierScore, ExpectedCalibrationError) families are not Keras
either (Keras 3 has none of the four).  "metric" is Tally's config,
{"class_name": ..., "config": {<every key>}} (no module keys, also on
construction errors); "expected" is the float64 value of scikit-learn
(matthews_corrcoef, cohen_kappa_score, brier_score_loss) or of TorchMetrics'
BinaryCalibrationError definition on all accepted updates concatenated.
The input rules (which inputs Tally refuses, how class ids are derived) are
Tally's own and written out in this script (see "Families: agreement and
calibration"); "error" is then "TallyInputError: <the rule broken>", and a
case may list "tally_rejects" without a "deviation" (the reference itself
has no such rule).  The files add "sklearn_version" (calibration also
"torch_version", "torchmetrics_version") and "reference" (the source of
"expected" per metric); cases may add "note", "sklearn_warning" (sklearn's
UndefinedMetricWarning text), "reference" (ExpectedCalibrationError: which
of TorchMetrics or the exact evaluation gave "expected"), and, where sklearn
gives NaN for an undefined kappa, "deviation" with "tally_expected" 0.

T (a tensor) is ``{"dtype": ..., "shape": [...], "data": [row-major flat list]}``
with dtype one of float32/float64/int32/int64/uint8/bool.  Floats are written
as ``repr(float(x))`` (round-trips exactly; a float32 value is widened to the
Python float holding exactly the same value).  Non-finite floats are the
strings "nan", "inf", "-inf", so the files are strict JSON.

Adding a family: write a function ``<family>_cases() -> list[Case]`` (or
``list[RefCase]`` for a reference other than Keras, see above) and
register it in ``FAMILIES`` at the bottom of this file.  Use the ``Case`` /
``V`` / ``L`` helpers and the array constructors (``f32``, ``i32``, ...) so
that every input has an explicit numpy dtype, and ``mk(cls, **kwargs)`` as
``make_metric`` (needed for configurations Keras rejects).  Outside the
reduction family a case expects an error iff the last component of its id
starts with "error_" (checked).  Optionally add known-good values (by hand,
or from a library's docstring) to ``KNOWN_VALUES`` to guard the output.  Cases where
Tally deliberately differs from Keras get an entry in ``TALLY_DEVIATIONS``
(see the comment above it); a family listed in ``DEVIATION_REQUIRED`` names a
predicate, and the build fails unless exactly the cases it selects have one.
A family in ``OPT_IN_FAMILIES`` (none at present) is written only when named
with --family.

Determinism: every family uses its own ``np.random.default_rng(seed)``,
and the Keras session (global name counter) is cleared before each case, so
auto-generated metric names (e.g. "mean_metric_wrapper") do not depend on
which other cases or families ran in the same process.  The "calibration"
family needs torch and torchmetrics (a CPU build of torch is enough).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
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
    # Optional free-text remark written as "note" (not used by the replay).
    note: str | None = None
    # Keras backend to run this case with (None: the pinned numpy backend).
    # "jax" cases run in a subprocess (KERAS_BACKEND=jax) and carry
    # "backend": "jax" in the fixture.
    backend: str | None = None


@dataclass(eq=False)
class MetricFactory:
    """``make_metric`` for a Keras class called with keyword arguments.

    Unlike a plain lambda it remembers the class and the arguments, so a
    configuration Keras rejects in ``__init__`` can still be recorded (the
    fixture then carries the hand-built ``{"module", "class_name", "config":
    <the kwargs>, "registered_name"}``, since there is no instance to
    serialize).
    """

    cls: type
    kwargs: dict

    def __call__(self) -> keras.metrics.Metric:
        return self.cls(**self.kwargs)


def mk(cls: type, **kwargs) -> MetricFactory:
    """``mk(keras.metrics.AUC, curve="PR")``: a factory for ``Case.make_metric``."""
    return MetricFactory(cls, kwargs)


@dataclass
class ExactCase:
    """A case of the "exact" family: scikit-learn, not Keras, is the reference.

    ``curve`` "ROC" -> ``roc_auc_score``, "PR" -> ``average_precision_score``,
    on the concatenation of all updates (scores widened to float64).
    """

    id: str
    curve: str
    updates: list[Update]
    rtol: float = 1e-9
    note: str | None = None
    # Also record keras.metrics.AUC(curve=curve) (200 thresholds) on the same data.
    keras_auc_200: bool = False


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

def _construction_error_case(case: Case, error: str) -> dict:
    """The JSON dict of a case whose metric Keras refuses to construct."""
    factory = case.make_metric
    if not isinstance(factory, MetricFactory):
        # only mk(...) factories may fail on purpose
        raise RuntimeError(f"{case.id}: the metric failed to construct: {error}")
    if case.updates:
        raise ValueError(f"{case.id}: a construction-error case takes no updates")
    out = {
        "id": case.id,
        "metric": {
            "module": "keras.metrics",
            "class_name": factory.cls.__name__,
            "config": json_safe(factory.kwargs),
            "registered_name": None,
        },
        "call": case.call,
        "updates": [],
        "expected": None,
        "error": error,
        "error_at": "construction",
        "rtol": case.rtol,
    }
    if case.note is not None:
        out["note"] = case.note
    if case.backend is not None:
        out["backend"] = case.backend
    return out


def execute_case(case: Case, legacy: bool = False) -> dict:
    """Run ``case`` on the backend of this process; JSON-safe outcome.

    ``{"construction_error": "<Class>: <message>"}`` when the metric does not
    construct (never for ``legacy``), else ``{"metric": <serialized>,
    "expected": T | None, "error": str | None, "stage": "update" | "result"}``.
    """
    keras.utils.clear_session()  # reset the global name-uniquifying counter
    if legacy:
        metric = case.make_metric()
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                metric = case.make_metric()
        except Exception as e:  # noqa: BLE001 - a Keras refusal is a fixture outcome
            return {"construction_error": f"{type(e).__name__}: {e}"}
    serialized = json_safe(keras.metrics.serialize(metric))

    expected = None
    error = None
    stage = "update"
    try:
        # numpy warns on 0/0 inside divide_no_nan (the where() discards it).
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for upd in case.updates:
                if upd.sample_weight is None:
                    metric.update_state(*upd.args)
                else:
                    metric.update_state(*upd.args, sample_weight=upd.sample_weight)
            stage = "result"
            expected = encode_tensor(np.asarray(metric.result()))
    except Exception as e:  # noqa: BLE001 - any Keras error is a fixture outcome
        error = f"{type(e).__name__}: {e}"
    return {"metric": serialized, "expected": expected, "error": error, "stage": stage}


def run_case(case: Case | ExactCase | RefCase, legacy: bool = False, outcome: dict | None = None) -> dict:
    """Execute ``case`` with a fresh metric and return its JSON dict.

    ``legacy`` keeps the original format of the first family (no
    "error_at" key; a metric that fails to construct is a generator bug).
    ``outcome`` is ``execute_case``'s result when the case was run elsewhere
    (another backend, in a subprocess); otherwise it is run here.
    """
    if isinstance(case, ExactCase):
        return run_exact_case(case)
    if isinstance(case, RefCase):
        return run_reference_case(case)
    if outcome is None:
        outcome = execute_case(case, legacy)
    if "construction_error" in outcome:
        return _construction_error_case(case, outcome["construction_error"])
    error = outcome["error"]

    out = {
        "id": case.id,
        "metric": outcome["metric"],
        "call": case.call,
        "updates": [encode_update(case.call, u) for u in case.updates],
        "expected": outcome["expected"],
        "error": error,
    }
    if not legacy and error is not None:
        out["error_at"] = outcome["stage"]
    out["rtol"] = case.rtol
    if case.deviation is not None:
        if case.tally_expected is None and case.tally_rejects is None:
            raise ValueError(f"{case.id}: 'deviation' requires 'tally_expected' or 'tally_rejects'")
        out["deviation"] = case.deviation
        if case.tally_expected is not None:
            out["tally_expected"] = encode_tensor(case.tally_expected)
        if case.tally_rejects is not None:
            out["tally_rejects"] = case.tally_rejects
    if case.note is not None:
        out["note"] = case.note
    if case.backend is not None:
        out["backend"] = case.backend
    return out


# ==========================================================================
# Family: reduction  (Sum, Mean, MeanMetricWrapper)
#
# Keras source: keras/src/metrics/reduction_metrics.py.  Sum and Mean share
# reduce_to_samplewise_values: weights are rank-aligned with
# squeeze_or_expand_to_same_rank (keras/src/losses/loss.py: a trailing axis
# of size 1 is squeezed, or one added), the values' extra trailing axes are
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
        # --- rank mismatches fixed by squeeze_or_expand_to_same_rank ------------
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


# ==========================================================================
# Family: accuracy  (Accuracy, BinaryAccuracy, CategoricalAccuracy,
# SparseCategoricalAccuracy, TopKCategoricalAccuracy,
# SparseTopKCategoricalAccuracy)
#
# Keras source: keras/src/metrics/accuracy_metrics.py.  All are
# MeanMetricWrappers: a per-sample function (reduced over the last axis for
# element-wise ones), then Mean with the weight rules of the reduction
# family above.
# Tie rules: argmax takes the lowest index; in_top_k counts a target as a hit
# iff fewer than k classes score strictly higher (boundary ties are hits).
# ==========================================================================

ACCURACY_SEED = 20240612

_F64_INPUT_DEMOTED = ("On the numpy/JAX backends ops.convert_to_tensor turns a float64 array into "
                      "float32 (BIT64_TO_BIT32_DTYPE), so y_pred = float64 0.1 becomes float32 0.1 and "
                      "equals y_true = float32 0.1; Tally (like the TensorFlow backend) keeps float64 "
                      "and compares float64(float32(0.1)) != 0.1.")


def _accuracy_cases(rng: np.random.Generator) -> list[Case]:
    A = keras.metrics.Accuracy
    p = "accuracy"
    yt4, yp4 = f32([[1], [2], [3], [4]]), f32([[0], [2], [3], [4]])
    ri = lambda *s: f32(rng.integers(0, 3, size=s))  # noqa: E731
    rw = lambda *s: f32(rng.uniform(0.0, 1.0, size=s))  # noqa: E731
    return [
        Case(f"{p}/docstring_unweighted", mk(A), "labels", [L(yt4, yp4)]),
        Case(f"{p}/docstring_weighted", mk(A), "labels", [L(yt4, yp4, f32([1, 1, 0, 0]))]),
        Case(f"{p}/rank1", mk(A), "labels", [L(f32([1, 2, 3, 4, 5]), f32([1, 2, 0, 4, 4]))]),
        Case(f"{p}/y_true_n1_y_pred_n", mk(A), "labels", [L(f32([[1], [2], [3]]), f32([1, 0, 3]))]),
        Case(f"{p}/y_true_n_y_pred_n1_w_n", mk(A), "labels",
             [L(i32([1, 2, 3]), f32([[1], [2], [0]]), f32([1, 2, 3]))]),
        # Element-wise equality, averaged per sample: [0.5, 1] -> 0.75.
        Case(f"{p}/int32_labels_int32_preds_rank2", mk(A), "labels",
             [L(i32([[1, 2], [3, 4]]), i32([[1, 0], [3, 4]]))]),
        Case(f"{p}/rank2_w_rank2", mk(A), "labels",
             [L(f32([[1, 2, 3], [4, 5, 6]]), f32([[1, 0, 3], [0, 5, 0]]), f32([[1, 2, 0], [0.5, 1, 1]]))]),
        Case(f"{p}/rank3_w_rank2", mk(A), "labels",
             [L(f32([[[0, 1, 2], [1, 1, 1]], [[2, 2, 0], [0, 0, 0]]]),
                f32([[[0, 1, 0], [1, 1, 1]], [[2, 0, 0], [1, 0, 0]]]),
                f32([[1, 0.5], [2, 0]]))]),
        # y_true is cast to y_pred's dtype before comparing: float64(0.1) cast to
        # float32 equals float32(0.1) ...
        Case(f"{p}/float64_true_float32_pred", mk(A), "labels",
             [L(f64([0.1, 0.2, 0.3]), f32([0.1, 0.2, 0.5]))]),
        # ... but float32(0.1) widened to float64 differs from float64(0.1) --
        # except that the numpy backend's convert_to_tensor demotes the float64
        # y_pred to float32 first, so Keras (numpy/JAX) sees three matches.
        Case(f"{p}/float32_true_float64_pred", mk(A), "labels",
             [L(f32([0.1, 0.25, 0.5]), f64([0.1, 0.25, 0.5]))],
             deviation=_F64_INPUT_DEMOTED, tally_expected=f64(2.0 / 3.0)),
        Case(f"{p}/bool_labels_bool_preds", mk(A), "labels",
             [L(b([True, False, True, False]), b([True, True, True, False]))]),
        Case(f"{p}/multi_batch_weighted_and_unweighted", mk(A), "labels",
             [L(f32([1, 2]), f32([1, 1])), L(f32([3, 3, 3]), f32([3, 0, 3]), f32([0.5, 1, 2])),
              L(f32([[7]]), f32([[7]]))]),
        Case(f"{p}/random_3_batches_w_rank1", mk(A), "labels",
             [L(ri(n), ri(n), rw(n)) for n in (6, 4, 9)]),
        Case(f"{p}/error_shape_mismatch", mk(A), "labels", [L(f32([1, 2, 3]), f32([1, 2]))]),
    ]


def _binary_accuracy_cases(rng: np.random.Generator) -> list[Case]:
    B = keras.metrics.BinaryAccuracy
    p = "binary_accuracy"
    ytd, ypd = f32([[1], [1], [0], [0]]), f32([[0.98], [1], [0], [0.6]])
    rb = lambda *s: f32(rng.integers(0, 2, size=s))  # noqa: E731
    rp = lambda *s: f32(rng.uniform(0.0, 1.0, size=s))  # noqa: E731
    return [
        Case(f"{p}/docstring_unweighted", mk(B), "labels", [L(ytd, ypd)]),
        Case(f"{p}/docstring_weighted", mk(B), "labels", [L(ytd, ypd, f32([1, 0, 0, 1]))]),
        # Strict ">": 0.5 is class 0.
        Case(f"{p}/pred_exactly_0_5_is_negative", mk(B), "labels",
             [L(f32([0, 1, 0, 1]), f32([0.5, 0.5, 0.49, 0.51]))]),
        Case(f"{p}/threshold_0_7", mk(B, threshold=0.7), "labels",
             [L(f32([1, 1, 0, 0]), f32([0.7, 0.71, 0.69, 0.9]))]),
        # Logits with threshold 0 (0.0 itself is negative).
        Case(f"{p}/threshold_0_logits", mk(B, threshold=0.0), "labels",
             [L(f32([1, 0, 1, 0]), f32([2.0, -1.0, 0.0, 0.5]))]),
        Case(f"{p}/threshold_1_nothing_positive", mk(B, threshold=1.0), "labels",
             [L(f32([1, 0, 1, 0]), f32([1.0, 0.2, 0.99, 1.0]))]),
        # A soft label never equals the 0/1 thresholded prediction.
        Case(f"{p}/soft_labels_never_match", mk(B), "labels",
             [L(f32([0.9, 0.1, 1.0, 0.0]), f32([0.95, 0.05, 0.8, 0.3]))]),
        # Multi-label rows: element-wise, then per-sample mean (fractional).
        Case(f"{p}/multilabel_rows", mk(B), "labels",
             [L(f32([[1, 0, 1], [0, 0, 1]]), f32([[0.8, 0.6, 0.4], [0.1, 0.2, 0.9]]))]),
        Case(f"{p}/multilabel_rows_w_rank1", mk(B), "labels",
             [L(f32([[1, 0, 1], [0, 0, 1]]), f32([[0.8, 0.6, 0.4], [0.1, 0.2, 0.9]]), f32([0.25, 1]))]),
        Case(f"{p}/multilabel_rows_w_rank2", mk(B), "labels",
             [L(f32([[1, 0, 1], [0, 0, 1]]), f32([[0.8, 0.6, 0.4], [0.1, 0.2, 0.9]]),
                f32([[1, 0, 1], [2, 2, 0]]))]),
        Case(f"{p}/rank1", mk(B), "labels", [L(f32([1, 0, 1, 1, 0]), f32([0.7, 0.2, 0.3, 0.9, 0.6]))]),
        Case(f"{p}/rank1_w_rank1", mk(B), "labels",
             [L(f32([1, 0, 1, 1, 0]), f32([0.7, 0.2, 0.3, 0.9, 0.6]), f32([1, 2, 3, 0, 0.5]))]),
        Case(f"{p}/y_true_n_y_pred_n1", mk(B), "labels",
             [L(f32([1, 0, 1]), f32([[0.7], [0.2], [0.3]]))]),
        Case(f"{p}/y_true_n1_y_pred_n", mk(B), "labels",
             [L(f32([[1], [0], [1]]), f32([0.7, 0.2, 0.3]))]),
        # y_pred > threshold is cast to y_true's dtype (int32 / bool).
        Case(f"{p}/int32_labels", mk(B), "labels", [L(i32([1, 0, 1]), f32([0.6, 0.5, 0.2]))]),
        Case(f"{p}/bool_labels", mk(B), "labels",
             [L(b([True, False, True, False]), f32([0.6, 0.5, 0.2, 0.1]))]),
        Case(f"{p}/float64_preds", mk(B), "labels",
             [L(f64([1, 0, 1, 0]), f64([0.5000001, 0.5, 0.75, 0.25]))]),
        Case(f"{p}/rank3_w_rank2", mk(B), "labels",
             [L(f32([[[1, 0], [0, 0], [1, 1]], [[0, 1], [1, 0], [0, 0]]]),
                f32([[[0.9, 0.4], [0.6, 0.1], [0.2, 0.8]], [[0.3, 0.7], [0.55, 0.5], [0.0, 1.0]]]),
                f32([[1, 0, 2], [0.5, 1, 1]]))]),
        Case(f"{p}/multi_batch", mk(B), "labels",
             [L(f32([[1], [0]]), f32([[0.9], [0.1]])),
              L(f32([[1], [1], [0]]), f32([[0.4], [0.6], [0.7]]), f32([2, 1, 1])),
              L(f32([[0]]), f32([[0.5]]))]),
        Case(f"{p}/random_3_batches_rank2_w_rank1", mk(B), "labels",
             [L(rb(n, 4), rp(n, 4), rp(n)) for n in (5, 3, 7)]),
    ]


def _categorical_accuracy_cases(rng: np.random.Generator) -> list[Case]:
    C = keras.metrics.CategoricalAccuracy
    p = "categorical_accuracy"
    ytd, ypd = f32([[0, 0, 1], [0, 1, 0]]), f32([[0.1, 0.9, 0.8], [0.05, 0.95, 0]])

    def onehot(n, c):
        return f32(np.eye(c)[rng.integers(0, c, size=n)])

    rp = lambda *s: f32(rng.uniform(0.0, 1.0, size=s))  # noqa: E731
    return [
        Case(f"{p}/docstring_unweighted", mk(C), "labels", [L(ytd, ypd)]),
        Case(f"{p}/docstring_weighted", mk(C), "labels", [L(ytd, ypd, f32([0.7, 0.3]))]),
        # argmax ties -> lowest index.
        Case(f"{p}/tie_lowest_index_miss", mk(C), "labels", [L(f32([[0, 1, 0]]), f32([[0.5, 0.5, 0]]))]),
        Case(f"{p}/tie_lowest_index_hit", mk(C), "labels", [L(f32([[1, 0, 0]]), f32([[0.5, 0.5, 0]]))]),
        Case(f"{p}/tie_three_way", mk(C), "labels",
             [L(f32([[0, 1, 0, 0], [0, 0, 1, 0]]), f32([[0.2, 0.4, 0.4, 0.4], [0.2, 0.4, 0.4, 0.4]]))]),
        Case(f"{p}/logits", mk(C), "labels",
             [L(f32([[0, 0, 1], [1, 0, 0], [0, 1, 0]]), f32([[-2, 1, 3.5], [-0.1, -0.2, -3], [4, -1, 2]]))]),
        Case(f"{p}/soft_labels", mk(C), "labels",
             [L(f32([[0.1, 0.8, 0.1], [0.6, 0.3, 0.1]]), f32([[0.2, 0.7, 0.1], [0.1, 0.2, 0.7]]))]),
        # A tie in y_true also resolves to the lowest index.
        Case(f"{p}/tie_in_y_true", mk(C), "labels",
             [L(f32([[0.5, 0.5, 0], [0, 0.5, 0.5]]), f32([[0.1, 0.8, 0.1], [0.1, 0.8, 0.1]]))]),
        Case(f"{p}/int32_one_hot", mk(C), "labels",
             [L(i32([[0, 0, 1], [0, 1, 0], [1, 0, 0]]),
                f32([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.5, 0.2, 0.3]]))]),
        Case(f"{p}/float64_preds", mk(C), "labels",
             [L(f64([[0, 1], [1, 0]]), f64([[0.4, 0.6], [0.5, 0.5]]))]),
        # Sequences (N,T,C): one match per step, per-sample mean over T.
        Case(f"{p}/rank3_unweighted", mk(C), "labels",
             [L(f32(np.eye(3)[[[0, 1], [2, 2]]]), f32([[[0.6, 0.3, 0.1], [0.6, 0.3, 0.1]],
                                                      [[0.1, 0.2, 0.7], [0.3, 0.3, 0.3]]]))]),
        Case(f"{p}/rank3_w_rank2", mk(C), "labels",
             [L(f32(np.eye(3)[[[0, 1], [2, 2]]]), f32([[[0.6, 0.3, 0.1], [0.6, 0.3, 0.1]],
                                                      [[0.1, 0.2, 0.7], [0.3, 0.3, 0.3]]]),
                f32([[1, 3], [0.5, 0]]))]),
        Case(f"{p}/rank3_w_rank1", mk(C), "labels",
             [L(f32(np.eye(3)[[[0, 1], [2, 2]]]), f32([[[0.6, 0.3, 0.1], [0.6, 0.3, 0.1]],
                                                      [[0.1, 0.2, 0.7], [0.3, 0.3, 0.3]]]),
                f32([1, 3]))]),
        # Rank-1 inputs: a single sample (argmax is a scalar, Mean counts 1).
        Case(f"{p}/rank1_single_sample", mk(C), "labels",
             [L(f32([0, 1, 0]), f32([0.2, 0.5, 0.3])), L(f32([1, 0, 0]), f32([0.2, 0.5, 0.3]))]),
        Case(f"{p}/multi_batch", mk(C), "labels",
             [L(ytd, ypd), L(f32([[1, 0, 0]]), f32([[0.9, 0.05, 0.05]]), f32([3]))]),
        Case(f"{p}/random_3_batches_w_rank1", mk(C), "labels",
             [L(onehot(n, 4), rp(n, 4), rp(n)) for n in (6, 2, 8)]),
    ]


def _sparse_categorical_accuracy_cases(rng: np.random.Generator) -> list[Case]:
    S = keras.metrics.SparseCategoricalAccuracy
    p = "sparse_categorical_accuracy"
    ypd = f32([[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    yp_seq = f32([[[0.6, 0.3, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]],
                  [[0.1, 0.2, 0.7], [0.3, 0.3, 0.3], [0.9, 0.0, 0.1]]])
    yt_seq = i32([[0, 2, 2], [2, 0, 0]])
    rp = lambda *s: f32(rng.uniform(0.0, 1.0, size=s))  # noqa: E731
    return [
        Case(f"{p}/docstring_unweighted", mk(S), "labels", [L(i32([[2], [1]]), ypd)]),
        Case(f"{p}/docstring_weighted", mk(S), "labels", [L(i32([[2], [1]]), ypd, f32([0.7, 0.3]))]),
        Case(f"{p}/labels_n_int32", mk(S), "labels", [L(i32([2, 1]), ypd)]),
        Case(f"{p}/labels_n_float32", mk(S), "labels", [L(f32([1, 1]), ypd)]),
        Case(f"{p}/labels_n1_int64_w_n", mk(S), "labels", [L(i64([[1], [0]]), ypd, f32([2, 1]))]),
        Case(f"{p}/tie_lowest_index", mk(S), "labels",
             [L(i32([1, 0, 2]), f32([[0.4, 0.4, 0.2], [0.4, 0.4, 0.2], [0.1, 0.45, 0.45]]))]),
        Case(f"{p}/logits", mk(S), "labels",
             [L(i32([2, 0, 1]), f32([[-2, 1, 3.5], [-0.1, -0.2, -3], [4, -1, 2]]))]),
        Case(f"{p}/float64_preds", mk(S), "labels", [L(i32([1, 0]), f64([[0.2, 0.8], [0.7, 0.3]]))]),
        # Sequences: labels (N,T) or (N,T,1) vs scores (N,T,C).
        Case(f"{p}/sequences_nt", mk(S), "labels", [L(yt_seq, yp_seq)]),
        Case(f"{p}/sequences_nt1", mk(S), "labels", [L(yt_seq[..., None], yp_seq)]),
        Case(f"{p}/sequences_w_nt", mk(S), "labels", [L(yt_seq, yp_seq, f32([[1, 0, 2], [1, 1, 0.5]]))]),
        Case(f"{p}/sequences_w_n", mk(S), "labels", [L(yt_seq, yp_seq, f32([3, 1]))]),
        Case(f"{p}/sequences_nt1_w_nt", mk(S), "labels",
             [L(yt_seq[..., None], yp_seq, f32([[1, 0, 2], [1, 1, 0.5]]))]),
        Case(f"{p}/multi_batch", mk(S), "labels",
             [L(i32([2, 1]), ypd), L(i32([0]), f32([[0.5, 0.25, 0.25]]), f32([0.5])),
              L(i32([1, 1, 1]), f32([[0.3, 0.3, 0.4], [0.1, 0.8, 0.1], [0, 1, 0]]))]),
        Case(f"{p}/random_3_batches_w_rank1", mk(S), "labels",
             [L(i32(rng.integers(0, 5, size=n)), rp(n, 5), rp(n)) for n in (7, 3, 5)]),
    ]


def _top_k_categorical_accuracy_cases(rng: np.random.Generator) -> list[Case]:
    T = keras.metrics.TopKCategoricalAccuracy
    p = "top_k_categorical_accuracy"
    ytd, ypd = f32([[0, 0, 1], [0, 1, 0]]), f32([[0.1, 0.9, 0.8], [0.05, 0.95, 0]])

    def onehot(n, c):
        return f32(np.eye(c)[rng.integers(0, c, size=n)])

    rp = lambda *s: f32(rng.uniform(0.0, 1.0, size=s))  # noqa: E731
    return [
        Case(f"{p}/docstring_k1_unweighted", mk(T, k=1), "labels", [L(ytd, ypd)]),
        Case(f"{p}/docstring_k1_weighted", mk(T, k=1), "labels", [L(ytd, ypd, f32([0.7, 0.3]))]),
        Case(f"{p}/default_k5_c8", mk(T), "labels", [L(onehot(6, 8), rp(6, 8))]),
        # Boundary ties are hits: fewer than k classes score strictly higher.
        Case(f"{p}/k2_tie_at_boundary_hit", mk(T, k=2), "labels",
             [L(f32([[0, 0, 1]]), f32([[0.5, 0.3, 0.3]]))]),
        Case(f"{p}/k1_tie_at_boundary_hits", mk(T, k=1), "labels",
             [L(f32([[0, 0, 1, 0, 0], [0, 0, 0, 0, 1], [0, 1, 0, 0, 0]]),
                f32([[0.1, 0.3, 0.3, 0.3, 0.0], [0.1, 0.3, 0.3, 0.3, 0.0], [0.1, 0.3, 0.3, 0.3, 0.0]]))]),
        Case(f"{p}/k2_tie_above_boundary_miss", mk(T, k=2), "labels",
             [L(f32([[0, 0, 0, 1]]), f32([[0.4, 0.4, 0.4, 0.3]]))]),
        Case(f"{p}/k_ge_num_classes", mk(T, k=5), "labels",
             [L(f32([[0, 0, 1], [1, 0, 0]]), f32([[0.5, 0.4, 0.1], [0.0, 0.3, 0.7]]))]),
        Case(f"{p}/k2_logits", mk(T, k=2), "labels",
             [L(f32([[0, 0, 1, 0], [1, 0, 0, 0]]), f32([[-1, 2, 0.5, -3], [-4, 1, 0, -0.5]]))]),
        Case(f"{p}/k2_soft_labels", mk(T, k=2), "labels",
             [L(f32([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]]), f32([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]]))]),
        Case(f"{p}/k2_int32_labels", mk(T, k=2), "labels",
             [L(i32([[0, 1, 0], [0, 0, 1]]), f32([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]]))]),
        # Rank 3: flattened to (-1, C), result reshaped back to (N, T).
        Case(f"{p}/k2_rank3_w_rank2", mk(T, k=2), "labels",
             [L(f32(np.eye(4)[[[0, 3], [2, 1]]]),
                f32([[[0.4, 0.3, 0.2, 0.1], [0.4, 0.3, 0.2, 0.1]],
                     [[0.1, 0.5, 0.3, 0.1], [0.2, 0.1, 0.6, 0.1]]]),
                f32([[1, 2], [0.5, 0]]))]),
        Case(f"{p}/k3_random_3_batches_w_rank1", mk(T, k=3), "labels",
             [L(onehot(n, 6), rp(n, 6), rp(n)) for n in (5, 4, 6)]),
        # A rank-1 y_true has a scalar argmax; in_top_k cannot index it.
        Case(f"{p}/error_rank1_inputs", mk(T, k=1), "labels", [L(f32([0, 1, 0]), f32([0.2, 0.5, 0.3]))]),
        # --- NaN scores.  Numpy backend: top_k is a reversed np.argsort, which
        # sorts NaN last, so a NaN ranks above every number and fills a top-k
        # slot; in_top_k is then any(target_score >= top-k value), False for NaN.
        # The target's own score is NaN: a miss for every k, even k >= C.
        Case(f"{p}/nan_target_score_k1", mk(T, k=1), "labels",
             [L(f32([[0, 1, 0, 0]]), f32([[0.1, NAN, 0.3, 0.2]]))]),
        Case(f"{p}/nan_target_score_k2", mk(T, k=2), "labels",
             [L(f32([[0, 1, 0, 0]]), f32([[0.1, NAN, 0.3, 0.2]]))]),
        Case(f"{p}/nan_target_score_k_ge_num_classes", mk(T, k=5), "labels",
             [L(f32([[0, 1, 0, 0]]), f32([[0.1, NAN, 0.3, 0.2]]))]),
        # NaN in another class takes a slot: the largest number is a miss at
        # k=1 and a hit at k=2; the second largest (top 2 without the NaN) a
        # miss at k=2; the smallest a miss.
        Case(f"{p}/nan_other_class_target_max_k1", mk(T, k=1), "labels",
             [L(f32([[0, 0, 1, 0]]), f32([[0.1, NAN, 0.3, 0.2]]))]),
        Case(f"{p}/nan_other_class_target_max_k2", mk(T, k=2), "labels",
             [L(f32([[0, 0, 1, 0]]), f32([[0.1, NAN, 0.3, 0.2]]))]),
        Case(f"{p}/nan_other_class_target_second_k2", mk(T, k=2), "labels",
             [L(f32([[0, 0, 0, 1]]), f32([[0.1, NAN, 0.3, 0.2]]))]),
        Case(f"{p}/nan_other_class_target_outside_k2", mk(T, k=2), "labels",
             [L(f32([[1, 0, 0, 0]]), f32([[0.1, NAN, 0.3, 0.2]]))]),
        # A row of NaN: a miss.
        Case(f"{p}/nan_whole_row_k2", mk(T, k=2), "labels",
             [L(f32([[0, 0, 1, 0]]), f32([[NAN, NAN, NAN, NAN]]))]),
        # Rows: hit, miss, NaN target (miss), NaN elsewhere + target max (hit),
        # NaN elsewhere + target second (miss), NaN row (miss) -> 2.5 / 8.25.
        Case(f"{p}/nan_mixed_batch_k2_w_rank1", mk(T, k=2), "labels",
             [L(f32([[1, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]]),
                f32([[0.6, 0.1, 0.2, 0.05], [0.6, 0.1, 0.2, 0.05], [0.1, NAN, 0.3, 0.2],
                     [0.1, NAN, 0.3, 0.2], [0.1, NAN, 0.3, 0.2], [NAN, NAN, NAN, NAN]]),
                f32([1, 0.5, 2, 1.5, 3, 0.25]))]),
    ]


def _sparse_top_k_cases(rng: np.random.Generator) -> list[Case]:
    S = keras.metrics.SparseTopKCategoricalAccuracy
    p = "sparse_top_k_categorical_accuracy"
    ypd = f32([[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    rp = lambda *s: f32(rng.uniform(0.0, 1.0, size=s))  # noqa: E731
    return [
        Case(f"{p}/docstring_k1_unweighted", mk(S, k=1), "labels", [L(i32([2, 1]), ypd)]),
        Case(f"{p}/docstring_k1_weighted", mk(S, k=1), "labels", [L(i32([2, 1]), ypd, f32([0.7, 0.3]))]),
        Case(f"{p}/default_k5_c8", mk(S), "labels", [L(i32(rng.integers(0, 8, size=6)), rp(6, 8))]),
        Case(f"{p}/k1_labels_n1", mk(S, k=1), "labels", [L(i32([[2], [1]]), ypd)]),
        Case(f"{p}/k1_labels_float32", mk(S, k=1), "labels", [L(f32([1, 2]), ypd)]),
        Case(f"{p}/k1_labels_int64_w_n", mk(S, k=1), "labels", [L(i64([1, 1]), ypd, f32([0.25, 2]))]),
        Case(f"{p}/k2_tie_at_boundary_hit", mk(S, k=2), "labels", [L(i32([2]), f32([[0.5, 0.3, 0.3]]))]),
        Case(f"{p}/k1_tie_at_boundary_hits", mk(S, k=1), "labels",
             [L(i32([1, 3, 4]), f32([[0.1, 0.3, 0.3, 0.3, 0.0]] * 3))]),
        Case(f"{p}/k2_logits", mk(S, k=2), "labels",
             [L(i32([2, 0]), f32([[-1, 2, 0.5, -3], [-4, 1, 0, -0.5]]))]),
        Case(f"{p}/k_ge_num_classes", mk(S, k=4), "labels",
             [L(i32([0, 2]), f32([[0.1, 0.2, 0.7], [0.5, 0.4, 0.1]]))]),
        Case(f"{p}/k2_sequences_w_nt", mk(S, k=2), "labels",
             [L(i32([[0, 3], [2, 1]]),
                f32([[[0.4, 0.3, 0.2, 0.1], [0.4, 0.3, 0.2, 0.1]],
                     [[0.1, 0.5, 0.3, 0.1], [0.2, 0.1, 0.6, 0.1]]]),
                f32([[1, 2], [0.5, 0]]))]),
        Case(f"{p}/k2_random_3_batches_w_rank1", mk(S, k=2), "labels",
             [L(i32(rng.integers(0, 5, size=n)), rp(n, 5), rp(n)) for n in (5, 4, 6)]),
        # --- from_sorted_ids=True: y_pred holds class ids sorted by score -----
        Case(f"{p}/sorted_ids_docstring_k1", mk(S, k=1, from_sorted_ids=True), "labels",
             [L(i32([2, 1]), i32([[1, 0, 3], [1, 2, 3]]))]),
        # Duplicate ids among the first k count once (any()).
        Case(f"{p}/sorted_ids_duplicates_k2", mk(S, k=2, from_sorted_ids=True), "labels",
             [L(i32([3, 2, 1, 1]), i32([[1, 1, 3], [2, 2, 2], [0, 4, 1], [1, 1, 1]]))]),
        # k larger than the number of ids given: all ids are looked at.
        Case(f"{p}/sorted_ids_k_gt_m", mk(S, k=5, from_sorted_ids=True), "labels",
             [L(i32([2, 7]), i32([[1, 0, 2], [1, 2, 3]]))]),
        Case(f"{p}/sorted_ids_labels_n1_w_n", mk(S, k=2, from_sorted_ids=True), "labels",
             [L(i32([[4], [0], [9]]), i32([[4, 1, 0], [1, 0, 2], [3, 9, 9]]), f32([1, 2, 0.5]))]),
        # y_true is converted to y_pred's dtype (here float labels, int64 ids).
        Case(f"{p}/sorted_ids_float_labels_int64_ids", mk(S, k=2, from_sorted_ids=True), "labels",
             [L(f32([5, 6]), i64([[6, 5], [1, 6]]))]),
        Case(f"{p}/sorted_ids_large_int64_ids", mk(S, k=1, from_sorted_ids=True), "labels",
             [L(i64([10_000_000_123, 42]), i64([[10_000_000_123, 7], [7, 42]]))]),
        Case(f"{p}/sorted_ids_sequences", mk(S, k=2, from_sorted_ids=True), "labels",
             [L(i32([[1, 2], [3, 0]]), i32([[[1, 5, 2], [0, 1, 2]], [[2, 3, 3], [1, 1, 1]]]))]),
        Case(f"{p}/sorted_ids_multi_batch", mk(S, k=3, from_sorted_ids=True), "labels",
             [L(i32([1, 2]), i32([[0, 2, 3, 1], [2, 0, 0, 0]])), L(i32([9]), i32([[8, 7, 9, 6]]), f32([2]))]),
        # --- NaN scores (numpy backend; see top_k_categorical_accuracy): a NaN
        # fills a top-k slot and never counts as the target's hit.
        # The target's own score is NaN: a miss for every k, even k >= C.
        Case(f"{p}/nan_target_score_k1", mk(S, k=1), "labels", [L(i32([1]), f32([[0.1, NAN, 0.3, 0.2]]))]),
        Case(f"{p}/nan_target_score_k2", mk(S, k=2), "labels", [L(i32([1]), f32([[0.1, NAN, 0.3, 0.2]]))]),
        Case(f"{p}/nan_target_score_k_ge_num_classes", mk(S, k=5), "labels",
             [L(i32([1]), f32([[0.1, NAN, 0.3, 0.2]]))]),
        # NaN in another class: largest number a miss at k=1, a hit at k=2;
        # second largest a miss at k=2; smallest a miss.
        Case(f"{p}/nan_other_class_target_max_k1", mk(S, k=1), "labels",
             [L(i32([2]), f32([[0.1, NAN, 0.3, 0.2]]))]),
        Case(f"{p}/nan_other_class_target_max_k2", mk(S, k=2), "labels",
             [L(i32([2]), f32([[0.1, NAN, 0.3, 0.2]]))]),
        Case(f"{p}/nan_other_class_target_second_k2", mk(S, k=2), "labels",
             [L(i32([3]), f32([[0.1, NAN, 0.3, 0.2]]))]),
        Case(f"{p}/nan_other_class_target_outside_k2", mk(S, k=2), "labels",
             [L(i32([0]), f32([[0.1, NAN, 0.3, 0.2]]))]),
        # A row of NaN: a miss.
        Case(f"{p}/nan_whole_row_k2", mk(S, k=2), "labels", [L(i32([2]), f32([[NAN, NAN, NAN, NAN]]))]),
        # Rows: hit, miss, NaN target (miss), NaN elsewhere + target max (hit),
        # NaN elsewhere + target second (miss), NaN row (miss) -> 2.5 / 8.25.
        Case(f"{p}/nan_mixed_batch_k2_w_rank1", mk(S, k=2), "labels",
             [L(i32([0, 3, 1, 2, 3, 0]),
                f32([[0.6, 0.1, 0.2, 0.05], [0.6, 0.1, 0.2, 0.05], [0.1, NAN, 0.3, 0.2],
                     [0.1, NAN, 0.3, 0.2], [0.1, NAN, 0.3, 0.2], [NAN, NAN, NAN, NAN]]),
                f32([1, 0.5, 2, 1.5, 3, 0.25]))]),
    ]


def accuracy_cases() -> list[Case]:
    rng = np.random.default_rng(ACCURACY_SEED)
    cases: list[Case] = []
    cases += _accuracy_cases(rng)
    cases += _binary_accuracy_cases(rng)
    cases += _categorical_accuracy_cases(rng)
    cases += _sparse_categorical_accuracy_cases(rng)
    cases += _top_k_categorical_accuracy_cases(rng)
    cases += _sparse_top_k_cases(rng)
    return cases


# ==========================================================================
# Family: confusion  (TruePositives, FalsePositives, TrueNegatives,
# FalseNegatives, Precision, Recall, AUC, SensitivityAtSpecificity,
# SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision)
#
# Keras sources: keras/src/metrics/confusion_metrics.py and metrics_utils.py
# (update_confusion_matrix_variables).  Prediction positive iff y_pred > threshold
# (strict); evenly spaced threshold lists (>= 3 points, [0, ..., 1]) take the
# bucketed fast path, which clips y_pred to [0, 1]; other lists do not clip.
# Errors Keras raises in __init__ are recorded with "error_at":
# "construction" (hand-built config = the kwargs passed, no updates).
#
# Not covered on purpose: Precision/Recall(top_k) with a tie at the k-th
# largest score.  The numpy backend's top_k is a reversed np.argsort, whose
# order among equal values depends on the CPU's sort kernel (the TF and JAX
# backends keep the lowest index); such a fixture would not be
# reproducible.  Every top_k case below has distinct k-th/(k+1)-th scores.
# ==========================================================================

CONFUSION_SEED = 20240613

# Shared probe data, small enough to check by hand (the values are in
# KNOWN_VALUES below).
_YT6, _YP6 = f32([0, 0, 1, 1, 1, 0]), f32([0.1, 0.6, 0.35, 0.8, 0.7, 0.2])  # AUC curve x summation table
_YT4, _YP4 = f32([0, 0, 1, 1]), f32([0, 0.5, 0.3, 0.9])                    # AUC 0.75
_YT5, _YP5 = f32([0, 0, 0, 1, 1]), f32([0, 0.3, 0.8, 0.3, 0.8])            # the *_at_* metrics
# Rank-2 data (N=3, C=3) without ties in any row.
_YT33 = f32([[0, 1, 1], [1, 0, 0], [0, 0, 1]])
_YP33 = f32([[0.2, 0.7, 0.4], [0.9, 0.55, 0.1], [0.3, 0.6, 0.45]])
# Logits (values outside [0, 1]) for the clipping cases.
_YT_LOGIT, _YP_LOGIT = f32([0, 1, 1, 0, 1, 0]), f32([-2.0, 3.0, 0.45, 1.5, -0.5, 0.2])


def _count_cases(rng: np.random.Generator) -> list[Case]:
    cases: list[Case] = []
    classes = [("true_positives", keras.metrics.TruePositives),
               ("false_positives", keras.metrics.FalsePositives),
               ("true_negatives", keras.metrics.TrueNegatives),
               ("false_negatives", keras.metrics.FalseNegatives)]
    for p, M in classes:
        cases += [
            Case(f"{p}/default_threshold_rank1", mk(M), "labels", [L(_YT6, _YP6)]),
            Case(f"{p}/threshold_scalar_0_3", mk(M, thresholds=0.3), "labels", [L(_YT6, _YP6)]),
            Case(f"{p}/threshold_list_uneven_w_rank1", mk(M, thresholds=[0.15, 0.5, 0.85]), "labels",
                 [L(_YT6, _YP6, f32([1, 2, 0.5, 1, 3, 0]))]),
            Case(f"{p}/rank2_w_rank2", mk(M), "labels",
                 [L(_YT33, _YP33, f32([[1, 2, 3], [0.5, 0, 1], [2, 2, 1]]))]),
        ]
    TP = keras.metrics.TruePositives
    FN = keras.metrics.FalseNegatives
    TN = keras.metrics.TrueNegatives
    rp = lambda *s: f32(rng.uniform(0.0, 1.0, size=s))  # noqa: E731
    rb = lambda *s: f32(rng.integers(0, 2, size=s))  # noqa: E731
    cases += [
        # (N,) weights with (N,C) labels are expanded to (N,1) and broadcast.
        Case("true_positives/rank2_w_rank1", mk(TP), "labels", [L(_YT33, _YP33, f32([2, 3, 0.5]))]),
        Case("true_positives/rank2_w_n1", mk(TP), "labels", [L(_YT33, _YP33, f32([[2], [3], [0.5]]))]),
        Case("true_positives/y_true_n1_y_pred_n", mk(TP), "labels",
             [L(f32([[1], [1], [0]]), f32([0.9, 0.2, 0.8]))]),
        # Evenly spaced list -> fast path; predictions exactly on the grid are
        # not above that threshold.
        Case("true_positives/threshold_list_even_preds_on_grid", mk(TP, thresholds=[0.0, 0.5, 1.0]), "labels",
             [L(f32([1, 1, 1, 1, 0]), f32([0.0, 0.5, 1.0, 0.75, 0.9]))]),
        # Fast path clips logits to [0, 1] (3.0 -> 1.0, not above 1) ...
        Case("true_positives/threshold_list_even_logits_clipped",
             mk(TP, thresholds=[0.0, 0.25, 0.5, 0.75, 1.0]), "labels", [L(_YT_LOGIT, _YP_LOGIT)]),
        # ... the general path (uneven list) does not clip (3.0 > 1.0).
        Case("true_positives/threshold_list_uneven_logits_not_clipped", mk(TP, thresholds=[0.0, 0.4, 1.0]),
             "labels", [L(_YT_LOGIT, _YP_LOGIT)]),
        Case("true_positives/threshold_list_even_w_rank1", mk(TP, thresholds=[0.0, 0.5, 1.0]), "labels",
             [L(_YT6, _YP6, f32([1, 2, 0.5, 1, 3, 0]))]),
        Case("true_positives/threshold_1_pred_1_not_positive", mk(TP, thresholds=1.0), "labels",
             [L(f32([1, 1]), f32([1.0, 0.999]))]),
        Case("true_positives/threshold_0_logits", mk(TP, thresholds=0.0), "labels",
             [L(_YT_LOGIT, _YP_LOGIT)]),
        # An unsorted list keeps its order (one count per listed threshold).
        Case("true_positives/threshold_list_unsorted", mk(TP, thresholds=[0.8, 0.2, 0.5]), "labels",
             [L(_YT6, _YP6)]),
        # Labels are cast to bool: any non-zero label is positive.
        Case("true_positives/nonbinary_labels_are_positive", mk(TP), "labels",
             [L(f32([2, -1, 0.5, 0]), f32([0.9, 0.9, 0.9, 0.9]))]),
        Case("true_positives/int32_labels_float64_preds", mk(TP), "labels",
             [L(i32([1, 0, 1, 1]), f64([0.5000001, 0.7, 0.5, 0.9]))]),
        Case("true_positives/bool_labels", mk(TP), "labels",
             [L(b([True, False, True]), f32([0.9, 0.9, 0.1]))]),
        Case("true_positives/rank3", mk(TP), "labels",
             [L(f32([[[1, 0], [1, 1]], [[0, 1], [1, 0]]]),
                f32([[[0.9, 0.8], [0.3, 0.6]], [[0.1, 0.7], [0.51, 0.2]]]))]),
        Case("true_positives/multi_batch", mk(TP, thresholds=[0.25, 0.5, 0.75]), "labels",
             [L(rb(n), rp(n), rp(n)) for n in (6, 3, 9)]),
        Case("false_negatives/rank2_w_rank1_threshold_list", mk(FN, thresholds=[0.1, 0.5, 0.65]), "labels",
             [L(_YT33, _YP33, f32([2, 3, 0.5]))]),
        Case("true_negatives/multi_batch_rank2", mk(TN, thresholds=[0.0, 0.5, 1.0]), "labels",
             [L(rb(n, 3), rp(n, 3), rp(n, 3)) for n in (4, 2, 5)]),
        Case("true_positives/error_threshold_above_1", mk(TP, thresholds=1.5), "labels", []),
        Case("false_positives/error_threshold_negative_in_list", mk(keras.metrics.FalsePositives,
                                                                     thresholds=[0.5, -0.1]), "labels", []),
        Case("true_negatives/error_threshold_none_in_list", mk(TN, thresholds=[0.5, None]), "labels", []),
    ]
    return cases


def _precision_recall_cases(p: str, M: type, rng: np.random.Generator) -> list[Case]:
    rp = lambda *s: f32(rng.uniform(0.0, 1.0, size=s))  # noqa: E731
    rb = lambda *s: f32(rng.integers(0, 2, size=s))  # noqa: E731
    yt_doc, yp_doc = f32([0, 1, 1, 1]), f32([1, 0, 1, 1])
    yt_cls, yp_cls = f32([[0, 0, 1], [0, 1, 0]]), f32([[0.1, 0.2, 0.9], [0.2, 0.1, 0.7]])  # class_id=2: 0.5
    return [
        # Docstring examples (binary 0/1 predictions).
        Case(f"{p}/docstring_unweighted", mk(M), "labels", [L(yt_doc, yp_doc)]),
        Case(f"{p}/docstring_weighted", mk(M), "labels", [L(yt_doc, yp_doc, f32([0, 0, 1, 0]))]),
        Case(f"{p}/default_rank1", mk(M), "labels", [L(_YT6, _YP6)]),
        Case(f"{p}/threshold_scalar_0_3", mk(M, thresholds=0.3), "labels", [L(_YT6, _YP6)]),
        Case(f"{p}/threshold_list_uneven", mk(M, thresholds=[0.1, 0.35, 0.9]), "labels", [L(_YT6, _YP6)]),
        # [0, 0.5, 1] is evenly spaced -> fast path (bucketing, clipping).
        Case(f"{p}/threshold_list_even_fast_path", mk(M, thresholds=[0.0, 0.5, 1.0]), "labels",
             [L(f32([1, 0, 1, 0, 1, 1]), f32([0.0, 0.5, 1.0, 0.75, 0.5, 0.25]))]),
        Case(f"{p}/threshold_list_even_logits_clipped", mk(M, thresholds=[0.0, 0.5, 1.0]), "labels",
             [L(_YT_LOGIT, _YP_LOGIT)]),
        Case(f"{p}/threshold_list_uneven_logits_not_clipped", mk(M, thresholds=[0.0, 0.4, 1.0]), "labels",
             [L(_YT_LOGIT, _YP_LOGIT)]),
        Case(f"{p}/pred_exactly_on_threshold", mk(M), "labels",
             [L(f32([1, 0, 1, 0]), f32([0.5, 0.5, 0.51, 0.49]))]),
        Case(f"{p}/logits_threshold_0", mk(M, thresholds=0.0), "labels", [L(_YT_LOGIT, _YP_LOGIT)]),
        # Precision: nothing predicted positive -> 0/0 -> 0.  Recall: no
        # positive labels -> 0.
        Case(f"{p}/nothing_predicted_positive", mk(M), "labels",
             [L(f32([1, 0, 1]), f32([0.1, 0.2, 0.5]))]),
        Case(f"{p}/no_positive_labels", mk(M), "labels", [L(f32([0, 0, 0]), f32([0.1, 0.7, 0.9]))]),
        Case(f"{p}/no_updates", mk(M), "labels", []),
        # Rank 2 without class_id/top_k: every element is a binary decision.
        Case(f"{p}/rank2_flattened", mk(M), "labels", [L(_YT33, _YP33)]),
        Case(f"{p}/rank2_w_rank1", mk(M), "labels", [L(_YT33, _YP33, f32([2, 0.5, 1]))]),
        Case(f"{p}/rank2_w_rank2", mk(M), "labels",
             [L(_YT33, _YP33, f32([[1, 2, 3], [0.5, 0, 1], [2, 2, 1]]))]),
        # top_k: all but the k largest of each row become -1e10; the default
        # threshold is then -1e10 (kept entries positive).
        Case(f"{p}/top_k_2", mk(M, top_k=2), "labels", [L(_YT33, _YP33)]),
        Case(f"{p}/top_k_1_w_rank1", mk(M, top_k=1), "labels", [L(_YT33, _YP33, f32([1, 2, 0.5]))]),
        Case(f"{p}/top_k_2_threshold_0_5", mk(M, top_k=2, thresholds=0.5), "labels", [L(_YT33, _YP33)]),
        Case(f"{p}/top_k_2_threshold_list", mk(M, top_k=2, thresholds=[0.3, 0.5, 0.65]), "labels",
             [L(_YT33, _YP33)]),
        # top_k on rank-1 input: the k largest of the whole batch.
        Case(f"{p}/top_k_2_rank1", mk(M, top_k=2), "labels", [L(_YT6, _YP6)]),
        Case(f"{p}/class_id_2_spec", mk(M, class_id=2), "labels", [L(yt_cls, yp_cls)]),
        Case(f"{p}/class_id_1", mk(M, class_id=1), "labels", [L(_YT33, _YP33)]),
        Case(f"{p}/class_id_0_w_rank1", mk(M, class_id=0), "labels", [L(_YT33, _YP33, f32([1, 3, 0.5]))]),
        # Keras broadcasts an (N,C) weight to the sliced (N,1) y_pred: fails.
        Case(f"{p}/error_class_id_1_w_rank2", mk(M, class_id=1), "labels",
             [L(_YT33, _YP33, f32([[1, 2, 3], [0.5, 4, 1], [2, 0.25, 1]]))]),
        Case(f"{p}/class_id_1_threshold_list", mk(M, class_id=1, thresholds=[0.5, 0.6, 0.65]), "labels",
             [L(_YT33, _YP33)]),
        # top_k filtering happens before the class_id column is taken.
        Case(f"{p}/top_k_1_class_id_1", mk(M, top_k=1, class_id=1), "labels", [L(_YT33, _YP33)]),
        Case(f"{p}/top_k_2_class_id_2", mk(M, top_k=2, class_id=2), "labels", [L(_YT33, _YP33)]),
        Case(f"{p}/multi_batch", mk(M, thresholds=[0.2, 0.5, 0.8]), "labels",
             [L(rb(n), rp(n), rp(n)) for n in (5, 1, 8)]),
        Case(f"{p}/random_rank2_top_k_2_class_id_1", mk(M, top_k=2, class_id=1), "labels",
             [L(rb(n, 4), rp(n, 4), rp(n)) for n in (6, 4)]),
        Case(f"{p}/error_class_id_rank1_y_pred", mk(M, class_id=0), "labels", [L(_YT6, _YP6)]),
        Case(f"{p}/error_class_id_out_of_range", mk(M, class_id=3), "labels", [L(_YT33, _YP33)]),
        Case(f"{p}/error_threshold_above_1", mk(M, thresholds=[0.5, 1.01]), "labels", []),
    ]


def _auc_cases(rng: np.random.Generator) -> list[Case]:
    A = keras.metrics.AUC
    p = "auc"
    rp = lambda *s: f32(rng.uniform(0.0, 1.0, size=s))  # noqa: E731
    rb = lambda *s: f32(rng.integers(0, 2, size=s))  # noqa: E731

    def scored(n, c=None):
        """Labels and informative scores (positives score higher on average)."""
        shape = (n,) if c is None else (n, c)
        y = rng.integers(0, 2, size=shape)
        s = 1 / (1 + np.exp(-(rng.normal(0, 1.2, size=shape) + 1.3 * (2 * y - 1))))
        return f32(y), f32(s)

    cases = [
        Case(f"{p}/table_{curve.lower()}_{method}", mk(A, curve=curve, summation_method=method), "labels",
             [L(_YT6, _YP6)])
        for curve in ("ROC", "PR", "PRGAIN") for method in ("interpolation", "minoring", "majoring")
    ]
    ml_yt = f32([[0, 1], [1, 0], [1, 1], [0, 0]])
    ml_yp = f32([[0.2, 0.7], [0.6, 0.3], [0.3, 0.8], [0.5, 0.9]])
    big = [scored(n) for n in (300, 200)]
    cases += [
        Case(f"{p}/default_spec", mk(A), "labels", [L(_YT4, _YP4)]),
        Case(f"{p}/num_thresholds_3_spec", mk(A, num_thresholds=3), "labels", [L(_YT4, _YP4)]),
        Case(f"{p}/thresholds_list_even_spec", mk(A, thresholds=[0.25, 0.5, 0.75]), "labels",
             [L(_YT4, _YP4)]),
        Case(f"{p}/from_logits_spec", mk(A, from_logits=True), "labels", [L(_YT4, f32([-3, 0, -1, 2]))]),
        # Uneven list -> general path; the list is sorted (see the config).
        Case(f"{p}/thresholds_list_uneven", mk(A, thresholds=[0.1, 0.2, 0.7]), "labels", [L(_YT6, _YP6)]),
        Case(f"{p}/thresholds_list_unsorted", mk(A, thresholds=[0.7, 0.1, 0.2]), "labels", [L(_YT6, _YP6)]),
        Case(f"{p}/thresholds_list_uneven_pr", mk(A, thresholds=[0.1, 0.2, 0.7], curve="PR"), "labels",
             [L(_YT6, _YP6)]),
        # Keras does not range-check AUC thresholds (only the other metrics do).
        Case(f"{p}/thresholds_outside_unit_interval", mk(A, thresholds=[-0.5, 0.5, 1.5]), "labels",
             [L(_YT6, _YP6)]),
        Case(f"{p}/num_thresholds_3_preds_on_grid", mk(A, num_thresholds=3), "labels",
             [L(f32([0, 1, 0, 1, 1, 0]), f32([0.0, 0.0, 0.5, 0.5, 1.0, 1.0]))]),
        Case(f"{p}/num_thresholds_2", mk(A, num_thresholds=2), "labels", [L(_YT6, _YP6)]),
        Case(f"{p}/num_thresholds_500", mk(A, num_thresholds=500), "labels", [L(*big[0])]),
        Case(f"{p}/num_thresholds_10000", mk(A, num_thresholds=10000), "labels", [L(*big[0])]),
        Case(f"{p}/default_same_data_as_500", mk(A), "labels", [L(*big[0])]),
        Case(f"{p}/multi_batch_w_rank1", mk(A), "labels",
             [L(*scored(n), rp(n)) for n in (20, 7, 13)]),
        Case(f"{p}/pr_multi_batch_w_rank1", mk(A, curve="PR"), "labels",
             [L(*scored(n), rp(n)) for n in (15, 9, 11)]),
        Case(f"{p}/prgain_interpolation_random", mk(A, curve="PRGAIN"), "labels", [L(*big[1])]),
        Case(f"{p}/pr_minoring_num_thresholds_50", mk(A, curve="PR", summation_method="minoring",
                                                      num_thresholds=50), "labels", [L(*big[1])]),
        # Case variants accepted (the config normalises them).
        Case(f"{p}/curve_lowercase_pr_method_capitalised", mk(A, curve="pr", summation_method="Majoring"),
             "labels", [L(_YT6, _YP6)]),
        Case(f"{p}/int32_labels_float64_preds", mk(A), "labels", [L(i32([0, 0, 1, 1, 1, 0]), f64(_YP6))]),
        # Non multi-label rank-2 data is flattened (micro-averaged AUC).
        Case(f"{p}/rank2_flattened", mk(A), "labels", [L(_YT33, _YP33)]),
        Case(f"{p}/rank2_w_rank1", mk(A), "labels", [L(_YT33, _YP33, f32([2, 0.5, 1]))]),
        Case(f"{p}/rank2_w_rank2", mk(A), "labels",
             [L(_YT33, _YP33, f32([[1, 2, 3], [0.5, 0, 1], [2, 2, 1]]))]),
        # Fast path clips predictions to [0, 1].
        Case(f"{p}/preds_outside_unit_interval_clipped", mk(A), "labels", [L(_YT_LOGIT, _YP_LOGIT)]),
        Case(f"{p}/from_logits_random", mk(A, from_logits=True), "labels",
             [L(f32(rng.integers(0, 2, size=40)), f32(rng.normal(0, 3, size=40)))]),
        # Degenerate data (div0 everywhere): one class present -> ROC 0.
        Case(f"{p}/single_class_all_negative_roc", mk(A), "labels",
             [L(f32([0, 0, 0]), f32([0.1, 0.5, 0.9]))]),
        Case(f"{p}/single_class_all_positive_roc", mk(A), "labels",
             [L(f32([1, 1, 1]), f32([0.1, 0.5, 0.9]))]),
        Case(f"{p}/pr_no_positives", mk(A, curve="PR"), "labels", [L(f32([0, 0, 0]), f32([0.1, 0.5, 0.9]))]),
        Case(f"{p}/pr_all_positives", mk(A, curve="PR"), "labels", [L(f32([1, 1, 1]), f32([0.1, 0.5, 0.9]))]),
        Case(f"{p}/prgain_no_positives", mk(A, curve="PRGAIN"), "labels",
             [L(f32([0, 0, 0]), f32([0.1, 0.5, 0.9]))]),
        Case(f"{p}/no_updates", mk(A), "labels", []),
        Case(f"{p}/multi_label_num_labels_no_updates", mk(A, multi_label=True, num_labels=2), "labels", []),
        # multi_label without num_labels builds its state on the first update:
        # result() before it raises.
        Case(f"{p}/error_multi_label_result_before_any_update", mk(A, multi_label=True), "labels", []),
        Case(f"{p}/all_same_predictions_roc", mk(A), "labels", [L(_YT6, f32([0.4] * 6))]),
        Case(f"{p}/all_same_predictions_pr", mk(A, curve="PR"), "labels", [L(_YT6, f32([0.4] * 6))]),
        Case(f"{p}/all_predictions_zero_roc", mk(A), "labels", [L(_YT6, f32([0.0] * 6))]),
        Case(f"{p}/all_predictions_one_pr", mk(A, curve="PR"), "labels", [L(_YT6, f32([1.0] * 6))]),
        Case(f"{p}/perfect_separation", mk(A), "labels", [L(_YT6, f32([0.1, 0.2, 0.8, 0.9, 0.7, 0.3]))]),
        # --- multi_label ---------------------------------------------------------
        Case(f"{p}/multi_label_no_num_labels", mk(A, multi_label=True), "labels", [L(*scored(30, 3))]),
        Case(f"{p}/multi_label_num_labels_3", mk(A, multi_label=True, num_labels=3), "labels",
             [L(*scored(30, 3))]),
        Case(f"{p}/multi_label_label_weights_spec", mk(A, multi_label=True, label_weights=[1.0, 3.0]),
             "labels", [L(ml_yt, ml_yp)]),
        Case(f"{p}/multi_label_num_labels_label_weights",
             mk(A, multi_label=True, num_labels=2, label_weights=[1.0, 3.0]), "labels", [L(ml_yt, ml_yp)]),
        # multi_label=False: label weights weight the columns of the flattened data.
        Case(f"{p}/label_weights_not_multi_label", mk(A, label_weights=[1.0, 3.0]), "labels",
             [L(ml_yt, ml_yp)]),
        Case(f"{p}/multi_label_pr_interpolation", mk(A, multi_label=True, curve="PR"), "labels",
             [L(*scored(25, 2))]),
        Case(f"{p}/multi_label_prgain_majoring",
             mk(A, multi_label=True, curve="PRGAIN", summation_method="majoring"), "labels",
             [L(*scored(25, 2))]),
        Case(f"{p}/multi_label_w_rank1", mk(A, multi_label=True), "labels",
             [L(*scored(12, 3), rp(12)), L(*scored(8, 3), rp(8))]),
        Case(f"{p}/multi_label_w_rank2", mk(A, multi_label=True), "labels", [L(*scored(12, 3), rp(12, 3))]),
        # A label with only one class present contributes 0 to the average.
        Case(f"{p}/multi_label_one_label_single_class", mk(A, multi_label=True), "labels",
             [L(f32([[0, 1], [1, 1], [1, 1], [0, 1]]), ml_yp)]),
        Case(f"{p}/multi_label_from_logits_label_weights",
             mk(A, multi_label=True, from_logits=True, label_weights=[0.5, 0.0, 2.0]), "labels",
             [L(f32(rng.integers(0, 2, size=(10, 3))), f32(rng.normal(0, 2, size=(10, 3))))]),
        Case(f"{p}/multi_label_thresholds_list", mk(A, multi_label=True, thresholds=[0.3, 0.5, 0.9]),
             "labels", [L(ml_yt, ml_yp)]),
        # --- errors -----------------------------------------------------------------
        Case(f"{p}/error_num_thresholds_1", mk(A, num_thresholds=1), "labels", []),
        Case(f"{p}/error_num_thresholds_0", mk(A, num_thresholds=0), "labels", []),
        Case(f"{p}/error_invalid_curve", mk(A, curve="AUPRC"), "labels", []),
        Case(f"{p}/error_curve_mixed_case", mk(A, curve="Roc"), "labels", []),
        Case(f"{p}/error_invalid_summation_method", mk(A, summation_method="trapezoidal"), "labels", []),
        Case(f"{p}/error_num_labels_without_multi_label", mk(A, num_labels=3), "labels", []),
        Case(f"{p}/error_multi_label_rank1_y_pred", mk(A, multi_label=True), "labels", [L(_YT6, _YP6)]),
        Case(f"{p}/error_multi_label_rank3_y_pred", mk(A, multi_label=True), "labels",
             [L(f32([[[0, 1]], [[1, 0]]]), f32([[[0.2, 0.8]], [[0.6, 0.1]]]))]),
        Case(f"{p}/error_multi_label_num_labels_mismatch", mk(A, multi_label=True, num_labels=3), "labels",
             [L(ml_yt, ml_yp)]),
    ]
    return cases


def _at_cases(rng: np.random.Generator) -> list[Case]:
    SeAtSp = keras.metrics.SensitivityAtSpecificity
    SpAtSe = keras.metrics.SpecificityAtSensitivity
    PAtR = keras.metrics.PrecisionAtRecall
    RAtP = keras.metrics.RecallAtPrecision
    rp = lambda *s: f32(rng.uniform(0.0, 1.0, size=s))  # noqa: E731

    def scored(n, c=None):
        shape = (n,) if c is None else (n, c)
        y = rng.integers(0, 2, size=shape)
        s = 1 / (1 + np.exp(-(rng.normal(0, 1.0, size=shape) + 1.0 * (2 * y - 1))))
        return f32(y), f32(s)

    cases: list[Case] = []
    for p, M, arg, v in (("sensitivity_at_specificity", SeAtSp, "specificity", 0.5),
                         ("specificity_at_sensitivity", SpAtSe, "sensitivity", 0.5),
                         ("precision_at_recall", PAtR, "recall", 0.5),
                         ("recall_at_precision", RAtP, "precision", 0.8)):
        kw = {arg: v}
        cases += [
            Case(f"{p}/spec_vector", mk(M, **kw), "labels",
                 [L(_YT4, _YP4) if M is RAtP else L(_YT5, _YP5)]),
            Case(f"{p}/num_thresholds_3", mk(M, num_thresholds=3, **kw), "labels", [L(_YT6, _YP6)]),
            # num_thresholds=1 -> the single threshold 0.5 (general path).
            Case(f"{p}/num_thresholds_1", mk(M, num_thresholds=1, **kw), "labels", [L(_YT6, _YP6)]),
            Case(f"{p}/class_id_1", mk(M, class_id=1, **kw), "labels", [L(_YT33, _YP33)]),
            Case(f"{p}/multi_batch_w_rank1", mk(M, **kw), "labels",
                 [L(*scored(n), rp(n)) for n in (25, 10, 15)]),
            Case(f"{p}/rank2_flattened_w_rank2", mk(M, num_thresholds=20, **kw), "labels",
                 [L(*scored(8, 3), rp(8, 3))]),
            Case(f"{p}/error_class_id_rank1_y_pred", mk(M, class_id=0, **kw), "labels", [L(_YT6, _YP6)]),
            Case(f"{p}/error_num_thresholds_0", mk(M, num_thresholds=0, **kw), "labels", []),
            Case(f"{p}/error_{arg}_above_1", mk(M, **{arg: 1.5}), "labels", []),
        ]
    cases += [
        Case("sensitivity_at_specificity/error_specificity_negative", mk(SeAtSp, specificity=-0.1), "labels",
             []),
        # Unattainable targets -> 0 (max over an empty feasible set, initial 0).
        # No negatives: specificity is 0/0 -> 0 at every threshold.
        Case("sensitivity_at_specificity/specificity_1_no_negatives", mk(SeAtSp, specificity=1.0), "labels",
             [L(f32([1, 1, 1]), f32([0.2, 0.6, 0.9]))]),
        Case("sensitivity_at_specificity/specificity_0", mk(SeAtSp, specificity=0.0), "labels",
             [L(_YT6, _YP6)]),
        Case("sensitivity_at_specificity/specificity_1", mk(SeAtSp, specificity=1.0), "labels",
             [L(_YT6, _YP6)]),
        # A positive scoring exactly 0 is never above the first threshold (0):
        # sensitivity 1 is unattainable.
        Case("specificity_at_sensitivity/sensitivity_1_positive_scored_0", mk(SpAtSe, sensitivity=1.0),
             "labels", [L(f32([1, 1, 0, 0]), f32([0.0, 0.9, 0.2, 0.4]))]),
        Case("specificity_at_sensitivity/sensitivity_1", mk(SpAtSe, sensitivity=1.0), "labels",
             [L(_YT6, _YP6)]),
        Case("precision_at_recall/recall_1", mk(PAtR, recall=1.0), "labels", [L(_YT6, _YP6)]),
        Case("precision_at_recall/no_positives", mk(PAtR, recall=0.5), "labels",
             [L(f32([0, 0, 0]), f32([0.2, 0.6, 0.9]))]),
        # The highest-scoring example is a negative: precision 1 is unattainable.
        Case("recall_at_precision/precision_1_unattainable", mk(RAtP, precision=1.0), "labels",
             [L(f32([0, 1, 1, 0]), f32([0.95, 0.8, 0.6, 0.1]))]),
        Case("recall_at_precision/precision_1_attainable", mk(RAtP, precision=1.0), "labels",
             [L(_YT6, _YP6)]),
        Case("recall_at_precision/precision_0", mk(RAtP, precision=0.0), "labels", [L(_YT6, _YP6)]),
        Case("recall_at_precision/num_thresholds_1000", mk(RAtP, precision=0.8, num_thresholds=1000),
             "labels", [L(*scored(60))]),
    ]
    return cases


def _check_no_top_k_boundary_ties(cases: list[Case]) -> None:
    """Refuse top_k cases whose result would depend on the tie order (see above)."""
    for c in cases:
        k = getattr(c.make_metric, "kwargs", {}).get("top_k")
        for u in c.updates if k is not None else []:
            rows = np.asarray(u.args[1]).reshape(-1, np.asarray(u.args[1]).shape[-1])
            for row in rows:
                srt = np.sort(row)[::-1]
                if k < len(srt) and srt[k - 1] == srt[k]:
                    raise ValueError(f"{c.id}: tie at the top_k boundary in {row}")


def confusion_cases() -> list[Case]:
    rng = np.random.default_rng(CONFUSION_SEED)
    cases: list[Case] = []
    cases += _count_cases(rng)
    cases += _precision_recall_cases("precision", keras.metrics.Precision, rng)
    cases += _precision_recall_cases("recall", keras.metrics.Recall, rng)
    cases += _auc_cases(rng)
    cases += _at_cases(rng)
    _check_no_top_k_boundary_ties(cases)
    return cases


# ==========================================================================
# Family: fscore  (FBetaScore, F1Score)
#
# Keras source: keras/src/metrics/f_score_metrics.py.  Inputs are
# (N, C); state is built lazily from the first batch.  threshold=None marks
# the row maximum (all tied maxima, and only if |max| > 1e-9); a float
# threshold uses strict ">".  P, R and F carry +epsilon (1e-7) in their
# denominators, so even a perfect score is slightly below 1.
#
# Weights: only rank-1 (N,) sample weights are recorded.  Keras 3.15.1 does
# expand_dims(w, 1) whatever the weight's rank, which crashes on
# a scalar weight and mis-shapes a (N, C) weight (fixed after 3.15.1).
# ==========================================================================

FSCORE_SEED = 20240614

# Hand-checked probe: per-class F1 [0.5, 0.8, 0.667] at threshold 0.5.
_YF = f32([[1, 1, 1], [1, 0, 0], [1, 1, 0]])
_PF = f32([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]])


def fscore_cases() -> list[Case]:
    rng = np.random.default_rng(FSCORE_SEED)
    F1 = keras.metrics.F1Score
    FB = keras.metrics.FBetaScore
    averages = (None, "micro", "macro", "weighted")
    avg_name = lambda a: "none" if a is None else a  # noqa: E731
    rp = lambda *s: f32(rng.uniform(0.0, 1.0, size=s))  # noqa: E731

    def multihot(n, c, p=0.4):
        return f32(rng.uniform(size=(n, c)) < p)

    eye3 = f32(np.eye(3))
    p_ties = f32([[0.4, 0.4, 0.2], [0.1, 0.3, 0.3], [0.3, 0.3, 0.3]])
    cases: list[Case] = []
    # The probe _YF/_PF (threshold 0.5), all averages, for F1Score and FBetaScore(beta=1).
    for a in averages:
        cases.append(Case(f"f1_score/spec_threshold_0_5_average_{avg_name(a)}",
                          mk(F1, average=a, threshold=0.5), "labels", [L(_YF, _PF)]))
    cases.append(Case("f1_score/spec_threshold_none_average_none", mk(F1), "labels", [L(_YF, _PF)]))
    for a in ("micro", "macro", "weighted"):
        cases.append(Case(f"f1_score/spec_data_threshold_none_average_{a}", mk(F1, average=a), "labels",
                          [L(_YF, _PF)]))
    # FBetaScore: beta x average on the same probe.
    for beta in (0.5, 1.0, 2.0):
        for a in averages:
            cases.append(Case(f"fbeta_score/beta_{str(beta).replace('.', '_')}_average_{avg_name(a)}",
                              mk(FB, average=a, beta=beta, threshold=0.5), "labels", [L(_YF, _PF)]))
    cases += [
        Case("fbeta_score/defaults", mk(FB), "labels", [L(_YF, _PF)]),
        Case("fbeta_score/beta_2_threshold_none_macro", mk(FB, beta=2.0, average="macro"), "labels",
             [L(_YF, _PF)]),
        Case("fbeta_score/beta_0_5_threshold_0_65_weighted",
             mk(FB, beta=0.5, threshold=0.65, average="weighted"), "labels", [L(_YF, _PF)]),
        # threshold=None: every entry equal to the row max is predicted.
        Case("f1_score/threshold_none_ties_in_row_max", mk(F1), "labels", [L(eye3, p_ties)]),
        Case("f1_score/threshold_none_ties_micro", mk(F1, average="micro"), "labels", [L(eye3, p_ties)]),
        # An all-zero row (and a row whose max is <= 1e-9) predicts nothing.
        Case("f1_score/threshold_none_all_zero_row", mk(F1), "labels",
             [L(eye3, f32([[0, 0, 0], [0.1, 0.7, 0.2], [1e-10, 0, 5e-10]]))]),
        # Negative scores: the row max still counts (|max| > 1e-9).
        Case("f1_score/threshold_none_negative_scores", mk(F1), "labels",
             [L(f32([[1, 0, 0], [0, 0, 1]]), f32([[-1, -2, -3], [-0.5, -0.2, -0.1]]))]),
        Case("f1_score/threshold_0_5_all_zero_rows", mk(F1, threshold=0.5), "labels",
             [L(f32([[0, 0, 0], [0, 1, 0]]), f32([[0, 0, 0], [0.2, 0.9, 0.1]]))]),
        # Strict ">": 0.5 itself is not positive; threshold=1.0 predicts nothing.
        Case("f1_score/pred_exactly_on_threshold", mk(F1, threshold=0.5, average="micro"), "labels",
             [L(f32([[1, 0], [0, 1]]), f32([[0.5, 0.5], [0.4, 0.51]]))]),
        Case("f1_score/threshold_1_nothing_predicted", mk(F1, threshold=1.0), "labels",
             [L(f32([[1, 0], [0, 1]]), f32([[1.0, 0.5], [0.4, 1.0]]))]),
        # Soft labels: fractional TP/FP/FN counts.
        Case("f1_score/soft_labels_threshold_0_5", mk(F1, threshold=0.5), "labels",
             [L(f32([[0.8, 0.2, 0.0], [0.1, 0.6, 0.3], [0.5, 0.5, 0.0]]), _PF)]),
        Case("fbeta_score/soft_labels_beta_2_weighted", mk(FB, beta=2.0, average="weighted"), "labels",
             [L(f32([[0.8, 0.2, 0.0], [0.1, 0.6, 0.3], [0.5, 0.5, 0.0]]), _PF)]),
        # Perfect predictions: slightly below 1 because of epsilon.
        Case("f1_score/perfect_predictions", mk(F1, threshold=0.5, average="macro"), "labels",
             [L(f32([[1, 0], [0, 1]]), f32([[0.9, 0.1], [0.2, 0.8]]))]),
        # A class that never occurs and is never predicted gives F = 0 (and
        # weight 0 under "weighted").
        Case("f1_score/absent_class_none", mk(F1, threshold=0.5), "labels",
             [L(f32([[1, 0, 0], [0, 1, 0]]), f32([[0.9, 0.2, 0.1], [0.3, 0.8, 0.2]]))]),
        Case("f1_score/absent_class_macro", mk(F1, threshold=0.5, average="macro"), "labels",
             [L(f32([[1, 0, 0], [0, 1, 0]]), f32([[0.9, 0.2, 0.1], [0.3, 0.8, 0.2]]))]),
        Case("f1_score/absent_class_weighted", mk(F1, threshold=0.5, average="weighted"), "labels",
             [L(f32([[1, 0, 0], [0, 1, 0]]), f32([[0.9, 0.2, 0.1], [0.3, 0.8, 0.2]]))]),
        Case("f1_score/no_positives_no_predictions", mk(F1, threshold=0.5, average="weighted"), "labels",
             [L(f32([[0, 0], [0, 0]]), f32([[0.1, 0.2], [0.3, 0.4]]))]),
        # The state is built by the first update: result() before it raises.
        Case("f1_score/error_result_before_any_update", mk(F1, average="macro"), "labels", []),
        Case("f1_score/int32_labels", mk(F1, threshold=0.5), "labels", [L(i32(_YF), _PF)]),
        Case("f1_score/float64_inputs", mk(F1, threshold=0.5, average="macro"), "labels",
             [L(f64(_YF), f64(_PF))]),
        Case("f1_score/single_class_column", mk(F1, threshold=0.5), "labels",
             [L(f32([[1], [0], [1]]), f32([[0.7], [0.6], [0.2]]))]),
        # (N,) sample weights: TP/FP/FN/support are weighted sums over rows.
        Case("f1_score/w_rank1_none", mk(F1, threshold=0.5), "labels", [L(_YF, _PF, f32([1, 2, 0.5]))]),
        Case("f1_score/w_rank1_micro", mk(F1, threshold=0.5, average="micro"), "labels",
             [L(_YF, _PF, f32([1, 2, 0.5]))]),
        Case("f1_score/w_rank1_macro_zero_weight", mk(F1, threshold=0.5, average="macro"), "labels",
             [L(_YF, _PF, f32([1, 0, 3]))]),
        Case("fbeta_score/w_rank1_weighted_beta_2", mk(FB, beta=2.0, threshold=0.5, average="weighted"),
             "labels", [L(_YF, _PF, f32([0.25, 1, 4]))]),
        Case("f1_score/multi_batch_threshold_none", mk(F1), "labels",
             [L(_YF, _PF), L(f32([[0, 0, 1]]), f32([[0.1, 0.2, 0.3]])),
              L(f32([[0, 1, 0], [1, 0, 0]]), rp(2, 3))]),
    ]
    for a in averages:
        cases.append(Case(f"f1_score/random_3_batches_w_rank1_average_{avg_name(a)}",
                          mk(F1, average=a, threshold=0.5), "labels",
                          [L(multihot(n, 4), rp(n, 4), rp(n)) for n in (6, 3, 8)]))
        cases.append(Case(f"fbeta_score/random_3_batches_beta_0_5_threshold_none_average_{avg_name(a)}",
                          mk(FB, average=a, beta=0.5), "labels",
                          [L(multihot(n, 5), rp(n, 5)) for n in (7, 4, 5)]))
    cases += [
        Case("fbeta_score/random_multi_batch_beta_2_threshold_0_35_w_rank1",
             mk(FB, beta=2.0, threshold=0.35, average="micro"), "labels",
             [L(multihot(n, 3), rp(n, 3), rp(n)) for n in (4, 9, 2, 6)]),
        # --- errors -----------------------------------------------------------------
        Case("fbeta_score/error_beta_int", mk(FB, beta=2), "labels", []),
        Case("fbeta_score/error_beta_zero", mk(FB, beta=0.0), "labels", []),
        Case("fbeta_score/error_beta_negative", mk(FB, beta=-1.0), "labels", []),
        Case("fbeta_score/error_threshold_int", mk(FB, threshold=1), "labels", []),
        Case("f1_score/error_threshold_zero", mk(F1, threshold=0.0), "labels", []),
        Case("f1_score/error_threshold_above_1", mk(F1, threshold=1.5), "labels", []),
        Case("f1_score/error_invalid_average", mk(F1, average="binary"), "labels", []),
        Case("f1_score/error_rank1_inputs", mk(F1), "labels", [L(f32([0, 1, 1]), f32([0.2, 0.7, 0.9]))]),
        Case("f1_score/error_rank3_inputs", mk(F1), "labels",
             [L(f32([[[0, 1]], [[1, 0]]]), f32([[[0.2, 0.7]], [[0.9, 0.1]]]))]),
        # The number of classes is fixed by the first batch.
        Case("f1_score/error_num_classes_changes", mk(F1, threshold=0.5), "labels",
             [L(f32([[0, 1]]), f32([[0.2, 0.8]])), L(f32([[0, 1, 0]]), f32([[0.2, 0.8, 0.1]]))]),
    ]
    return cases


# ==========================================================================
# Family: exact  (Tally's ExactAUC; scikit-learn is the reference)
#
# Not a Keras metric: "metric" is {"class_name": "ExactAUC", "config":
# {"name": "exact_auc", "curve": "ROC" | "PR"}} (no module keys) and
# "expected" is a float64 scalar:
#   ROC -> sklearn.metrics.roc_auc_score(y, s, sample_weight=w)
#   PR  -> sklearn.metrics.average_precision_score(y, s, sample_weight=w)
# on the concatenation of all updates (scores widened to float64 from their
# stored float32/float64 value; an unweighted batch has weight 1).  Where
# sklearn warns that the value is undefined the case carries a "note" and
# "sklearn_warning" its message; "keras_auc_200" (some cases) is what
# keras.metrics.AUC(curve=<curve>)
# with its default 200 thresholds gives on the same updates.
# ==========================================================================

EXACT_SEED = 20240615

_EXACT_RTOL = 1e-9
_ROC_ONE_CLASS = "undefined: one class present; Tally returns NaN"
_PR_NO_POSITIVES = "no positives: average precision is undefined; sklearn returns 0.0 (with a warning)"


def _sklearn_auc(curve: str, y: np.ndarray, s: np.ndarray, w: np.ndarray | None) -> tuple[float, list[str]]:
    """The reference value and the messages of the warnings sklearn gave
    (UndefinedMetricWarning or a plain UserWarning) about undefined values."""
    import sklearn.metrics

    fn = {"ROC": sklearn.metrics.roc_auc_score, "PR": sklearn.metrics.average_precision_score}[curve]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(fn(y, s, sample_weight=w))
    undefined = [str(c.message) for c in caught if issubclass(c.category, UserWarning)]
    return value, undefined


def run_exact_case(case: ExactCase) -> dict:
    ys, ss, ws = [], [], []
    weighted = any(u.sample_weight is not None for u in case.updates)
    for u in case.updates:
        y, s = u.args
        n = len(y)
        if y.shape not in ((n,), (n, 1)) or s.shape not in ((n,), (n, 1)):
            raise ValueError(f"{case.id}: y_true/y_pred must be (N,) or (N,1)")
        if not np.isin(y, (0, 1)).all():
            raise ValueError(f"{case.id}: y_true must be 0/1")
        ys.append(np.asarray(y, np.float64).reshape(-1))
        ss.append(np.asarray(s, np.float64).reshape(-1))  # exact widening of float32
        if weighted:
            w = np.ones(n) if u.sample_weight is None else np.asarray(u.sample_weight, np.float64)
            if w.shape != (n,):
                raise ValueError(f"{case.id}: sample_weight must be (N,)")
            ws.append(w)
    y_all, s_all = np.concatenate(ys), np.concatenate(ss)
    w_all = np.concatenate(ws) if weighted else None
    value, undefined = _sklearn_auc(case.curve, y_all, s_all, w_all)
    if (undefined or math.isnan(value)) and case.note is None:
        raise ValueError(f"{case.id}: sklearn says {undefined} (value {value}); add a note")

    out = {
        "id": case.id,
        "metric": {"class_name": "ExactAUC", "config": {"name": "exact_auc", "curve": case.curve}},
        "call": "labels",
        "updates": [encode_update("labels", u) for u in case.updates],
        "expected": encode_tensor(np.float64(value)),
        "error": None,
        "rtol": case.rtol,
    }
    if case.keras_auc_200:
        keras.utils.clear_session()
        m = keras.metrics.AUC(curve=case.curve)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for u in case.updates:
                m.update_state(*u.args, sample_weight=u.sample_weight)
            out["keras_auc_200"] = float(np.asarray(m.result()))
    if case.note is not None:
        out["note"] = case.note
    if undefined:
        out["sklearn_warning"] = " ".join(undefined)
    return out


def exact_cases() -> list[ExactCase]:
    rng = np.random.default_rng(EXACT_SEED)
    sigmoid = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731

    def labels(n, p=0.4):
        return f32(rng.uniform(size=n) < p)

    def scores(y, sep=1.0):
        return f32(sigmoid(rng.normal(0.0, 1.0, size=len(y)) + sep * (2 * y - 1)))

    def batches(y, s, sizes, w=None):
        assert sum(sizes) == len(y)
        out, i = [], 0
        for n in sizes:
            out.append(L(y[i:i + n], s[i:i + n], None if w is None else w[i:i + n]))
            i += n
        return out

    # name -> (updates, {curve: note}, keras_auc_200)
    data: dict[str, tuple[list[Update], dict[str, str], bool]] = {}

    def add(name, updates, notes=None, keras_auc_200=False):
        data[name] = (updates, notes or {}, keras_auc_200)

    # sklearn's docstring example: ROC 0.75, AP 0.8333...
    add("sklearn_docstring_example", [L(f32([0, 0, 1, 1]), f32([0.1, 0.4, 0.35, 0.8]))])
    y = labels(50)
    add("no_ties_n50", [L(y, scores(y))])
    y = labels(200)
    s = f32(np.round(scores(y), 1))
    add("many_ties_rounded_1_decimal_3_batches", batches(y, s, (80, 70, 50)))
    y = labels(60)
    s = f32(np.round(scores(y, 0.5), 1))
    add("many_ties_weighted", batches(y, s, (30, 30), f32(rng.uniform(0, 2, size=60))))
    add("all_scores_tied", [L(f32([0, 1, 1, 0, 1]), f32([0.3] * 5))])
    y = labels(100)
    add("weighted_n100", [L(y, scores(y), f32(rng.uniform(0, 2, size=100)))])
    y = labels(40)
    w = f32(rng.uniform(0, 1, size=40) * (rng.uniform(size=40) < 0.7))
    add("weighted_some_zero_weights", batches(y, scores(y), (25, 15), w))
    y = labels(75)
    add("six_batches_varied_sizes", batches(y, scores(y), (1, 5, 17, 3, 40, 9)))
    y = labels(30)
    s = scores(y)
    # (N,1) labels and scores, then (N,) labels with (N,1) scores.
    add("shape_n1_inputs", [L(y[:18, None], s[:18, None]), L(y[18:], s[18:, None])])
    add("mixed_weighted_and_unweighted_batches",
        [L(y[:10], s[:10], f32(rng.uniform(0, 3, size=10))), L(y[10:], s[10:])])
    # float64 scores that collide in float32 (0.5 vs 0.5 + 1e-12).
    add("int32_labels_float64_scores",
        [L(i32([0, 1, 0, 1, 1]), f64([0.5, 0.5 + 1e-12, 0.25, 0.75, 0.25 + 1e-13]))])
    add("perfect_separation", [L(f32([0, 0, 1, 1, 0]), f32([0.1, 0.2, 0.8, 0.9, 0.3]))])
    # Exact AUC depends only on the order: scores outside [0, 1] are fine
    # (Keras's thresholded AUC would clip them).
    y = labels(40)
    add("unbounded_scores", [L(y, f32(rng.normal(0.0, 3.0, size=40) + 2.0 * y))])
    y = labels(2000)
    s = f32(np.round(scores(y, 0.7), 2))
    add("large_n2000_4_batches_ties", batches(y, s, (500, 500, 500, 500)))
    y = labels(2000, 0.1)
    add("large_n2000_4_batches_weighted",
        batches(y, scores(y), (700, 300, 600, 400), f32(rng.uniform(0, 1, size=2000))))
    # Imbalanced (2 % positives) with every score squeezed near 0, where
    # Keras's 200 evenly spaced thresholds are too coarse (see keras_auc_200;
    # the id's "appendix" is historical).
    y = f32(rng.uniform(size=5000) < 0.02)
    s = f32(sigmoid(rng.normal(-6.0, 1.0, size=5000) + 1.5 * y))
    add("appendix_imbalanced_n5000", batches(y, s, (1000,) * 5), keras_auc_200=True)
    # Undefined / degenerate.
    add("single_class_all_negative", [L(f32([0, 0, 0, 0]), f32([0.1, 0.4, 0.35, 0.8]))],
        notes={"ROC": _ROC_ONE_CLASS, "PR": _PR_NO_POSITIVES})
    add("single_class_all_positive", [L(f32([1, 1, 1]), f32([0.1, 0.4, 0.8]))],
        notes={"ROC": _ROC_ONE_CLASS})
    # Positives present but all with weight 0: sklearn's weighted curves
    # see no positive mass.
    add("positives_all_zero_weight", [L(f32([0, 1, 0, 1]), f32([0.1, 0.7, 0.4, 0.8]), f32([1, 0, 2, 0]))],
        notes={"ROC": "undefined: no positive weight (like one class present); sklearn gives NaN",
               "PR": "no positive weight: sklearn treats it like no positives and returns 0.0"})

    cases: list[ExactCase] = []
    for name, (updates, notes, kauc) in data.items():
        for curve in ("ROC", "PR"):
            cases.append(ExactCase(f"{curve.lower()}/{name}", curve, updates, _EXACT_RTOL,
                                   notes.get(curve), kauc))
    return cases


# ==========================================================================
# Shared helpers of the families below (iou, probabilistic, regression,
# hinge, correlation, wrapped)
# ==========================================================================

def _onehot(labels, c: int) -> np.ndarray:
    """float32 one-hot of integer ``labels`` (class axis last)."""
    return f32(np.eye(c)[np.asarray(labels)])


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _keras_value(factory: MetricFactory, updates: list[Update], **overrides) -> np.ndarray:
    """``factory``'s class (kwargs updated with ``overrides``) run over
    ``updates`` on this process's backend: the result as a numpy array."""
    metric = factory.cls(**{**factory.kwargs, **overrides})
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for u in updates:
            metric.update_state(*u.args, sample_weight=u.sample_weight)
        return np.asarray(metric.result())


def _g7(x) -> str:
    """A scalar result for a note: 7 significant digits."""
    return f"{float(np.asarray(x)):.7g}"


def _kept(case: Case, rejects: list[int]) -> list[Update]:
    return [u for i, u in enumerate(case.updates) if i not in rejects]


# ==========================================================================
# Family: iou  (IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU)
#
# Keras source: keras/src/metrics/iou_metrics.py.  Labels are
# class ids (truncated to the metric's int dtype) or, with
# sparse_y_true/sparse_y_pred=False, the argmax along `axis`; inputs are
# flattened; weights are flattened and broadcast to the labels and cast to
# the metric dtype ("int" by default: 0.3 counts as 0).  Pairs with an id
# outside [0, num_classes) or a true label equal to ignore_class are dropped.
# result(): mean over the target classes present (TP+FP+FN > 1e-9) of
# TP / (TP + FP + FN + eps).
#
# Tally deviations (TALLY_DEVIATIONS["iou"]; every case that needs one must
# have one, checked by _iou_needs_deviation): ids out of range -> Tally
# rejects the update; fractional weights with the default int dtype -> Tally
# counts them exactly (= Keras with dtype="float32").
#
# Keras bug recorded as is: the final sum(iou, axis=self.axis) reuses the
# argmax axis on a 1-D vector, so any axis other than -1/0 raises in
# result() (iou/error_axis_1_rank3_result).
# ==========================================================================

IOU_SEED = 20240616

_INT_DTYPES = (None, "int", "int32", "int64")


def _iou_spec(factory: MetricFactory) -> dict:
    """How Keras turns a case's inputs into class ids (see _iou_class_ids)."""
    cls, kw = factory.cls, factory.kwargs
    M = keras.metrics
    if cls is M.BinaryIoU:
        return {"classes": 2, "ignore": None, "threshold": kw.get("threshold", 0.5)}
    one_hot_true = cls in (M.OneHotIoU, M.OneHotMeanIoU)
    return {
        "classes": kw["num_classes"],
        "ignore": kw.get("ignore_class"),
        "threshold": None,
        "sparse_true": False if one_hot_true else kw.get("sparse_y_true", True),
        "sparse_pred": kw.get("sparse_y_pred", not one_hot_true),
        "axis": kw.get("axis", -1),
    }


def _iou_class_ids(spec: dict, u: Update) -> tuple[np.ndarray, np.ndarray]:
    """The flat class ids Keras derives from one update (before the range
    check): argmax along the axis, or the value truncated toward zero."""
    y_true, y_pred = (np.asarray(a) for a in u.args)
    if spec["threshold"] is not None:  # BinaryIoU: y_pred as float32 >= threshold
        t = np.trunc(y_true.astype(np.float64))
        p = (y_pred.astype(np.float32) >= np.float32(spec["threshold"])).astype(np.float64)
        return t.reshape(-1), p.reshape(-1)
    t = np.argmax(y_true, axis=spec["axis"]) if not spec["sparse_true"] else np.trunc(y_true.astype(np.float64))
    p = np.argmax(y_pred, axis=spec["axis"]) if not spec["sparse_pred"] else np.trunc(y_pred.astype(np.float64))
    return np.asarray(t, np.float64).reshape(-1), np.asarray(p, np.float64).reshape(-1)


def _iou_rejects(case: Case) -> list[int]:
    """Updates with a class id outside [0, num_classes) (a true label equal to
    ignore_class excepted): Keras drops those pairs, Tally rejects the update."""
    spec = _iou_spec(case.make_metric)
    out = []
    for i, u in enumerate(case.updates):
        t, p = _iou_class_ids(spec, u)
        keep = np.ones_like(t, dtype=bool) if spec["ignore"] is None else t != spec["ignore"]
        c = spec["classes"]
        bad = keep & ((t < 0) | (t >= c) | (p < 0) | (p >= c))
        if bad.any():
            out.append(i)
    return out


def _iou_fractional_weights(case: Case) -> bool:
    """Fractional weights with the default int dtype (Keras truncates them)."""
    if case.make_metric.kwargs.get("dtype") not in _INT_DTYPES:
        return False
    return any(u.sample_weight is not None
               and not np.array_equal(np.trunc(np.asarray(u.sample_weight, np.float64)),
                                      np.asarray(u.sample_weight, np.float64))
               for u in case.updates)


def _iou_needs_deviation(case: Case) -> bool:
    return not case.id.rsplit("/", 1)[-1].startswith("error_") and (
        bool(_iou_rejects(case)) or _iou_fractional_weights(case))


def _iou_tally_expected(case: Case) -> np.ndarray:
    """Keras on the updates Tally accepts, with dtype="float32" when the
    weights are fractional (Keras's exact counts); 0 if none remain."""
    overrides = {"dtype": "float32"} if _iou_fractional_weights(case) else {}
    return _keras_value(case.make_metric, _kept(case, _iou_rejects(case)), **overrides)


_IOU_OUT_OF_RANGE = ("Class ids outside [0, num_classes) (other than ignore_class): Keras silently drops "
                     "those pairs; Tally rejects the whole update (MetricError.invalidValue) and keeps its "
                     "state. tally_expected = Keras's result on the other updates (0 if none remain).")
_IOU_INT_WEIGHTS = ("Keras's default IoU state is an int confusion matrix, so fractional sample weights are "
                    "truncated toward zero (0.3 counts as 0); Tally counts them exactly. tally_expected = "
                    "Keras's result with dtype=\"float32\" on the same updates.")


def _iou_deviation_text(case: Case) -> str:
    kinds = ((_IOU_OUT_OF_RANGE, bool(_iou_rejects(case))), (_IOU_INT_WEIGHTS, _iou_fractional_weights(case)))
    return " ".join(text for text, applies in kinds if applies)


# The TALLY_DEVIATIONS entry of every iou case that needs one.
_IOU_DEV = {
    "deviation": _iou_deviation_text,
    "tally_rejects": lambda case: _iou_rejects(case) or None,
    "tally_expected": _iou_tally_expected,
}


def iou_cases() -> list[Case]:
    rng = np.random.default_rng(IOU_SEED)
    M = keras.metrics
    I, MI, BI, OI, OMI = M.IoU, M.MeanIoU, M.BinaryIoU, M.OneHotIoU, M.OneHotMeanIoU

    def seg(shape, c, keep=0.7, void=None, p_void=0.0):
        """Random label map and a prediction equal to it with prob. ``keep``."""
        y = rng.integers(0, c, size=shape)
        p = np.where(rng.uniform(size=shape) < keep, y, rng.integers(0, c, size=shape))
        if void is not None:
            y = np.where(rng.uniform(size=shape) < p_void, void, y)
        return i32(y), i32(p)

    def probs(labels, c, sharp=2.0):
        """float32 scores (class axis last) whose argmax is mostly ``labels``."""
        z = rng.normal(0.0, 1.0, size=np.shape(labels) + (c,)) + sharp * np.eye(c)[np.asarray(labels)]
        return f32(_softmax(z))

    def rint(*shape, hi=4):
        return i32(rng.integers(0, hi, size=shape))

    # Keras docstring data.
    yt_doc, yp_doc, w_doc = i32([0, 0, 1, 1]), i32([0, 1, 0, 1]), f32([0.3, 0.3, 0.3, 0.1])
    yt_oh = f32([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]])
    yp_oh = f32([[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
    w_oh = f32([0.1, 0.2, 0.3, 0.4])
    yt_b, yp_b, w_b = i32([0, 1, 0, 1]), f32([0.1, 0.2, 0.4, 0.7]), f32([0.2, 0.3, 0.4, 0.1])

    cases: list[Case] = []
    p = "iou"
    y3, p3 = seg((12,), 3)
    y_seg, p_seg = seg((2, 4, 5), 4)
    lab = rng.integers(0, 3, size=(3, 4))
    axis1_probs = probs(lab, 3).transpose(0, 2, 1).copy()
    cases += [
        Case(f"{p}/docstring_unweighted", mk(I, num_classes=2, target_class_ids=[0]), "labels",
             [L(yt_doc, yp_doc)]),
        # Every weight truncates to 0 in the int confusion matrix: Keras gives 0.
        Case(f"{p}/docstring_weighted_int_dtype", mk(I, num_classes=2, target_class_ids=[0]), "labels",
             [L(yt_doc, yp_doc, w_doc)]),
        Case(f"{p}/docstring_weighted_float32", mk(I, num_classes=2, target_class_ids=[0], dtype="float32"),
             "labels", [L(yt_doc, yp_doc, w_doc)]),
        Case(f"{p}/target_1", mk(I, num_classes=2, target_class_ids=[1]), "labels", [L(yt_doc, yp_doc)]),
        Case(f"{p}/target_0_2_of_3", mk(I, num_classes=3, target_class_ids=[0, 2]), "labels", [L(y3, p3)]),
        Case(f"{p}/target_ids_unsorted_2_0", mk(I, num_classes=3, target_class_ids=[2, 0]), "labels",
             [L(y3, p3)]),
        # A repeated id counts twice in the mean (take_along_axis).
        Case(f"{p}/target_ids_repeated_1_1_2", mk(I, num_classes=3, target_class_ids=[1, 1, 2]), "labels",
             [L(y3, p3)]),
        # Keras only checks max(target_class_ids) < num_classes; -1 indexes
        # the last class (numpy take_along_axis).
        Case(f"{p}/target_id_negative_wraps", mk(I, num_classes=3, target_class_ids=[-1]), "labels",
             [L(y3, p3)]),
        # A target class that never occurs (TP+FP+FN = 0) is left out of the mean.
        Case(f"{p}/target_class_absent", mk(I, num_classes=4, target_class_ids=[1, 3]), "labels",
             [L(i32([0, 1, 1, 2]), i32([0, 1, 2, 2]))]),
        Case(f"{p}/all_targets_absent", mk(I, num_classes=4, target_class_ids=[3]), "labels",
             [L(i32([0, 1, 2]), i32([0, 2, 2]))]),
        Case(f"{p}/no_updates", mk(I, num_classes=3, target_class_ids=[0, 1]), "labels", []),
        # ignore_class: the pairs whose *true* label is ignored are dropped.
        Case(f"{p}/ignore_class_minus1", mk(I, num_classes=3, target_class_ids=[0, 1, 2], ignore_class=-1),
             "labels", [L(i32([0, -1, 1, 2, -1, 2]), i32([0, 1, 1, 1, 2, 2]))]),
        Case(f"{p}/ignore_class_255", mk(I, num_classes=3, target_class_ids=[0, 2], ignore_class=255),
             "labels", [L(i32([255, 0, 2, 255, 1]), i32([0, 0, 2, 2, 1]))]),
        # An ignored class inside the range can still be predicted (column counts).
        Case(f"{p}/ignore_class_0_still_predicted",
             mk(I, num_classes=3, target_class_ids=[0, 1], ignore_class=0), "labels",
             [L(i32([0, 1, 1, 2, 0]), i32([1, 0, 1, 2, 0]))]),
        # Dense (score) predictions: argmax along the last axis.
        Case(f"{p}/sparse_y_pred_false_probs", mk(I, num_classes=3, target_class_ids=[0, 1, 2],
                                                 sparse_y_pred=False), "labels", [L(y3, probs(y3, 3))]),
        Case(f"{p}/sparse_y_true_false_one_hot", mk(I, num_classes=3, target_class_ids=[1, 2],
                                                   sparse_y_true=False), "labels", [L(_onehot(y3, 3), p3)]),
        Case(f"{p}/both_dense_rank3", mk(I, num_classes=3, target_class_ids=[0, 2], sparse_y_true=False,
                                         sparse_y_pred=False), "labels",
             [L(_onehot(lab, 3), probs(lab, 3))]),
        # Scores with sparse_y_pred=True are truncated to class ids: 0.x -> 0.
        Case(f"{p}/probs_with_sparse_y_pred_truncated", mk(I, num_classes=2, target_class_ids=[0, 1]),
             "labels", [L(i32([0, 1, 1, 0]), f32([0.3, 0.9, 0.6, 0.1]))]),
        # axis=0: classes along the first axis (C, N).
        Case(f"{p}/axis_0_class_first", mk(I, num_classes=3, target_class_ids=[0, 1, 2], sparse_y_true=False,
                                           sparse_y_pred=False, axis=0), "labels",
             [L(_onehot(y3, 3).T.copy(), probs(y3, 3).T.copy())]),
        # Keras bug: the argmax axis is reused to sum a 1-D vector in result().
        Case(f"{p}/error_axis_1_rank3_result", mk(I, num_classes=3, target_class_ids=[0, 1], sparse_y_true=False,
                                                  sparse_y_pred=False, axis=1), "labels",
             [L(_onehot(lab, 3).transpose(0, 2, 1).copy(), axis1_probs)],
             note="Keras bug: result() sums the per-class IoU vector with axis=self.axis (1 here) and raises; "
                  "with the class axis moved last, IoU(axis=-1) gives " + _g7(_keras_value(
                      mk(I, num_classes=3, target_class_ids=[0, 1], sparse_y_true=False, sparse_y_pred=False),
                      [L(_onehot(lab, 3), axis1_probs.transpose(0, 2, 1))])) + "."),
        Case(f"{p}/rank3_labels_w_rank3_int", mk(I, num_classes=4, target_class_ids=[0, 1, 3]), "labels",
             [L(y_seg, p_seg, i32(rng.integers(0, 3, size=(2, 4, 5))))]),
        Case(f"{p}/int32_weights", mk(I, num_classes=3, target_class_ids=[0, 1, 2]), "labels",
             [L(y3, p3, i32(rng.integers(0, 4, size=12)))]),
        # Integral float weights are exact in the int matrix.
        Case(f"{p}/integral_float_weights", mk(I, num_classes=2, target_class_ids=[0, 1]), "labels",
             [L(yt_doc, yp_doc, f32([2, 0, 1, 3]))]),
        Case(f"{p}/scalar_weight_2", mk(I, num_classes=2, target_class_ids=[0, 1]), "labels",
             [L(yt_doc, yp_doc, f32(2.0))]),
        # 0.5 truncates to 0: Keras counts nothing.
        Case(f"{p}/scalar_weight_fractional", mk(I, num_classes=2, target_class_ids=[0, 1]), "labels",
             [L(yt_doc, yp_doc, f32(0.5))]),
        Case(f"{p}/fractional_weights_multi_batch", mk(I, num_classes=3, target_class_ids=[0, 2]), "labels",
             [L(y3[:6], p3[:6], f32(rng.uniform(0, 3, size=6))), L(y3[6:], p3[6:], f32(rng.uniform(0, 3, size=6)))]),
        Case(f"{p}/dtype_float32_fractional_weights_multi_batch",
             mk(I, num_classes=3, target_class_ids=[0, 2], dtype="float32"), "labels",
             [L(y3[:6], p3[:6], f32(rng.uniform(0, 3, size=6))), L(y3[6:], p3[6:], f32(rng.uniform(0, 3, size=6)))]),
        # Float labels are truncated toward zero: 1.7 -> 1, -0.5 -> 0.
        Case(f"{p}/float_labels_truncated", mk(I, num_classes=3, target_class_ids=[0, 1, 2]), "labels",
             [L(f32([0.5, 1.7, 2.9, -0.5, 1.0]), f32([0.0, 1.2, 2.0, 0.0, 2.5]))]),
        Case(f"{p}/int64_labels", mk(I, num_classes=3, target_class_ids=[1]), "labels",
             [L(i64([0, 1, 1, 2, 1]), i64([0, 1, 2, 2, 1]))]),
        Case(f"{p}/multi_batch_segmentation", mk(I, num_classes=4, target_class_ids=[0, 1, 3]), "labels",
             [L(*seg((2, 3, 4), 4)), L(*seg((1, 3, 4), 4)), L(*seg((3, 3, 4), 4))]),
        # Out-of-range ids (Tally rejects the update).
        Case(f"{p}/out_of_range_true_5_second_update", mk(I, num_classes=3, target_class_ids=[0, 1, 2]),
             "labels", [L(y3[:6], p3[:6]), L(i32([0, 5, 1]), i32([0, 1, 1])), L(y3[6:], p3[6:])]),
        Case(f"{p}/out_of_range_pred_minus1", mk(I, num_classes=3, target_class_ids=[0, 1]), "labels",
             [L(i32([0, 1, 2]), i32([0, -1, 2])), L(i32([1, 1]), i32([1, 0]))]),
        Case(f"{p}/out_of_range_only_update", mk(I, num_classes=2, target_class_ids=[0, 1]), "labels",
             [L(i32([0, 1, 2]), i32([0, 1, 1]))]),
        # Both deviations at once.
        Case(f"{p}/out_of_range_and_fractional_weights", mk(I, num_classes=2, target_class_ids=[0, 1]),
             "labels", [L(i32([0, 1, 1]), i32([0, 1, 0]), f32([0.5, 1.5, 2.5])),
                        L(i32([0, 3]), i32([0, 0]), f32([1, 1]))]),
        Case(f"{p}/error_target_id_out_of_range", mk(I, num_classes=2, target_class_ids=[0, 2]), "labels", []),
        Case(f"{p}/error_weight_length_mismatch", mk(I, num_classes=2, target_class_ids=[0]), "labels",
             [L(yt_doc, yp_doc, f32([1, 1, 1]))]),
        Case(f"{p}/error_label_count_mismatch", mk(I, num_classes=2, target_class_ids=[0]), "labels",
             [L(i32([0, 1, 1, 0]), i32([0, 1, 1]))]),
    ]

    p = "mean_iou"
    y_v, p_v = seg((2, 3, 4), 3, void=-1, p_void=0.2)
    lab4 = rint(3, 5)
    cases += [
        Case(f"{p}/spec_absent_class", mk(MI, num_classes=3), "labels", [L(i32([0, 1, 1, 1]), i32([0, 1, 0, 1]))]),
        Case(f"{p}/docstring_unweighted", mk(MI, num_classes=2), "labels", [L(yt_doc, yp_doc)]),
        Case(f"{p}/docstring_weighted_int_dtype", mk(MI, num_classes=2), "labels", [L(yt_doc, yp_doc, w_doc)]),
        Case(f"{p}/docstring_weighted_float32", mk(MI, num_classes=2, dtype="float32"), "labels",
             [L(yt_doc, yp_doc, w_doc)]),
        # Labels 5 and -1 are dropped (only the first two pairs count).
        Case(f"{p}/spec_out_of_range_dropped", mk(MI, num_classes=2), "labels",
             [L(i32([0, 1, 5, -1]), i32([0, 1, 1, 1]))]),
        Case(f"{p}/spec_out_of_range_dropped_then_valid", mk(MI, num_classes=2), "labels",
             [L(i32([0, 1, 5, -1]), i32([0, 1, 1, 1])), L(i32([0, 1, 1]), i32([1, 1, 0]))]),
        Case(f"{p}/perfect", mk(MI, num_classes=3), "labels", [L(i32([0, 1, 2, 2]), i32([0, 1, 2, 2]))]),
        Case(f"{p}/one_class_present", mk(MI, num_classes=3), "labels", [L(i32([1, 1, 1]), i32([1, 1, 1]))]),
        Case(f"{p}/num_classes_1", mk(MI, num_classes=1), "labels", [L(i32([0, 0]), i32([0, 0]))]),
        Case(f"{p}/no_updates", mk(MI, num_classes=2), "labels", []),
        Case(f"{p}/ignore_class_minus1_segmentation_w_int", mk(MI, num_classes=3, ignore_class=-1), "labels",
             [L(y_v, p_v, i32(rng.integers(1, 3, size=(2, 3, 4)))), L(*seg((1, 3, 4), 3, void=-1, p_void=0.3))]),
        Case(f"{p}/ignore_class_2_in_range", mk(MI, num_classes=3, ignore_class=2), "labels",
             [L(i32([0, 1, 2, 2, 1]), i32([0, 2, 2, 1, 1]))]),
        Case(f"{p}/sparse_y_pred_false_rank3", mk(MI, num_classes=4, sparse_y_pred=False), "labels",
             [L(lab4, probs(lab4, 4, 1.0))]),
        Case(f"{p}/both_dense_multi_batch", mk(MI, num_classes=3, sparse_y_true=False, sparse_y_pred=False),
             "labels", [L(_onehot(y3[:5], 3), probs(y3[:5], 3)), L(_onehot(y3[5:], 3), probs(y3[5:], 3, 0.5))]),
        Case(f"{p}/dtype_float32_random_fractional_weights", mk(MI, num_classes=4, dtype="float32"), "labels",
             [L(*seg((10,), 4), f32(rng.uniform(0, 1, size=10))) for _ in range(3)]),
        Case(f"{p}/fractional_weights_int_dtype", mk(MI, num_classes=4), "labels",
             [L(*seg((10,), 4), f32(rng.uniform(0, 2, size=10))) for _ in range(2)]),
        Case(f"{p}/error_num_classes_0", mk(MI, num_classes=0), "labels", []),
    ]

    p = "binary_iou"
    yb, pb = i32(rng.integers(0, 2, size=(4, 3))), f32(rng.uniform(0, 1, size=(4, 3)))
    cases += [
        Case(f"{p}/docstring_threshold_0_3_unweighted", mk(BI, target_class_ids=[0, 1], threshold=0.3),
             "labels", [L(yt_b, yp_b)]),
        Case(f"{p}/docstring_threshold_0_3_weighted_int_dtype", mk(BI, target_class_ids=[0, 1], threshold=0.3),
             "labels", [L(yt_b, yp_b, w_b)]),
        Case(f"{p}/docstring_threshold_0_3_weighted_float32",
             mk(BI, target_class_ids=[0, 1], threshold=0.3, dtype="float32"), "labels", [L(yt_b, yp_b, w_b)]),
        Case(f"{p}/defaults", mk(BI), "labels", [L(yb, pb)]),
        Case(f"{p}/target_0", mk(BI, target_class_ids=[0]), "labels", [L(yb, pb)]),
        Case(f"{p}/target_1", mk(BI, target_class_ids=[1]), "labels", [L(yb, pb)]),
        # Non-strict: y_pred == threshold is class 1.
        Case(f"{p}/pred_equal_threshold_is_positive", mk(BI), "labels",
             [L(i32([1, 0, 1, 0]), f32([0.5, 0.5, 0.49999997, 0.2]))]),
        # float32(0.3) >= 0.3 compares in float32 (threshold rounded too).
        Case(f"{p}/threshold_0_3_pred_float32_0_3", mk(BI, threshold=0.3), "labels",
             [L(i32([1, 1, 0]), f32([0.3, 0.29999998, 0.31]))]),
        Case(f"{p}/threshold_0_logits", mk(BI, threshold=0.0), "labels",
             [L(i32([0, 1, 1, 0, 1]), f32([-1.5, 0.0, 2.0, 0.3, -0.1]))]),
        Case(f"{p}/threshold_1", mk(BI, threshold=1.0), "labels", [L(i32([1, 1, 0]), f32([1.0, 0.99, 0.5]))]),
        Case(f"{p}/rank2_w_rank2_int", mk(BI), "labels", [L(yb, pb, i32(rng.integers(0, 3, size=(4, 3))))]),
        Case(f"{p}/float_labels", mk(BI), "labels", [L(f32([1, 0, 1, 1]), f32([0.9, 0.6, 0.2, 0.55]))]),
        Case(f"{p}/bool_labels", mk(BI), "labels", [L(b([True, False, True, False]), f32([0.9, 0.6, 0.2, 0.4]))]),
        Case(f"{p}/float64_preds", mk(BI, threshold=0.25), "labels", [L(i32([1, 0, 1]), f64([0.25, 0.1, 0.7]))]),
        Case(f"{p}/multi_batch_random_dtype_float32", mk(BI, dtype="float32"), "labels",
             [L(i32(rng.integers(0, 2, size=n)), f32(rng.uniform(size=n)), f32(rng.uniform(size=n)))
              for n in (6, 3, 8)]),
        # A label of 2 is out of range for 2 classes.
        Case(f"{p}/label_2_out_of_range", mk(BI), "labels",
             [L(i32([0, 1, 1]), f32([0.2, 0.8, 0.4])), L(i32([2, 1]), f32([0.9, 0.9]))]),
        Case(f"{p}/error_target_id_2", mk(BI, target_class_ids=[0, 2]), "labels", []),
    ]

    p = "one_hot_iou"
    lab2 = rng.integers(0, 3, size=(2, 5))
    cases += [
        Case(f"{p}/docstring_unweighted", mk(OI, num_classes=3, target_class_ids=[0, 2]), "labels",
             [L(yt_oh, yp_oh)]),
        Case(f"{p}/docstring_weighted_int_dtype", mk(OI, num_classes=3, target_class_ids=[0, 2]), "labels",
             [L(yt_oh, yp_oh, w_oh)]),
        Case(f"{p}/docstring_weighted_float32", mk(OI, num_classes=3, target_class_ids=[0, 2], dtype="float32"),
             "labels", [L(yt_oh, yp_oh, w_oh)]),
        Case(f"{p}/sparse_y_pred_true", mk(OI, num_classes=3, target_class_ids=[0, 1, 2], sparse_y_pred=True),
             "labels", [L(yt_oh, i32([2, 1, 0, 0]))]),
        Case(f"{p}/ignore_class_1", mk(OI, num_classes=3, target_class_ids=[0, 1, 2], ignore_class=1),
             "labels", [L(yt_oh, yp_oh)]),
        # argmax ties -> lowest index (y_pred rows 1 and 2 tie).
        Case(f"{p}/argmax_ties_lowest_index", mk(OI, num_classes=3, target_class_ids=[0, 1]), "labels",
             [L(f32([[1, 0, 0], [0, 1, 0], [0, 0, 1]]), f32([[0.4, 0.4, 0.2], [0.3, 0.3, 0.3], [0.1, 0.2, 0.7]]))]),
        Case(f"{p}/rank3_w_rank2_int", mk(OI, num_classes=3, target_class_ids=[1, 2]), "labels",
             [L(_onehot(lab2, 3), probs(lab2, 3, 1.0), i32(rng.integers(0, 3, size=(2, 5))))]),
        Case(f"{p}/axis_0", mk(OI, num_classes=3, target_class_ids=[0, 2], axis=0), "labels",
             [L(yt_oh.T.copy(), yp_oh.T.copy())]),
        Case(f"{p}/error_target_id_3", mk(OI, num_classes=3, target_class_ids=[3]), "labels", []),
    ]

    p = "one_hot_mean_iou"
    lab3 = rng.integers(0, 4, size=(3, 6))
    cases += [
        Case(f"{p}/docstring_unweighted", mk(OMI, num_classes=3), "labels", [L(yt_oh, yp_oh)]),
        Case(f"{p}/docstring_weighted_int_dtype", mk(OMI, num_classes=3), "labels", [L(yt_oh, yp_oh, w_oh)]),
        Case(f"{p}/docstring_weighted_float32", mk(OMI, num_classes=3, dtype="float32"), "labels",
             [L(yt_oh, yp_oh, w_oh)]),
        Case(f"{p}/multi_batch_rank3_w_int", mk(OMI, num_classes=4), "labels",
             [L(_onehot(lab3[:2], 4), probs(lab3[:2], 4, 1.0), i32(rng.integers(0, 3, size=(2, 6)))),
              L(_onehot(lab3[2:], 4), probs(lab3[2:], 4, 1.0))]),
        Case(f"{p}/ignore_class_0", mk(OMI, num_classes=3, ignore_class=0), "labels", [L(yt_oh, yp_oh)]),
        Case(f"{p}/sparse_y_pred_true", mk(OMI, num_classes=3, sparse_y_pred=True), "labels",
             [L(yt_oh, i32([2, 0, 1, 1]))]),
        Case(f"{p}/sparse_y_pred_true_out_of_range", mk(OMI, num_classes=3, sparse_y_pred=True), "labels",
             [L(yt_oh, i32([2, 0, 3, 1]))]),
    ]
    return cases


# ==========================================================================
# Family: probabilistic  (BinaryCrossentropy, CategoricalCrossentropy,
# SparseCategoricalCrossentropy, KLDivergence, Poisson)
#
# Keras sources: keras/src/metrics/probabilistic_metrics.py,
# keras/src/losses/losses.py, keras/src/backend/*/nn.py.  All are
# MeanMetricWrappers (per-sample loss, then Mean as in the reduction family).
#
# Every from_logits=True case runs on the JAX backend ("backend": "jax"):
# the numpy backend computes binary_crossentropy from logits as sigmoid +
# clip to [eps, 1-eps] (a logit of 100 costs 16.1 instead of 100), while the
# TF/JAX backends and Tally use the stable log-sigmoid form.  (Categorical
# and sparse cross-entropy from logits use log_softmax on every backend.)
#
# Tally deviations (TALLY_DEVIATIONS["probabilistic"], required by
# _probabilistic_needs_deviation): negative Poisson predictions and
# sparse labels outside [0, C) (other than ignore_class) -> Tally rejects
# the update.  A label >= C makes the numpy backend raise (IndexError), so
# those cases are error_ cases (Tally throws too); JAX returns a 0 loss.
#
# Keras quirks recorded as they are:
#  * SparseCategoricalCrossentropy(ignore_class): the mask only reduces the
#    count when a sample_weight is passed; with sequences (N, T) and an
#    (N,) weight Keras raises (mask (N, T) times weight (N,)).
#  * SparseCategoricalCrossentropy(axis != last): every backend requires the
#    class axis to be the last one (raises otherwise).
#  * CategoricalCrossentropy(axis=1, label_smoothing) on rank 3 smooths with
#    C = shape[-1] (the last axis), not the class axis.
# ==========================================================================

PROBABILISTIC_SEED = 20240617

_REJECT_SCCE = ("Tally rejects sparse labels outside [0, C) that are not ignore_class "
                "(MetricError.invalidValue) and keeps its state; Keras gives them a 0 loss (numpy one_hot of "
                "-1, or JAX for any out-of-range id) that still counts as a sample. tally_expected = Keras's "
                "result on the other updates (0 if none remain).")
_REJECT_POISSON = ("Tally rejects negative Poisson predictions (MetricError.invalidValue) and keeps its state; "
                   "Keras takes log(y_pred + eps) and returns NaN. tally_expected = Keras's result on the other "
                   "updates (0 if none remain).")


def _scce_rejects(case: Case) -> list[int]:
    kw = case.make_metric.kwargs
    ignore, axis = kw.get("ignore_class"), kw.get("axis", -1)
    out = []
    for i, u in enumerate(case.updates):
        y_true, y_pred = (np.asarray(a) for a in u.args)
        c = y_pred.shape[axis]
        t = np.trunc(y_true.astype(np.float64))
        keep = np.ones_like(t, dtype=bool) if ignore is None else t != ignore
        if (keep & ((t < 0) | (t >= c))).any():
            out.append(i)
    return out


def _poisson_rejects(case: Case) -> list[int]:
    return [i for i, u in enumerate(case.updates) if (np.asarray(u.args[1]) < 0).any()]


def _probabilistic_rejects(case: Case) -> list[int]:
    cls = case.make_metric.cls
    if cls is keras.metrics.SparseCategoricalCrossentropy:
        return _scce_rejects(case)
    if cls is keras.metrics.Poisson:
        return _poisson_rejects(case)
    return []


def _probabilistic_needs_deviation(case: Case) -> bool:
    return not case.id.rsplit("/", 1)[-1].startswith("error_") and bool(_probabilistic_rejects(case))


def _kept_expected(case: Case) -> np.ndarray:
    """Keras (this process's backend) on the updates Tally accepts."""
    return _keras_value(case.make_metric, _kept(case, _probabilistic_rejects(case)))


_SCCE_DEV = {"deviation": _REJECT_SCCE, "tally_rejects": _probabilistic_rejects, "tally_expected": _kept_expected}
_POISSON_DEV = {"deviation": _REJECT_POISSON, "tally_rejects": _probabilistic_rejects,
                "tally_expected": _kept_expected}


def probabilistic_cases() -> list[Case]:
    rng = np.random.default_rng(PROBABILISTIC_SEED)
    M = keras.metrics
    BCE, CCE, SCCE = M.BinaryCrossentropy, M.CategoricalCrossentropy, M.SparseCategoricalCrossentropy
    KLD, POI = M.KLDivergence, M.Poisson
    JAX = "jax"
    rp = lambda *s: f32(rng.uniform(0.02, 0.98, size=s))  # noqa: E731
    rb = lambda *s: f32(rng.integers(0, 2, size=s))  # noqa: E731
    rw = lambda *s: f32(rng.uniform(0.0, 2.0, size=s))  # noqa: E731
    rl = lambda *s: f32(rng.normal(0.0, 2.5, size=s))  # noqa: E731

    def dist(*shape):
        """Rows of positive probabilities summing to 1 along the last axis."""
        return f32(_softmax(rng.normal(0.0, 1.0, size=shape)))

    yt_h, yp_h = f32([[0, 1], [0, 0]]), f32([[0.6, 0.4], [0.4, 0.6]])
    yt_c, yp_c = f32([[0, 1, 0], [0, 0, 1]]), f32([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    cases: list[Case] = []

    p = "binary_crossentropy"
    yt23, yp23 = rb(2, 3, 4), rp(2, 3, 4)
    cases += [
        Case(f"{p}/docstring_unweighted", mk(BCE), "labels", [L(yt_h, yp_h)]),
        Case(f"{p}/docstring_weighted", mk(BCE), "labels", [L(yt_h, yp_h, f32([1, 0]))]),
        # Rank 1: one mean per batch, counted as one sample.
        Case(f"{p}/rank1", mk(BCE), "labels", [L(f32([0, 1, 1]), f32([0.1, 0.8, 0.6]))]),
        Case(f"{p}/rank1_w_rank0_then_unweighted", mk(BCE), "labels",
             [L(f32([0, 1, 1]), f32([0.1, 0.8, 0.6]), f32(3.0)), L(f32([1, 0]), f32([0.3, 0.3]))]),
        Case(f"{p}/rank2_w_n1", mk(BCE), "labels", [L(rb(3, 4), rp(3, 4), rw(3, 1))]),
        # The loss is reduced over the last axis: an (N, C) weight cannot apply.
        Case(f"{p}/error_rank2_w_rank2_same_shape", mk(BCE), "labels", [L(rb(3, 4), rp(3, 4), rw(3, 4))]),
        Case(f"{p}/rank3_w_rank2", mk(BCE), "labels", [L(yt23, yp23, rw(2, 3))]),
        Case(f"{p}/rank3_w_rank1", mk(BCE), "labels", [L(yt23, yp23, rw(2))]),
        Case(f"{p}/label_smoothing_0_1", mk(BCE, label_smoothing=0.1), "labels", [L(yt_h, yp_h)]),
        Case(f"{p}/label_smoothing_1_all_half", mk(BCE, label_smoothing=1.0), "labels", [L(rb(3, 2), rp(3, 2))]),
        Case(f"{p}/label_smoothing_0_25_w_rank1", mk(BCE, label_smoothing=0.25), "labels",
             [L(rb(4, 3), rp(4, 3), rw(4))]),
        Case(f"{p}/soft_labels", mk(BCE), "labels", [L(rp(3, 3), rp(3, 3))]),
        # Probabilities 0 and 1 are clipped to [eps, 1 - eps].
        Case(f"{p}/extreme_probabilities_0_and_1", mk(BCE), "labels",
             [L(f32([[0, 1, 0, 1], [1, 0, 1, 0]]), f32([[0, 1, 1, 0], [1, 0, 0.5, 0.5]]))]),
        Case(f"{p}/perfect_predictions_clip_floor", mk(BCE), "labels",
             [L(f32([[0, 1], [1, 0]]), f32([[0, 1], [1, 0]]))]),
        Case(f"{p}/int32_labels", mk(BCE), "labels", [L(i32([[0, 1, 1], [1, 0, 0]]), rp(2, 3))]),
        Case(f"{p}/float64_preds", mk(BCE), "labels", [L(f64([[0, 1], [1, 1]]), f64([[0.25, 0.9], [0.6, 0.999]]))]),
        Case(f"{p}/multi_batch_random", mk(BCE), "labels", [L(rb(n, 5), rp(n, 5), rw(n)) for n in (4, 1, 6)]),
        Case(f"{p}/named_dtype_float64", mk(BCE, name="bce64", dtype="float64"), "labels",
             [L(f32([[0, 1, 1]]), f32([[0.2, 0.7, 0.9]]))]),
        Case(f"{p}/error_shape_mismatch_n1_vs_n", mk(BCE), "labels", [L(f32([[0], [1]]), f32([0.1, 0.8]))]),
        # --- from_logits (JAX backend: stable log-sigmoid) ---------------------
        Case(f"{p}/logits", mk(BCE, from_logits=True), "labels", [L(rb(4, 3), rl(4, 3))], backend=JAX),
        Case(f"{p}/logits_large_magnitude", mk(BCE, from_logits=True), "labels",
             [L(f32([[0, 1, 0, 1], [1, 0, 1, 0]]), f32([[-100, 100, 30, -30], [60, -60, -0.5, 0.5]]))], backend=JAX),
        Case(f"{p}/logits_zero", mk(BCE, from_logits=True), "labels", [L(f32([[0, 1, 1]]), f32([[0, 0, 0]]))],
             backend=JAX),
        Case(f"{p}/logits_label_smoothing_0_2", mk(BCE, from_logits=True, label_smoothing=0.2), "labels",
             [L(rb(3, 4), rl(3, 4))], backend=JAX),
        Case(f"{p}/logits_rank3_w_rank2", mk(BCE, from_logits=True), "labels",
             [L(rb(2, 3, 2), rl(2, 3, 2), rw(2, 3))], backend=JAX),
        Case(f"{p}/logits_rank1", mk(BCE, from_logits=True), "labels",
             [L(f32([1, 0, 1, 0]), f32([3.0, -2.0, -0.5, 40.0]))], backend=JAX),
        Case(f"{p}/logits_multi_batch_w_rank1", mk(BCE, from_logits=True), "labels",
             [L(rb(n, 3), rl(n, 3), rw(n)) for n in (5, 2, 4)], backend=JAX),
    ]

    p = "categorical_crossentropy"
    lab = rng.integers(0, 4, size=(2, 5))
    p_seq = dist(2, 5, 4)
    lab_cf = rng.integers(0, 3, size=(2, 4))           # class axis 1 of (N, C=3, T=4)
    oh_cf = _onehot(lab_cf, 3).transpose(0, 2, 1).copy()
    p_cf = dist(2, 4, 3).transpose(0, 2, 1).copy()
    cases += [
        Case(f"{p}/docstring_unweighted", mk(CCE), "labels", [L(yt_c, yp_c)]),
        Case(f"{p}/docstring_weighted", mk(CCE), "labels", [L(yt_c, yp_c, f32([0.3, 0.7]))]),
        # Scores are renormalised to sum 1 along the class axis before clipping.
        Case(f"{p}/unnormalised_scores", mk(CCE), "labels",
             [L(f32([[0, 1, 0], [1, 0, 0]]), f32([[1, 3, 4], [0.5, 0.25, 0.25]]))]),
        Case(f"{p}/zero_probability_true_class", mk(CCE), "labels",
             [L(f32([[1, 0, 0], [0, 1, 0]]), f32([[0, 0.5, 0.5], [0, 1, 0]]))]),
        Case(f"{p}/label_smoothing_0_1", mk(CCE, label_smoothing=0.1), "labels", [L(yt_c, yp_c)]),
        Case(f"{p}/label_smoothing_0_3_w_rank1", mk(CCE, label_smoothing=0.3), "labels",
             [L(_onehot(rng.integers(0, 4, size=5), 4), dist(5, 4), rw(5))]),
        Case(f"{p}/soft_labels", mk(CCE), "labels", [L(dist(3, 4), dist(3, 4))]),
        Case(f"{p}/rank1_single_sample", mk(CCE), "labels",
             [L(f32([0, 0, 1]), f32([0.2, 0.3, 0.5])), L(f32([1, 0, 0]), f32([0.2, 0.3, 0.5]))]),
        Case(f"{p}/rank3_w_rank2", mk(CCE), "labels", [L(_onehot(lab, 4), p_seq, rw(2, 5))]),
        Case(f"{p}/rank3_w_rank1", mk(CCE), "labels", [L(_onehot(lab, 4), p_seq, rw(2))]),
        # Class axis 1 of (N, C, T).
        Case(f"{p}/axis_1_rank3", mk(CCE, axis=1), "labels", [L(oh_cf, p_cf)]),
        Case(f"{p}/axis_1_rank3_w_rank2", mk(CCE, axis=1), "labels", [L(oh_cf, p_cf, rw(2, 4))]),
        # Keras smooths with C = shape[-1] = T = 4 here, not the class axis size 3.
        Case(f"{p}/axis_1_rank3_label_smoothing_uses_last_dim", mk(CCE, axis=1, label_smoothing=0.2), "labels",
             [L(oh_cf, p_cf)],
             note="Keras bug: label smoothing divides by shape[-1] (4) instead of the class-axis size (3); "
                  "smoothing over the class axis gives " + _g7(_keras_value(
                      mk(CCE, label_smoothing=0.2), [L(oh_cf.transpose(0, 2, 1), p_cf.transpose(0, 2, 1))])) + "."),
        Case(f"{p}/axis_0_rank2_class_first", mk(CCE, axis=0), "labels", [L(yt_c.T.copy(), f32([[0.05, 0.1],
                                                                                               [0.95, 0.8],
                                                                                               [0.0, 0.1]]))]),
        Case(f"{p}/axis_minus2_rank3", mk(CCE, axis=-2), "labels", [L(oh_cf, p_cf)]),
        # One class: renormalised to 1, clipped to 1 - eps (Keras warns).
        Case(f"{p}/single_class_c1", mk(CCE), "labels", [L(f32([[1], [1]]), f32([[0.3], [0.9]]))]),
        Case(f"{p}/int32_labels", mk(CCE), "labels", [L(i32([[0, 1, 0], [0, 0, 1]]), yp_c)]),
        Case(f"{p}/multi_batch_random", mk(CCE), "labels",
             [L(_onehot(rng.integers(0, 5, size=n), 5), dist(n, 5), rw(n)) for n in (3, 6, 2)]),
        Case(f"{p}/error_shape_mismatch", mk(CCE), "labels", [L(f32([[0, 1, 0]]), f32([[0.5, 0.5]]))]),
        # --- from_logits (JAX backend) ---------------------------------------------
        Case(f"{p}/logits", mk(CCE, from_logits=True), "labels",
             [L(_onehot(rng.integers(0, 4, size=5), 4), rl(5, 4))], backend=JAX),
        Case(f"{p}/logits_large_magnitude", mk(CCE, from_logits=True), "labels",
             [L(f32([[1, 0, 0], [0, 0, 1]]), f32([[100, -100, 0], [90, 0, -90]]))], backend=JAX),
        Case(f"{p}/logits_label_smoothing_0_1_w_rank1", mk(CCE, from_logits=True, label_smoothing=0.1), "labels",
             [L(_onehot(rng.integers(0, 3, size=4), 3), rl(4, 3), rw(4))], backend=JAX),
        Case(f"{p}/logits_axis_1_rank3", mk(CCE, from_logits=True, axis=1), "labels",
             [L(oh_cf, rl(2, 3, 4))], backend=JAX),
        Case(f"{p}/logits_multi_batch", mk(CCE, from_logits=True), "labels",
             [L(_onehot(rng.integers(0, 3, size=n), 3), rl(n, 3)) for n in (2, 5)], backend=JAX),
    ]

    p = "sparse_categorical_crossentropy"
    seq_lab = i32([[0, 2, 1], [2, 2, 0]])
    seq_p = dist(2, 3, 3)
    yp_s = f32([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    yp3 = f32([[0.1, 0.7, 0.2], [0.3, 0.3, 0.4], [0.5, 0.2, 0.3]])
    lab_s, p_s = i32(rng.integers(0, 3, size=(2, 4))), dist(2, 4, 3)
    cases += [
        Case(f"{p}/docstring_unweighted", mk(SCCE), "labels", [L(i32([1, 2]), yp_s)]),
        Case(f"{p}/docstring_weighted", mk(SCCE), "labels", [L(i32([1, 2]), yp_s, f32([0.3, 0.7]))]),
        # Ignored positions count as 0-loss samples unless weighted.
        Case(f"{p}/ignore_class_spec_unweighted", mk(SCCE, ignore_class=2), "labels", [L(i32([1, 2]), yp_s)]),
        Case(f"{p}/ignore_class_spec_weighted", mk(SCCE, ignore_class=2), "labels",
             [L(i32([1, 2]), yp_s, f32([1, 1]))]),
        Case(f"{p}/labels_n1", mk(SCCE), "labels", [L(i32([[1], [2], [0]]), yp3)]),
        Case(f"{p}/labels_float32_truncated", mk(SCCE), "labels", [L(f32([1.7, 0.2, 2.0]), yp3)]),
        Case(f"{p}/labels_int64_w_rank1", mk(SCCE), "labels", [L(i64([2, 0, 1]), yp3, f32([1, 2, 0.5]))]),
        Case(f"{p}/unnormalised_scores", mk(SCCE), "labels", [L(i32([1, 0]), f32([[1, 3, 4], [0.5, 0.25, 0.25]]))]),
        Case(f"{p}/zero_probability_true_class", mk(SCCE), "labels", [L(i32([0, 1]), f32([[0, 0.5, 0.5], [0, 1, 0]]))]),
        Case(f"{p}/sequences", mk(SCCE), "labels", [L(seq_lab, seq_p)]),
        Case(f"{p}/sequences_w_rank2", mk(SCCE), "labels", [L(seq_lab, seq_p, f32([[1, 0, 2], [1, 1, 0.5]]))]),
        Case(f"{p}/sequences_w_rank1", mk(SCCE), "labels", [L(seq_lab, seq_p, f32([3, 1]))]),
        Case(f"{p}/ignore_class_minus1_unweighted", mk(SCCE, ignore_class=-1), "labels", [L(i32([1, -1, 0]), yp3)]),
        Case(f"{p}/ignore_class_minus1_weighted", mk(SCCE, ignore_class=-1), "labels",
             [L(i32([1, -1, 0]), yp3, f32([1, 1, 1]))]),
        Case(f"{p}/ignore_class_minus1_weighted_fractional", mk(SCCE, ignore_class=-1), "labels",
             [L(i32([1, -1, 0]), yp3, f32([0.5, 2, 1.5]))]),
        Case(f"{p}/ignore_class_all_ignored_weighted", mk(SCCE, ignore_class=-1), "labels",
             [L(i32([-1, -1]), yp3[:2], f32([1, 1]))]),
        Case(f"{p}/ignore_class_all_ignored_unweighted", mk(SCCE, ignore_class=-1), "labels",
             [L(i32([-1, -1]), yp3[:2])]),
        Case(f"{p}/ignore_class_labels_n1_weighted", mk(SCCE, ignore_class=0), "labels",
             [L(i32([[1], [0]]), yp3[:2], f32([2, 1]))]),
        Case(f"{p}/ignore_class_sequences_unweighted", mk(SCCE, ignore_class=2), "labels", [L(seq_lab, seq_p)]),
        Case(f"{p}/ignore_class_sequences_w_rank2", mk(SCCE, ignore_class=2), "labels",
             [L(seq_lab, seq_p, f32([[1, 1, 1], [1, 1, 1]]))]),
        # Keras multiplies the (N, T) mask into the (N,) weight: broadcast error.
        Case(f"{p}/error_ignore_class_sequences_w_rank1", mk(SCCE, ignore_class=2), "labels",
             [L(seq_lab, seq_p, f32([1, 1]))]),
        Case(f"{p}/ignore_class_multi_batch_mixed", mk(SCCE, ignore_class=2), "labels",
             [L(i32([1, 2]), yp_s), L(i32([0, 2]), yp3[:2], f32([1, 1])), L(i32([2]), yp3[2:])]),
        # The class axis given as a non-negative index of the last axis.
        Case(f"{p}/axis_1_rank2", mk(SCCE, axis=1), "labels", [L(i32([[1], [2]]), yp_s)]),
        Case(f"{p}/axis_2_rank3_ignore_class", mk(SCCE, axis=2, ignore_class=1), "labels",
             [L(seq_lab, seq_p, f32([[1, 1, 1], [1, 1, 1]]))]),
        # Every backend requires the class axis to be the last one.
        Case(f"{p}/error_axis_1_rank3", mk(SCCE, axis=1), "labels", [L(lab_s, p_s.transpose(0, 2, 1).copy())],
             note="Keras's sparse_categorical_crossentropy backends (numpy, JAX: shape check; TF: 'Only axis=-1') "
                  "support the class axis last only. With the class axis moved last, Keras gives "
                  + _g7(_keras_value(mk(SCCE), [L(lab_s, p_s)])) + "."),
        Case(f"{p}/multi_batch_random", mk(SCCE), "labels",
             [L(i32(rng.integers(0, 5, size=n)), dist(n, 5), rw(n)) for n in (4, 7, 2)]),
        # Out-of-range labels.
        Case(f"{p}/label_minus1_not_ignored", mk(SCCE), "labels",
             [L(i32([0, 1]), yp3[:2]), L(i32([0, -1]), yp3[1:])]),
        Case(f"{p}/label_minus1_only_update", mk(SCCE), "labels", [L(i32([-1, 2]), yp3[:2])]),
        Case(f"{p}/error_label_3_out_of_range", mk(SCCE), "labels", [L(i32([0, 3]), yp3[:2])]),
        # --- from_logits (JAX backend) ---------------------------------------------
        Case(f"{p}/logits", mk(SCCE, from_logits=True), "labels", [L(i32([1, 2, 0, 1]), rl(4, 3))], backend=JAX),
        Case(f"{p}/logits_large_magnitude", mk(SCCE, from_logits=True), "labels",
             [L(i32([0, 2]), f32([[100, -100, 0], [90, 0, -90]]))], backend=JAX),
        Case(f"{p}/logits_ignore_class_weighted", mk(SCCE, from_logits=True, ignore_class=-1), "labels",
             [L(i32([1, -1, 0]), rl(3, 3), f32([1, 1, 2]))], backend=JAX),
        Case(f"{p}/logits_sequences_w_rank2", mk(SCCE, from_logits=True), "labels",
             [L(seq_lab, rl(2, 3, 3), rw(2, 3))], backend=JAX),
        # JAX's one_hot of 3 is all zeros: a 0 loss (numpy raises; Tally rejects).
        Case(f"{p}/logits_label_3_out_of_range", mk(SCCE, from_logits=True), "labels",
             [L(i32([0, 1]), rl(2, 3)), L(i32([3, 1]), rl(2, 3))], backend=JAX),
    ]

    p = "kl_divergence"
    cases += [
        Case(f"{p}/docstring_unweighted", mk(KLD), "labels", [L(yt_h, yp_h)]),
        Case(f"{p}/docstring_weighted", mk(KLD), "labels", [L(yt_h, yp_h, f32([1, 0]))]),
        Case(f"{p}/distributions", mk(KLD), "labels", [L(dist(4, 3), dist(4, 3))]),
        Case(f"{p}/identical_distributions", mk(KLD), "labels", [L(f32([[0.2, 0.8], [0.5, 0.5]]),
                                                                    f32([[0.2, 0.8], [0.5, 0.5]]))]),
        # Both clipped to [eps, 1]: zeros, values above 1 and negatives.
        Case(f"{p}/zero_prediction_clipped", mk(KLD), "labels", [L(f32([[0.5, 0.5]]), f32([[0.0, 1.0]]))]),
        Case(f"{p}/values_outside_unit_interval_clipped", mk(KLD), "labels",
             [L(f32([[1.5, -0.5, 0.25]]), f32([[2.0, 0.5, -1.0]]))]),
        Case(f"{p}/rank1", mk(KLD), "labels", [L(f32([0.1, 0.6, 0.3]), f32([0.2, 0.5, 0.3]))]),
        Case(f"{p}/rank3_w_rank2", mk(KLD), "labels", [L(dist(2, 3, 4), dist(2, 3, 4), rw(2, 3))]),
        Case(f"{p}/multi_batch_w_rank1", mk(KLD), "labels", [L(dist(n, 4), dist(n, 4), rw(n)) for n in (3, 5)]),
    ]

    p = "poisson"
    cases += [
        Case(f"{p}/docstring_unweighted", mk(POI), "labels", [L(f32([[0, 1], [0, 0]]), f32([[1, 1], [0, 0]]))]),
        Case(f"{p}/docstring_weighted", mk(POI), "labels",
             [L(f32([[0, 1], [0, 0]]), f32([[1, 1], [0, 0]]), f32([1, 0]))]),
        # The terms (~1) cancel to a mean of ~0.04: Keras's float32 sum is off by
        # ~1.4e-6 relative from the float64 value.
        Case(f"{p}/counts_random", mk(POI), "labels",
             [L(f32(rng.poisson(3.0, size=(4, 3))), f32(rng.uniform(0.5, 6, size=(4, 3))))], rtol=1e-5),
        # y_pred = 0 with y_true > 0: -y log(eps).
        Case(f"{p}/zero_prediction", mk(POI), "labels", [L(f32([[1, 0]]), f32([[0, 1]]))]),
        # Negative targets are accepted by both.
        Case(f"{p}/negative_target", mk(POI), "labels", [L(f32([[-1, 2]]), f32([[0.5, 1]]))]),
        Case(f"{p}/rank1", mk(POI), "labels", [L(f32([2, 0, 5]), f32([1.5, 0.5, 4]))]),
        Case(f"{p}/rank3_w_rank1", mk(POI), "labels",
             [L(f32(rng.poisson(2.0, size=(2, 2, 3))), f32(rng.uniform(0.5, 4, size=(2, 2, 3))), rw(2))]),
        Case(f"{p}/multi_batch_w_rank1", mk(POI), "labels",
             [L(f32(rng.poisson(1.0, size=(n, 2))), f32(rng.uniform(0.1, 3, size=(n, 2))), rw(n)) for n in (3, 4)]),
        # Negative predictions: Keras NaN, Tally rejects the update.
        Case(f"{p}/negative_prediction", mk(POI), "labels", [L(f32([[1, 2]]), f32([[-0.5, 1]]))]),
        Case(f"{p}/negative_prediction_second_of_three", mk(POI), "labels",
             [L(f32([[1, 2]]), f32([[0.5, 1]])), L(f32([[0, 1]]), f32([[1, -1e-3]])), L(f32([[3, 0]]), f32([[2, 1]]))]),
    ]
    return cases


# ==========================================================================
# Family: regression  (MeanSquaredError, MeanAbsoluteError,
# MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
# RootMeanSquaredError, CosineSimilarity, LogCoshError, R2Score)
#
# Keras source: keras/src/metrics/regression_metrics.py.
#
# Tally deviations (TALLY_DEVIATIONS["regression"], required by
# _regression_needs_deviation):
#  * R2Score(num_regressors > 0): Keras 3.15.1 counts n = N*C elements per
#    update (whatever the weights); Tally counts samples with a non-zero
#    weight (Keras HEAD, PR #23334).  tally_expected: float64 R2 with that n.
#  * CosineSimilarity(axis != -1): Keras's get_config omits `axis`; Tally
#    writes it, so the generator adds it to the recorded config.
#
# Keras behaviours recorded as they are (backend-dependent / bugs):
#  * CosineSimilarity on the numpy backend normalises with
#    keras.utils.normalize's numpy path (x / ||x||, no eps floor), and that
#    path turns axis=0 into -1 (`axis or -1`): axis=0 fails or is wrong.  The
#    TF/JAX backends use x * min(rsqrt(sum x^2), 1/eps).  The affected cases
#    carry a "note" with the JAX value, which KERAS_BUGS turns into their
#    tally_expected.
#  * R2Score sums raw moments in float32 (squared_sum - sum * mean), which
#    cancels when the targets share a large offset (r2_score/large_offset).
# ==========================================================================

REGRESSION_SEED = 20240618

_R2_N = ("R2Score's adjusted score uses n = num_samples: Keras 3.15.1 adds size(y_true) = N*C per update "
         "(every element, whatever its weight); Tally counts the samples with a non-zero weight in at least "
         "one output, as Keras's current source does (keras PR #23334). tally_expected = the float64 "
         "(adjusted) R2 with that n.")
_COSINE_AXIS = ("CosineSimilarity.get_config() omits `axis` in Keras, so a non-default axis is lost on a "
                "round trip; Tally writes \"axis\" when it is not -1. The generator added \"axis\" to the "
                "recorded metric config (Keras's serialize() lacks it); the value is Keras's.")


def _r2_arrays(case: Case):
    """Per update: (y_true, y_pred, weight) as float64 (N, C) arrays, rank-aligned as Keras does."""
    out = []
    for u in case.updates:
        t, q = (np.asarray(a, np.float64) for a in u.args)
        if t.ndim == 1 and q.ndim == 2:
            t = t[:, None]
        if q.ndim == 1 and t.ndim == 2:
            q = q[:, None]
        if u.sample_weight is None:
            w = np.ones_like(t)
        else:
            w = np.asarray(u.sample_weight, np.float64)
            if w.ndim == 1:
                w = w[:, None]
            w = np.broadcast_to(w, t.shape)
        out.append((t, q, w))
    return out


def _r2_n(case: Case, counting: str) -> int:
    arrays = _r2_arrays(case)
    if counting == "keras":
        return sum(t.size for t, _, _ in arrays)
    return sum(int(np.any(w != 0, axis=1).sum()) for _, _, w in arrays)


def _r2_float64(case: Case, counting: str = "tally") -> np.ndarray:
    """R2Score in float64 on all updates, with Keras's aggregation and
    adjustment rules and n counted the Keras 3.15.1 ("keras") or the Tally
    / Keras HEAD ("tally") way."""
    kw = case.make_metric.kwargs
    arrays = _r2_arrays(case)
    t = np.concatenate([a[0] for a in arrays])
    q = np.concatenate([a[1] for a in arrays])
    w = np.concatenate([a[2] for a in arrays])
    with np.errstate(all="ignore"):
        mean = (w * t).sum(0) / w.sum(0)
        sst = (w * (t - mean) ** 2).sum(0)
        ssr = (w * (t - q) ** 2).sum(0)
        raw = 1.0 - ssr / sst
        raw = np.where(np.isinf(raw), 0.0, raw)
        agg = kw.get("class_aggregation", "uniform_average")
        if agg == "uniform_average":
            score = np.float64(raw.mean())
        elif agg == "variance_weighted_average":
            score = np.float64((sst * raw).sum() / sst.sum())
        else:
            score = raw
        p = kw.get("num_regressors", 0)
        n = _r2_n(case, counting)
        if p != 0 and p < n - 1:
            score = 1.0 - (1.0 - score) * (n - 1) / (n - p - 1)
    return np.asarray(score, np.float64)


def _r2_needs_deviation(case: Case) -> bool:
    kw = case.make_metric.kwargs
    if case.make_metric.cls is not keras.metrics.R2Score or not kw.get("num_regressors", 0):
        return False
    if case.id.rsplit("/", 1)[-1].startswith("error_") or not case.updates:
        return False
    keras_value, tally_value = _r2_float64(case, "keras"), _r2_float64(case, "tally")
    return not np.allclose(keras_value, tally_value, rtol=1e-9, atol=0, equal_nan=True)


def _regression_needs_deviation(case: Case) -> bool:
    f = case.make_metric
    if f.cls is keras.metrics.CosineSimilarity and f.kwargs.get("axis", -1) != -1:
        return True
    return _r2_needs_deviation(case)


def _cosine_dev(axis: int) -> dict:
    return {"deviation": _COSINE_AXIS, "metric_config": {"axis": axis}}


_R2_DEV = {"deviation": _R2_N, "tally_expected": _r2_float64}


def regression_cases() -> list[Case]:
    rng = np.random.default_rng(REGRESSION_SEED)
    M = keras.metrics
    MSE, MAE, MAPE, MSLE = M.MeanSquaredError, M.MeanAbsoluteError, M.MeanAbsolutePercentageError, \
        M.MeanSquaredLogarithmicError
    RMSE, COS, LC, R2 = M.RootMeanSquaredError, M.CosineSimilarity, M.LogCoshError, M.R2Score
    rt = lambda *s: f32(rng.uniform(-3.0, 3.0, size=s))  # noqa: E731
    rw = lambda *s: f32(rng.uniform(0.0, 2.0, size=s))  # noqa: E731
    rpos = lambda *s: f32(rng.uniform(0.5, 5.0, size=s))  # noqa: E731

    yt_d, yp_d = f32([[0, 1], [0, 0]]), f32([[1, 1], [0, 0]])
    w_d = f32([1, 0])
    cases: list[Case] = []

    # --- element-wise errors (MeanMetricWrapper over the last axis) -------------
    for p, C in (("mean_squared_error", MSE), ("mean_absolute_error", MAE),
                 ("mean_absolute_percentage_error", MAPE), ("mean_squared_logarithmic_error", MSLE),
                 ("root_mean_squared_error", RMSE), ("logcosh", LC)):
        pos = C in (MAPE, MSLE)
        r = rpos if pos else rt
        y232 = r(2, 3, 2)
        cases += [
            Case(f"{p}/docstring_unweighted", mk(C), "labels", [L(yt_d, yp_d)]),
            Case(f"{p}/docstring_weighted", mk(C), "labels", [L(yt_d, yp_d, w_d)]),
            Case(f"{p}/rank1", mk(C), "labels", [L(r(5), r(5))]),
            Case(f"{p}/rank3_w_rank2", mk(C), "labels", [L(y232, r(2, 3, 2), rw(2, 3))]),
            Case(f"{p}/multi_batch_w_rank1", mk(C), "labels", [L(r(n, 3), r(n, 3), rw(n)) for n in (4, 1, 5)]),
            Case(f"{p}/y_true_n1_y_pred_n", mk(C), "labels", [L(r(4, 1), r(4))]),
        ]
    p = "mean_squared_error"
    cases += [
        Case(f"{p}/int32_y_true", mk(MSE), "labels", [L(i32([[0, 2], [1, 1]]), f32([[0.5, 1.5], [1, 3]]))]),
        Case(f"{p}/dtype_float64", mk(MSE, dtype="float64"), "labels", [L(f64([[0.1, 0.2]]), f64([[0.3, 0.7]]))]),
        Case(f"{p}/error_incompatible_shapes", mk(MSE), "labels", [L(f32([[0, 1, 0]]), f32([[0.1, 0.2]]))]),
    ]
    p = "mean_absolute_percentage_error"
    cases += [
        # |0 - 1| / max(|0|, eps) * 100 = 1e9.
        Case(f"{p}/spec_zero_target", mk(MAPE), "labels", [L(f32([[0.0]]), f32([[1.0]]))]),
        Case(f"{p}/zero_target_mixed", mk(MAPE), "labels",
             [L(f32([[0, 2], [1, 4]]), f32([[0.5, 1], [1, 5]])), L(f32([[3, 0]]), f32([[3, 0]]))]),
        Case(f"{p}/negative_targets", mk(MAPE), "labels", [L(f32([[-2, 4], [-1, -5]]), f32([[1, 3], [-1.5, 0]]))]),
    ]
    p = "mean_squared_logarithmic_error"
    cases += [
        # Both clipped below at eps before log1p-like log(x + 1).
        Case(f"{p}/negative_values_clipped", mk(MSLE), "labels", [L(f32([[0, -1], [2, -3]]), f32([[-5, 1], [-2, 4]]))]),
    ]
    p = "root_mean_squared_error"
    cases += [
        Case(f"{p}/no_updates", mk(RMSE), "labels", []),
        Case(f"{p}/rank1_w_rank1", mk(RMSE), "labels", [L(f32([1, 2, 3]), f32([1.5, 2, 0]), f32([1, 2, 0.5]))]),
        Case(f"{p}/scalar_weight", mk(RMSE), "labels", [L(yt_d, yp_d, f32(3.0)), L(f32([[2, 2]]), f32([[0, 0]]))]),
        Case(f"{p}/all_zero_weights", mk(RMSE), "labels", [L(yt_d, yp_d, f32([0, 0]))]),
        Case(f"{p}/int32_inputs", mk(RMSE), "labels", [L(i32([[1, 5], [2, 2]]), i32([[0, 1], [2, 4]]))]),
    ]
    p = "logcosh"
    cases += [
        # Stable form: x + softplus(-2x) - log 2 does not overflow for |x| = 100.
        Case(f"{p}/large_errors", mk(LC), "labels", [L(f32([[0, 1], [0, 0]]), f32([[100, -100], [0, 0]]))]),
    ]

    # --- CosineSimilarity ---------------------------------------------------------------
    p = "cosine_similarity"
    yt_cd, yp_cd = f32([[0, 1], [1, 1]]), f32([[1, 0], [1, 1]])

    def near(x):
        """Predictions correlated with ``x`` (cosines well away from 0)."""
        return f32(x + rng.normal(0.0, 1.0, size=np.shape(x)))

    v = rt(2, 3, 4)
    cases += [
        # Keras docstring (axis=1 = the last axis of rank 2; config lacks it).
        Case(f"{p}/docstring_axis_1_unweighted", mk(COS, axis=1), "labels", [L(yt_cd, yp_cd)]),
        Case(f"{p}/docstring_axis_1_weighted", mk(COS, axis=1), "labels", [L(yt_cd, yp_cd, f32([0.3, 0.7]))]),
        Case(f"{p}/default_axis", mk(COS), "labels", [L(yt_cd, yp_cd)]),
        Case(f"{p}/opposite_and_orthogonal", mk(COS), "labels",
             [L(f32([[1, 2, 3], [1, 0, 0]]), f32([[-2, -4, -6], [0, 5, 0]]))]),
        # A zero vector gives 0.
        Case(f"{p}/zero_vectors", mk(COS), "labels", [L(f32([[0, 0], [1, 1], [0, 0]]), f32([[1, 0], [0, 0], [0, 0]]))]),
        Case(f"{p}/rank1_single_vector", mk(COS), "labels", [L(f32([1, 2, 3]), f32([2, 1, 3]))]),
        Case(f"{p}/rank3_w_rank2", mk(COS), "labels", [L(v, near(v), rw(2, 3))]),
        Case(f"{p}/axis_1_rank3", mk(COS, axis=1), "labels", [L(v, near(v))]),
        Case(f"{p}/axis_minus2_rank3_w_rank1", mk(COS, axis=-2), "labels", [L(v, near(v), rw(2))]),
        Case(f"{p}/multi_batch_w_rank1", mk(COS), "labels",
             [L(x, near(x), rw(n)) for n in (3, 5, 2) for x in [rt(n, 3)]]),
        Case(f"{p}/int32_y_true", mk(COS), "labels", [L(i32([[1, 0], [3, 4]]), f32([[1, 1], [4, 3]]))]),
        # Backend-dependent: numpy normalises x / ||x|| (-> 1.0), TF/JAX cap
        # rsqrt at 1/eps (-> 0.1).
        Case(f"{p}/tiny_norm_vector_numpy_backend", mk(COS), "labels", [L(f32([[1e-8, 0]]), f32([[1, 0]]))],
             note="numpy backend only: keras.utils.normalize's numpy path divides by the norm (1.0); "
                  "the TF/JAX backends compute x * min(rsqrt(sum x^2), 1/eps) and give 0.1 (checked with JAX)."),
        # numpy-backend bug: normalize() turns axis=0 into -1 for expand_dims
        # (N=2 x D=2 so that the wrong shapes still broadcast).
        Case(f"{p}/axis_0_square_numpy_backend_bug", mk(COS, axis=0), "labels",
             [L(f32([[1, 2], [4, 5]]), f32([[1, 0], [4, 5]]))],
             note="numpy backend bug: keras.utils.normalize's numpy path does `axis = axis or -1`, so the "
                  "norms taken along axis 0 are expanded along the last axis; JAX gives 0.9642383 "
                  "(the mean of the two per-column cosines)."),
        Case(f"{p}/error_axis_0_numpy_backend_bug", mk(COS, axis=0), "labels",
             [L(f32([[1, 2, 3], [4, 5, 6]]), f32([[1, 0, 3], [4, 5, -6]]))],
             note="numpy backend bug (see axis_0_square_numpy_backend_bug); JAX gives 0.44282556."),
    ]

    # --- R2Score ------------------------------------------------------------------------
    p = "r2_score"
    y1, q1 = f32([[1], [4], [3]]), f32([[2], [4], [4]])

    def reg(n, c, noise=0.5):
        t = rng.normal(0.0, 2.0, size=(n, c))
        return f32(t), f32(t + rng.normal(0.0, noise, size=(n, c)))

    t6, q6 = reg(6, 3)
    t8, q8 = reg(8, 2)
    cases += [
        Case(f"{p}/spec_example", mk(R2), "labels", [L(y1, q1)]),
        Case(f"{p}/multi_output_uniform_average", mk(R2), "labels", [L(t6, q6)]),
        Case(f"{p}/multi_output_variance_weighted", mk(R2, class_aggregation="variance_weighted_average"),
             "labels", [L(t6, q6)]),
        Case(f"{p}/multi_output_none", mk(R2, class_aggregation=None), "labels", [L(t6, q6)]),
        Case(f"{p}/w_rank1", mk(R2), "labels", [L(t6, q6, rw(6))]),
        Case(f"{p}/w_rank2", mk(R2, class_aggregation=None), "labels", [L(t6, q6, rw(6, 3))]),
        Case(f"{p}/w_rank0", mk(R2), "labels", [L(y1, q1, f32(2.0))]),
        Case(f"{p}/multi_batch", mk(R2, class_aggregation="variance_weighted_average"), "labels",
             [L(*reg(n, 3), rw(n)) for n in (4, 2, 5)]),
        # (N,) against (N, 1): both become (N, 1).
        Case(f"{p}/y_true_n_y_pred_n1", mk(R2), "labels", [L(f32([1, 2, 3]), f32([[1], [2], [4]]))]),
        Case(f"{p}/int32_inputs", mk(R2), "labels", [L(i32([[1], [4], [3]]), i32([[2], [4], [4]]))]),
        # Constant target: imperfect fit -inf -> 0, perfect fit 0/0 = NaN.
        Case(f"{p}/constant_target_imperfect", mk(R2), "labels", [L(f32([[2], [2], [2]]), f32([[2], [4], [4]]))]),
        Case(f"{p}/constant_target_perfect", mk(R2), "labels", [L(f32([[2], [2], [2]]), f32([[2], [2], [2]]))]),
        Case(f"{p}/constant_column_none", mk(R2, class_aggregation=None), "labels",
             [L(f32([[1, 2, 5], [4, 2, 5], [3, 2, 5]]), f32([[2, 2, 5], [4, 3, 5], [4, 2, 5]]))]),
        Case(f"{p}/constant_column_uniform", mk(R2), "labels",
             [L(f32([[1, 2], [4, 2], [3, 2]]), f32([[2, 2], [4, 3], [4, 2]]))]),
        Case(f"{p}/constant_column_variance_weighted", mk(R2, class_aggregation="variance_weighted_average"),
             "labels", [L(f32([[1, 2], [4, 2], [3, 2]]), f32([[2, 2], [4, 3], [4, 2]]))]),
        Case(f"{p}/all_zero_weights", mk(R2), "labels", [L(y1, q1, f32([0, 0, 0]))]),
        # Adjusted R2 (single output: n = N on both sides).
        Case(f"{p}/num_regressors_1_single_output", mk(R2, num_regressors=1), "labels",
             [L(*reg(8, 1))]),
        Case(f"{p}/num_regressors_2_single_output_multi_batch", mk(R2, num_regressors=2), "labels",
             [L(*reg(n, 1)) for n in (4, 3, 5)]),
        # p == n - 1 and p > n - 1: plain R2 (Keras warns).
        Case(f"{p}/num_regressors_equal_n_minus_1", mk(R2, num_regressors=2), "labels", [L(y1, q1)]),
        Case(f"{p}/num_regressors_above_n_minus_1", mk(R2, num_regressors=5), "labels", [L(y1, q1)]),
        # Deviations: Keras counts n = N*C (and zero-weight rows).
        Case(f"{p}/num_regressors_2_three_outputs", mk(R2, num_regressors=2), "labels", [L(t6, q6)]),
        Case(f"{p}/num_regressors_1_two_outputs_multi_batch_none",
             mk(R2, num_regressors=1, class_aggregation=None), "labels",
             [L(t8[:5], q8[:5]), L(t8[5:], q8[5:])]),
        Case(f"{p}/num_regressors_1_variance_weighted_w_rank1",
             mk(R2, num_regressors=1, class_aggregation="variance_weighted_average"), "labels",
             [L(t8, q8, rw(8))]),
        # N = 3, C = 2, p = 2: Keras n = 6 adjusts; Tally n = 3 = p + 1 falls back.
        Case(f"{p}/num_regressors_2_n3_two_outputs_tally_plain", mk(R2, num_regressors=2), "labels",
             [L(t6[:3, :2], q6[:3, :2])]),
        Case(f"{p}/num_regressors_1_single_output_zero_weight_rows", mk(R2, num_regressors=1), "labels",
             [L(*reg(6, 1), f32([1, 0, 2, 0, 1, 1]))]),
        # float32 raw moments cancel when the targets share a large offset.
        Case(f"{p}/large_offset_float32_cancellation", mk(R2), "labels",
             [L(f32(10000 + np.array([[1], [4], [3], [2]])), f32(10000 + np.array([[2], [4], [4], [2]])))],
             note="Keras accumulates sum and squared_sum in float32 and computes squared_sum - sum * mean: "
                  "with targets near 1e4 this cancels (the R2 of these data is 0.6: SSR 2, SST 5)."),
        Case(f"{p}/error_rank1_inputs", mk(R2), "labels", [L(f32([1, 2, 3]), f32([1, 2, 4]))]),
        Case(f"{p}/error_rank3_inputs", mk(R2), "labels", [L(f32(np.ones((2, 2, 1))), f32(np.ones((2, 2, 1))))]),
        Case(f"{p}/error_output_count_changes", mk(R2), "labels", [L(t6[:, :2], q6[:, :2]), L(t6, q6)]),
        Case(f"{p}/error_invalid_class_aggregation", mk(R2, class_aggregation="macro"), "labels", []),
        Case(f"{p}/error_negative_num_regressors", mk(R2, num_regressors=-1), "labels", []),
        Case(f"{p}/error_result_before_any_update", mk(R2), "labels", []),
    ]
    return cases


# ==========================================================================
# Family: hinge  (Hinge, SquaredHinge, CategoricalHinge)
#
# Keras sources: keras/src/metrics/hinge_metrics.py, keras/src/losses/
# losses.py.  Hinge/SquaredHinge map labels to 2y - 1 iff every
# label of the *batch* (the update's y_true) is 0 or 1; CategoricalHinge
# never converts.
# ==========================================================================

HINGE_SEED = 20240619


def hinge_cases() -> list[Case]:
    rng = np.random.default_rng(HINGE_SEED)
    M = keras.metrics
    rs = lambda *s: f32(rng.normal(0.0, 1.5, size=s))  # noqa: E731
    rw = lambda *s: f32(rng.uniform(0.0, 2.0, size=s))  # noqa: E731
    rpm = lambda *s: f32(2 * rng.integers(0, 2, size=s) - 1)  # noqa: E731
    yt_d, yp_d = f32([[0, 1], [0, 0]]), f32([[0.6, 0.4], [0.4, 0.6]])
    cases: list[Case] = []
    for p, C in (("hinge", M.Hinge), ("squared_hinge", M.SquaredHinge)):
        pm = rpm(4, 3)
        s43 = rs(4, 3)
        cases += [
            Case(f"{p}/docstring_unweighted", mk(C), "labels", [L(yt_d, yp_d)]),
            Case(f"{p}/docstring_weighted", mk(C), "labels", [L(yt_d, yp_d, f32([1, 0]))]),
            Case(f"{p}/plus_minus_1_labels", mk(C), "labels", [L(pm, s43)]),
            # The same labels as 0/1 are converted: same value as above.
            Case(f"{p}/zero_one_labels_converted", mk(C), "labels", [L(f32((pm + 1) / 2), s43)]),
            # A batch with 0 and -1 is not binary: 0 stays 0 (loss 1 - 0 = 1).
            Case(f"{p}/zero_and_minus_1_not_converted", mk(C), "labels",
                 [L(f32([[0, -1], [1, 0]]), f32([[0.3, -2], [0.5, 0.8]]))]),
            Case(f"{p}/labels_0_1_2_not_converted", mk(C), "labels",
                 [L(f32([[0, 1], [2, 1]]), f32([[0.3, 0.4], [0.2, -0.5]]))]),
            Case(f"{p}/all_zero_labels_converted", mk(C), "labels",
                 [L(f32([[0, 0], [0, 0]]), f32([[0.3, -1], [2, 0]]))]),
            Case(f"{p}/all_one_labels_converted", mk(C), "labels", [L(f32([[1, 1, 1]]), f32([[0.3, -1, 2]]))]),
            # The conversion is decided per update.
            Case(f"{p}/mixed_batches_binary_then_plus_minus_1", mk(C), "labels",
                 [L(f32([[0, 1], [1, 1]]), f32([[0.2, 0.9], [-0.4, 1.3]])),
                  L(f32([[-1, 1], [1, -1]]), f32([[0.2, 0.9], [-0.4, 1.3]])),
                  L(f32([[0, -1]]), f32([[0.7, -0.1]]))]),
            Case(f"{p}/soft_labels_not_converted", mk(C), "labels", [L(f32([[0.5, 1], [0, 0.2]]), rs(2, 2))]),
            Case(f"{p}/rank1", mk(C), "labels", [L(f32([0, 1, 1]), f32([0.6, 0.4, -1]))]),
            Case(f"{p}/rank3_w_rank2", mk(C), "labels", [L(rpm(2, 3, 4), rs(2, 3, 4), rw(2, 3))]),
            Case(f"{p}/int32_labels", mk(C), "labels", [L(i32([[0, 1, 1], [1, 0, 0]]), rs(2, 3))]),
            Case(f"{p}/bool_labels", mk(C), "labels", [L(b([[True, False], [False, False]]), yp_d)]),
            Case(f"{p}/multi_batch_w_rank1", mk(C), "labels",
                 [L(f32(rng.integers(0, 2, size=(n, 3))), rs(n, 3), rw(n)) for n in (3, 5, 2)]),
            Case(f"{p}/error_incompatible_shapes", mk(C), "labels", [L(f32([[0, 1, 1]]), f32([[0.1, 0.2]]))]),
        ]
    p, C = "categorical_hinge", M.CategoricalHinge
    cases += [
        Case(f"{p}/docstring_unweighted", mk(C), "labels", [L(yt_d, yp_d)]),
        Case(f"{p}/docstring_weighted", mk(C), "labels", [L(yt_d, yp_d, f32([1, 0]))]),
        Case(f"{p}/one_hot_scores", mk(C), "labels", [L(_onehot(rng.integers(0, 4, size=5), 4), rs(5, 4))]),
        Case(f"{p}/margin_met_zero_loss", mk(C), "labels", [L(f32([[0, 1, 0]]), f32([[0.2, 2.5, 1.0]]))]),
        Case(f"{p}/soft_labels", mk(C), "labels", [L(f32([[0.2, 0.8], [0.5, 0.5]]), f32([[0.3, 0.9], [1.0, -1.0]]))]),
        # +-1 labels are not converted: (1 - y) = 2 for y = -1.
        Case(f"{p}/plus_minus_1_labels", mk(C), "labels", [L(rpm(3, 3), rs(3, 3))]),
        Case(f"{p}/rank1_single_sample", mk(C), "labels", [L(f32([0, 1, 0]), f32([0.3, 0.5, 0.4]))]),
        Case(f"{p}/rank3_w_rank2", mk(C), "labels", [L(_onehot(rng.integers(0, 3, size=(2, 4)), 3), rs(2, 4, 3),
                                                       rw(2, 4))]),
        Case(f"{p}/int32_labels", mk(C), "labels", [L(i32([[0, 1, 0], [0, 0, 1]]), rs(2, 3))]),
        Case(f"{p}/multi_batch_w_rank1", mk(C), "labels",
             [L(_onehot(rng.integers(0, 3, size=n), 3), rs(n, 3), rw(n)) for n in (4, 2, 6)]),
        Case(f"{p}/error_incompatible_shapes", mk(C), "labels", [L(f32([[0, 1, 0]]), f32([[0.1, 0.2]]))]),
    ]
    return cases


# ==========================================================================
# Family: correlation  (PearsonCorrelation, ConcordanceCorrelation)
#
# Keras source: keras/src/metrics/correlation_metrics.py.  The
# per-sample function correlates along `axis`; Mean averages the results.
# With rank-2 (N, D) inputs and axis=-1 that is a per-sample correlation
# averaged over samples (independent of batching).  When the correlation
# axis is the batch axis (rank-1 inputs, or axis=0 on (N, D)) Keras
# computes one correlation per update and averages over updates.
#
# Tally deviation (TALLY_DEVIATIONS["correlation"], required by
# _correlation_needs_deviation): along the batch axis Tally accumulates
# dataset-level (population, optionally weighted) moments, so over several
# updates its value is the correlation of the concatenated data (for axis=0
# on (N, D): per column, then averaged).  A single update gives Keras's
# value.  Sample weights along the batch axis can only be scalars in Keras
# (an (N,) weight cannot broadcast to the one value per update).
# ==========================================================================

CORRELATION_SEED = 20240620

_CORR_DATASET = ("Along the batch axis (rank-1 inputs, or axis=0) Keras computes one correlation per "
                 "update and averages them (weighted by the scalar sample_weight), so its result depends "
                 "on the batching; Tally accumulates dataset-level population moments (weighted per sample) "
                 "and returns the correlation of all samples. tally_expected = float64 correlation of the "
                 "concatenated updates (equal to Keras's single-batch value on the concatenation).")


def _correlation_on_batch_axis(case: Case) -> bool:
    axis = case.make_metric.kwargs.get("axis", -1)
    rank = max(np.ndim(case.updates[0].args[0]), np.ndim(case.updates[0].args[1])) if case.updates else 0
    return rank > 0 and axis % rank == 0


def _correlation_needs_deviation(case: Case) -> bool:
    return (not case.id.rsplit("/", 1)[-1].startswith("error_")
            and _correlation_on_batch_axis(case) and len(case.updates) > 1)


def _correlation_float64(case: Case) -> np.ndarray:
    """Dataset-level weighted population correlation over all updates (per
    column for (N, D) inputs, then averaged), in float64."""
    concordance = case.make_metric.cls is keras.metrics.ConcordanceCorrelation
    ys, ps, ws = [], [], []
    for u in case.updates:
        t, q = (np.asarray(a, np.float64) for a in u.args)
        t, q = np.broadcast_arrays(t.reshape(len(t), -1), q.reshape(len(q), -1))
        w = 1.0 if u.sample_weight is None else float(np.asarray(u.sample_weight))  # scalar only
        ys.append(t)
        ps.append(q)
        ws.append(np.full((len(t), 1), w))
    t, q, w = np.concatenate(ys), np.concatenate(ps), np.concatenate(ws)
    wsum = w.sum(0)
    mt, mq = (w * t).sum(0) / wsum, (w * q).sum(0) / wsum
    vt, vq = (w * (t - mt) ** 2).sum(0) / wsum, (w * (q - mq) ** 2).sum(0) / wsum
    cov = (w * (t - mt) * (q - mq)).sum(0) / wsum
    with np.errstate(all="ignore"):
        if concordance:
            per_column = 2 * cov / (vt + vq + (mt - mq) ** 2 + 1e-7)
        else:
            per_column = cov / np.sqrt(vt * vq)
    return np.asarray(per_column.mean(), np.float64)


_CORR_DEV = {"deviation": _CORR_DATASET, "tally_expected": _correlation_float64}


def correlation_cases() -> list[Case]:
    rng = np.random.default_rng(CORRELATION_SEED)
    M = keras.metrics
    rw = lambda *s: f32(rng.uniform(0.2, 2.0, size=s))  # noqa: E731

    def pair(*shape, rho=0.7, offset=0.0):
        """Correlated float32 data (y, p), p = rho*y + noise (+ offset)."""
        t = rng.normal(0.0, 1.0, size=shape)
        q = rho * t + np.sqrt(1 - rho ** 2) * rng.normal(0.0, 1.0, size=shape) + offset
        return f32(t), f32(q)

    yt_d = f32([[0, 1, 0.5], [1, 1, 0.2]])
    yp_d = f32([[0.1, 0.9, 0.5], [1, 0.9, 0.2]])
    cases: list[Case] = []
    for p, C in (("pearson_correlation", M.PearsonCorrelation), ("concordance_correlation", M.ConcordanceCorrelation)):
        t1, q1 = pair(12, rho=0.6, offset=0.3)
        cases += [
            Case(f"{p}/docstring", mk(C, axis=-1), "labels", [L(yt_d, yp_d)]),
            Case(f"{p}/default_axis_rank2", mk(C), "labels", [L(*pair(4, 6))]),
            Case(f"{p}/rank2_w_rank1", mk(C), "labels", [L(*pair(5, 4), rw(5))]),
            # Per-sample correlations: batching does not matter.
            Case(f"{p}/rank2_multi_batch", mk(C), "labels", [L(*pair(n, 5, rho=0.4)) for n in (3, 1, 4)]),
            Case(f"{p}/rank2_multi_batch_w_rank1", mk(C), "labels", [L(*pair(n, 5), rw(n)) for n in (2, 5)]),
            Case(f"{p}/rank2_perfect_and_anti", mk(C), "labels",
                 [L(f32([[1, 2, 3, 4], [1, 2, 3, 4]]), f32([[2, 4, 6, 8], [4, 3, 2, 1]]))]),
            Case(f"{p}/rank2_offset_and_scale", mk(C), "labels", [L(f32([[1, 2, 3]]), f32([[12, 14, 16]]))]),
            # A constant row: Pearson 0/0 = NaN; concordance 0.
            Case(f"{p}/rank2_constant_row", mk(C), "labels",
                 [L(f32([[1, 1, 1], [1, 2, 4]]), f32([[1, 3, 2], [2, 1, 5]]))]),
            Case(f"{p}/rank3_w_rank2", mk(C), "labels", [L(*pair(2, 3, 5), rw(2, 3))]),
            Case(f"{p}/rank3_axis_1", mk(C, axis=1), "labels", [L(*pair(2, 6, 3))]),
            Case(f"{p}/int32_y_true", mk(C), "labels",
                 [L(i32([[1, 2, 4], [3, 1, 2]]), f32([[1.5, 2, 3], [2, 2.5, 1]]))]),
            # (N, 1) columns: one element per correlation -> NaN (Pearson).
            Case(f"{p}/rank2_single_column", mk(C), "labels", [L(f32([[1], [2], [3]]), f32([[1], [3], [2]]))]),
            # --- correlation along the batch axis ----------------------------------
            Case(f"{p}/rank1_single_batch", mk(C), "labels", [L(t1, q1)]),
            Case(f"{p}/rank1_single_batch_w_rank0", mk(C), "labels", [L(t1, q1, f32(2.5))]),
            Case(f"{p}/rank1_three_batches", mk(C), "labels",
                 [L(t1[:4], q1[:4]), L(t1[4:9], q1[4:9]), L(t1[9:], q1[9:])]),
            Case(f"{p}/rank1_two_batches_w_rank0", mk(C), "labels",
                 [L(t1[:5], q1[:5], f32(3.0)), L(t1[5:], q1[5:], f32(0.5))]),
            Case(f"{p}/rank1_batches_uneven_sizes", mk(C), "labels",
                 [L(*pair(n, rho=r, offset=o)) for n, r, o in ((10, 0.8, 0.0), (3, 0.2, 1.0), (7, 0.5, -0.5))]),
            # A one-element batch: Keras's per-batch Pearson is NaN.
            Case(f"{p}/rank1_one_element_batch", mk(C), "labels", [L(t1[:6], q1[:6]), L(t1[6:7], q1[6:7])]),
            Case(f"{p}/rank1_constant_y_true", mk(C), "labels", [L(f32([2, 2, 2, 2]), f32([1, 2, 3, 5]))]),
            Case(f"{p}/axis_0_rank2_single_batch", mk(C, axis=0), "labels", [L(*pair(6, 3))]),
            Case(f"{p}/axis_0_rank2_two_batches", mk(C, axis=0), "labels", [L(*pair(5, 3)), L(*pair(4, 3, rho=0.2))]),
            Case(f"{p}/error_rank1_w_rank2", mk(C), "labels", [L(t1[:3], q1[:3], f32([[1], [1], [1]]))]),
        ]
    return cases


# ==========================================================================
# Family: wrapped  (MeanMetricWrapper around keras.metrics functions that
# have no metric class: huber, log_cosh, binary_focal_crossentropy,
# categorical_focal_crossentropy)
#
# MeanMetricWrapper(fn=keras.metrics.huber, delta=2.0) serializes
# "fn" as {"module": "builtins", "class_name": "function", "config": "huber",
# "registered_name": "function"} and the keyword arguments next to it in
# the config ("delta": 2.0).
# ==========================================================================

WRAPPED_SEED = 20240621


def wrapped_cases() -> list[Case]:
    rng = np.random.default_rng(WRAPPED_SEED)
    MMW = keras.metrics.MeanMetricWrapper
    K = keras.metrics
    rt = lambda *s: f32(rng.uniform(-3.0, 3.0, size=s))  # noqa: E731
    rp = lambda *s: f32(rng.uniform(0.02, 0.98, size=s))  # noqa: E731
    rb = lambda *s: f32(rng.integers(0, 2, size=s))  # noqa: E731
    rw = lambda *s: f32(rng.uniform(0.0, 2.0, size=s))  # noqa: E731

    def w(fn, **kw):
        return mk(MMW, fn=fn, **kw)

    yt_d, yp_d = f32([[0, 1], [0, 0]]), f32([[0.6, 0.4], [0.4, 0.6]])
    cases: list[Case] = []
    p = "huber"
    cases += [
        Case(f"{p}/docstring_like", w(K.huber), "labels", [L(yt_d, yp_d)]),
        Case(f"{p}/both_branches", w(K.huber), "labels", [L(f32([[0, 0, 0]]), f32([[0.5, 1.0, 3.0]]))]),
        Case(f"{p}/delta_2", w(K.huber, delta=2.0), "labels", [L(rt(3, 4), rt(3, 4))]),
        Case(f"{p}/rank3_w_rank2", w(K.huber), "labels", [L(rt(2, 3, 2), rt(2, 3, 2), rw(2, 3))]),
        Case(f"{p}/multi_batch_w_rank1", w(K.huber, name="huber"), "labels",
             [L(rt(n, 3), rt(n, 3), rw(n)) for n in (4, 2)]),
        Case(f"{p}/rank1", w(K.huber), "labels", [L(rt(5), rt(5))]),
    ]
    p = "log_cosh"
    cases += [
        Case(f"{p}/docstring_like", w(K.log_cosh), "labels", [L(f32([[0, 1], [0, 0]]), f32([[1, 1], [0, 0]]))]),
        Case(f"{p}/large_errors", w(K.log_cosh), "labels", [L(f32([[0, 1]]), f32([[100, -100]]))]),
        Case(f"{p}/multi_batch_w_rank1", w(K.log_cosh), "labels", [L(rt(n, 3), rt(n, 3), rw(n)) for n in (3, 5)]),
    ]
    p = "binary_focal_crossentropy"
    cases += [
        Case(f"{p}/defaults", w(K.binary_focal_crossentropy), "labels", [L(yt_d, yp_d)]),
        Case(f"{p}/gamma_3", w(K.binary_focal_crossentropy, gamma=3.0), "labels", [L(rb(3, 4), rp(3, 4))]),
        Case(f"{p}/class_balancing_alpha_0_4", w(K.binary_focal_crossentropy, apply_class_balancing=True, alpha=0.4),
             "labels", [L(rb(3, 4), rp(3, 4))]),
        Case(f"{p}/from_logits", w(K.binary_focal_crossentropy, from_logits=True), "labels",
             [L(rb(3, 4), rt(3, 4))]),
        Case(f"{p}/label_smoothing_0_1", w(K.binary_focal_crossentropy, label_smoothing=0.1), "labels",
             [L(rb(3, 4), rp(3, 4))]),
        Case(f"{p}/extreme_probabilities", w(K.binary_focal_crossentropy), "labels",
             [L(f32([[0, 1, 0, 1]]), f32([[0, 1, 1, 0]]))]),
        Case(f"{p}/multi_batch_w_rank1", w(K.binary_focal_crossentropy), "labels",
             [L(rb(n, 3), rp(n, 3), rw(n)) for n in (4, 2)]),
    ]
    p = "categorical_focal_crossentropy"
    cases += [
        Case(f"{p}/defaults", w(K.categorical_focal_crossentropy), "labels",
             [L(f32([[0, 1, 0], [0, 0, 1]]), f32([[0.05, 0.95, 0], [0.1, 0.8, 0.1]]))]),
        Case(f"{p}/alpha_0_5_gamma_1", w(K.categorical_focal_crossentropy, alpha=0.5, gamma=1.0), "labels",
             [L(_onehot(rng.integers(0, 4, size=5), 4), f32(_softmax(rng.normal(size=(5, 4)))))]),
        Case(f"{p}/from_logits", w(K.categorical_focal_crossentropy, from_logits=True), "labels",
             [L(_onehot(rng.integers(0, 3, size=4), 3), rt(4, 3))]),
        Case(f"{p}/label_smoothing_0_2", w(K.categorical_focal_crossentropy, label_smoothing=0.2), "labels",
             [L(_onehot(rng.integers(0, 3, size=4), 3), f32(_softmax(rng.normal(size=(4, 3)))))]),
        Case(f"{p}/rank3_w_rank2", w(K.categorical_focal_crossentropy), "labels",
             [L(_onehot(rng.integers(0, 3, size=(2, 3)), 3), f32(_softmax(rng.normal(size=(2, 3, 3)))), rw(2, 3))]),
        Case(f"{p}/multi_batch_w_rank1", w(K.categorical_focal_crossentropy), "labels",
             [L(_onehot(rng.integers(0, 3, size=n), 3), f32(_softmax(rng.normal(size=(n, 3)))), rw(n))
              for n in (3, 4)]),
    ]
    return cases


# ==========================================================================
# Families: agreement (MatthewsCorrelationCoefficient, CohenKappa) and
# calibration (BrierScore, ExpectedCalibrationError)
#
# Keras 3 has none of these four metrics, so, as in "exact", the reference
# is not Keras: scikit-learn's matthews_corrcoef / cohen_kappa_score /
# brier_score_loss, and TorchMetrics' BinaryCalibrationError (norm="l1")
# for the calibration error.  "metric" is Tally's serialized config,
# {"class_name": C, "config": {...}} (no module keys), the full key set
# with TensorFlow Addons' names and defaults for the first two.
#
# How Tally reads the inputs is Tally's own decision (the libraries above
# take class ids or flat probabilities), so it is written out here: each
# class (REFERENCE_METRICS) has a `prepare` function that turns one update
# into the arrays the reference needs or raises TallyInputError, and a
# `check_config` that raises TallyInputError for a configuration Tally
# refuses.  A case whose update is refused records the error ("error_at":
# "update"; it must be the last update) unless the update is listed in the
# case's tally_rejects (the update is refused, the state kept, the later
# updates proceed).  The reference then runs on the concatenation of the
# accepted updates, with every input widened exactly to float64 (so the
# expected values are float64 arithmetic on the exact input values: rtol
# 1e-9).  An input whose treatment Tally's rules leave open raises
# Unspecified: the generator stops instead of guessing (keep such inputs
# out of the cases).
#
# Class ids (both agreement metrics; K = num_classes >= 2):
#   y_true [N, K] -> argmax over the last axis (one-hot labels; for
#     CohenKappa only with sparse_labels=False, else an error); [N] or
#     [N, 1] -> class ids, which must be integers in [0, K).
#   y_pred [N, K] -> argmax (lowest index wins ties; NaN in a row is an
#     error); [N] or [N, 1]: K == 2 -> 1 if y_pred > 0.5 else 0 (strict, as
#     Keras's thresholds); K > 2 -> class ids as for y_true, except that
#     CohenKappa(regression=True) first maps y_pred to round-half-to-even
#     of |y_pred| (TensorFlow Addons' tf.math.round(tf.math.abs(.))).
#   sample_weight: None, [N] or [N, 1]; finite and >= 0.  Every other
#     shape, and a different N in any of the three, is an error.
# ==========================================================================

AGREEMENT_SEED = 20240622
CALIBRATION_SEED = 20240623

_REF_RTOL = 1e-9


class TallyInputError(ValueError):
    """An input or configuration that Tally's rules refuse (recorded as the case's error)."""


class Unspecified(Exception):
    """An input Tally's rules do not decide: a generator bug, never written to a fixture."""


@dataclass
class RefCase:
    """A case of the "agreement" / "calibration" families (reference: sklearn
    or TorchMetrics, input rules: ``REFERENCE_METRICS[class_name]``)."""

    id: str
    class_name: str
    config: dict
    updates: list[Update]
    rtol: float = _REF_RTOL
    note: str | None = None
    # Updates Tally refuses while the later ones proceed (see above).
    tally_rejects: list[int] | None = None


@dataclass
class RefValue:
    """A reference result and what the case should say about it."""

    value: float
    source: str | None = None          # written as the case's "reference"
    note: str | None = None
    sklearn_warning: str | None = None
    deviation: str | None = None       # with tally_expected: Tally's value differs
    tally_expected: float | None = None


@dataclass(frozen=True)
class RefMetric:
    check_config: Callable[[dict], None]
    prepare: Callable[[dict, Update], Any]
    reference: Callable[[dict, list], RefValue]


def _f64(a) -> np.ndarray:
    """float64 copy of an input (exact for float32 and 32-bit integers)."""
    return np.asarray(a).astype(np.float64)


def _rank12(a: np.ndarray, what: str) -> None:
    if a.ndim not in (1, 2):
        raise TallyInputError(f"{what} must be [N] or [N, c], got shape {list(a.shape)}")
    if a.shape[0] == 0:
        raise Unspecified(f"{what}: an empty batch")


def _is_column(a: np.ndarray) -> bool:
    """[N] or [N, 1]."""
    return a.ndim == 1 or (a.ndim == 2 and a.shape[1] == 1)


def _same_n(*named: tuple[str, np.ndarray | None]) -> int:
    ns = {what: a.shape[0] for what, a in named if a is not None}
    if len(set(ns.values())) > 1:
        raise TallyInputError(f"different numbers of samples: {ns}")
    return next(iter(ns.values()))


def _sample_weight(w, n: int, refuse_negative: bool = True) -> np.ndarray:
    """Per-sample weights (N,) in float64: None -> ones; [N] or [N, 1].
    ``refuse_negative=False``: a negative or non-finite weight is left open
    (Unspecified) instead of refused."""
    if w is None:
        return np.ones(n)
    w = np.asarray(w)
    if w.ndim == 0:
        raise Unspecified("a scalar sample_weight")
    if w.shape[0] != n:
        raise TallyInputError(f"sample_weight has {w.shape[0]} rows, the labels {n}")
    if not _is_column(w):
        raise TallyInputError(f"sample_weight must be [N] or [N, 1], got shape {list(w.shape)}")
    v = _f64(w).reshape(-1)
    bad = ~np.isfinite(v) | (v < 0)
    if bad.any() and not refuse_negative:
        raise Unspecified("a negative or non-finite sample_weight")
    if bad.any():
        raise TallyInputError(f"sample_weight must be finite and >= 0, got {float(v[bad][0])!r}")
    return v


def _class_ids(v: np.ndarray, k: int, what: str) -> np.ndarray:
    """Values that must be integral class ids in [0, k)."""
    v = v.reshape(-1)
    bad = ~np.isfinite(v) | (v != np.floor(v)) | (v < 0) | (v >= k)
    if bad.any():
        raise TallyInputError(f"{what}: class ids must be integers in [0, {k}), got {float(v[bad][0])!r}")
    return v.astype(np.int64)


def _argmax_rows(a: np.ndarray, what: str) -> np.ndarray:
    v = _f64(a)
    if np.isnan(v).any():
        raise TallyInputError(f"{what}: NaN in a score row")
    return np.argmax(v, axis=1)  # the first maximum: lowest index wins ties


# --- agreement: MatthewsCorrelationCoefficient, CohenKappa -----------------

def _check_num_classes(cfg: dict) -> None:
    k = cfg["num_classes"]
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise TallyInputError(f"num_classes must be an integer >= 2, got {k!r}")


def _check_kappa_config(cfg: dict) -> None:
    _check_num_classes(cfg)
    if cfg["weightage"] not in (None, "linear", "quadratic"):
        raise TallyInputError(f"weightage must be null, \"linear\" or \"quadratic\", got {cfg['weightage']!r}")


def _agreement_prepare(cfg: dict, u: Update, kappa: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true ids, predicted ids, weights) of one update, by the rules above."""
    k = cfg["num_classes"]
    y_true, y_pred = (np.asarray(a) for a in u.args)
    _rank12(y_true, "y_true")
    _rank12(y_pred, "y_pred")
    if y_true.ndim == 2 and y_true.shape[1] == k:
        if kappa and cfg["sparse_labels"]:
            raise TallyInputError("sparse_labels=True: y_true must be class ids [N] or [N, 1], got [N, num_classes]")
        t = _argmax_rows(y_true, "y_true")
    elif _is_column(y_true):
        t = _class_ids(_f64(y_true), k, "y_true")
    else:
        raise TallyInputError(f"y_true must be [N], [N, 1] or [N, {k}], got shape {list(y_true.shape)}")
    if y_pred.ndim == 2 and y_pred.shape[1] == k:
        p = _argmax_rows(y_pred, "y_pred")
    elif _is_column(y_pred):
        v = _f64(y_pred).reshape(-1)
        if k == 2:
            if np.isnan(v).any():
                raise Unspecified("NaN in a thresholded y_pred")
            p = (v > 0.5).astype(np.int64)
        else:
            if kappa and cfg["regression"]:
                v = np.round(np.abs(v))  # numpy rounds half to even, as tf.math.round
            p = _class_ids(v, k, "y_pred")
    else:
        raise TallyInputError(f"y_pred must be [N], [N, 1] or [N, {k}], got shape {list(y_pred.shape)}")
    n = _same_n(("y_true", y_true), ("y_pred", y_pred),
                ("sample_weight", None if u.sample_weight is None or np.ndim(u.sample_weight) == 0
                 else np.asarray(u.sample_weight)))
    return t, p, _sample_weight(u.sample_weight, n)


def _concat3(prepared: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not prepared:
        raise Unspecified("no accepted update")
    return tuple(np.concatenate([p[i] for p in prepared]) for i in range(3))  # type: ignore[return-value]


def _sklearn_call(fn, *args, **kwargs) -> tuple[float, str | None]:
    """fn(*args, **kwargs) as a float, with the text of sklearn's warnings that
    the value is undefined (UndefinedMetricWarning; other warnings, such as
    probabilities not summing to 1, are dropped)."""
    from sklearn.exceptions import UndefinedMetricWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(fn(*args, **kwargs))
    texts = [str(c.message) for c in caught if issubclass(c.category, UndefinedMetricWarning)]
    return value, " ".join(texts) or None


def _mcc_reference(cfg: dict, prepared: list) -> RefValue:
    import sklearn.metrics

    t, p, w = _concat3(prepared)
    value, warned = _sklearn_call(sklearn.metrics.matthews_corrcoef, t, p, sample_weight=w)
    return RefValue(value, sklearn_warning=warned)


_KAPPA_UNDEFINED = ("sklearn's kappa is 0/0 here (the chance agreement is perfect: one class for both "
                    "raters); it warns and returns NaN. Tally returns 0 for an undefined kappa. "
                    "(TensorFlow Addons' CohenKappa returns 0 only when it has seen no weight; for one class "
                    "it computes 1 - 0/0 = NaN.)")


def _kappa_reference(cfg: dict, prepared: list) -> RefValue:
    import sklearn.metrics

    t, p, w = _concat3(prepared)
    value, warned = _sklearn_call(sklearn.metrics.cohen_kappa_score, t, p, weights=cfg["weightage"],
                                  labels=list(range(cfg["num_classes"])), sample_weight=w)
    if math.isnan(value):
        return RefValue(value, sklearn_warning=warned, deviation=_KAPPA_UNDEFINED, tally_expected=0.0)
    return RefValue(value, sklearn_warning=warned)


def _mcc(k) -> dict:
    return {"name": "MatthewsCorrelationCoefficient", "dtype": "float32", "num_classes": k}


def _kappa(k, weightage=None, sparse_labels=False, regression=False) -> dict:
    return {"name": "cohen_kappa", "dtype": "float32", "num_classes": k, "weightage": weightage,
            "sparse_labels": sparse_labels, "regression": regression}


def _mcc_cases(rng: np.random.Generator) -> list[RefCase]:
    p = "matthews_correlation_coefficient"
    M = "MatthewsCorrelationCoefficient"

    def case(name, cfg, updates, **kw):
        return RefCase(f"{p}/{name}", M, cfg, updates, **kw)

    noisy = lambda t, k, keep: np.where(rng.uniform(size=len(t)) < keep, t, rng.integers(0, k, size=len(t)))  # noqa: E731
    t4 = rng.integers(0, 4, size=400)
    s4 = f32(_softmax(rng.normal(0, 1.0, size=(400, 4)) + 1.5 * np.eye(4)[t4]))
    w4 = f32(rng.uniform(0, 2, size=400))
    tb = rng.integers(0, 2, size=300)
    pb = f32(1 / (1 + np.exp(-(rng.normal(0, 1.5, size=300) + 1.2 * (2 * tb - 1)))))
    t3 = rng.integers(0, 3, size=30)
    return [
        # TensorFlow Addons' docstring example in its one-hot form: -1/3.
        case("tfa_docstring_one_hot", _mcc(2),
             [L(f32([[0, 1], [0, 1], [0, 1], [1, 0]]), f32([[0, 1], [1, 0], [0, 1], [0, 1]]))]),
        # K = 2 with [N] probabilities: 1 iff y_pred > 0.5 (0.5 itself is class 0).
        case("binary_probabilities_threshold", _mcc(2),
             [L(f32([1, 0, 1, 1, 0, 0, 1, 0]), f32([0.9, 0.5, 0.5, 0.51, 0.2, 0.7, 0.6, 0.49]))]),
        case("binary_n1_shapes", _mcc(2),
             [L(f32([[1], [0], [1], [1], [0]]), f32([[0.8], [0.4], [0.3], [0.9], [0.6]]))]),
        # K = 2 with [N, 2] scores: argmax, a tie goes to class 0.
        case("binary_two_score_columns_ties", _mcc(2),
             [L(i32([1, 0, 1, 0, 1]), f32([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]]))]),
        case("binary_int32_predictions", _mcc(2), [L(i32([0, 1, 1, 0, 1, 0]), i32([0, 1, 0, 0, 1, 1]))]),
        case("multiclass_ids_int32", _mcc(3),
             [L(i32([0, 1, 2, 2, 1, 0, 2, 1]), i32([0, 2, 2, 1, 1, 0, 2, 0]))]),
        case("multiclass_one_hot_true_scores_pred_ties", _mcc(3),
             [L(_onehot([0, 1, 2, 1, 0], 3),
                f32([[0.4, 0.4, 0.2], [0.1, 0.3, 0.3], [0.2, 0.2, 0.6], [0.3, 0.5, 0.2], [1, 1, 1]]))]),
        # Classes 3 and 4 of 5 never occur: the value is that of the 3 present.
        case("multiclass_absent_classes_k5", _mcc(5),
             [L(f32([[0], [1], [2], [2], [1], [0], [1]]), f32([0, 1, 2, 1, 1, 2, 1]))]),
        case("float64_inputs", _mcc(3), [L(f64([2, 0, 1, 1, 0]), f64([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1],
                                                                      [0.2, 0.5, 0.3], [0.5, 0.4, 0.1],
                                                                      [0.3, 0.3, 0.4]]))]),
        case("weighted_integer_int32", _mcc(3), [L(i32(t3[:10]), i32(noisy(t3[:10], 3, 0.6)),
                                                   i32([1, 2, 0, 3, 1, 1, 4, 2, 0, 1]))]),
        case("weighted_fractional_w_n1", _mcc(2),
             [L(f32([1, 0, 1, 1, 0, 0]), f32([0.7, 0.2, 0.4, 0.9, 0.6, 0.1]),
                f32([[0.5], [1.25], [2.0], [0.1], [0.75], [3.0]]))]),
        case("weighted_some_zero", _mcc(3),
             [L(i32([0, 1, 2, 0, 1, 2]), i32([0, 2, 2, 1, 1, 0]), f32([1, 0, 2, 0, 1, 0.5]))]),
        # Several updates = one update of their concatenation (unweighted updates weigh 1).
        case("multi_batch_mixed_forms", _mcc(3),
             [L(_onehot([0, 1, 2], 3), f32([[0.7, 0.2, 0.1], [0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])),
              L(i32([2, 2, 0, 1]), i32([2, 1, 0, 1]), f32([2, 1, 0.5, 1])),
              L(f32([[1], [0]]), f32([[1], [1]]))]),
        case("perfect_k3", _mcc(3), [L(i32([0, 1, 2, 2, 0]), i32([0, 1, 2, 2, 0]))]),
        case("inverse_binary", _mcc(2), [L(f32([0, 1, 1, 0]), f32([0.9, 0.1, 0.2, 0.8]))]),
        # Undefined (a constant prediction or label): sklearn returns 0.
        case("constant_prediction", _mcc(3), [L(i32([0, 1, 2, 1]), i32([1, 1, 1, 1]))]),
        case("constant_labels_and_predictions", _mcc(2), [L(f32([1, 1, 1]), f32([0.9, 0.8, 0.7]))]),
        case("random_k4_n400_scores_weighted_4_batches", _mcc(4),
             [L(_onehot(t4[i:j], 4) if i == 0 else i32(t4[i:j]), s4[i:j], w4[i:j])
              for i, j in ((0, 120), (120, 250), (250, 251), (251, 400))]),
        case("random_binary_n300_3_batches", _mcc(2),
             [L(f32(tb[i:j]), pb[i:j]) for i, j in ((0, 100), (100, 170), (170, 300))]),
        # An update Tally refuses (label 3 with K = 3) keeps the state; the others count.
        case("refused_update_then_valid", _mcc(3),
             [L(i32([0, 1, 2, 1]), i32([0, 2, 2, 1])), L(i32([0, 3]), i32([0, 1])), L(i32([2, 0]), i32([2, 1]))],
             tally_rejects=[1]),
        # --- errors -------------------------------------------------------------------
        case("error_num_classes_1", _mcc(1), []),
        case("error_num_classes_0", _mcc(0), []),
        case("error_num_classes_2_5", _mcc(2.5), []),
        case("error_true_id_fractional", _mcc(3), [L(f32([0, 1.5, 2]), f32([0, 1, 2]))]),
        case("error_true_id_negative", _mcc(3), [L(i32([0, -1, 2]), i32([0, 1, 2]))]),
        case("error_true_id_equal_num_classes", _mcc(2), [L(f32([0, 2, 1]), f32([0.1, 0.9, 0.8]))]),
        case("error_true_nan", _mcc(2), [L(f32([0, NAN, 1]), f32([0.1, 0.9, 0.8]))]),
        case("error_pred_nan_in_score_row", _mcc(3),
             [L(i32([0, 1]), f32([[0.2, 0.3, 0.5], [0.1, NAN, 0.2]]))]),
        # K > 2: [N] predictions are class ids, probabilities are refused.
        case("error_pred_probabilities_k3", _mcc(3), [L(i32([0, 1, 2]), f32([0.2, 0.7, 0.9]))]),
        case("error_pred_id_out_of_range_k3", _mcc(3), [L(i32([0, 1, 2]), i32([0, 1, 3]))]),
        case("error_true_columns_not_num_classes", _mcc(2), [L(f32([[0, 1, 0]]), f32([[0.2, 0.8]]))]),
        case("error_rank3_y_pred", _mcc(2), [L(f32([[0], [1]]), f32([[[0.2, 0.8]], [[0.6, 0.4]]]))]),
        case("error_length_mismatch", _mcc(2), [L(f32([0, 1, 1]), f32([0.2, 0.9]))]),
        case("error_second_update_weight_negative", _mcc(2),
             [L(f32([0, 1]), f32([0.2, 0.9])), L(f32([0, 1]), f32([0.2, 0.9]), f32([1, -1]))]),
        case("error_weight_per_class", _mcc(2),
             [L(f32([0, 1]), f32([[0.8, 0.2], [0.1, 0.9]]), f32([[1, 1], [2, 2]]))]),
    ]


def _kappa_cases(rng: np.random.Generator) -> list[RefCase]:
    p = "cohen_kappa"
    M = "CohenKappa"

    def case(name, cfg, updates, **kw):
        return RefCase(f"{p}/{name}", M, cfg, updates, **kw)

    yt_doc = i32([4, 4, 3, 4, 2, 4, 1, 1])
    yp_doc = i32([4, 4, 3, 4, 4, 2, 1, 1])
    w_doc = i32([1, 1, 2, 5, 10, 2, 3, 3])
    # Ordinal data: the prediction is the label plus a small integer error.
    t5 = rng.integers(0, 5, size=400)
    p5 = np.clip(t5 + rng.choice([-2, -1, 0, 0, 0, 1, 2], size=400), 0, 4)
    t3 = rng.integers(0, 3, size=300)
    s3 = f32(_softmax(rng.normal(0, 1.0, size=(300, 3)) + 1.0 * np.eye(3)[t3]))
    w3 = f32(rng.uniform(0, 1, size=300))
    tb = rng.integers(0, 2, size=250)
    pb = f32(np.clip(0.5 + 0.35 * (2 * tb - 1) + rng.normal(0, 0.3, size=250), 0, 1))
    reg_t = i32(rng.integers(0, 5, size=60))
    reg_p = f32(np.clip(reg_t + rng.normal(0, 0.8, size=60), -0.4, 4.4))
    return [
        # TensorFlow Addons' docstring example: 0.61904764 and, weighted, 0.37209308.
        case("tfa_docstring_sparse", _kappa(5, sparse_labels=True), [L(yt_doc, yp_doc)]),
        case("tfa_docstring_sparse_weighted", _kappa(5, sparse_labels=True), [L(yt_doc, yp_doc, w_doc)]),
        case("tfa_docstring_linear", _kappa(5, "linear", sparse_labels=True), [L(yt_doc, yp_doc)]),
        case("tfa_docstring_quadratic_weighted", _kappa(5, "quadratic", sparse_labels=True),
             [L(yt_doc, yp_doc, w_doc)]),
        # sparse_labels=False still takes [N] ids (the one-hot form is [N, K]).
        case("ids_with_sparse_labels_false", _kappa(5), [L(yt_doc, yp_doc)]),
        case("one_hot_true_scores_pred_k3", _kappa(3),
             [L(_onehot([0, 1, 2, 2, 1, 0], 3),
                f32([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.1, 0.1, 0.8], [0.4, 0.4, 0.2], [0.3, 0.4, 0.3],
                     [0.6, 0.2, 0.2]]))]),
        case("one_hot_true_scores_pred_k3_quadratic", _kappa(3, "quadratic"),
             [L(_onehot([0, 1, 2, 2, 1, 0], 3),
                f32([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.1, 0.1, 0.8], [0.4, 0.4, 0.2], [0.3, 0.4, 0.3],
                     [0.6, 0.2, 0.2]]))]),
        # K = 2, [N] probabilities: 1 iff y_pred > 0.5 (0.5 is class 0).
        case("binary_probabilities_threshold", _kappa(2),
             [L(f32([1, 0, 1, 1, 0, 0, 1, 0]), f32([0.9, 0.5, 0.5, 0.51, 0.2, 0.7, 0.6, 0.49]))]),
        case("binary_one_hot_both", _kappa(2),
             [L(f32([[0, 1], [1, 0], [0, 1], [1, 0], [1, 0]]), f32([[0.3, 0.7], [0.5, 0.5], [0.6, 0.4],
                                                                   [0.9, 0.1], [0.2, 0.8]]))]),
        # regression=True: round-half-to-even(|y_pred|): 0.5 -> 0, 1.5 -> 2, 2.5 -> 2,
        # 3.5 -> 4, -1.2 -> 1, -0.4 -> 0.
        case("regression_round_half_to_even", _kappa(5, regression=True),
             [L(i32([0, 2, 2, 4, 1, 0, 3, 3]), f32([0.5, 1.5, 2.5, 3.5, -1.2, -0.4, 3.49, 2.51]))]),
        case("regression_pred_n1_quadratic_random", _kappa(5, "quadratic", regression=True),
             [L(reg_t[:, None], reg_p[:, None])]),
        case("regression_linear_float64", _kappa(4, "linear", regression=True),
             [L(f64([0, 1, 2, 3, 3, 1]), f64([0.2, 1.4999999999, 2.5000000001, 2.7, 3.2, 0.5]))]),
        # [N, K] scores are argmaxed whatever `regression` says.
        case("regression_true_scores_argmax", _kappa(3, regression=True),
             [L(i32([0, 1, 2]), f32([[0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]]))]),
        # K = 2 thresholds at 0.5 whatever `regression` says (TFA's binary branch).
        case("regression_true_k2_thresholds", _kappa(2, regression=True),
             [L(f32([0, 1, 1, 0]), f32([0.5, 0.7, 0.4, 0.2]))]),
        case("weighted_fractional_linear", _kappa(3, "linear"),
             [L(i32([0, 1, 2, 2, 1, 0, 2]), i32([0, 2, 2, 1, 1, 1, 0]), f32([0.5, 1.5, 0.25, 2, 1, 0.75, 0.1]))]),
        case("weighted_some_zero_w_n1", _kappa(3),
             [L(i32([0, 1, 2, 2, 1]), i32([0, 2, 2, 1, 1]), f32([[1], [0], [2], [0], [1]]))]),
        case("multi_batch_3_updates_quadratic", _kappa(4, "quadratic"),
             [L(i32([0, 1, 3]), i32([0, 2, 3])), L(_onehot([2, 2, 0], 4), f32(np.eye(4)[[2, 3, 1]]), f32([1, 2, 1])),
              L(f32([[3], [1]]), f32([[3], [1]]))]),
        case("random_k5_n400_ordinal_4_batches_quadratic", _kappa(5, "quadratic", sparse_labels=True),
             [L(i32(t5[i:j]), i32(p5[i:j])) for i, j in ((0, 150), (150, 151), (151, 300), (300, 400))]),
        case("random_k5_n400_ordinal_unweighted_kappa", _kappa(5, sparse_labels=True),
             [L(i32(t5), i32(p5))]),
        case("random_k3_n300_scores_weighted_linear", _kappa(3, "linear"),
             [L(_onehot(t3[i:j], 3), s3[i:j], w3[i:j]) for i, j in ((0, 100), (100, 300))]),
        case("random_binary_n250", _kappa(2), [L(i32(tb), pb)]),
        case("perfect_k4", _kappa(4), [L(i32([0, 1, 2, 3, 3]), i32([0, 1, 2, 3, 3]))]),
        case("inverse_binary", _kappa(2), [L(f32([0, 1, 1, 0]), f32([0.9, 0.1, 0.2, 0.8]))]),
        # A constant prediction with varied labels: agreement = chance -> 0.
        case("constant_prediction", _kappa(3), [L(i32([0, 1, 2, 1]), i32([1, 1, 1, 1]))]),
        # Undefined: sklearn NaN, Tally 0 (a deviation).
        case("one_class_both_raters", _kappa(3), [L(i32([1, 1, 1]), i32([1, 1, 1]))]),
        case("refused_update_then_valid", _kappa(3, "linear"),
             [L(i32([0, 1, 2, 1]), i32([0, 2, 2, 1])), L(i32([0, 1]), f32([0.5, 1])), L(i32([2, 0]), i32([2, 1]))],
             tally_rejects=[1]),
        # --- errors -------------------------------------------------------------------
        case("error_num_classes_1", _kappa(1), []),
        case("error_num_classes_2_5", _kappa(2.5), []),
        case("error_weightage_cubic", _kappa(3, "cubic"), []),
        case("error_weightage_capitalised", _kappa(3, "Linear"), []),
        case("error_sparse_labels_one_hot_true", _kappa(3, sparse_labels=True),
             [L(_onehot([0, 1, 2], 3), i32([0, 1, 2]))]),
        # regression=False: [N] predictions must already be class ids.
        case("error_pred_not_integral_without_regression", _kappa(5), [L(i32([0, 1, 2]), f32([0, 1, 2.5]))]),
        # regression=True: 4.6 rounds to 5, outside [0, 5).
        case("error_regression_rounds_out_of_range", _kappa(5, regression=True),
             [L(i32([0, 4]), f32([0.2, 4.6]))]),
        case("error_true_id_equal_num_classes", _kappa(3), [L(i32([0, 3]), i32([0, 1]))]),
        case("error_true_nan", _kappa(3), [L(f32([0, NAN]), i32([0, 1]))]),
        case("error_weight_nan", _kappa(3), [L(i32([0, 1]), i32([0, 1]), f32([1, NAN]))]),
        case("error_weight_inf", _kappa(3), [L(i32([0, 1]), i32([0, 1]), f32([INF, 1]))]),
        case("error_weight_negative", _kappa(3), [L(i32([0, 1]), i32([0, 1]), f32([1, -0.5]))]),
        case("error_weight_length_mismatch", _kappa(3), [L(i32([0, 1]), i32([0, 1]), f32([1, 1, 1]))]),
        case("error_pred_columns_not_num_classes", _kappa(3), [L(i32([0, 1]), f32([[0.5, 0.5], [0.1, 0.9]]))]),
    ]


def agreement_cases() -> list[RefCase]:
    rng = np.random.default_rng(AGREEMENT_SEED)
    return _mcc_cases(rng) + _kappa_cases(rng)


# --- calibration: BrierScore, ExpectedCalibrationError ----------------------
#
# BrierScore: binary -- y_true [N] / [N, 1] in {0, 1}, y_pred [N] / [N, 1]
# probabilities -- is the weighted mean of (p - y)^2; multi-class -- y_pred
# [N, C] (C > 1) with y_true one-hot [N, C] or class ids [N] / [N, 1] -- the
# weighted mean of sum_c (p_c - y_c)^2 (not halved, also for C = 2).
# y_pred must lie in [0, 1] (NaN refused); rows need not sum to 1.
# sample_weight: None, [N] or [N, 1] (BrierScore leaves negative weights
# open: they are not in the cases; ExpectedCalibrationError refuses them).
#
# ExpectedCalibrationError = TorchMetrics BinaryCalibrationError(n_bins,
# norm="l1"): y_pred (confidences in [0, 1]) and y_true (in {0, 1}) paired
# element-wise; bin i = floor(conf * n), i.e. i/n <= conf < (i+1)/n exactly,
# and conf == 1 in an extra bin n (torch.bucketize(right=True) - 1 over
# linspace(0, 1, n + 1)); ECE = sum over bins of (bin weight / total weight)
# * |weighted mean y - weighted mean conf|, 0 without data.  Sample weights
# (per element; TorchMetrics has none) are Tally's extension.  Reference:
# TorchMetrics on float64 tensors for unweighted cases, checked against an
# exact rational evaluation of the definition (_ece_exact); the weighted
# cases use _ece_exact alone.  Tally bins exactly; TorchMetrics on float32
# tensors compares with float32 linspace boundaries, which differ from i/n
# (the cases where that changes the value say so in a note).

def _brier_prepare(cfg: dict, u: Update):
    """("binary" | C, one-hot targets (N, 2|C), probabilities (N, 2|C), weights)."""
    y_true, y_pred = (np.asarray(a) for a in u.args)
    _rank12(y_true, "y_true")
    _rank12(y_pred, "y_pred")
    n = _same_n(("y_true", y_true), ("y_pred", y_pred),
                ("sample_weight", None if u.sample_weight is None or np.ndim(u.sample_weight) == 0
                 else np.asarray(u.sample_weight)))
    q = _f64(y_pred)
    if np.isnan(q).any() or (q < 0).any() or (q > 1).any():
        bad = q[np.isnan(q) | (q < 0) | (q > 1)][0]
        raise TallyInputError(f"y_pred must be probabilities in [0, 1], got {float(bad)!r}")
    if _is_column(y_pred):
        if not _is_column(y_true):
            raise TallyInputError(f"binary y_pred {list(y_pred.shape)} needs y_true [N] or [N, 1], "
                                  f"got {list(y_true.shape)}")
        t = _f64(y_true).reshape(-1)
        if not np.isin(t, (0.0, 1.0)).all():
            raise TallyInputError(f"binary y_true must be 0 or 1, got {float(t[~np.isin(t, (0.0, 1.0))][0])!r}")
        kind, ids, q = "binary", t.astype(np.int64), q.reshape(-1)
    else:
        c = y_pred.shape[1]
        if y_true.ndim == 2 and y_true.shape[1] == c:
            t = _f64(y_true)
            if not np.isin(t, (0.0, 1.0)).all():
                raise TallyInputError(f"one-hot y_true must be 0 or 1, got {float(t[~np.isin(t, (0.0, 1.0))][0])!r}")
            if not (t.sum(axis=1) == 1).all():
                raise Unspecified("a y_true row that is not one-hot")
            ids = np.argmax(t, axis=1)
        elif _is_column(y_true):
            ids = _class_ids(_f64(y_true), c, "y_true")
        else:
            raise TallyInputError(f"y_true {list(y_true.shape)} does not match y_pred {list(y_pred.shape)}")
        kind = c
    return kind, ids, q, _sample_weight(u.sample_weight, n, refuse_negative=False)


def _brier_reference(cfg: dict, prepared: list) -> RefValue:
    import sklearn.metrics

    if not prepared:
        raise Unspecified("BrierScore without data")
    kinds = {p[0] for p in prepared}
    if len(kinds) != 1:
        raise Unspecified(f"updates of different kinds {kinds}")
    kind = kinds.pop()
    ids = np.concatenate([p[1] for p in prepared])
    q = np.concatenate([p[2] for p in prepared])
    w = np.concatenate([p[3] for p in prepared])
    if w.sum() == 0:
        raise Unspecified("BrierScore with zero total weight")
    if kind == "binary":
        value, warned = _sklearn_call(sklearn.metrics.brier_score_loss, ids, q, sample_weight=w, pos_label=1,
                                      scale_by_half=True)
    else:
        value, warned = _sklearn_call(sklearn.metrics.brier_score_loss, ids, q, sample_weight=w,
                                      labels=list(range(kind)), scale_by_half=False)
    # The definition, exactly (rational arithmetic): sklearn must agree.
    onehot = np.eye(2 if kind == "binary" else kind)[ids]
    probs = np.stack([1 - q, q], axis=1) if kind == "binary" else q
    scale = Fraction(1, 2) if kind == "binary" else Fraction(1)
    exact = scale * sum((Fraction(float(wi)) * sum((Fraction(float(a)) - Fraction(float(b))) ** 2
                                                   for a, b in zip(pr, oh)))
                        for wi, pr, oh in zip(w, probs, onehot)) / sum(Fraction(float(x)) for x in w)
    if not math.isclose(value, float(exact), rel_tol=1e-12, abs_tol=1e-15):
        raise SystemExit(f"BrierScore: sklearn {value!r} vs exact {float(exact)!r}")
    return RefValue(value, sklearn_warning=warned)


def _ece_prepare(cfg: dict, u: Update):
    """(flat confidences, flat 0/1 targets, flat weights) of one update."""
    y_true, y_pred = (np.asarray(a) for a in u.args)
    if y_pred.ndim == 0 or y_true.ndim == 0:
        raise Unspecified("rank-0 inputs")
    if y_pred.dtype.kind != "f":
        raise Unspecified("non-float y_pred")
    if y_pred.shape != y_true.shape and not (_is_column(y_pred) and _is_column(y_true)):
        raise TallyInputError(f"y_true {list(y_true.shape)} and y_pred {list(y_pred.shape)} differ in shape")
    if y_pred.shape[0] != y_true.shape[0]:
        raise TallyInputError(f"y_true has {y_true.shape[0]} rows, y_pred {y_pred.shape[0]}")
    if y_pred.size == 0:
        raise Unspecified("an empty batch")
    conf, t = _f64(y_pred).reshape(-1), _f64(y_true).reshape(-1)
    bad = np.isnan(conf) | (conf < 0) | (conf > 1)
    if bad.any():
        raise TallyInputError(f"y_pred must be confidences in [0, 1], got {float(conf[bad][0])!r}")
    if not np.isin(t, (0.0, 1.0)).all():
        raise TallyInputError(f"y_true must be 0 or 1, got {float(t[~np.isin(t, (0.0, 1.0))][0])!r}")
    if u.sample_weight is None:
        return conf, t, np.ones(conf.size)
    if not _is_column(y_pred):
        raise Unspecified("sample weights with [N, C] inputs")
    return conf, t, _sample_weight(u.sample_weight, y_pred.shape[0])


def _ece_exact(conf: np.ndarray, t: np.ndarray, w: np.ndarray, n_bins: int) -> float:
    """The definition in exact rational arithmetic, rounded once to float64:
    sum over bins |sum w (y - conf)| / sum w (= sum mass * |acc - conf|)."""
    gap: dict[int, Fraction] = {}
    total = Fraction(0)
    for c, y, wi in zip(conf.tolist(), t.tolist(), w.tolist()):
        fc, fw = Fraction(c), Fraction(wi)
        i = math.floor(fc * n_bins)  # conf == 1 -> n_bins, the extra bin
        gap[i] = gap.get(i, Fraction(0)) + fw * (Fraction(y) - fc)
        total += fw
    if total == 0:
        if conf.size:
            raise Unspecified("ExpectedCalibrationError with zero total weight")
        return 0.0
    return float(sum(abs(g) for g in gap.values()) / total)


def _ece_torchmetrics(cfg: dict, prepared: list, dtype) -> float:
    """TorchMetrics BinaryCalibrationError(n_bins, norm="l1") over the updates."""
    import torch
    from torchmetrics.classification import BinaryCalibrationError

    m = BinaryCalibrationError(n_bins=cfg["num_bins"], norm="l1")
    for conf, t, _ in prepared:
        m.update(torch.tensor(conf, dtype=dtype), torch.tensor(t.astype(np.int64)))
    return float(m.compute())


def _ece_reference(cfg: dict, prepared: list) -> RefValue:
    import torch

    n = cfg["num_bins"]
    if not prepared:
        return RefValue(0.0, source="definition: no data -> 0 (TorchMetrics cannot compute without data)")
    conf = np.concatenate([p[0] for p in prepared])
    t = np.concatenate([p[1] for p in prepared])
    w = np.concatenate([p[2] for p in prepared])
    exact = _ece_exact(conf, t, w, n)
    if not (w == 1).all():
        return RefValue(exact, source="exact rational evaluation of TorchMetrics' definition with per-element "
                                      "sample weights (TorchMetrics has no weights)")
    tm64 = _ece_torchmetrics(cfg, prepared, torch.float64)
    notes = []
    if math.isclose(tm64, exact, rel_tol=1e-12, abs_tol=1e-15):
        value, source = tm64, f"torchmetrics BinaryCalibrationError(n_bins={n}, norm='l1') on float64 tensors"
    else:
        value, source = exact, "exact rational evaluation of TorchMetrics' definition"
        notes.append(f"TorchMetrics on float64 tensors gives {tm64!r} (its float64 linspace boundaries are "
                     f"not exactly i/{n}); Tally bins exactly.")
    tm32 = _ece_torchmetrics(cfg, prepared, torch.float32)
    if not math.isclose(tm32, value, rel_tol=1e-6, abs_tol=1e-9):
        notes.append(f"TorchMetrics on float32 tensors gives {tm32:.8g}: its float32 linspace boundaries "
                     f"differ from i/{n}, so values on or next to a boundary fall into another bin; Tally "
                     f"bins exactly (i/n <= conf < (i+1)/n).")
    return RefValue(value, source=source, note=" ".join(notes) or None)


def _brier() -> dict:
    return {"name": "brier_score", "dtype": "float32"}


def _ece(num_bins=15) -> dict:
    return {"name": "expected_calibration_error", "dtype": "float32", "num_bins": num_bins}


def _brier_cases(rng: np.random.Generator) -> list[RefCase]:
    p = "brier_score"
    M = "BrierScore"

    def case(name, updates, **kw):
        return RefCase(f"{p}/{name}", M, _brier(), updates, **kw)

    tb = rng.integers(0, 2, size=300)
    pb = f32(1 / (1 + np.exp(-(rng.normal(0, 1.2, size=300) + 1.0 * (2 * tb - 1)))))
    wb = f32(rng.uniform(0, 2, size=300))
    t5 = rng.integers(0, 5, size=300)
    p5 = f32(_softmax(rng.normal(0, 1.0, size=(300, 5)) + 1.2 * np.eye(5)[t5]))
    w5 = f32(rng.uniform(0, 1, size=300))
    return [
        # sklearn's docstring example: 0.0375 (here from the float32 values).
        case("sklearn_docstring_binary", [L(f32([0, 1, 1, 0]), f32([0.1, 0.9, 0.8, 0.3]))]),
        case("binary_n1_shapes", [L(f32([[0], [1], [1]]), f32([[0.2], [0.6], [1.0]]))]),
        case("binary_true_n_pred_n1", [L(f32([0, 1, 1]), f32([[0.2], [0.6], [0.4]]))]),
        case("binary_probabilities_0_and_1", [L(f32([0, 1, 1, 0]), f32([0.0, 1.0, 0.0, 1.0]))]),
        case("binary_int32_labels_float64_probabilities", [L(i32([1, 0, 1, 0, 1]), f64([0.9, 0.1, 0.55, 0.45, 0.3]))]),
        case("binary_weighted_integer", [L(f32([1, 0, 1, 0]), f32([0.8, 0.3, 0.4, 0.1]), i32([1, 3, 2, 0]))]),
        case("binary_weighted_fractional_w_n1", [L(f32([1, 0, 1, 0, 1]), f32([0.7, 0.25, 0.5, 0.6, 0.95]),
                                                   f32([[0.5], [1.5], [0.0], [2.25], [0.1]]))]),
        case("binary_multi_batch_mixed_weighting",
             [L(f32([1, 0]), f32([0.6, 0.3])), L(f32([1, 1, 0]), f32([0.9, 0.2, 0.5]), f32([2, 0.5, 1])),
              L(i32([0]), f32([0.05]))]),
        case("binary_random_n300_weighted_4_batches",
             [L(f32(tb[i:j]), pb[i:j], wb[i:j]) for i, j in ((0, 80), (80, 81), (81, 200), (200, 300))]),
        case("perfect_binary", [L(f32([0, 1, 1]), f32([0.0, 1.0, 1.0]))]),
        case("worst_binary", [L(f32([0, 1]), f32([1.0, 0.0]))]),
        # Multi-class: sum over the C columns, not halved.
        case("multiclass_ids_k3", [L(i32([0, 1, 2, 1]), f32([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6],
                                                             [0.5, 0.25, 0.25]]))]),
        case("multiclass_ids_n1_float64", [L(f64([[2], [0]]), f64([[0.1, 0.3, 0.6], [0.9, 0.05, 0.05]]))]),
        case("multiclass_one_hot_k4", [L(_onehot([3, 0, 1], 4), f32([[0.1, 0.1, 0.1, 0.7], [0.25, 0.25, 0.25, 0.25],
                                                                     [0.0, 1.0, 0.0, 0.0]]))]),
        case("multiclass_two_columns_not_halved", [L(i32([0, 1, 1]), f32([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]))],
             note="[N, 2] y_pred is the multi-class form: the sum over both columns, twice the binary Brier "
                  "score of column 1 (sklearn's scale_by_half=\"auto\" would halve it; the reference passes "
                  "scale_by_half=False)."),
        case("multiclass_rows_not_summing_to_1", [L(i32([0, 2]), f32([[0.5, 0.5, 0.5], [0.0, 0.1, 0.2]]))],
             note="Rows need not sum to 1 (only [0, 1] is required); sklearn warns (\"do not sum to one\") "
                  "and computes the same sum."),
        case("multiclass_weighted_fractional", [L(_onehot([1, 2, 0], 3), f32([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8],
                                                                              [0.4, 0.4, 0.2]]),
                                                  f32([0.5, 2.0, 0.0]))]),
        case("multiclass_random_k5_n300_weighted_3_batches",
             [L(_onehot(t5[i:j], 5) if i else i32(t5[i:j]), p5[i:j], w5[i:j])
              for i, j in ((0, 100), (100, 180), (180, 300))]),
        case("refused_update_then_valid",
             [L(f32([1, 0]), f32([0.6, 0.3])), L(f32([1, 2]), f32([0.6, 0.3])), L(f32([0]), f32([0.2]))],
             tally_rejects=[1]),
        # --- errors -------------------------------------------------------------------
        case("error_binary_true_2", [L(f32([0, 2]), f32([0.1, 0.9]))]),
        case("error_binary_true_0_5", [L(f32([0, 0.5]), f32([0.1, 0.9]))]),
        case("error_pred_above_1", [L(f32([0, 1]), f32([0.1, 1.01]))]),
        case("error_pred_negative", [L(f32([0, 1]), f32([-0.1, 0.9]))]),
        case("error_pred_nan", [L(f32([0, 1]), f32([NAN, 0.9]))]),
        case("error_length_mismatch", [L(f32([0, 1, 1]), f32([0.1, 0.9]))]),
        case("error_one_hot_columns_mismatch", [L(_onehot([0, 1], 3), f32([[0.5, 0.5], [0.2, 0.8]]))]),
        case("error_class_id_out_of_range", [L(i32([0, 3]), f32([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]]))]),
        case("error_one_hot_true_value_2", [L(f32([[0, 2, 0]]), f32([[0.2, 0.5, 0.3]]))]),
    ]


def _ece_cases(rng: np.random.Generator) -> list[RefCase]:
    p = "expected_calibration_error"
    M = "ExpectedCalibrationError"

    def case(name, cfg, updates, **kw):
        return RefCase(f"{p}/{name}", M, cfg, updates, **kw)

    def draws(n, power=1.4):
        conf = rng.uniform(0, 1, size=n)
        y = (rng.uniform(size=n) < conf ** power).astype(np.float32)  # over-confident
        return y, f32(conf)

    y300, c300 = draws(300)
    w300 = f32(rng.uniform(0, 2, size=300))
    y200, c200 = draws(200, 0.7)
    y60, c60 = draws(60)
    yr, cr = draws(24)
    below = np.nextafter(np.float32(0.5), np.float32(0))
    above = np.nextafter(np.float32(0.5), np.float32(1))
    tenths = f32([i / 10 for i in range(11)])
    fifteenths = f32([i / 15 for i in range(16)])
    # The largest float64 below i/15, for the i where its product with 15
    # rounds up to i in float64 arithmetic: only an exact comparison keeps it
    # in bin i - 1.  (Among them the plain float64 literals 1/15, 2/15, 1/3.)
    f64_below = []
    for i in range(1, 15):
        x = i / 15 if Fraction(i / 15) < Fraction(i, 15) else float(np.nextafter(i / 15, 0.0))
        if math.floor(x * 15) == i:
            f64_below.append(x)
    return [
        # TorchMetrics' docstring example (n_bins=2): 0.2900.
        case("torchmetrics_docstring_n_bins_2", _ece(2),
             [L(i32([0, 0, 1, 1, 1]), f32([0.25, 0.25, 0.55, 0.75, 0.75]))]),
        case("default_15_bins_random_n300", _ece(), [L(y300, c300)]),
        case("random_n200_n_bins_10_3_batches", _ece(10),
             [L(y200[i:j], c200[i:j]) for i, j in ((0, 50), (50, 51), (51, 200))]),
        case("random_n60_n_bins_1", _ece(1), [L(y60, c60)]),
        case("random_n60_n_bins_1000", _ece(1000), [L(y60, c60)]),
        # conf == 1 goes to an extra bin of its own (here with a miss).
        case("confidence_1_extra_bin", _ece(), [L(f32([1, 0, 1, 1, 0]), f32([1.0, 1.0, 0.97, 0.99, 0.0]))]),
        case("confidence_0_and_1_only", _ece(5), [L(i32([0, 1, 0, 1, 1]), f32([0.0, 1.0, 1.0, 0.0, 1.0]))]),
        # Values on the boundaries i/4 (exact in binary) and one ulp either side.
        case("boundaries_n_bins_4_on_grid", _ece(4),
             [L(f32([0, 1, 1, 0, 1, 0, 1, 1, 0]), f32([0.0, 0.25, 0.5, 0.75, 1.0, 0.25, 0.5, 0.75, 0.5]))]),
        case("boundaries_n_bins_4_next_to_grid", _ece(4),
             [L(f32([1, 0, 1, 0, 1, 1]), f32([below, above, 0.5, np.nextafter(np.float32(0.25), np.float32(0)),
                                                np.nextafter(np.float32(0.75), np.float32(1)),
                                                np.nextafter(np.float32(1), np.float32(0))]))]),
        # float32(i/10) and float32(i/15): on or next to a boundary i/n that float32
        # cannot represent; the exact rule decides the bin.
        case("float32_tenths_n_bins_10", _ece(10), [L(f32([1, 0, 0, 1, 1, 0, 1, 1, 0, 1, 1]), tenths)]),
        case("float32_fifteenths_n_bins_15", _ece(15),
             [L(f32([0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1]), fifteenths)]),
        case("float64_just_below_boundaries_n_bins_15", _ece(15),
             [L(f32([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0][:len(f64_below)]), f64(f64_below))],
             note="Each y_pred is the largest float64 below i/15 (for 8 of the 14 i, among them the float64 "
                  "literals 1/15, 2/15 and 1/3); conf * 15 rounds up to i in float64, so floor(conf * 15) "
                  "would put it into bin i; the exact rule puts it into bin i - 1."),
        case("y_true_n_y_pred_n1", _ece(), [L(yr, cr[:, None])]),
        case("rank2_equal_shapes_flattened", _ece(5), [L(yr.reshape(8, 3), cr.reshape(8, 3))]),
        case("int32_labels_float64_confidences", _ece(10), [L(i32(yr), f64(cr))]),
        case("perfectly_calibrated_one_bin", _ece(10), [L(f32([1, 0, 1, 0]), f32([0.5, 0.5, 0.5, 0.5]))]),
        case("no_updates", _ece(), []),
        # Weighted (Tally's extension): per-element weights.
        case("weighted_integer", _ece(4), [L(f32([1, 0, 1, 1, 0]), f32([0.9, 0.8, 0.3, 0.6, 0.1]),
                                             i32([2, 1, 0, 3, 1]))]),
        case("weighted_fractional_w_n1_zero_weights", _ece(5),
             [L(f32([[1], [0], [1], [0], [1]]), f32([[0.95], [0.7], [0.45], [0.2], [0.05]]),
                f32([[0.5], [1.5], [0.0], [2.25], [0.0]]))]),
        case("weighted_random_n300_3_batches", _ece(),
             [L(y300[i:j], c300[i:j], w300[i:j]) for i, j in ((0, 100), (100, 150), (150, 300))]),
        case("weighted_and_unweighted_batches", _ece(10),
             [L(y60[:20], c60[:20], f32(rng.uniform(0, 3, size=20))), L(y60[20:], c60[20:])]),
        case("refused_update_then_valid", _ece(5),
             [L(f32([1, 0]), f32([0.6, 0.3])), L(f32([1, 0]), f32([1.5, 0.3])), L(f32([0]), f32([0.2]))],
             tally_rejects=[1]),
        # --- errors -------------------------------------------------------------------
        case("error_num_bins_0", _ece(0), []),
        case("error_num_bins_negative", _ece(-3), []),
        case("error_num_bins_2_5", _ece(2.5), []),
        case("error_pred_above_1", _ece(), [L(f32([0, 1]), f32([0.5, 1.5]))]),
        case("error_pred_nan", _ece(), [L(f32([0, 1]), f32([0.5, NAN]))]),
        case("error_true_2", _ece(), [L(f32([0, 2]), f32([0.5, 0.7]))]),
        case("error_true_0_5", _ece(), [L(f32([0, 0.5]), f32([0.5, 0.7]))]),
        case("error_length_mismatch", _ece(), [L(f32([0, 1, 1]), f32([0.5, 0.7]))]),
        case("error_shape_mismatch_rank2", _ece(), [L(f32([[0, 1], [1, 0]]), f32([[0.5, 0.7, 0.1], [0.2, 0.4, 0.6]]))]),
        case("error_weight_negative", _ece(), [L(f32([0, 1]), f32([0.5, 0.7]), f32([-1, 1]))]),
    ]


def _check_num_bins(cfg: dict) -> None:
    n = cfg["num_bins"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise TallyInputError(f"num_bins must be an integer >= 1, got {n!r}")


def calibration_cases() -> list[RefCase]:
    rng = np.random.default_rng(CALIBRATION_SEED)
    return _brier_cases(rng) + _ece_cases(rng)


REFERENCE_METRICS: dict[str, RefMetric] = {
    "MatthewsCorrelationCoefficient": RefMetric(
        _check_num_classes, lambda cfg, u: _agreement_prepare(cfg, u, kappa=False), _mcc_reference),
    "CohenKappa": RefMetric(
        _check_kappa_config, lambda cfg, u: _agreement_prepare(cfg, u, kappa=True), _kappa_reference),
    "BrierScore": RefMetric(lambda cfg: None, _brier_prepare, _brier_reference),
    "ExpectedCalibrationError": RefMetric(_check_num_bins, _ece_prepare, _ece_reference),
}

# The file header's "reference" (what "expected" is) per family.
REFERENCE_DESCRIPTIONS: dict[str, str] = {
    "agreement": (
        "MatthewsCorrelationCoefficient: sklearn.metrics.matthews_corrcoef(y_true_ids, y_pred_ids, "
        "sample_weight=w). CohenKappa: sklearn.metrics.cohen_kappa_score(y_true_ids, y_pred_ids, "
        "weights=weightage, labels=range(num_classes), sample_weight=w). Both on all accepted updates "
        "concatenated (an update without sample_weight weighs 1 per sample), class ids derived by Tally's "
        "rules (Scripts/generate_fixtures.py, 'Families: agreement and calibration'), weights widened "
        "exactly to float64. Where sklearn's kappa is undefined (NaN) the case has a deviation and "
        "tally_expected 0."),
    "calibration": (
        "BrierScore: sklearn.metrics.brier_score_loss on all accepted updates concatenated, with the "
        "inputs widened exactly to float64: binary ([N] / [N, 1] y_pred) brier_score_loss(y, p, "
        "sample_weight=w, pos_label=1, scale_by_half=True) = weighted mean of (p - y)^2; multi-class "
        "([N, C] y_pred) brier_score_loss(y_ids, P, sample_weight=w, labels=range(C), scale_by_half=False) "
        "= weighted mean of sum_c (p_c - y_c)^2; checked against exact rational arithmetic. "
        "ExpectedCalibrationError: TorchMetrics' BinaryCalibrationError(n_bins=num_bins, norm='l1') "
        "definition; unweighted cases are TorchMetrics itself on float64 tensors (checked against an exact "
        "rational evaluation; where they differ, the exact value with a note), weighted cases (sample "
        "weights are Tally's extension) the exact rational evaluation; each case names its source in "
        "\"reference\"."),
}


def _encode_scalar64(x: float) -> dict:
    return encode_tensor(np.float64(x))


def run_reference_case(case: RefCase) -> dict:
    """The JSON dict of a RefCase (see 'Families: agreement and calibration')."""
    rules = REFERENCE_METRICS[case.class_name]
    rejects = case.tally_rejects or []
    error = error_at = None
    prepared: list = []
    try:
        rules.check_config(case.config)
    except TallyInputError as e:
        if case.updates:
            raise ValueError(f"{case.id}: a construction-error case takes no updates")
        error, error_at = f"TallyInputError: {e}", "construction"
    else:
        for i, u in enumerate(case.updates):
            try:
                item = rules.prepare(case.config, u)
            except TallyInputError as e:
                if i in rejects:
                    continue
                if i != len(case.updates) - 1:
                    raise ValueError(f"{case.id}: update {i} is refused but is not the last update; "
                                     f"list it in tally_rejects")
                error, error_at = f"TallyInputError: {e}", "update"
                break
            if i in rejects:
                raise ValueError(f"{case.id}: update {i} is in tally_rejects but Tally's rules accept it")
            prepared.append(item)
    ref = None if error is not None else rules.reference(case.config, prepared)
    out: dict[str, Any] = {
        "id": case.id,
        "metric": {"class_name": case.class_name, "config": json_safe(case.config)},
        "call": "labels",
        "updates": [encode_update("labels", u) for u in case.updates],
        "expected": None if ref is None else _encode_scalar64(ref.value),
        "error": error,
    }
    if error_at is not None:
        out["error_at"] = error_at
    out["rtol"] = case.rtol
    if ref is not None and ref.deviation is not None:
        out["deviation"] = ref.deviation
        out["tally_expected"] = _encode_scalar64(ref.tally_expected)
    if rejects:
        out["tally_rejects"] = rejects
    if ref is not None and ref.source is not None:
        out["reference"] = ref.source
    notes = [x for x in (case.note, None if ref is None else ref.note) if x]
    if rejects:
        notes.insert(0, f"Tally refuses update(s) {rejects} (state unchanged); expected is the reference on "
                        f"the other updates.")
    if notes:
        out["note"] = " ".join(notes)
    if ref is not None and ref.sklearn_warning is not None:
        out["sklearn_warning"] = ref.sklearn_warning
    return out


# Known values: computed by hand on small probes, or quoted from the
# docstrings of Keras, scikit-learn, TensorFlow Addons and TorchMetrics.
# build_family() refuses to write a family whose output disagrees.  id ->
# (expected value, relative tolerance); the value is a float (scalar result)
# or a list (the flat data of a vector result); NaN matches NaN.  (Case ids
# with "spec" in them name such hand-checked probes; the ids are kept so
# that the fixture files do not change.)
KNOWN_VALUES: dict[str, dict[str, tuple[float | list[float], float]]] = {
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
    "accuracy": {  # by hand and the Keras docstrings
        "accuracy/docstring_unweighted": (0.75, 0.0),
        "accuracy/docstring_weighted": (0.5, 0.0),
        "accuracy/int32_labels_int32_preds_rank2": (0.75, 0.0),
        "accuracy/float64_true_float32_pred": (2.0 / 3.0, 1e-6),
        "accuracy/float32_true_float64_pred": (1.0, 0.0),  # float64 demoted (see the case)
        "binary_accuracy/docstring_unweighted": (0.75, 0.0),
        "binary_accuracy/docstring_weighted": (0.5, 0.0),
        "binary_accuracy/pred_exactly_0_5_is_negative": (0.75, 0.0),
        "binary_accuracy/soft_labels_never_match": (0.5, 0.0),
        "categorical_accuracy/docstring_unweighted": (0.5, 0.0),
        "categorical_accuracy/docstring_weighted": (0.3, 1e-6),
        "categorical_accuracy/tie_lowest_index_miss": (0.0, 0.0),
        "categorical_accuracy/tie_lowest_index_hit": (1.0, 0.0),
        "sparse_categorical_accuracy/docstring_unweighted": (0.5, 0.0),
        "sparse_categorical_accuracy/docstring_weighted": (0.3, 1e-6),
        "sparse_categorical_accuracy/tie_lowest_index": (1.0 / 3.0, 1e-6),
        "top_k_categorical_accuracy/docstring_k1_unweighted": (0.5, 0.0),
        "top_k_categorical_accuracy/docstring_k1_weighted": (0.3, 1e-6),
        "top_k_categorical_accuracy/k2_tie_at_boundary_hit": (1.0, 0.0),
        "top_k_categorical_accuracy/k2_tie_above_boundary_miss": (0.0, 0.0),
        "sparse_top_k_categorical_accuracy/docstring_k1_unweighted": (0.5, 0.0),
        "sparse_top_k_categorical_accuracy/docstring_k1_weighted": (0.3, 1e-6),
        "sparse_top_k_categorical_accuracy/k2_tie_at_boundary_hit": (1.0, 0.0),
        "sparse_top_k_categorical_accuracy/sorted_ids_docstring_k1": (0.5, 0.0),
        "sparse_top_k_categorical_accuracy/sorted_ids_duplicates_k2": (0.5, 0.0),
    },
    "confusion": {  # by hand and the Keras docstrings
        "precision/docstring_unweighted": (2.0 / 3.0, 1e-6),
        "precision/docstring_weighted": (1.0, 0.0),
        "recall/docstring_unweighted": (2.0 / 3.0, 1e-6),
        "recall/docstring_weighted": (1.0, 0.0),
        "precision/class_id_2_spec": (0.5, 0.0),
        "precision/nothing_predicted_positive": (0.0, 0.0),
        "recall/no_positive_labels": (0.0, 0.0),
        "true_positives/rank2_w_rank1": (5.0, 0.0),   # [2, 3, 0.5] . [1, 1, 0] TPs per row
        "true_positives/rank2_w_n1": (5.0, 0.0),
        "true_positives/threshold_list_even_preds_on_grid": ([3.0, 2.0, 0.0], 0.0),
        "auc/table_roc_interpolation": (0.888889, 1e-5),
        "auc/table_roc_minoring": (0.888889, 1e-5),
        "auc/table_roc_majoring": (0.888889, 1e-5),
        "auc/table_pr_interpolation": (0.904106, 1e-5),
        "auc/table_pr_minoring": (0.555556, 1e-5),
        "auc/table_pr_majoring": (0.916667, 1e-5),
        "auc/table_prgain_interpolation": (0.791667, 1e-5),
        "auc/table_prgain_minoring": (0.75, 1e-5),
        "auc/table_prgain_majoring": (0.833333, 1e-5),
        "auc/default_spec": (0.75, 1e-6),
        "auc/num_thresholds_3_spec": (0.75, 1e-6),
        "auc/thresholds_list_even_spec": (0.875, 1e-6),
        "auc/from_logits_spec": (0.75, 1e-6),
        "auc/multi_label_label_weights_spec": (0.5625, 1e-6),
        "auc/multi_label_num_labels_label_weights": (0.5625, 1e-6),
        "auc/label_weights_not_multi_label": (0.5859375, 1e-6),
        "auc/single_class_all_negative_roc": (0.0, 0.0),
        "auc/single_class_all_positive_roc": (0.0, 0.0),
        "auc/pr_no_positives": (0.0, 0.0),
        "auc/perfect_separation": (1.0, 1e-6),
        "sensitivity_at_specificity/spec_vector": (0.5, 1e-6),
        "specificity_at_sensitivity/spec_vector": (2.0 / 3.0, 1e-6),
        "precision_at_recall/spec_vector": (0.5, 1e-6),
        "recall_at_precision/spec_vector": (0.5, 1e-6),
        "sensitivity_at_specificity/specificity_1_no_negatives": (0.0, 0.0),
        "recall_at_precision/precision_1_unattainable": (0.0, 0.0),
    },
    "fscore": {  # by hand (the probe _YF/_PF)
        "f1_score/spec_threshold_0_5_average_none": ([0.5, 0.8, 0.666667], 1e-5),
        "f1_score/spec_threshold_0_5_average_micro": (0.666667, 1e-5),
        "f1_score/spec_threshold_0_5_average_macro": (0.655555, 1e-5),
        "f1_score/spec_threshold_0_5_average_weighted": (0.627778, 1e-5),
        "f1_score/spec_threshold_none_average_none": ([0.0, 0.5, 0.666667], 1e-5),
        "fbeta_score/beta_1_0_average_none": ([0.5, 0.8, 0.666667], 1e-5),
        "fbeta_score/beta_1_0_average_macro": (0.655555, 1e-5),
        "f1_score/no_positives_no_predictions": (0.0, 0.0),
    },
    "iou": {  # by hand and the Keras docstrings (weighted ones with dtype="float32")
        "mean_iou/spec_absent_class": (0.583333, 1e-5),
        "mean_iou/spec_out_of_range_dropped": (1.0, 1e-6),
        "iou/docstring_unweighted": (1.0 / 3.0, 1e-6),
        "iou/docstring_weighted_float32": (1.0 / 3.0, 1e-6),
        "iou/docstring_weighted_int_dtype": (0.0, 0.0),  # every weight truncates to 0
        "mean_iou/docstring_unweighted": (1.0 / 3.0, 1e-6),
        "mean_iou/docstring_weighted_float32": (0.23809525, 1e-6),
        "binary_iou/docstring_threshold_0_3_unweighted": (1.0 / 3.0, 1e-6),
        "binary_iou/docstring_threshold_0_3_weighted_float32": (0.17361112, 1e-6),
        "one_hot_iou/docstring_weighted_float32": (0.1 / 0.7 / 2, 1e-6),
        "one_hot_mean_iou/docstring_weighted_float32": (0.1 / 0.7 / 3, 1e-6),
        "mean_iou/no_updates": (0.0, 0.0),
    },
    "probabilistic": {  # by hand and the Keras docstrings
        "binary_crossentropy/docstring_unweighted": (0.81492424, 1e-6),
        "binary_crossentropy/docstring_weighted": (0.9162905, 1e-6),
        "categorical_crossentropy/docstring_unweighted": (1.1769392, 1e-6),
        "categorical_crossentropy/docstring_weighted": (1.6271976, 1e-6),
        "sparse_categorical_crossentropy/docstring_unweighted": (1.1769392, 1e-6),
        "sparse_categorical_crossentropy/docstring_weighted": (1.6271976, 1e-6),
        "sparse_categorical_crossentropy/ignore_class_spec_unweighted": (0.0256, 2e-3),
        "sparse_categorical_crossentropy/ignore_class_spec_weighted": (0.0513, 2e-3),
        "kl_divergence/docstring_unweighted": (0.45814306, 1e-6),
        "kl_divergence/docstring_weighted": (0.9162892, 1e-6),
        "poisson/docstring_unweighted": (0.49999997, 1e-6),
        "poisson/docstring_weighted": (0.99999994, 1e-6),
        "poisson/negative_prediction": (float("nan"), 0.0),
        "binary_crossentropy/logits_zero": (math.log(2.0), 1e-6),
        # Stable form: row means (0 + 0 + 30 + 30)/4 and 2·softplus(0.5)/4 (the
        # numpy backend's sigmoid + clip would give 8.01512).
        "binary_crossentropy/logits_large_magnitude": ((15.0 + math.log1p(math.exp(0.5)) / 2) / 2, 1e-6),
    },
    "regression": {  # by hand and the Keras docstrings
        "mean_squared_error/docstring_unweighted": (0.25, 0.0),
        "mean_squared_error/docstring_weighted": (0.5, 0.0),
        "mean_absolute_error/docstring_unweighted": (0.25, 0.0),
        "mean_absolute_error/docstring_weighted": (0.5, 0.0),
        "mean_absolute_percentage_error/docstring_unweighted": (2.5e8, 1e-6),
        "mean_absolute_percentage_error/docstring_weighted": (5e8, 1e-6),
        "mean_absolute_percentage_error/spec_zero_target": (1e9, 1e-6),
        "mean_squared_logarithmic_error/docstring_unweighted": (0.12011322, 1e-6),
        "mean_squared_logarithmic_error/docstring_weighted": (0.24022643, 1e-6),
        "root_mean_squared_error/docstring_unweighted": (0.5, 0.0),
        "root_mean_squared_error/docstring_weighted": (0.70710677, 1e-6),
        "logcosh/docstring_unweighted": (0.10844523, 1e-6),
        "logcosh/docstring_weighted": (0.21689045, 1e-6),
        "cosine_similarity/docstring_axis_1_unweighted": (0.49999997, 1e-6),
        "cosine_similarity/docstring_axis_1_weighted": (0.6999999, 1e-6),
        "cosine_similarity/zero_vectors": (0.0, 0.0),
        "r2_score/spec_example": (0.571429, 1e-5),
        "r2_score/constant_target_imperfect": (0.0, 0.0),
        "r2_score/constant_target_perfect": (float("nan"), 0.0),
    },
    "hinge": {  # the Keras docstrings
        "hinge/docstring_unweighted": (1.3, 1e-6),
        "hinge/docstring_weighted": (1.1, 1e-6),
        "squared_hinge/docstring_unweighted": (1.86, 1e-6),
        "squared_hinge/docstring_weighted": (1.46, 1e-6),
        "categorical_hinge/docstring_unweighted": (1.4, 1e-6),
        "categorical_hinge/docstring_weighted": (1.2, 1e-6),
    },
    "correlation": {  # the Keras docstrings
        "pearson_correlation/docstring": (0.9966996, 1e-6),
        "concordance_correlation/docstring": (0.98163204, 1e-6),
        "pearson_correlation/rank2_constant_row": (float("nan"), 0.0),
    },
    "exact": {  # sklearn docstring example; degenerate cases
        "roc/sklearn_docstring_example": (0.75, 1e-12),
        "pr/sklearn_docstring_example": (0.8333333333333333, 1e-12),
        "roc/all_scores_tied": (0.5, 1e-12),
        "pr/all_scores_tied": (0.6, 1e-12),  # prevalence
        "roc/perfect_separation": (1.0, 0.0),
        "pr/perfect_separation": (1.0, 0.0),
        "roc/single_class_all_negative": (float("nan"), 0.0),
        "roc/single_class_all_positive": (float("nan"), 0.0),
        "pr/single_class_all_negative": (0.0, 0.0),
        "pr/single_class_all_positive": (1.0, 0.0),
    },
    "agreement": {  # TensorFlow Addons' docstrings (float32 values); by hand
        "matthews_correlation_coefficient/tfa_docstring_one_hot": (-1.0 / 3.0, 1e-12),
        "cohen_kappa/tfa_docstring_sparse": (0.61904764, 1e-7),
        "cohen_kappa/tfa_docstring_sparse_weighted": (0.37209308, 1e-6),
        "matthews_correlation_coefficient/perfect_k3": (1.0, 1e-12),
        "matthews_correlation_coefficient/inverse_binary": (-1.0, 1e-12),
        "matthews_correlation_coefficient/constant_prediction": (0.0, 0.0),
        "cohen_kappa/perfect_k4": (1.0, 1e-12),
        "cohen_kappa/inverse_binary": (-1.0, 1e-12),
        "cohen_kappa/constant_prediction": (0.0, 0.0),
        "cohen_kappa/regression_round_half_to_even": (1.0, 1e-12),
        "cohen_kappa/one_class_both_raters": (float("nan"), 0.0),
    },
    "calibration": {  # sklearn's and TorchMetrics' docstrings (from float32 inputs); by hand
        "brier_score/sklearn_docstring_binary": (0.0375, 1e-7),
        "brier_score/perfect_binary": (0.0, 0.0),
        "brier_score/worst_binary": (1.0, 0.0),
        "brier_score/binary_probabilities_0_and_1": (0.5, 0.0),
        "expected_calibration_error/torchmetrics_docstring_n_bins_2": (0.29, 1e-7),
        "expected_calibration_error/perfectly_calibrated_one_bin": (0.0, 0.0),
        "expected_calibration_error/confidence_0_and_1_only": (0.4, 1e-12),
        "expected_calibration_error/no_updates": (0.0, 0.0),
    },
}


# ==========================================================================
# Driver
# ==========================================================================

# family name -> function returning the list of cases.  Add new families here.
FAMILIES: dict[str, Callable[[], list[Case] | list[ExactCase] | list[RefCase]]] = {
    "reduction": reduction_cases,
    "accuracy": accuracy_cases,
    "confusion": confusion_cases,
    "fscore": fscore_cases,
    "exact": exact_cases,
    "iou": iou_cases,
    "probabilistic": probabilistic_cases,
    "regression": regression_cases,
    "hinge": hinge_cases,
    "correlation": correlation_cases,
    "wrapped": wrapped_cases,
    "agreement": agreement_cases,
    "calibration": calibration_cases,
}


# Families written before the "error_at" key existed; their files are kept
# byte-identical (no "error_at", and a metric must construct).
LEGACY_FAMILIES = frozenset({"reduction"})

# Families written only when asked for by name (--family NAME), not by a
# plain run, for cases that need Swift support that does not exist yet.
# None at present.
OPT_IN_FAMILIES: frozenset[str] = frozenset()


def _matches(got: dict | None, want: float | list[float], rtol: float) -> bool:
    """``got`` (an encoded tensor) equals ``want`` (a scalar or the flat data)."""
    if got is None:
        return False
    wants = want if isinstance(want, list) else [want]
    if len(got["data"]) != len(wants):
        return False
    for g, w in zip(got["data"], wants):
        g = float(g)
        if math.isnan(w):
            if not math.isnan(g):
                return False
        elif abs(g - w) > rtol * abs(w):
            return False
    return True


# Where Tally deliberately differs from Keras on a case that only Keras's
# run defines (the Swift replay reads these keys; see FixtureTests.swift):
#   deviation: "<why>"                required with any of the keys below
#   tally_rejects: [update indices]   Tally throws there, state unchanged
#   tally_expected: T                 Tally's result where it differs
#   tally_rejects_construction: true  Tally refuses a config Keras accepts
#   tally_accepts_construction: true  Tally accepts a config Keras refuses
# A value may also be a function of the Case (its updates, its metric
# factory), evaluated when the family is built: tally_rejects -> list of
# indices, tally_expected -> numpy array (encoded as T).  One key is not
# written as such:
#   metric_config: {...}              merged into the recorded metric config
#                                     (where Tally serializes a key Keras's
#                                     get_config omits)
# For the families in DEVIATION_REQUIRED, a case has an entry iff the
# family's predicate says it needs one (so a deviation can neither be
# forgotten nor left on a case that no longer needs it).
_SCALAR0 = {"dtype": "float64", "shape": [], "data": [0.0]}
TALLY_DEVIATIONS: dict[str, dict[str, dict]] = {
    "confusion": {
        "true_positives/nonbinary_labels_are_positive": {
            "deviation": "Tally's confusion-matrix metrics require labels in {0, 1} and reject "
                         "other values (MetricError.invalidValue); Keras casts a label of 2 to True.",
            "tally_rejects": [0], "tally_expected": _SCALAR0},
        "auc/thresholds_outside_unit_interval": {
            "deviation": "Tally checks that AUC's explicit thresholds lie in [0, 1], as Keras does "
                         "for every other thresholded metric; Keras's AUC accepts them unchecked.",
            "tally_rejects_construction": True},
    },
    "fscore": {
        "fbeta_score/error_beta_int": {
            "deviation": "Keras rejects beta=2 because it is a Python int; Swift's Double has no "
                         "such distinction, so Tally accepts beta 2 as 2.0.",
            "tally_accepts_construction": True},
        "fbeta_score/error_threshold_int": {
            "deviation": "Keras rejects threshold=1 because it is a Python int; Tally accepts 1 as 1.0.",
            "tally_accepts_construction": True},
    },
    # Ids out of range (Tally rejects the update) and fractional weights with
    # the int dtype (Tally counts them exactly); see _IOU_DEV.
    "iou": {case_id: _IOU_DEV for case_id in (
        "iou/docstring_weighted_int_dtype",
        "iou/scalar_weight_fractional",
        "iou/fractional_weights_multi_batch",
        "iou/out_of_range_true_5_second_update",
        "iou/out_of_range_pred_minus1",
        "iou/out_of_range_only_update",
        "iou/out_of_range_and_fractional_weights",
        "mean_iou/docstring_weighted_int_dtype",
        "mean_iou/spec_out_of_range_dropped",
        "mean_iou/spec_out_of_range_dropped_then_valid",
        "mean_iou/fractional_weights_int_dtype",
        "binary_iou/docstring_threshold_0_3_weighted_int_dtype",
        "binary_iou/label_2_out_of_range",
        "one_hot_iou/docstring_weighted_int_dtype",
        "one_hot_mean_iou/docstring_weighted_int_dtype",
        "one_hot_mean_iou/sparse_y_pred_true_out_of_range",
    )},
    # Out-of-range sparse labels and negative Poisson predictions (Tally rejects the update).
    "probabilistic": {
        "sparse_categorical_crossentropy/label_minus1_not_ignored": _SCCE_DEV,
        "sparse_categorical_crossentropy/label_minus1_only_update": _SCCE_DEV,
        "sparse_categorical_crossentropy/logits_label_3_out_of_range": _SCCE_DEV,
        "poisson/negative_prediction": _POISSON_DEV,
        "poisson/negative_prediction_second_of_three": _POISSON_DEV,
    },
    # CosineSimilarity's axis in the config, and R2Score's n.
    "regression": {
        "cosine_similarity/docstring_axis_1_unweighted": _cosine_dev(1),
        "cosine_similarity/docstring_axis_1_weighted": _cosine_dev(1),
        "cosine_similarity/axis_1_rank3": _cosine_dev(1),
        "cosine_similarity/axis_minus2_rank3_w_rank1": _cosine_dev(-2),
        "cosine_similarity/axis_0_square_numpy_backend_bug": _cosine_dev(0),
        "cosine_similarity/error_axis_0_numpy_backend_bug": _cosine_dev(0),
        "r2_score/num_regressors_2_three_outputs": _R2_DEV,
        "r2_score/num_regressors_1_two_outputs_multi_batch_none": _R2_DEV,
        "r2_score/num_regressors_1_variance_weighted_w_rank1": _R2_DEV,
        "r2_score/num_regressors_2_n3_two_outputs_tally_plain": _R2_DEV,
        "r2_score/num_regressors_1_single_output_zero_weight_rows": _R2_DEV,
    },
    # Dataset-level correlation along the batch axis.
    "correlation": {f"{metric}/{case}": _CORR_DEV
                    for metric in ("pearson_correlation", "concordance_correlation")
                    for case in ("rank1_three_batches", "rank1_two_batches_w_rank0",
                                 "rank1_batches_uneven_sizes", "rank1_one_element_batch",
                                 "axis_0_rank2_two_batches")},
}


# family -> predicate: does this case need a TALLY_DEVIATIONS entry?
def _scalar(x: float) -> dict:
    return {"dtype": "float64", "shape": [], "data": [x]}


# Keras bugs and backend quirks where Tally gives the correct value instead
# (applied after the DEVIATION_REQUIRED check; values from the cases' notes,
# computed with Keras on the JAX backend or with the class axis moved last).
KERAS_BUGS: dict[str, dict[str, dict]] = {
    "iou": {
        "iou/target_id_negative_wraps": {
            "deviation": "Keras checks only max(target_class_ids), so -1 wraps to the last class; "
                         "Tally rejects a negative target class id.",
            "tally_rejects_construction": True},
        "iou/error_axis_1_rank3_result": {
            "deviation": "Keras's result() sums the per-class IoU vector along `axis` (1 here) and "
                         "raises; Tally uses `axis` only for the argmax, giving Keras's value with "
                         "the class axis moved last.",
            "tally_expected": _scalar(0.7222222)},
    },
    "probabilistic": {
        "categorical_crossentropy/axis_1_rank3_label_smoothing_uses_last_dim": {
            "deviation": "Keras smooths labels with shape[-1] instead of the size of the class axis; "
                         "Tally smooths over the class axis.",
            "tally_expected": _scalar(1.425978)},
        "sparse_categorical_crossentropy/error_axis_1_rank3": {
            "deviation": "Keras's backends support only the last axis as the class axis; Tally "
                         "supports any axis (Keras's value with the axis moved last).",
            "tally_expected": _scalar(1.765346)},
    },
    "regression": {
        "cosine_similarity/tiny_norm_vector_numpy_backend": {
            "deviation": "numpy-backend quirk: it divides by the raw norm; Tally follows the "
                         "TF/JAX backends' epsilon floor (0.1 on JAX).",
            "tally_expected": _scalar(0.1)},
        "cosine_similarity/axis_0_square_numpy_backend_bug": {
            "deviation": "numpy-backend bug: normalize turns axis=0 into -1; Tally gives the JAX value.",
            "tally_expected": _scalar(0.9642383)},
        "cosine_similarity/error_axis_0_numpy_backend_bug": {
            "deviation": "numpy-backend bug: normalize turns axis=0 into -1 and raises; Tally gives "
                         "the JAX value.",
            "tally_expected": _scalar(0.44282556)},
        "r2_score/large_offset_float32_cancellation": {
            "deviation": "Keras accumulates raw moments in float32 and cancels to 0 at an offset of "
                         "1e4; Tally's moments give the true R2 of these data, 0.6.",
            "tally_expected": _scalar(0.6)},
    },
}


DEVIATION_REQUIRED: dict[str, Callable[[Case], bool]] = {
    "iou": _iou_needs_deviation,
    "probabilistic": _probabilistic_needs_deviation,
    "regression": _regression_needs_deviation,
    "correlation": _correlation_needs_deviation,
}


def _apply_deviation(case: Case, out: dict, extra: dict) -> None:
    """Add a TALLY_DEVIATIONS entry to the JSON dict ``out`` of ``case``."""
    for key, value in extra.items():
        if key == "metric_config":
            out["metric"]["config"].update(value)
            continue
        if callable(value):
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                value = value(case)
            if value is None:  # the function says: not for this case
                continue
        if key == "tally_expected" and not isinstance(value, dict):
            value = encode_tensor(value)
        out[key] = value


def _outcomes_on_backend(family: str, backend: str, every_case: bool = False) -> dict[str, dict]:
    """``execute_case`` outcomes of ``family``'s cases (those declared with
    ``backend``, or all of them) computed by this script in a subprocess with
    KERAS_BACKEND=backend; keyed by case id."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "outcomes.json"
        env = {**os.environ, "KERAS_BACKEND": backend}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", family, str(path),
               "all" if every_case else "own"]
        subprocess.run(cmd, env=env, check=True)
        return json.loads(path.read_text(encoding="utf-8"))


def _worker(family: str, path: str, which: str) -> None:
    """The subprocess side of _outcomes_on_backend."""
    backend = keras.backend.backend()
    legacy = family in LEGACY_FAMILIES
    out = {c.id: execute_case(c, legacy) for c in FAMILIES[family]()
           if isinstance(c, Case) and (which == "all" or c.backend == backend)}
    Path(path).write_text(json.dumps(out, allow_nan=False), encoding="utf-8")


def build_family(family: str) -> dict:
    legacy = family in LEGACY_FAMILIES
    declared = FAMILIES[family]()
    remote: dict[str, dict] = {}
    for backend in sorted({c.backend for c in declared if isinstance(c, Case) and c.backend}):
        if backend == keras.backend.backend():
            raise SystemExit(f"{family}: cases declare the default backend {backend!r}; leave it None")
        remote.update(_outcomes_on_backend(family, backend))
    for c in declared:
        if isinstance(c, Case) and c.backend and c.id not in remote:
            raise SystemExit(f"{family}: {c.id}: no outcome from the {c.backend} backend")
    cases = [run_case(c, legacy=legacy, outcome=remote.get(c.id) if getattr(c, "backend", None) else None)
             for c in declared]

    ids = [c["id"] for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise SystemExit(f"{family}: duplicate case ids: {dupes}")

    if not legacy:
        # A case expects an error iff its id's last component starts with
        # "error_": an accidental Keras error cannot slip into a fixture.
        for c in cases:
            named = c["id"].rsplit("/", 1)[-1].startswith("error_")
            if named != (c["error"] is not None):
                raise SystemExit(f"{family}: {c['id']}: error {c['error']!r} "
                                 f"but the id says {'an' if named else 'no'} error")

    by_id = {c["id"]: c for c in cases}
    objects = {c.id: c for c in declared}
    deviations = TALLY_DEVIATIONS.get(family, {})
    if family in DEVIATION_REQUIRED:
        needs = DEVIATION_REQUIRED[family]
        missing = [c.id for c in declared if needs(c) and c.id not in deviations]
        unneeded = [i for i in deviations if i in objects and not needs(objects[i])]
        if missing or unneeded:
            raise SystemExit(f"{family}: TALLY_DEVIATIONS missing for {missing}; not needed for {unneeded}")
    for case_id, extra in deviations.items():
        if case_id not in by_id:
            raise SystemExit(f"{family}: deviation for unknown case {case_id}")
        if "deviation" not in extra:
            raise SystemExit(f"{family}: {case_id}: a deviation entry needs a 'deviation' text")
        _apply_deviation(objects[case_id], by_id[case_id], extra)
    for case_id, extra in KERAS_BUGS.get(family, {}).items():
        if case_id not in by_id:
            raise SystemExit(f"{family}: Keras-bug entry for unknown case {case_id}")
        extra = dict(extra)
        if "deviation" in by_id[case_id]:
            extra["deviation"] = by_id[case_id]["deviation"] + " " + extra["deviation"]
        _apply_deviation(objects[case_id], by_id[case_id], extra)
    for case_id, (want, rtol) in KNOWN_VALUES.get(family, {}).items():
        got = by_id[case_id]["expected"]
        if not _matches(got, want, rtol):
            raise SystemExit(f"{family}: known-value check failed for {case_id}: got {got}, want {want}")

    doc = {
        "family": family,
        "generator": GENERATOR,
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
    }
    if family == "exact" or family in REFERENCE_DESCRIPTIONS:
        import sklearn

        doc["sklearn_version"] = sklearn.__version__
    if family == "calibration":
        import torch
        import torchmetrics

        doc["torch_version"] = torch.__version__
        doc["torchmetrics_version"] = torchmetrics.__version__
    if family in REFERENCE_DESCRIPTIONS:
        doc["reference"] = REFERENCE_DESCRIPTIONS[family]
    doc["cases"] = cases
    return doc


def _describe_outcome(o: dict):
    return o.get("error") or o.get("construction_error") or o["expected"]["data"]


def compare_backends(families: list[str], other: str) -> int:
    """Print the cases whose Keras outcome on ``other`` differs from this
    process's backend (values beyond the case's rtol, or error vs value)."""
    n_diff = 0
    for family in families:
        declared = [c for c in FAMILIES[family]() if isinstance(c, Case) and c.backend is None]
        if not declared:
            continue
        theirs = _outcomes_on_backend(family, other, every_case=True)
        for c in declared:
            mine = execute_case(c, family in LEGACY_FAMILIES)
            them = theirs[c.id]
            a, b = mine.get("expected"), them.get("expected")
            if (a is None) != (b is None):
                same = False
            elif a is None:
                same = True
            else:
                same = a["shape"] == b["shape"] and _matches(a, [float(x) for x in b["data"]]
                                                             if b["shape"] else float(b["data"][0]), c.rtol)
            if not same:
                n_diff += 1
                print(f"{family}: {c.id}: {keras.backend.backend()} {_describe_outcome(mine)} | "
                      f"{other} {_describe_outcome(them)}")
    print(f"{n_diff} case(s) differ")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=sorted(FAMILIES), action="append",
                        help="family to regenerate (repeatable; default: all)")
    parser.add_argument("--out-dir", type=Path, default=FIXTURE_DIR,
                        help=f"output directory (default: {FIXTURE_DIR.relative_to(REPO_ROOT)})")
    parser.add_argument("--allow-version-mismatch", action="store_true",
                        help=f"run even if Keras is not {PINNED_KERAS_VERSION}")
    parser.add_argument("--compare-backend", metavar="BACKEND",
                        help="write nothing; run every case of the families also on BACKEND (e.g. jax) "
                             "and list the cases whose outcome differs")
    parser.add_argument("--worker", nargs=3, metavar=("FAMILY", "OUT", "WHICH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:  # internal: a subprocess running cases on another backend
        _worker(*args.worker)
        return 0

    backend = keras.backend.backend()
    print(f"keras {keras.__version__} (backend {backend}), numpy {np.__version__}")
    if backend != PINNED_BACKEND:
        print(f"error: fixtures must be generated with KERAS_BACKEND={PINNED_BACKEND}", file=sys.stderr)
        return 2
    if keras.__version__ != PINNED_KERAS_VERSION and not args.allow_version_mismatch:
        print(f"error: fixtures are pinned to keras {PINNED_KERAS_VERSION}; "
              f"pass --allow-version-mismatch to override", file=sys.stderr)
        return 2

    families = args.family or [f for f in FAMILIES if f not in OPT_IN_FAMILIES]
    if args.compare_backend:
        return compare_backends(families, args.compare_backend)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for family in families:
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
