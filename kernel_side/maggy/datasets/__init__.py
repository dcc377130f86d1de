"""The dataset catalog: training datasets by (name, version), with no server to run.

An ablation study names its training dataset as ``(training_dataset_name, training_dataset_version)``
(the Maggy API took them from a feature store). This catalog answers that lookup::

    >>> from maggy import datasets
    >>> datasets.register('titanic', df, version=1)     # a pandas DataFrame, a CSV/Parquet path
    >>> datasets.resolve('titanic', 1).columns           # or a Spark DataFrame
    ['pclass', 'age', ..., 'survived']

Entries live under ``$MAGGY_HOME/datasets/NAME/vVERSION/`` (``~/.maggy`` without ``MAGGY_HOME``;
see ``maggy.store``): the data as Parquet (CSV when pyarrow is missing) and ``dataset.json`` with
the schema and row count. Reads stream in record batches (``DatasetEntry.iter_batches``), so a
trial never loads a whole file at once.

On Spark the workers read the same files, so ``MAGGY_HOME`` (or the path registered with
``copy=False``) must be on the cluster's shared file system. When a SparkSession is active, a
name the catalog lacks resolves to the Spark table ``NAME_VERSION`` or ``NAME``, which is written
once into the catalog as Parquet.
"""

from __future__ import annotations

from maggy.datasets.catalog import (
    DatasetEntry,
    DatasetNotFound,
    catalog_root,
    list_datasets,
    register,
    resolve,
)

__all__ = ["DatasetEntry", "DatasetNotFound", "catalog_root", "list_datasets", "register", "resolve"]
