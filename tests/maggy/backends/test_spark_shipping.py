"""Executors with nothing but pyspark: the driver ships its maggy, and its own cloudpickle is not needed."""

from __future__ import annotations

import sys
import zipfile

import pytest

from maggy import Searchspace, experiment
from maggy.backends.spark import maggy_archive
from maggy.backends.spark_task import _driver_paths
from maggy.store import open_store

pytestmark = [
    pytest.mark.spark,
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


def test_a_bare_executor_runs_trials_with_the_shipped_maggy(spark_bare_executors, tmp_path):
    # Defined here, as in a notebook, so that it travels by value: a module-level function of
    # this file would be pickled by reference to a module the executor cannot import (pytest).
    def where_am_i(x, reporter):
        import importlib.util
        import sys

        import maggy

        print("python", sys.executable)
        print("maggy", maggy.__file__)
        found = [m for m in ("cloudpickle", "numpy") if importlib.util.find_spec(m) is not None]
        print("modules", " ".join(found) or "-")
        reporter.broadcast(float(x), step=0)
        return float(x) * 2

    store_path = str(tmp_path / "s.db")
    space = Searchspace(x=("DISCRETE", [1, 2, 3]))
    for _ in range(2):  # the archive is added to the SparkContext once, not per experiment
        result = experiment.lagom(
            where_am_i,
            searchspace=space,
            optimizer="gridsearch",
            num_trials=3,
            store=store_path,
            progress=False,
        )
        assert result["status"] == "FINISHED" and result["errors"] == 0 and result["best_val"] == 6.0
    trials = open_store(store_path).get_trials(result["experiment_id"])
    logs = [dict(line.split(" ", 1) for line in t.logs) for t in trials]
    assert all(log["python"] != sys.executable for log in logs)  # not this venv's interpreter
    assert all(".zip" in log["maggy"] for log in logs)  # imported from the shipped archive
    assert all("cloudpickle" not in log["modules"] for log in logs)
    shipped = [f for f in spark_bare_executors.sparkContext.listFiles if f.endswith(".zip")]
    assert len(shipped) == 1 and "maggy-" in shipped[0]


def test_the_archive_holds_the_package_sources_and_is_named_by_their_content():
    path = maggy_archive()
    assert path == maggy_archive()  # built once per process
    names = zipfile.ZipFile(path).namelist()
    assert {"maggy/__init__.py", "maggy/worker/loop.py", "maggy/backends/spark_task.py"} <= set(names)
    assert not any("__pycache__" in n or not n.endswith(".py") for n in names)


def test_only_the_drivers_own_directories_travel_to_executors():
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    paths = [
        "/home/me/project",
        f"/home/me/.venv/lib/{version}/site-packages",
        "/usr/lib/python3/dist-packages",
        f"/usr/lib/{version}",
        f"/usr/lib/{version}/lib-dynload",
        "",
        sys.path[0] if sys.path[0] else "/already/there",
    ]
    assert _driver_paths(paths) == ["/home/me/project", *(["/already/there"] if not sys.path[0] else [])]
