"""Sanity, not a benchmark: TPE and GP beat random search on average on a cheap function.

Deterministic (fixed seeds, no timing); bench/optimizers.py has the real comparison.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from maggy import Searchspace
from maggy.optimizer import GP, TPE, AbstractOptimizer, RandomSearch
from maggy.trial import Trial, TrialState

SPACE = Searchspace(
    x=("DOUBLE", [-5.0, 10.0]),
    y=("DOUBLE", [0.0, 15.0]),
    scale=("DOUBLE", [1e-3, 1e3], "log"),
    k=("INTEGER", [0, 20]),
)


def loss(p: dict) -> float:
    """Branin plus a log-scale bowl and an integer bowl; minimum 0.397887 at scale=1, k=7."""
    x, y = p["x"], p["y"]
    branin = (
        (y - 5.1 / (4 * math.pi**2) * x**2 + 5 / math.pi * x - 6) ** 2
        + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x)
        + 10
    )
    return branin + 2 * math.log10(p["scale"]) ** 2 + 0.2 * (p["k"] - 7) ** 2


def best_loss(opt: AbstractOptimizer, seed: int, n: int = 40) -> float:
    opt.setup(SPACE, n, "min", np.random.default_rng(seed))
    best = math.inf
    for i in range(n):
        params = opt.suggest()
        assert isinstance(params, dict)
        value = loss(params)
        best = min(best, value)
        opt.on_trial_finished(Trial(i, params, state=TrialState.FINISHED, metric=value))
    return best


@pytest.mark.parametrize("make", [lambda: TPE(n_startup=10), lambda: GP(n_startup=10)], ids=["tpe", "gp"])
def test_beats_random_search_on_average(make) -> None:
    seeds = range(4)
    random = np.mean([best_loss(RandomSearch(), s) for s in seeds])
    model = np.mean([best_loss(make(), s) for s in seeds])
    assert model < 0.6 * random, (model, random)
