"""maggy.callbacks with real Keras: reporting, metric names, and a driver stop ending fit cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from maggy.exceptions import EarlyStopException
from maggy.reporter import Reporter


def test_importing_maggy_callbacks_loads_no_tensorflow_or_keras():
    code = "import sys, maggy.callbacks; print(any(m in sys.modules for m in ('tensorflow', 'keras')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


keras = pytest.importorskip("keras")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from maggy.callbacks import KerasBatchEnd, KerasEpochEnd  # noqa: E402
from maggy.worker.loop import _run_trial  # noqa: E402

pytestmark = pytest.mark.tf
X = np.random.default_rng(0).random((40, 3)).astype("float32")
Y = (X[:, 0] > 0.5).astype("float32")


def model(metrics=("accuracy",)):
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer="sgd", loss="binary_crossentropy", metrics=list(metrics))
    return m


def reporter(trial_id=0):
    r = Reporter()
    r.reset(trial_id)
    return r


def fit(m, callbacks, epochs=2, **kwargs):
    return m.fit(X, Y, batch_size=10, epochs=epochs, verbose=0, shuffle=False, callbacks=callbacks, **kwargs)


def test_batch_end_reports_every_batch_and_epoch_end_every_epoch():
    batch_rep, epoch_rep = reporter(), reporter()
    history = fit(
        model(),
        [KerasBatchEnd(batch_rep), KerasEpochEnd(epoch_rep, metric="val_loss")],
        validation_split=0.25,
    )
    _, batch_points, _ = batch_rep.drain()
    _, epoch_points, _ = epoch_rep.drain()
    assert [step for step, _ in batch_points] == list(range(6))  # 30 training rows / 10, twice
    assert [step for step, _ in epoch_points] == [0, 1]
    assert [v for _, v in epoch_points] == pytest.approx(history.history["val_loss"])


@pytest.mark.parametrize(
    ("compiled", "asked"), [("accuracy", "acc"), ("acc", "accuracy"), ("accuracy", "accuracy")]
)
def test_old_and_new_accuracy_names_both_work(compiled, asked):
    rep = reporter()
    history = fit(model([compiled]), [KerasEpochEnd(rep, metric=asked)], epochs=1)
    assert rep.last_value == pytest.approx(history.history[compiled][-1])
    val = reporter()
    fit(model([compiled]), [KerasEpochEnd(val, metric="val_" + asked)], epochs=1, validation_split=0.25)
    assert val.last_value is not None


def test_an_unknown_metric_names_the_available_ones():
    with pytest.raises(
        ValueError, match=r"metric 'auc' is not in the Keras logs; available: \['accuracy', 'loss'\]"
    ):
        fit(model(), [KerasBatchEnd(reporter(), metric="auc")])
    with pytest.raises(ValueError, match=r"'val_loss' is not in the Keras logs.*validation_data="):
        fit(model(), [KerasEpochEnd(reporter())])  # no validation data: no val_loss


def test_bad_construction_is_refused():
    with pytest.raises(ValueError, match="validation metric.*use KerasEpochEnd"):
        KerasBatchEnd(reporter(), metric="val_acc")
    with pytest.raises(TypeError, match="needs the reporter your training function receives"):
        KerasEpochEnd(None)
    with pytest.raises(ValueError, match="metric must be a Keras log name"):
        KerasEpochEnd(reporter(), metric="")


class Ends(keras.callbacks.Callback):
    ended = False

    def on_train_end(self, logs=None):
        Ends.ended = True


def test_a_driver_stop_ends_fit_cleanly_and_reaches_the_caller():
    rep = reporter(trial_id=5)
    m = model()
    stops_after = {"batches": 0}

    class StopAtThird(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            stops_after["batches"] += 1
            if stops_after["batches"] == 3:
                rep.request_stop_for(5)  # what the heartbeat thread does on the driver's STOP

    Ends.ended = False
    with pytest.raises(EarlyStopException) as info:
        fit(m, [StopAtThird(), Ends(), KerasBatchEnd(rep)], epochs=50)
    assert stops_after["batches"] == 3  # fit left after the batch that saw the stop
    assert Ends.ended and m.stop_training  # callbacks listed before maggy's got their end of training
    assert info.value.metric == rep.last_value and len(rep.drain()[1]) == 3


def test_the_worker_records_the_stopped_trial_with_its_last_value():
    rep = reporter()

    def training_function(reporter):
        m = model()
        reporter.request_stop_for(reporter.trial_id)  # stopped before the first epoch ends
        fit(m, [KerasEpochEnd(reporter, metric="loss")], epochs=20)
        return 123.0  # never reached: fit raised the stop

    final = _run_trial(
        training_function, {"trial_id": 0, "params": {}}, rep, "w", threading.Lock(), carry=lambda *_: None
    )
    assert final["status"] == "early_stopped" and final["metric"] == final["points"][-1][1]
    assert len(final["points"]) == 1


def test_the_classes_pickle_by_reference():
    import cloudpickle

    import maggy.callbacks

    assert KerasBatchEnd is maggy.callbacks.KerasBatchEnd and KerasBatchEnd.__module__ == "maggy.callbacks"
    assert cloudpickle.loads(cloudpickle.dumps(KerasEpochEnd)) is KerasEpochEnd
    assert b"on_epoch_end" not in cloudpickle.dumps(KerasEpochEnd)  # by name, not by value
