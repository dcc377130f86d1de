"""The catalog's only contact with Spark: Spark DataFrames and tables in, Parquet files out.

pyspark is never imported here unless the user's process has imported it already (a user with
a Spark DataFrame or a SparkSession has), so the catalog costs nothing on a laptop.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def is_spark_dataframe(data: Any) -> bool:
    # Checked by module name: importing pyspark to ask isinstance would start a JVM for nothing.
    module = type(data).__module__ or ""
    return module.startswith("pyspark.sql") and hasattr(data, "write") and hasattr(data, "schema")


def write_parquet(df: Any, target: Path) -> str:
    """Write ``df`` as a directory of Parquet part files at ``target`` (a local/shared path).

    ``file://`` on purpose: on a cluster whose default file system is HDFS a bare path would
    land there, where neither the driver's catalog nor the workers' pyarrow would look.
    """
    df.write.mode("errorifexists").parquet(target.resolve().as_uri())
    return str(target)


def active_session() -> Any:
    """The active SparkSession, or None (also when pyspark was never imported)."""
    if "pyspark.sql" not in sys.modules:
        return None
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


def find_table(name: str, version: int | None) -> Any:
    """The Spark table ``NAME_VERSION`` (feature-store naming) or ``NAME`` as a DataFrame, or None."""
    spark = active_session()
    if spark is None:
        return None
    candidates = ([f"{name}_{version}"] if version is not None else []) + [name]
    for table in candidates:
        try:
            if spark.catalog.tableExists(table):
                return spark.table(table)
        except Exception:  # e.g. a name Spark's parser rejects: then it is no table either
            continue
    return None
