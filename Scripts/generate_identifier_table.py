#!/usr/bin/env python3
"""Record what Keras's metric identifiers resolve to, for Tally's tests.

Usage (from the repository root):

    KERAS_BACKEND=numpy python3 Scripts/generate_identifier_table.py

Writes Tests/TallyTests/Fixtures/Tables/identifiers.json:

* "identifiers": for every key of keras.metrics.ALL_OBJECTS_DICT, the class
  that keras.metrics.get(key) instantiates and its default name, or the
  error Keras raises (classes with required arguments).
* "accuracy": for the shapes of y_true and y_pred, the class that
  compile()'s "accuracy" auto-selection picks (compile_utils.get_metric).
* "compile_names": the log keys CompileMetrics produces for a few
  metrics/weighted_metrics combinations.
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "numpy")
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras.src.metrics import ALL_OBJECTS_DICT  # noqa: E402
from keras.src.trainers import compile_utils  # noqa: E402

OUT = os.path.join("Tests", "TallyTests", "Fixtures", "Tables", "identifiers.json")


def identifiers():
    table = {}
    for key in sorted(ALL_OBJECTS_DICT):
        keras.backend.clear_session()
        try:
            m = keras.metrics.get(key)
            table[key] = {"class_name": type(m).__name__, "name": m.name}
        except Exception as e:  # noqa: BLE001 - the error is the fixture
            table[key] = {"error": f"{type(e).__name__}: {e}"}
    return table


ACCURACY_SHAPES = [
    ((8, 1), (8, 1)),  # binary sigmoid output
    ((8,), (8, 1)),
    ((8,), (8, 10)),  # sparse labels
    ((8, 1), (8, 10)),
    ((8, 10), (8, 10)),  # one-hot
    ((8, 3), (8, 3)),  # multi-label sigmoid: still categorical (pitfall)
    ((8, 5), (8, 5, 3)),  # sequences, sparse
    ((8, 5, 3), (8, 5, 3)),
]


def accuracy():
    rows = []
    for ts, ps in ACCURACY_SHAPES:
        for ident in ["accuracy", "acc", "ACC", "Accuracy"]:
            # Keras builds compile metrics on symbolic tensors whose batch
            # dimension is unknown (None); reproduce that.
            yt = keras.KerasTensor((None,) + ts[1:])
            yp = keras.KerasTensor((None,) + ps[1:])
            m = compile_utils.get_metric(ident, yt, yp)
            rows.append({"y_true": list(ts), "y_pred": list(ps), "identifier": ident,
                         "class_name": type(m).__name__, "name": m.name})
    return rows


def compile_names():
    cases = [
        {"metrics": ["mse", "mse"], "weighted_metrics": ["mse", "mse"]},
        {"metrics": ["accuracy", "mae"], "weighted_metrics": ["mae"]},
        {"metrics": ["acc", "acc", "AUC"], "weighted_metrics": []},
    ]
    out = []
    for c in cases:
        cm = compile_utils.CompileMetrics(c["metrics"], c["weighted_metrics"] or None)
        yt = np.array([[0.0], [1.0], [1.0], [0.0]], dtype="float32")
        yp = np.array([[0.2], [0.7], [0.4], [0.1]], dtype="float32")
        cm.update_state(yt, yp, sample_weight=np.array([1.0, 0.0, 1.0, 1.0], dtype="float32"))
        res = cm.result()
        out.append({**c, "keys": list(res.keys()),
                    "values": [float(np.asarray(v)) for v in res.values()]})
    return out


def main():
    data = {
        "generator": "Scripts/generate_identifier_table.py",
        "keras_version": keras.__version__,
        "identifiers": identifiers(),
        "accuracy": accuracy(),
        "compile_names": compile_names(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {OUT}: {len(data['identifiers'])} identifiers, "
          f"{len(data['accuracy'])} accuracy cases, {len(data['compile_names'])} naming cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
