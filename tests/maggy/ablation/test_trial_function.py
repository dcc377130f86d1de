"""The worker-side adapter in-process: each trial's dataset and model, and the worker's view of it."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")

from maggy import datasets  # noqa: E402
from maggy.ablation import AblationStudy  # noqa: E402
from maggy.ablation.model_surgery import layer_names  # noqa: E402
from maggy.ablation.prepare import prepare_ablation  # noqa: E402
from maggy.reporter import Reporter  # noqa: E402
from maggy.worker.loop import _run_trial  # noqa: E402

pytestmark = pytest.mark.tf


@pytest.fixture(autouse=True)
def toy_dataset():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.random(40), "b": rng.random(40), "c": rng.random(40)})
    df["y"] = (df.a > 0.5).astype(int)
    datasets.register("toy", df, version=1)


def chain():
    return keras.Sequential(
        [
            keras.layers.Dense(4, name="h1"),
            keras.layers.Dense(4, name="h2"),
            keras.layers.Dense(1, name="out"),
        ]
    )


def flat():
    return keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, name="h1"), keras.layers.Dense(1, name="out")]
    )


def study(base=chain) -> AblationStudy:
    s = AblationStudy("toy", 1, "y")
    s.features.include("b")
    s.model.layers.include("h2") if base is chain else None
    s.model.set_base_model_generator(base)
    s.model.add_custom_model_generator(lambda: keras.Sequential([keras.layers.Dense(1, name="solo")]), "solo")
    return s


def inspect_trial(dataset_function, model_function):
    """Returns what the trial got: feature width, layer names, and a short fit's loss."""
    data = dataset_function(1, 8)
    model = model_function()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(data, epochs=1, verbose=0, shuffle=False)  # the data is shuffled
    return {
        "metric": history.history["loss"][-1],
        "width": data.element_spec[0].shape[1],
        "layers": layer_names(model),
    }


def run(wrapped, label, reporter=None):
    return wrapped(ablated=label, reporter=reporter)


def test_each_trial_gets_its_dataset_and_model():
    wrapped, _, _ = prepare_ablation(inspect_trial, study(), "loco", None, None)
    assert run(wrapped, "base") | {"metric": 0} == {"metric": 0, "width": 3, "layers": ["h1", "h2", "out"]}
    assert run(wrapped, "feature:b")["width"] == 2
    assert run(wrapped, "layer:h2")["layers"] == ["h1", "out"]
    assert run(wrapped, "model:solo")["layers"] == ["solo"]
    with pytest.raises(ValueError, match="unknown ablation trial 'layer:zz'"):
        run(wrapped, "layer:zz")


def test_a_flat_input_model_is_narrowed_when_a_feature_is_ablated():
    wrapped, _, _ = prepare_ablation(inspect_trial, study(flat), "loco", None, None)
    assert run(wrapped, "feature:b")["width"] == 2  # and fit() did not fail on the narrower data


def test_reporter_is_passed_only_when_declared_and_the_trial_is_logged():
    got = {}

    def with_reporter(dataset_function, model_function, reporter):
        got["reporter"] = reporter
        return 1.0

    reporter = Reporter()
    reporter.reset(0)
    wrapped, _, _ = prepare_ablation(with_reporter, study(), "loco", None, None)
    assert run(wrapped, "feature:b", reporter) == 1.0 and got["reporter"] is reporter
    assert reporter.drain()[2] == ["maggy ablation trial feature:b: without feature 'b'"]
    without, _, _ = prepare_ablation(
        lambda dataset_function, model_function: 2.0, study(), "loco", None, None
    )
    assert run(without, "base", reporter) == 2.0


def test_a_custom_dataset_generator_gets_the_ablated_feature():
    calls = []

    def gen(ablated_feature, epochs, batch_size):
        calls.append((ablated_feature, epochs, batch_size))
        return "data"

    s = study()
    s.set_dataset_generator(gen)
    wrapped, _, _ = prepare_ablation(
        lambda dataset_function, model_function: dataset_function(3, 4) and 0.0, s, None, None, None
    )
    run(wrapped, "base")
    run(wrapped, "feature:b")
    assert calls == [(None, 3, 4), ("b", 3, 4)]


def test_the_worker_runs_an_ablation_trial_like_any_other():
    wrapped, _, _ = prepare_ablation(inspect_trial, study(), "loco", None, None)
    final = _run_trial(
        lambda ablated, reporter: run(wrapped, ablated, reporter),  # as the worker calls map_fun
        {"trial_id": 3, "params": {"ablated": "layer:h2"}},
        Reporter(),
        "w0",
        threading.Lock(),
        carry=lambda *_: None,  # no heartbeat here: the output fits the FINAL
    )
    assert final["status"] == "ok" and isinstance(final["metric"], float)
    assert final["logs"][0].startswith("maggy ablation trial layer:h2")
