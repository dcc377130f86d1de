"""A catalog entry as a streaming ``tf.data.Dataset`` of (feature vector, label)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from maggy.datasets.catalog import DatasetEntry

#: Rows held by the shuffle buffer: enough to mix a tabular dataset, small enough for any worker.
SHUFFLE_ROWS = 10_000
#: Rows read from disk per block.
BLOCK_ROWS = 8_192


def make_tf_dataset(
    entry: DatasetEntry,
    features: Sequence[str],
    label: str,
    epochs: int,
    batch_size: int,
    shuffle_rows: int = SHUFFLE_ROWS,
) -> Any:
    """``tf.data.Dataset`` yielding ``(x, y)`` batches: ``x`` float32 ``(batch, len(features))``
    with the columns in ``features`` order, ``y`` float32 ``(batch,)``; shuffled, ``epochs`` times.

    The file is read block by block each time the dataset is iterated (one pass per epoch), so
    memory stays at about ``shuffle_rows`` rows whatever the file's size.
    """
    import tensorflow as tf

    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"dataset_function: {name} must be a positive int, got {value!r}")
    columns = [*features, label]
    width = len(features)

    def blocks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for block in entry.iter_batches(columns, BLOCK_ROWS):
            rows = len(block[label])
            x = np.empty((rows, width), dtype=np.float32)
            for i, name in enumerate(features):
                x[:, i] = block[name]
            yield x, np.asarray(block[label], dtype=np.float32)

    data = tf.data.Dataset.from_generator(
        blocks,
        output_signature=(
            tf.TensorSpec(shape=(None, width), dtype=tf.float32),
            tf.TensorSpec(shape=(None,), dtype=tf.float32),
        ),
    ).unbatch()
    if shuffle_rows > 1:
        data = data.shuffle(max(1, min(shuffle_rows, entry.num_rows)))
    data = data.batch(int(batch_size)).repeat(int(epochs))
    if not entry.external:
        # A generator's length is unknown to tf.data; Keras then warns that the input "ran out of
        # data" after the first epoch. The catalog's copy cannot change, so its row count holds.
        data = data.apply(tf.data.experimental.assert_cardinality(epochs * -(-entry.num_rows // batch_size)))
    return data
