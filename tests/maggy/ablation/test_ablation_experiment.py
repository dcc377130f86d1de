"""A whole LOCO ablation on real local workers with real TensorFlow: one experiment, every kind.

One run covers the base, features, a layer, a prefix group, custom models, a trial that raises
(fault isolation) and one stopped by the driver through the Keras callback (early stopping).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("tensorflow")

from maggy import datasets, experiment  # noqa: E402
from maggy.ablation import AblationStudy  # noqa: E402
from maggy.earlystop.base import EarlyStopPolicy  # noqa: E402
from maggy.store import open_store  # noqa: E402
from maggy.trial import TrialState  # noqa: E402

pytestmark = [pytest.mark.tf, pytest.mark.integration, pytest.mark.timeout(600)]


def base_model():
    import keras

    return keras.Sequential(
        [
            keras.layers.Dense(16, activation="relu", name="hidden_1"),
            keras.layers.Dense(16, activation="relu", name="hidden_2"),
            keras.layers.Dense(1, activation="sigmoid", name="out"),
        ]
    )


def slow_model():
    import keras

    return keras.Sequential([keras.layers.Dense(1, activation="sigmoid")], name="slow")


def broken_model():
    raise RuntimeError("this custom model cannot be built")


def training_function(dataset_function, model_function, reporter):
    import keras

    from maggy.callbacks import KerasEpochEnd

    model = model_function()
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    epochs = 1000 if model.name == "slow" else 8  # the slow one runs until the driver stops it
    history = model.fit(
        dataset_function(1, 32), epochs=epochs, verbose=0, callbacks=[KerasEpochEnd(reporter, metric="acc")]
    )
    return float(history.history["accuracy"][-1])


class StopTheSlowOne(EarlyStopPolicy):
    """Stops the 'model:slow' trial once it has reported, to exercise the driver's STOP."""

    def should_stop(self, running, finished, direction):
        return running.params["ablated"] == "model:slow" and len(running.history) >= 2


def test_loco_ablation_end_to_end(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame(
        {"signal": rng.normal(size=n), "noise": rng.normal(size=n), "extra": rng.normal(size=n)}
    )
    df["label"] = (df.signal > 0).astype(int)
    datasets.register("toy_ablation", df, version=1)

    study = AblationStudy("toy_ablation", 1, "label")
    study.features.include("signal", "noise")
    study.model.layers.include("hidden_2")
    study.model.layers.include_groups(prefix="hidden")
    study.model.set_base_model_generator(base_model)
    study.model.add_custom_model_generator(broken_model, "broken")
    study.model.add_custom_model_generator(slow_model, "slow")

    store_path = str(tmp_path / "store.db")
    result = experiment.lagom(
        map_fun=training_function,
        experiment_type="ablation",
        ablation_study=study,
        ablator="loco",
        name="toy-LOCO",
        hb_interval=0.2,
        es_policy=StopTheSlowOne(),
        es_interval=0.1,
        es_min=0,
        num_workers=2,
        backend="local",
        progress=False,
        store=store_path,
    )

    labels = [
        "base",
        "feature:signal",
        "feature:noise",
        "layer:hidden_2",
        "group:hidden*",
        "model:broken",
        "model:slow",
    ]
    rows = {row["ablated"]: row for row in result["ablations"]}
    assert [row["ablated"] for row in result["ablations"]] == labels
    assert result["status"] == "FINISHED" and result["num_trials"] == 7
    assert result["errors"] == 1 and rows["model:broken"]["state"] == "ERROR"
    assert result["early_stopped"] == 1 and rows["model:slow"]["state"] == "EARLY_STOPPED"
    assert rows["model:slow"]["metric"] is not None  # its last reported accuracy
    assert result["base_id"] == 0 and result["base_val"] > 0.8
    assert rows["base"]["delta"] == 0.0
    assert set(result["deltas"]) == {x for x in labels if x not in ("base", "model:broken")}
    assert result["deltas"]["feature:signal"] < -0.2  # the label is the sign of 'signal'
    assert result["deltas"]["feature:signal"] < result["deltas"]["feature:noise"]
    assert result["most_important"] == "feature:signal"
    assert result["deltas"]["layer:hidden_2"] == pytest.approx(
        rows["layer:hidden_2"]["metric"] - result["base_val"]
    )

    store = open_store(store_path)
    record = store.get_experiment(result["experiment_id"])
    assert record.experiment_type == "ablation" and record.optimizer == "LOCO" and record.num_trials == 7
    assert list(record.searchspace["ablated"][1]) == labels  # the trials, as a categorical "searchspace"
    assert record.result["deltas"] == result["deltas"]  # the stored result has the ablation keys too
    trials = {t.params["ablated"]: t for t in store.get_trials(result["experiment_id"])}
    assert (
        trials["model:broken"].state is TrialState.ERROR and "cannot be built" in trials["model:broken"].error
    )
    assert len(trials["base"].history) == 8  # one KerasEpochEnd point per epoch, through the heartbeats
    assert any("maggy ablation trial feature:signal" in line for line in trials["feature:signal"].logs)
