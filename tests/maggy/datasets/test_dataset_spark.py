"""The catalog with real local Spark: Spark DataFrames and tables resolve to Parquet entries.

One SparkSession for the module (one SparkContext per process), stopped after it, so later tests
do not find an active session (lagom would default to the Spark backend).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from maggy import datasets

pytestmark = [
    pytest.mark.spark,
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark")
    pytest.importorskip("pyarrow")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYSPARK_PYTHON", sys.executable)
        mp.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        from pyspark.sql import SparkSession

        session = (
            SparkSession.builder.master("local[1]")
            .appName("maggy-datasets-tests")
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        try:
            yield session
        finally:
            session.stop()


def _rows(n: int) -> list[tuple[int, float, int]]:
    rng = np.random.default_rng(1)
    return [(int(rng.integers(1, 4)), float(rng.random()), int(rng.integers(0, 2))) for _ in range(n)]


def test_a_spark_dataframe_is_written_as_parquet_with_schema_and_rows(spark, tmp_path):
    df = spark.createDataFrame(_rows(500), ["pclass", "fare", "survived"]).repartition(3)
    entry = datasets.register("sparky", df, version=1, root=tmp_path)
    assert entry.source == "spark" and entry.format == "parquet" and entry.num_rows == 500
    assert entry.columns == ["pclass", "fare", "survived"]
    assert all(entry.is_numeric(c) for c in entry.columns)
    blocks = list(entry.iter_batches(["fare"], batch_rows=100))  # several part files, streamed
    assert sum(len(b["fare"]) for b in blocks) == 500 and max(len(b["fare"]) for b in blocks) <= 100


def test_a_spark_table_resolves_by_name_and_version(spark, tmp_path):
    spark.createDataFrame(_rows(40), ["pclass", "fare", "survived"]).createOrReplaceTempView("titanic_2")
    spark.createDataFrame(_rows(30), ["pclass", "fare", "survived"]).createOrReplaceTempView("plain")
    entry = datasets.resolve("titanic", 2, root=tmp_path)
    assert entry.version == 2 and entry.num_rows == 40 and entry.description == "from the Spark table"
    assert datasets.resolve("titanic", 2, root=tmp_path) == entry  # registered once, then from the catalog
    assert datasets.resolve("plain", root=tmp_path).num_rows == 30
    with pytest.raises(datasets.DatasetNotFound, match="no dataset 'absent'"):
        datasets.resolve("absent", root=tmp_path)


def _tiny_model():
    import keras

    return keras.Sequential([keras.layers.Dense(4, name="hidden"), keras.layers.Dense(1, name="out")])


def _train(dataset_function, model_function):
    model = model_function()
    model.compile(optimizer="sgd", loss="mse")
    return float(model.fit(dataset_function(1, 16), epochs=1, verbose=0).history["loss"][-1])


def test_an_ablation_runs_on_spark_tasks_reading_the_catalog(spark, tmp_path, monkeypatch):
    """The same study on the Spark backend: the tasks read the Parquet the Spark DataFrame became."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("maggy.backends.spark")
    from maggy import experiment
    from maggy.ablation import AblationStudy

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    df = spark.createDataFrame(_rows(64), ["pclass", "fare", "survived"])
    datasets.register("on_spark", df, version=1)
    study = AblationStudy("on_spark", 1, "survived")
    study.features.include("fare")
    study.model.layers.include("hidden")
    study.model.set_base_model_generator(_tiny_model)
    result = experiment.lagom(
        _train,
        experiment_type="ablation",
        ablation_study=study,
        backend="spark",
        progress=False,
        store=str(tmp_path / "store.db"),
    )
    assert result["status"] == "FINISHED" and result["errors"] == 0 and result["num_trials"] == 3
    assert set(result["deltas"]) == {"feature:fare", "layer:hidden"}
