"""Real Spark sessions for the Spark backend tests: one per test module, stopped after it.

Only one SparkContext can live in a process, so each session fixture is module-scoped and the
modules that use them run one after the other. The fixtures set what TOOLCHAIN.md says Spark
needs on this machine (workers on this interpreter, loopback only) and skip without pyspark/Java.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _spark_session(
    master: str, conf: dict[str, str], scratch: Path, worker_python: str = sys.executable
) -> Iterator[Any]:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java")
    with pytest.MonkeyPatch.context() as mp:
        # Python workers run this very interpreter (the venv with maggy in it) unless told otherwise.
        mp.setenv("PYSPARK_PYTHON", worker_python)
        mp.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.master(master).appName("maggy-tests")
        # No UI port, and no spark-warehouse/ left in the working directory.
        defaults = {"spark.ui.enabled": "false", "spark.sql.warehouse.dir": str(scratch / "warehouse")}
        for key, value in {**defaults, **conf}.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        try:
            yield spark
        finally:
            spark.stop()


@pytest.fixture(scope="module")
def spark_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A ``local[2]`` session: tasks in the driver JVM, Python workers on this machine."""
    yield from _spark_session("local[2]", {}, tmp_path_factory.mktemp("spark_local"))


@pytest.fixture(scope="module")
def spark_gpu_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``local-cluster[1,2,1024]`` (a separate executor JVM) with two fake GPUs, one per task."""
    scratch = tmp_path_factory.mktemp("spark_cluster")
    script = scratch / "discover_gpus.sh"
    script.write_text('#!/bin/sh\necho \'{"name": "gpu", "addresses": ["0", "1"]}\'\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    conf = {
        "spark.worker.resource.gpu.amount": "2",
        "spark.worker.resource.gpu.discoveryScript": str(script),
        "spark.executor.resource.gpu.amount": "2",
        "spark.executor.resource.gpu.discoveryScript": str(script),
        "spark.task.resource.gpu.amount": "1",
    }
    yield from _spark_session("local-cluster[1,2,1024]", conf, scratch)


def bare_python() -> str | None:
    """A Python of this minor version without maggy (the system one), or None."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for candidate in (f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        if not os.path.exists(candidate) or os.path.realpath(candidate) == os.path.realpath(sys.executable):
            continue
        probe = subprocess.run(
            [candidate, "-c", "import maggy"], capture_output=True, env={"PATH": "/usr/bin"}
        )
        if probe.returncode != 0:
            return candidate
    return None


@pytest.fixture(scope="module")
def spark_bare_executors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``local[2]`` whose Python workers run a system interpreter with no maggy (nor cloudpickle,
    numpy, ...): what a cluster where only the notebook's machine has maggy looks like."""
    python = bare_python()
    if python is None:
        pytest.skip(f"no system python{sys.version_info[0]}.{sys.version_info[1]} without maggy")
    yield from _spark_session("local[2]", {}, tmp_path_factory.mktemp("spark_bare"), python)
