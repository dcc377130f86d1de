"""The analysis payload: JSON-safe, the computations' numbers, bounded at 10,000 trials."""

from __future__ import annotations

import json
import time

import numpy as np

from maggy import Searchspace
from maggy.trial import Trial, TrialState
from maggy.visualization import analysis_payload, optimization_history, param_importances

SPACE = Searchspace(x=("DOUBLE", [0.0, 1.0]), act=("CATEGORICAL", ["relu", "tanh"]))


def trials(n, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i, p in enumerate(SPACE.get_random_parameter_values(n, rng=rng)):
        metric = p["x"] + (p["act"] == "tanh")
        out.append(Trial(i, p, TrialState.FINISHED, metric=float(metric), end=float(i)))
    out.append(Trial(n, {"x": 0.5, "act": "relu"}, TrialState.ERROR, error="boom", end=float(n)))
    out.append(Trial(n + 1, {"x": float("nan"), "act": "relu"}, TrialState.RUNNING))
    return out


def test_the_payload_is_strict_json_and_carries_the_computations():
    given = trials(40)
    payload = analysis_payload(given, "max", SPACE.to_dict())
    json.dumps(payload, allow_nan=False)  # the browser's JSON.parse takes it as is
    h = optimization_history(given, "max")
    assert payload["trials"] == 42
    assert payload["history"]["values"] == h.values.tolist()
    assert payload["history"]["best_y"][-1] == h.best[-1] and payload["history"]["best_id"] == h.best_ids[-1]
    assert payload["importance"]["importances"] == param_importances(given, SPACE).importances
    assert [a["name"] for a in payload["parallel"]["axes"]] == ["x", "act"]
    assert len(payload["parallel"]["rows"]) == 40 and len(payload["parallel"]["rows"][0]) == 3
    act = next(s for s in payload["slices"] if s["name"] == "act")
    assert act["choices"] == ["relu", "tanh"]
    # every trial drawn has its params, for the tooltip
    assert set(payload["params"]) == {str(i) for i in payload["history"]["trial_ids"]}
    assert payload["params"]["0"] == given[0].params
    assert payload["ablation"] is None


def test_an_ablation_payload_has_its_bars():
    given = [
        Trial(0, {"ablated": "base"}, TrialState.FINISHED, metric=0.8, end=1.0),
        Trial(1, {"ablated": "feature:age"}, TrialState.FINISHED, metric=0.7, end=2.0),
    ]
    bars = analysis_payload(given, "max")["ablation"]["bars"]
    assert [(b["label"], round(b["delta"], 6), b["hurt"]) for b in bars] == [("feature:age", -0.1, True)]


def test_ten_thousand_trials_make_a_bounded_payload_quickly():
    given = trials(10_000)
    started = time.perf_counter()
    payload = analysis_payload(given, "min", SPACE)
    elapsed = time.perf_counter() - started
    size = len(json.dumps(payload, allow_nan=False))
    assert len(payload["history"]["x"]) == 2000 and payload["history"]["total"] == 10_000
    assert len(payload["parallel"]["rows"]) == 1000
    assert size < 1_500_000, size
    assert elapsed < 3.0, elapsed
