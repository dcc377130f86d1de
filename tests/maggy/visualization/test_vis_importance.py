"""Hyperparameter importance: the parameters that matter rank first, exactly where it is known, fast."""

from __future__ import annotations

import time

import numpy as np
import pytest

from maggy import Searchspace
from maggy.trial import Trial, TrialState
from maggy.visualization import param_importances

SPACE = Searchspace(
    a=("DOUBLE", [0.0, 1.0]),
    b=("DOUBLE", [0.0, 1.0]),
    noise1=("DOUBLE", [0.0, 1.0]),
    lr=("DOUBLE", [1e-4, 1e-1], "log"),
    units=("INTEGER", [1, 100]),
    act=("CATEGORICAL", ["relu", "tanh", "gelu", "swish"]),
)


def synthetic(n, f, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for tid, params in enumerate(SPACE.get_random_parameter_values(n, rng=rng)):
        out.append(Trial(tid, params, TrialState.FINISHED, metric=float(f(params) + 0.01 * rng.normal())))
    return out


@pytest.mark.parametrize(
    ("f", "top"),
    [
        (lambda p: 4 * p["a"] + np.sin(3 * p["b"]), ["a", "b"]),
        (lambda p: np.log10(p["lr"]) ** 2, ["lr"]),
        (
            lambda p: {"relu": 0.0, "tanh": 1.0, "gelu": 3.0, "swish": 1.5}[p["act"]] + 0.2 * p["a"],
            ["act", "a"],
        ),
        (lambda p: (p["units"] - 50) ** 2 / 2500 + 0.1 * p["b"], ["units", "b"]),
    ],
)
def test_the_parameters_that_matter_rank_first(f, top):
    imp = param_importances(synthetic(400, f), SPACE)
    ranked = list(imp.importances)
    assert ranked[: len(top)] == top
    assert sum(imp.importances.values()) == pytest.approx(1.0)
    unused = [name for name in ranked if name not in top]
    assert all(imp.importances[name] < 0.03 for name in unused), imp.importances


def test_the_shares_match_the_known_variance_decomposition():
    # f = a + 2*[act is gelu]: Var(a) = 1/12, Var(2*Bernoulli(1/4)) = 4 * 3/16; no interaction
    imp = param_importances(synthetic(2000, lambda p: p["a"] + 2.0 * (p["act"] == "gelu")), SPACE)
    total = 1 / 12 + 0.75
    assert imp.importances["act"] == pytest.approx(0.75 / total, abs=0.03)
    assert imp.importances["a"] == pytest.approx((1 / 12) / total, abs=0.03)


def test_too_few_trials_or_a_flat_metric_give_zeros_not_an_error():
    assert set(param_importances(synthetic(1, lambda p: p["a"]), SPACE).importances.values()) == {0.0}
    assert set(param_importances(synthetic(50, lambda p: 1.0)[:1], SPACE).importances.values()) == {0.0}
    flat = [Trial(i, {"a": i / 10}, TrialState.FINISHED, metric=1.0) for i in range(10)]
    assert param_importances(flat).importances == {"a": 0.0}


def test_it_is_deterministic_and_under_a_second_at_1000_trials():
    trials = synthetic(1000, lambda p: 4 * p["a"] + np.sin(3 * p["b"]) + (p["act"] == "gelu"))
    first = param_importances(trials, SPACE)
    started = time.perf_counter()
    again = param_importances(trials, SPACE)
    elapsed = time.perf_counter() - started
    assert again == first
    assert elapsed < 1.0


def test_only_comparable_metrics_feed_it_the_largest_budget_under_asha():
    # at the largest budget only 'a' matters; the low-budget metrics (driven by 'b') must not count
    rng = np.random.default_rng(3)
    trials = []
    for tid, p in enumerate(SPACE.get_random_parameter_values(600, rng=rng)):
        top = tid % 3 == 0
        metric = p["a"] if top else 10 * p["b"]
        trials.append(Trial(tid, p, TrialState.FINISHED, metric=float(metric), budget=9.0 if top else 1.0))
    imp = param_importances(trials, SPACE)
    assert imp.n_trials == 200
    assert next(iter(imp.importances)) == "a" and imp.importances["b"] < 0.03


def test_params_missing_from_some_trials_do_not_break_it():
    full = synthetic(300, lambda p: 4 * p["a"] + p["b"])
    for t in full[:100]:  # trials run before 'b' was added to the space
        del t.params["b"]
    imp = param_importances(full, SPACE)
    assert list(imp.importances)[:2] == ["a", "b"]
