"""Fixtures: the tally binary, the Parquet data set, a local Spark session.

The binary comes from TALLY_BIN (Scripts/check-engines.sh sets it), else
PATH; without one every test errors (nothing is skipped).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import Dataset, make_dataset


@pytest.fixture(scope="session")
def tally() -> str:
    path = os.environ.get("TALLY_BIN") or shutil.which("tally")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("no tally binary: set TALLY_BIN=/path/to/tally (or put tally on PATH)")
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return make_dataset(tmp_path_factory.mktemp("parquet"))


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    # Loopback only, the workers on this venv's python, no UI.
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("tally-engine-tests")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        # Several Arrow batches per partition: the stream's framing is tested.
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "3000")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
