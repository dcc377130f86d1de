"""The dataset catalog on disk: register, resolve, stream; with and without pyarrow."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from maggy import datasets
from maggy.datasets import DatasetNotFound, _io


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 1000
    return pd.DataFrame(
        {
            "pclass": rng.integers(1, 4, n),
            "fare": rng.random(n) * 100,
            "alone": rng.random(n) > 0.5,
            "name": [f"p{i}" for i in range(n)],
            "survived": rng.integers(0, 2, n),
        }
    )


def test_register_a_dataframe_records_schema_rows_and_lives_under_maggy_home(frame, tmp_path, monkeypatch):
    monkeypatch.setenv("MAGGY_HOME", str(tmp_path / "home"))
    entry = datasets.register("titanic", frame, version=1, description="test data")
    assert entry.version == 1 and entry.num_rows == 1000 and entry.format == "parquet"
    assert entry.columns == ["pclass", "fare", "alone", "name", "survived"]
    assert dict(entry.schema)["pclass"] == "int64" and dict(entry.schema)["name"].endswith("string")
    assert [entry.is_numeric(c) for c in entry.columns] == [True, True, True, False, True]
    assert entry.path.startswith(str(tmp_path / "home" / "datasets" / "titanic" / "v1"))
    meta = json.loads((tmp_path / "home" / "datasets" / "titanic" / "v1" / "dataset.json").read_text())
    assert meta["num_rows"] == 1000 and meta["path"] == "data.parquet"  # relative: the catalog can move
    assert datasets.resolve("titanic", 1) == entry == datasets.resolve("titanic")


def test_versions_default_to_next_and_latest_and_existing_ones_are_protected(frame, tmp_path):
    assert datasets.register("d", frame, root=tmp_path).version == 1
    second = datasets.register("d", frame.head(10), root=tmp_path)
    assert second.version == 2 and datasets.resolve("d", root=tmp_path) == second
    assert datasets.resolve("d", 1, root=tmp_path).num_rows == 1000
    with pytest.raises(ValueError, match="already registered.*version=None for the next one \\(3\\)"):
        datasets.register("d", frame, version=2, root=tmp_path)
    replaced = datasets.register("d", frame.head(5), version=2, overwrite=True, root=tmp_path)
    assert replaced.num_rows == 5 and [e.version for e in datasets.list_datasets(tmp_path)] == [1, 2]
    assert not [p for p in (tmp_path / "d").iterdir() if p.name.startswith(".tmp")]


def test_unknown_name_or_version_says_what_exists_and_how_to_register(frame, tmp_path):
    datasets.register("known", frame, root=tmp_path)
    with pytest.raises(DatasetNotFound, match=r"no dataset 'other'.*registered: 'known'.*register\('other'"):
        datasets.resolve("other", root=tmp_path)
    with pytest.raises(DatasetNotFound, match=r"has version\(s\) \[1\], not 4"):
        datasets.resolve("known", 4, root=tmp_path)
    assert issubclass(DatasetNotFound, ValueError)


@pytest.mark.parametrize("name", ["", "../up", ".hidden", "a b", 3])
def test_bad_names_are_refused(frame, tmp_path, name):
    with pytest.raises(ValueError, match="dataset name"):
        datasets.register(name, frame, root=tmp_path)


@pytest.mark.parametrize("version", [0, -1, 1.5, True, "1"])
def test_bad_versions_are_refused(frame, tmp_path, version):
    with pytest.raises(ValueError, match="version must be an int >= 1"):
        datasets.register("d", frame, version=version, root=tmp_path)


def test_register_paths_copied_or_in_place(frame, tmp_path):
    csv_file, pq_file = tmp_path / "t.csv", tmp_path / "t.parquet"
    frame.to_csv(csv_file, index=False)
    frame.to_parquet(pq_file, index=False)
    copied = datasets.register("c", csv_file, root=tmp_path / "cat")
    assert copied.format == "csv" and copied.num_rows == 1000 and "cat" in copied.path
    assert dict(copied.schema)["fare"] == "double" and not copied.is_numeric("name")
    in_place = datasets.register("p", str(pq_file), copy=False, root=tmp_path / "cat")
    assert in_place.external and in_place.path == str(pq_file) and in_place.format == "parquet"
    with pytest.raises(ValueError, match="no file or directory"):
        datasets.register("x", tmp_path / "missing.csv", root=tmp_path / "cat")
    (tmp_path / "t.txt").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="name it \\*.csv or \\*.parquet"):
        datasets.register("x", tmp_path / "t.txt", root=tmp_path / "cat")
    with pytest.raises(TypeError, match="pandas DataFrame, a path"):
        datasets.register("x", [1, 2, 3], root=tmp_path / "cat")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_iter_batches_streams_only_the_asked_columns_in_blocks(frame, tmp_path, fmt):
    entry = datasets.register("d", frame, format=fmt, root=tmp_path)
    blocks = list(entry.iter_batches(["fare", "survived"], batch_rows=300))
    assert all(set(b) == {"fare", "survived"} for b in blocks)
    assert all(len(b["fare"]) <= 300 for b in blocks) and len(blocks) >= 4
    np.testing.assert_allclose(np.concatenate([b["fare"] for b in blocks]), frame["fare"])
    with pytest.raises(KeyError, match="no column 'age'.*columns:"):
        entry.iter_batches(["age"])


def test_without_pyarrow_csv_still_works(frame, tmp_path, monkeypatch):
    monkeypatch.setattr(_io, "has_pyarrow", lambda: False)
    entry = datasets.register("d", frame, root=tmp_path)
    assert entry.format == "csv" and entry.num_rows == 1000
    assert dict(entry.schema) == {
        "pclass": "int64",
        "fare": "double",
        "alone": "string",  # 'True'/'False' in a CSV: text, as pyarrow-less code cannot know better
        "name": "string",
        "survived": "int64",
    }
    blocks = list(entry.iter_batches(["pclass", "name"], batch_rows=400))
    assert [len(b["pclass"]) for b in blocks] == [400, 400, 200]
    assert blocks[0]["pclass"].dtype == np.float64 and blocks[0]["name"][0] == "p0"
    with pytest.raises(ImportError, match="pip install pyarrow"):
        datasets.register("p", frame, format="parquet", root=tmp_path)


def test_default_root_follows_maggy_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MAGGY_HOME", str(tmp_path / "elsewhere"))
    assert datasets.catalog_root() == tmp_path / "elsewhere" / "datasets"
    assert datasets.list_datasets() == []


# ---- issue 12, item 14: a notebook cell that registers a dataset, run twice ----


def test_registering_the_same_content_again_is_a_no_op_returning_the_entry(frame, tmp_path):
    first = datasets.register("d", frame, version=1, description="titanic", root=tmp_path)
    meta = tmp_path / "d" / "v1" / "dataset.json"
    written = meta.stat().st_mtime_ns
    again = datasets.register("d", frame.copy(), version=1, description="titanic", root=tmp_path)
    assert again == first and meta.stat().st_mtime_ns == written  # nothing rewritten
    assert [e.version for e in datasets.list_datasets(tmp_path)] == [1]
    assert not [p for p in (tmp_path / "d").iterdir() if p.name.startswith(".tmp")]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda f: f.assign(fare=f["fare"] + 1e-9), "same columns and row count but different values"),
        (lambda f: f.head(999), "999 rows instead of 1000"),
        (lambda f: f.drop(columns="alone"), "columns"),
        (lambda f: f.rename(columns={"fare": "price"}), "columns"),
    ],
    ids=["one-value", "fewer-rows", "dropped-column", "renamed-column"],
)
def test_different_content_under_an_existing_version_is_refused(frame, tmp_path, change, fragment):
    datasets.register("d", frame, version=1, root=tmp_path)
    with pytest.raises(ValueError, match="already registered with different content") as info:
        datasets.register("d", change(frame), version=1, root=tmp_path)
    assert fragment in str(info.value) and "overwrite=True" in str(info.value)
    assert datasets.resolve("d", 1, root=tmp_path).num_rows == 1000
    assert not [p for p in (tmp_path / "d").iterdir() if p.name.startswith(".tmp")]


def test_same_values_split_differently_on_disk_count_as_the_same_content(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    n = 150_000  # more than one comparison block, and NaNs, which equal themselves here
    table = pa.table({"a": np.arange(n), "f": np.where(np.arange(n) % 7 == 0, np.nan, 1.5)})
    pq.write_table(table, tmp_path / "one.parquet", row_group_size=20_000)
    pq.write_table(table, tmp_path / "two.parquet", row_group_size=70_001)
    entry = datasets.register("p", tmp_path / "one.parquet", version=1, root=tmp_path / "cat")
    assert datasets.register("p", tmp_path / "two.parquet", version=1, root=tmp_path / "cat") == entry
    changed = table.set_column(0, "a", pa.array(np.r_[np.arange(n - 1), [-1]]))
    pq.write_table(changed, tmp_path / "two.parquet", row_group_size=70_001)
    with pytest.raises(ValueError, match="different values"):
        datasets.register("p", tmp_path / "two.parquet", version=1, root=tmp_path / "cat")


def test_in_place_and_csv_registrations_are_idempotent_too(frame, tmp_path):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    entry = datasets.register("c", path, version=1, copy=False, root=tmp_path / "cat")
    assert datasets.register("c", path, version=1, copy=False, root=tmp_path / "cat") == entry
    with pytest.raises(ValueError, match="copied instead of registered in place"):
        datasets.register("c", path, version=1, root=tmp_path / "cat")
    copied = datasets.register("c", path, version=2, root=tmp_path / "cat")
    assert datasets.register("c", str(path), version=2, root=tmp_path / "cat") == copied


def test_without_pyarrow_re_registering_compares_the_csv_values(frame, tmp_path, monkeypatch):
    monkeypatch.setattr(_io, "has_pyarrow", lambda: False)
    monkeypatch.setattr(_io, "_same_bytes", lambda a, b: False)  # compare values, not bytes
    entry = datasets.register("d", frame, version=1, root=tmp_path)
    assert datasets.register("d", frame, version=1, root=tmp_path) == entry
    with pytest.raises(ValueError, match="different values"):
        datasets.register("d", frame.assign(name=frame["name"].str.upper()), version=1, root=tmp_path)


def test_concurrent_registrations_of_the_same_content_all_get_the_entry(frame, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        entries = list(pool.map(lambda _: datasets.register("d", frame, version=1, root=tmp_path), range(8)))
    assert all(e == entries[0] for e in entries) and entries[0].num_rows == 1000
    assert [e.version for e in datasets.list_datasets(tmp_path)] == [1]
    assert not [p for p in (tmp_path / "d").iterdir() if p.name.startswith(".tmp")]
