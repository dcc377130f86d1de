"""Catalog entries on disk: where they live, how they are registered and found again.

Thread/process safety: a version is written into a private temporary directory and renamed into
place, so a reader never sees half a dataset and two processes registering the same version
cannot both succeed (the second gets a clear error). Entries are immutable once written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from maggy.datasets import _io, _spark

META_FILE = "dataset.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_VERSION_DIR = re.compile(r"^v([1-9][0-9]*)$")


class DatasetNotFound(ValueError):
    """No dataset of that name, or not that version; the message lists what the catalog has."""


@dataclass(frozen=True)
class DatasetEntry:
    """One registered dataset version. Immutable; plain data, so it travels to workers as is.

    ``path`` is absolute: a file, or a directory of Parquet part files (Spark's output).
    ``schema`` is ``((column, type), ...)`` in column order, types as Arrow names ('int64',
    'double', 'string', ...). ``external`` means registered with ``copy=False``: the entry points
    at the user's file instead of a copy in the catalog.
    """

    name: str
    version: int
    path: str
    format: str
    schema: tuple[tuple[str, str], ...]
    num_rows: int
    source: str
    external: bool = False
    description: str = ""

    @property
    def columns(self) -> list[str]:
        return [name for name, _ in self.schema]

    def column_type(self, column: str) -> str:
        """The type name of ``column``; KeyError naming the columns there are."""
        for name, kind in self.schema:
            if name == column:
                return kind
        raise KeyError(
            f"dataset {self.name!r} v{self.version} has no column {column!r}; columns: {self.columns}"
        )

    def is_numeric(self, column: str) -> bool:
        """True for integer, floating, decimal and boolean columns (what a float tensor can hold)."""
        return _io.is_numeric_type(self.column_type(column))

    def iter_batches(
        self, columns: Sequence[str] | None = None, batch_rows: int = 65_536
    ) -> Iterator[dict[str, np.ndarray]]:
        """Stream the rows as ``{column: 1-D array}`` blocks of at most ``batch_rows`` rows.

        Only ``columns`` (default: all) are read; Parquet skips the others on disk. Numeric
        columns come as numeric arrays (nulls as NaN), others as object arrays.
        """
        wanted = self.columns if columns is None else list(columns)
        for column in wanted:
            self.column_type(column)  # a KeyError naming the columns beats a reader's error
        return _io.iter_batches(self.path, self.format, self.schema, wanted, batch_rows)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["schema"] = [list(pair) for pair in self.schema]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetEntry:
        d = dict(d)
        d["schema"] = tuple((str(n), str(t)) for n, t in d["schema"])
        return cls(**d)


def catalog_root(root: str | os.PathLike[str] | None = None) -> Path:
    """``root`` if given, else ``$MAGGY_HOME/datasets`` (``~/.maggy/datasets``)."""
    if root is not None:
        return Path(root).expanduser()
    from maggy.store import default_store_path  # one place decides where MAGGY_HOME is

    return default_store_path().parent / "datasets"


def register(
    name: str,
    data: Any,
    version: int | None = None,
    *,
    format: str | None = None,
    copy: bool = True,
    overwrite: bool = False,
    description: str = "",
    root: str | os.PathLike[str] | None = None,
) -> DatasetEntry:
    """Store ``data`` as dataset ``name`` version ``version`` and return its entry.

    ``data``: a pandas DataFrame (written as Parquet, or CSV without pyarrow; ``format`` picks),
    a path to a CSV or Parquet file (or a directory of Parquet files), or a Spark DataFrame
    (written as Parquet by Spark). ``version``: an int >= 1, or None for the next one (1 for a
    new name). ``copy=False`` registers a path in place (it must stay there, and on a cluster be
    on the shared file system). Registering an existing version again with the same content
    (same rows and columns, format, description and, for ``copy=False``, path: a notebook cell run
    twice) changes nothing and returns the entry; different content under an existing version is
    refused unless ``overwrite=True``. Raises ValueError/TypeError saying what to change.
    """
    name = _check_name(name)
    base = catalog_root(root) / name
    base.mkdir(parents=True, exist_ok=True)
    existing = _versions(base)
    if version is None:
        version = max(existing, default=0) + 1
    version = _check_version(version)
    tmp = base / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        # Written before the version is looked at: "same content" is decided on the data as stored.
        path, fmt, source, external = _io.write(data, tmp, format, copy)
        schema, num_rows = _io.inspect(path, fmt)
        stored = path if external else os.path.relpath(path, tmp)  # relative: the catalog can move
        meta = DatasetEntry(name, version, stored, fmt, schema, num_rows, source, external, description)
        (tmp / META_FILE).write_text(json.dumps(meta.to_dict(), indent=1))
        final = base / f"v{version}"
        if version in existing and not overwrite:
            return _same_or_refuse(_load(final), _load(tmp), existing)
        if overwrite and final.exists():
            shutil.rmtree(final)
        try:
            os.rename(tmp, final)
        except OSError as exc:  # another process registered this version meanwhile
            if version in _versions(base):
                return _same_or_refuse(_load(final), _load(tmp), _versions(base))
            raise ValueError(
                f"dataset {name!r} version {version} was registered by someone else just now; "
                "register again with version=None"
            ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already when renamed into place
    return _load(final)


def _same_or_refuse(old: DatasetEntry, new: DatasetEntry, versions: list[int]) -> DatasetEntry:
    """``old`` if ``new`` (the same name and version, just written aside) holds the same content,
    else a ValueError saying what differs and how to register it instead."""
    difference = _difference(old, new)
    if difference is None:
        return old
    raise ValueError(
        f"dataset {old.name!r} version {old.version} is already registered with different content "
        f"({difference}); pass version=None for the next one ({max(versions) + 1}), another version, "
        "or overwrite=True to replace it"
    )


def _difference(old: DatasetEntry, new: DatasetEntry) -> str | None:
    """What differs between two entries' content (a short phrase), or None if nothing does."""
    if old.schema != new.schema:
        return f"columns {list(new.schema)} instead of {list(old.schema)}"
    if old.num_rows != new.num_rows:
        return f"{new.num_rows} rows instead of {old.num_rows}"
    if old.format != new.format:
        return f"stored as {new.format} instead of {old.format}"
    if old.external != new.external or (old.external and old.path != new.path):
        return (
            "registered in place at another path" if new.external else "copied instead of registered in place"
        )
    if old.description != new.description:
        return f"description {new.description!r} instead of {old.description!r}"
    if not _io.same_rows(old.path, new.path, old.format, old.schema):
        return "the same columns and row count but different values"
    return None


def resolve(
    name: str, version: int | None = None, *, root: str | os.PathLike[str] | None = None
) -> DatasetEntry:
    """The entry for ``name`` at ``version`` (None: the latest).

    With an active SparkSession, a name the catalog lacks is looked up as the Spark table
    ``NAME_VERSION`` (then ``NAME``) and registered from it. Raises DatasetNotFound listing the
    datasets or versions there are, and how to register the missing one.
    """
    name = _check_name(name)
    if version is not None:
        version = _check_version(version)
    base = catalog_root(root) / name
    versions = _versions(base)
    wanted = max(versions) if version is None and versions else version
    if wanted in versions:
        return _load(base / f"v{wanted}")
    table = _spark.find_table(name, version)
    if table is not None:
        return register(name, table, version, root=root, description="from the Spark table")
    if not versions:
        known = ", ".join(repr(e.name) for e in list_datasets(root)) or "none yet"
        raise DatasetNotFound(
            f"no dataset {name!r} in the catalog at {catalog_root(root)} (registered: {known}); "
            f"register it first: maggy.datasets.register({name!r}, data, version=1), data being a "
            "pandas DataFrame, a CSV or Parquet path, or a Spark DataFrame"
        )
    raise DatasetNotFound(
        f"dataset {name!r} has version(s) {versions}, not {version}; use one of those "
        f"(or None for the latest), or register version {version}"
    )


def list_datasets(root: str | os.PathLike[str] | None = None) -> list[DatasetEntry]:
    """Every registered dataset version, by name then version."""
    top = catalog_root(root)
    if not top.is_dir():
        return []
    return [
        _load(top / d.name / f"v{v}")
        for d in sorted(top.iterdir())
        if d.is_dir() and _NAME.match(d.name)
        for v in _versions(d)
    ]


def _load(directory: Path) -> DatasetEntry:
    meta = DatasetEntry.from_dict(json.loads((directory / META_FILE).read_text()))
    if meta.external:
        return meta
    return DatasetEntry.from_dict({**meta.to_dict(), "path": str((directory / meta.path).resolve())})


def _versions(base: Path) -> list[int]:
    if not base.is_dir():
        return []
    found = (_VERSION_DIR.match(d.name) for d in base.iterdir() if (d / META_FILE).is_file())
    return sorted(int(m.group(1)) for m in found if m)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"dataset name must be a string of letters, digits, '_', '-' or '.', not starting with "
            f"'.', '_' or '-' (it names a directory), got {name!r}"
        )
    return name


def _check_version(version: Any) -> int:
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 1:
        raise ValueError(f"dataset version must be an int >= 1 (or None), got {version!r}")
    return int(version)
