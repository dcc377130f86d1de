"""A catalog entry as a tf.data.Dataset: the columns asked for, batched, repeated, streamed."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

tf = pytest.importorskip("tensorflow")

from maggy import datasets  # noqa: E402
from maggy.datasets import _io, _tf  # noqa: E402

pytestmark = pytest.mark.tf


@pytest.fixture
def entry(tmp_path):
    n = 25
    df = pd.DataFrame(
        {"a": np.arange(n), "b": np.arange(n) * 10.0, "c": np.arange(n) * 100, "y": np.arange(n) % 2}
    )
    return datasets.register("toy", df, root=tmp_path)


def rows(dataset):
    return [(x.numpy().tolist(), y.numpy().tolist()) for x, y in dataset]


def test_features_in_order_label_apart_batched_and_repeated(entry):
    data = _tf.make_tf_dataset(entry, ["a", "c"], "y", epochs=2, batch_size=10)
    assert data.element_spec[0].shape.as_list() == [None, 2] and data.element_spec[1].dtype == tf.float32
    assert int(data.cardinality()) == 6  # known, so Keras needs no steps_per_epoch
    batches = rows(data)
    assert [len(y) for _, y in batches] == [10, 10, 5, 10, 10, 5]  # one pass per epoch
    seen = sorted(tuple(x) for xs, _ in batches[:3] for x in xs)
    assert seen == [(float(i), float(i * 100)) for i in range(25)]  # every row once per epoch, shuffled
    assert all(label == x[0] % 2 for xs, ys in batches for x, label in zip(xs, ys, strict=True))


def test_reads_stream_in_blocks(entry, monkeypatch):
    monkeypatch.setattr(_tf, "BLOCK_ROWS", 4)
    calls = []
    real = entry.iter_batches

    def spy(columns, batch_rows):
        calls.append((list(columns), batch_rows))
        return real(columns, batch_rows)

    monkeypatch.setattr(type(entry), "iter_batches", lambda self, c, b: spy(c, b))
    assert sum(len(y) for _, y in rows(_tf.make_tf_dataset(entry, ["b"], "y", 1, 7))) == 25
    assert calls == [(["b", "y"], 4)]  # only the needed columns, 4 rows at a time


def test_csv_without_pyarrow(tmp_path, monkeypatch):
    monkeypatch.setattr(_io, "has_pyarrow", lambda: False)
    entry = datasets.register("t", pd.DataFrame({"a": [1, 2, 3], "y": [0, 1, 0]}), root=tmp_path)
    assert sorted(x[0] for xs, _ in rows(_tf.make_tf_dataset(entry, ["a"], "y", 1, 2)) for x in xs) == [
        1,
        2,
        3,
    ]


@pytest.mark.parametrize(("epochs", "batch"), [(0, 1), (1, 0), (1.5, 2), (True, 2)])
def test_bad_epochs_or_batch_size(entry, epochs, batch):
    with pytest.raises(ValueError, match="must be a positive int"):
        _tf.make_tf_dataset(entry, ["a"], "y", epochs, batch)
