"""Tally's Keras metrics on Apache Spark and Dask.

``tally_engine.spark.evaluate(df, metrics, ...)`` and
``tally_engine.dask.evaluate(ddf, metrics, ...)`` run one
``tally evaluate --input npy-stream`` process per partition and merge the
partitions' states with ``tally merge`` on the driver, in partition order.
Both return what ``tally merge --format json`` prints, and raise
:class:`TallyError` for any failure.

The engine modules are imported on demand (``import tally_engine.spark``), so
that neither pyspark nor dask is needed for the other.
"""

from __future__ import annotations

from ._core import resolve_tally
from ._errors import TallyError

__all__ = ["TallyError", "resolve_tally"]
__version__ = "0.1.0"
