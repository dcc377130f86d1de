"""Keras callbacks reporting a training metric to the maggy driver.

>>> from maggy.callbacks import KerasBatchEnd, KerasEpochEnd
>>> model.fit(data, epochs=5, callbacks=[KerasEpochEnd(reporter, metric='val_accuracy')])

``KerasBatchEnd(reporter, metric='loss')`` reports after every training batch,
``KerasEpochEnd(reporter, metric='val_loss')`` after every epoch. Metric names are Keras' log
keys; the older names 'acc' and 'val_acc' are accepted for 'accuracy' and 'val_accuracy' (and
the other way round). A metric missing from the logs stops training with an error naming the
ones there are.

When the driver stops the trial (early stopping, or the user), the callback sets
``model.stop_training``, so ``fit`` leaves its loop the way Keras' own EarlyStopping makes it,
then raises the stop from its ``on_train_end``: ``fit`` does not return, and the worker records
the trial as stopped with its last reported value, whatever the training function does after
``fit``. Keras calls ``on_train_end`` in list order, so list maggy's callback last when other
callbacks (TensorBoard, checkpoints) need their ``on_train_end``.

These are thin adapters: Keras is imported on first use of a class (module ``__getattr__``), so
``import maggy.callbacks`` does not load TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maggy.exceptions import EarlyStopException

__all__ = ["KerasBatchEnd", "KerasEpochEnd"]  # noqa: F822 - made on first access, see __getattr__

#: Keras 2 names (the Maggy API's) and their Keras 3 names; each is tried for the other.
ALIASES = {"acc": "accuracy", "val_acc": "val_accuracy"}
_BOTH_WAYS = {**ALIASES, **{v: k for k, v in ALIASES.items()}}

_classes: dict[str, type] = {}


def metric_key(metric: str, logs: Mapping[str, Any], where: str) -> str:
    """The key of ``metric`` (or its alias) in ``logs``; ValueError naming the available ones."""
    for key in (metric, _BOTH_WAYS.get(metric)):
        if key is not None and key in logs:
            return key
    hint = ""
    if metric.startswith("val_"):
        hint = " Validation metrics need model.fit(..., validation_data=...)."
    elif "acc" in metric:
        hint = " Accuracy needs model.compile(..., metrics=['accuracy'])."
    raise ValueError(f"{where}: metric {metric!r} is not in the Keras logs; available: {sorted(logs)}.{hint}")


class _Reporting:
    """The framework-free part: checks, reporting, and turning a driver stop into a clean end."""

    model: Any

    def __init__(self, reporter: Any, metric: str) -> None:
        super().__init__()
        if not callable(getattr(reporter, "broadcast", None)):
            raise TypeError(
                f"{type(self).__name__} needs the reporter your training function receives (declare a "
                f"'reporter' parameter and pass it on), got {reporter!r}"
            )
        if not isinstance(metric, str) or not metric:
            raise ValueError(
                f"{type(self).__name__}: metric must be a Keras log name such as 'loss', got {metric!r}"
            )
        self.reporter = reporter
        self.metric = metric
        self._key: str | None = None
        self._stop: EarlyStopException | None = None

    def _report(self, logs: Mapping[str, Any] | None, where: str) -> None:
        if self._stop is not None:
            return  # stopping already: the rest of this epoch's batches are not reported
        logs = logs or {}
        if self._key is None or self._key not in logs:
            self._key = metric_key(self.metric, logs, f"{type(self).__name__} at {where}")
        try:
            self.reporter.broadcast(float(logs[self._key]))
        except EarlyStopException as stop:
            self._stop = stop
            self.model.stop_training = True  # fit leaves its loop after this batch/epoch

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        stop, self._stop = self._stop, None
        if stop is not None:
            raise stop  # after Keras' own end of training: fit does not return, the worker sees the stop


def _define() -> None:
    import keras

    class KerasBatchEnd(_Reporting, keras.callbacks.Callback):
        """Report ``metric`` (default the training 'loss') at the end of each training batch.

        Validation metrics do not exist at batch end (validating every batch would be too
        expensive): use ``KerasEpochEnd`` for them.
        """

        __qualname__ = "KerasBatchEnd"

        def __init__(self, reporter: Any, metric: str = "loss") -> None:
            if isinstance(metric, str) and metric.startswith("val_"):
                raise ValueError(
                    f"KerasBatchEnd: {metric!r} is a validation metric, which Keras computes per epoch only; "
                    f"use KerasEpochEnd(reporter, metric={metric!r}), or a training metric here"
                )
            super().__init__(reporter, metric)

        def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
            self._report(logs, f"batch end {batch}")

    class KerasEpochEnd(_Reporting, keras.callbacks.Callback):
        """Report ``metric`` (default 'val_loss') at the end of each epoch; training metrics are
        there too ('loss', 'accuracy').
        """

        __qualname__ = "KerasEpochEnd"

        def __init__(self, reporter: Any, metric: str = "val_loss") -> None:
            super().__init__(reporter, metric)

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            self._report(logs, f"epoch end {epoch}")

    _classes.update(KerasBatchEnd=KerasBatchEnd, KerasEpochEnd=KerasEpochEnd)


def __getattr__(name: str) -> Any:
    # Subclassing keras.callbacks.Callback needs Keras, so the classes are made on first access.
    # They keep __module__ 'maggy.callbacks' and their plain names, and this hook returns the same
    # objects every time, so pickle and cloudpickle send them by reference to workers.
    if name in __all__:
        if not _classes:
            _define()
        return _classes[name]
    raise AttributeError(f"module 'maggy.callbacks' has no attribute {name!r}")
