"""Writing, inspecting and streaming the files behind catalog entries.

pyarrow does the work when it is installed (Parquet needs it; CSV uses it for speed); without it
CSV still works through the standard library. Every read streams in blocks: nothing here loads
a whole file.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from maggy.datasets import _spark

PARQUET, CSV = "parquet", "csv"
_NUMERIC_PREFIXES = ("int", "uint", "float", "double", "halffloat", "decimal", "bool")


def is_numeric_type(type_name: str) -> bool:
    """Arrow (and pandas) type names a float tensor can hold: ints, floats, decimals, booleans."""
    return type_name.lower().startswith(_NUMERIC_PREFIXES)


def has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _need_pyarrow(what: str) -> None:
    if not has_pyarrow():
        raise ImportError(f"{what} needs pyarrow: pip install pyarrow (it comes with maggy-jupyter[tf])")


def detect_format(path: Path) -> str:
    """'parquet' for *.parquet/*.pq files and directories of them, 'csv' for *.csv files."""
    if path.is_dir():
        if any(p.suffix in (".parquet", ".pq") for p in path.rglob("*")):
            return PARQUET
        raise ValueError(f"the directory {path} holds no *.parquet files; register a CSV or Parquet file")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return PARQUET
    if suffix == ".csv":
        return CSV
    raise ValueError(f"cannot tell the format of {path}: name it *.csv or *.parquet")


def write(data: Any, dest: Path, fmt: str | None, copy: bool) -> tuple[str, str, str, bool]:
    """Put ``data`` under the directory ``dest``; returns (path, format, source, external)."""
    if fmt is not None and fmt not in (PARQUET, CSV):
        raise ValueError(f"format must be 'parquet', 'csv' or None, got {fmt!r}")
    if _spark.is_spark_dataframe(data):
        if fmt == CSV:
            raise ValueError("a Spark DataFrame is stored as Parquet; drop format='csv'")
        _need_pyarrow("registering a Spark DataFrame (workers read its Parquet files)")
        return _spark.write_parquet(data, dest / "data.parquet"), PARQUET, "spark", False
    if _is_pandas(data):
        fmt = fmt or (PARQUET if has_pyarrow() else CSV)
        if fmt == PARQUET:
            _need_pyarrow("storing a DataFrame as Parquet")
            import pyarrow as pa
            import pyarrow.parquet as pq

            target = dest / "data.parquet"
            pq.write_table(pa.Table.from_pandas(data, preserve_index=False), target)
        else:
            target = dest / "data.csv"
            data.to_csv(target, index=False)
        return str(target), fmt, "pandas", False
    if isinstance(data, (str, os.PathLike)):
        src = Path(data).expanduser().resolve()
        if not src.exists():
            raise ValueError(f"no file or directory at {src}; pass the path of a CSV or Parquet file")
        src_fmt = detect_format(src)
        if fmt is not None and fmt != src_fmt:
            raise ValueError(f"{src} is {src_fmt}; format={fmt!r} would need a conversion maggy does not do")
        if not copy:
            return str(src), src_fmt, src_fmt, True
        target = dest / f"data.{src_fmt}"
        if src.is_dir():
            shutil.copytree(src, target)
        else:
            shutil.copyfile(src, target)
        return str(target), src_fmt, src_fmt, False
    raise TypeError(
        f"cannot register a {type(data).__name__}: pass a pandas DataFrame, a path to a CSV or Parquet "
        "file, or a Spark DataFrame"
    )


def inspect(path: str, fmt: str) -> tuple[tuple[tuple[str, str], ...], int]:
    """(schema, row count) of the data at ``path``, reading it as a stream."""
    if has_pyarrow():
        dataset = _arrow_dataset(path, fmt)
        schema = tuple((field.name, str(field.type)) for field in dataset.schema)
        return schema, int(dataset.count_rows())
    if fmt == PARQUET:
        _need_pyarrow("reading Parquet")
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        numeric = [True] * len(header)
        integral = [True] * len(header)
        rows = 0
        for row in reader:
            rows += 1
            for i, cell in enumerate(row[: len(header)]):
                if cell == "" or not numeric[i]:
                    continue
                number = _to_float(cell)
                numeric[i] = number is not None
                integral[i] = integral[i] and number is not None and float(number).is_integer()
    types = [
        "int64" if n and i else "double" if n else "string" for n, i in zip(numeric, integral, strict=True)
    ]
    return tuple(zip(header, types, strict=True)), rows


def iter_batches(
    path: str,
    fmt: str,
    schema: Sequence[tuple[str, str]],
    columns: Sequence[str],
    batch_rows: int,
) -> Iterator[dict[str, np.ndarray]]:
    """Yield ``{column: array}`` blocks of at most ``batch_rows`` rows, reading only ``columns``."""
    if has_pyarrow():
        dataset = _arrow_dataset(path, fmt)
        for batch in dataset.to_batches(columns=list(columns), batch_size=batch_rows):
            if batch.num_rows:
                yield {c: batch.column(c).to_numpy(zero_copy_only=False) for c in columns}
        return
    if fmt == PARQUET:
        _need_pyarrow("reading Parquet")
    numeric = {c: is_numeric_type(t) for c, t in schema}
    yield from _csv_batches(path, list(columns), numeric, batch_rows)


def same_rows(path_a: str, path_b: str, fmt: str, schema: Sequence[tuple[str, str]]) -> bool:
    """Whether the data at the two paths (same format and schema) holds the same rows, in order.

    Byte-identical files answer at once (the same DataFrame written twice gives the same Parquet);
    otherwise the rows are compared as values, streamed block by block, NaN equal to NaN.
    """
    if _same_bytes(Path(path_a), Path(path_b)):
        return True
    columns = [c for c, _ in schema]
    if not columns:
        return True  # no columns: equal row counts (checked by the caller) are all there is
    blocks_a = _fixed_blocks(iter_batches(path_a, fmt, schema, columns, _COMPARE_ROWS), columns)
    blocks_b = _fixed_blocks(iter_batches(path_b, fmt, schema, columns, _COMPARE_ROWS), columns)
    for a, b in zip(blocks_a, blocks_b, strict=False):
        if not all(_same_array(a[c], b[c]) for c in columns):
            return False
    return next(blocks_a, None) is None and next(blocks_b, None) is None


_COMPARE_ROWS = 65_536


def _same_bytes(a: Path, b: Path) -> bool:
    files_a = sorted(p for p in a.rglob("*") if p.is_file()) if a.is_dir() else [a]
    files_b = sorted(p for p in b.rglob("*") if p.is_file()) if b.is_dir() else [b]
    if a.is_dir() != b.is_dir() or len(files_a) != len(files_b):
        return False
    for fa, fb in zip(files_a, files_b, strict=True):
        if (a.is_dir() and fa.relative_to(a) != fb.relative_to(b)) or fa.stat().st_size != fb.stat().st_size:
            return False
        with open(fa, "rb") as ha, open(fb, "rb") as hb:
            while True:
                chunk = ha.read(1 << 20)
                if chunk != hb.read(1 << 20):
                    return False
                if not chunk:
                    break
    return True


def _fixed_blocks(
    batches: Iterator[dict[str, np.ndarray]], columns: list[str]
) -> Iterator[dict[str, np.ndarray]]:
    """The same rows in blocks of exactly ``_COMPARE_ROWS`` (the last one shorter): two files
    split into record batches at different places then line up block for block."""
    pending: list[dict[str, np.ndarray]] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += len(batch[columns[0]])
        while count >= _COMPARE_ROWS:
            merged = {c: np.concatenate([p[c] for p in pending]) for c in columns}
            yield {c: v[:_COMPARE_ROWS] for c, v in merged.items()}
            pending = [{c: v[_COMPARE_ROWS:] for c, v in merged.items()}]
            count -= _COMPARE_ROWS
    if count:
        yield {c: np.concatenate([p[c] for p in pending]) for c in columns}


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    if a.dtype.kind != "O" and b.dtype.kind != "O":
        try:
            return bool(np.array_equal(a, b, equal_nan=True))  # datetimes: NaT equal to NaT
        except TypeError:  # no NaN in this dtype (ints, bools, strings)
            return bool(np.array_equal(a, b))
    return all(_same_value(x, y) for x, y in zip(a.tolist(), b.tolist(), strict=True))


def _same_value(x: Any, y: Any) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):  # list columns come as arrays
        return isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and _same_array(x, y)
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return bool(type(x) is type(y) and x == y)


def _csv_batches(
    path: str, columns: list[str], numeric: dict[str, bool], batch_rows: int
) -> Iterator[dict[str, np.ndarray]]:
    def block(rows: list[dict[str, str]]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for c in columns:
            if numeric[c]:
                out[c] = np.array(
                    [_to_float(r[c]) if r[c] != "" else math.nan for r in rows], dtype=np.float64
                )
            else:
                out[c] = np.array([r[c] for r in rows], dtype=object)
        return out

    with open(path, newline="") as f:
        rows: list[dict[str, str]] = []
        for row in csv.DictReader(f):
            rows.append(row)
            if len(rows) == batch_rows:
                yield block(rows)
                rows = []
        if rows:
            yield block(rows)


def _arrow_dataset(path: str, fmt: str) -> Any:
    import pyarrow.dataset as ds

    # Spark's output directories hold _SUCCESS and .crc files; pyarrow skips '_'/'.' names.
    return ds.dataset(path, format=fmt)


def _to_float(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _is_pandas(data: Any) -> bool:
    pandas = sys.modules.get("pandas")  # a user passing a DataFrame has imported pandas already
    return pandas is not None and isinstance(data, pandas.DataFrame)
