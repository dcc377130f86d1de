"""TPE and GP driven with plain Trial objects: seeds, every type, directions, pending trials, FINISHED."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from maggy import Searchspace
from maggy.optimizer import FINISHED, GP, TPE, WAIT, AbstractOptimizer, get_optimizer
from maggy.optimizer._encoding import config_key
from maggy.trial import Trial, TrialState

MIXED = Searchspace(
    lr=("DOUBLE", [1e-6, 1.0], "log"),
    units=("INTEGER", [8, 512], "log"),
    batch=("DISCRETE", [16, 32, 64, 128]),
    act=("CATEGORICAL", ["relu", "tanh", "sigmoid"]),
)


def objective(p: dict[str, Any]) -> float:
    """Best at lr = 1e-4, units = 64, batch = 32, act = 'tanh' (maximise)."""
    return (
        -((math.log10(p["lr"]) + 4) ** 2)
        - math.log2(p["units"] / 64) ** 2
        - abs(math.log2(p["batch"] / 32))
        - (0.0 if p["act"] == "tanh" else 2.0)
    )


MAKERS: dict[str, Callable[..., AbstractOptimizer]] = {
    "tpe": lambda **kw: TPE(n_startup=kw.pop("n_startup", 8), **kw),
    "gp": lambda **kw: GP(n_startup=kw.pop("n_startup", 8), **kw),
}


def run(
    opt: AbstractOptimizer,
    n: int,
    fn: Callable[[dict[str, Any]], float] = objective,
    direction: str = "max",
    space: Searchspace = MIXED,
    seed: int = 0,
) -> list[Any]:
    """A single-worker loop: suggest, evaluate, report, until n trials or FINISHED."""
    opt.setup(space, n, direction, np.random.default_rng(seed))
    out: list[Any] = []
    for i in range(n):
        s = opt.suggest()
        if s is FINISHED:
            break
        assert isinstance(s, dict)
        out.append(s)
        opt.on_trial_finished(Trial(i, s, state=TrialState.FINISHED, metric=fn(s)))
    return out


@pytest.fixture(params=sorted(MAKERS))
def make(request: pytest.FixtureRequest) -> Callable[..., AbstractOptimizer]:
    return MAKERS[request.param]


def test_names_resolve() -> None:
    assert type(get_optimizer("tpe")) is TPE and type(get_optimizer("GP")) is GP


def test_same_seed_same_suggestions(make: Callable[..., AbstractOptimizer]) -> None:
    a, b = run(make(), 16, seed=3), run(make(), 16, seed=3)
    assert a == b
    assert run(make(), 16, seed=4) != a
    assert run(make(seed=9), 16, seed=1) == run(make(seed=9), 16, seed=2)  # the seed argument wins


def test_every_type_valid_and_the_model_finds_the_log_scale_optimum(
    make: Callable[..., AbstractOptimizer],
) -> None:
    out = run(make(), 40, seed=0)
    assert len(out) == 40 and len({config_key(s) for s in out}) == 40
    for s in out:
        assert list(s) == ["lr", "units", "batch", "act"]
        assert type(s["lr"]) is float and 1e-6 <= s["lr"] <= 1.0
        assert type(s["units"]) is int and 8 <= s["units"] <= 512
        assert s["batch"] in (16, 32, 64, 128) and s["act"] in ("relu", "tanh", "sigmoid")
    best = max(out, key=objective)
    assert 1e-5 <= best["lr"] <= 1e-3 and best["act"] == "tanh" and objective(best) > -1.5
    model_lrs = [math.log10(s["lr"]) for s in out[20:]]  # the model concentrates near 1e-4 (log scale)
    assert np.median(model_lrs) == pytest.approx(-4, abs=1.0)


def test_direction_min_is_the_mirror_of_max(make: Callable[..., AbstractOptimizer]) -> None:
    up = run(make(), 20, objective, "max", seed=5)
    down = run(make(), 20, lambda p: -objective(p), "min", seed=5)
    assert up == down


def test_pending_trials_steer_parallel_suggestions_apart(make: Callable[..., AbstractOptimizer]) -> None:
    space = Searchspace(x=("DOUBLE", [0.0, 1.0]), y=("DOUBLE", [0.0, 1.0]))
    opt = make(n_startup=6)
    run(opt, 6, lambda p: -((p["x"] - 0.3) ** 2) - (p["y"] - 0.7) ** 2, space=space, seed=1)
    opt.num_trials = 20
    batch = [opt.suggest() for _ in range(4)]  # four free workers, no result in between
    points = np.array([[s["x"], s["y"]] for s in batch])  # type: ignore[index]
    gaps = [np.linalg.norm(points[i] - points[j]) for i in range(4) for j in range(i)]
    assert min(gaps) > 0.01
    assert len(opt._pending) == 4  # type: ignore[attr-defined]
    for i, s in enumerate(batch):
        opt.on_trial_finished(Trial(10 + i, s, state=TrialState.ERROR))  # type: ignore[arg-type]
    assert len(opt._pending) == 0  # type: ignore[attr-defined]


def test_finite_space_no_repeats_then_finished(make: Callable[..., AbstractOptimizer]) -> None:
    space = Searchspace(k=("DISCRETE", [1, 2, 3]), c=("CATEGORICAL", ["a", "b"]))
    opt = make(n_startup=2)
    out = run(opt, 50, lambda p: p["k"] + (p["c"] == "a"), space=space)
    assert opt.planned_trials() == 6 and len(out) == 6
    assert len({config_key(s) for s in out}) == 6
    assert opt.suggest() is FINISHED


def test_never_waits_and_finishes_after_num_trials(make: Callable[..., AbstractOptimizer]) -> None:
    opt = make()
    opt.setup(MIXED, 5, "max", np.random.default_rng(0))
    out = [opt.suggest() for _ in range(5)]
    assert all(isinstance(s, dict) for s in out) and WAIT not in out
    assert opt.suggest() is FINISHED


def test_unusable_trials_do_not_count_towards_startup(make: Callable[..., AbstractOptimizer]) -> None:
    opt = make(n_startup=3)
    opt.setup(MIXED, 20, "max", np.random.default_rng(0))
    for i, state in enumerate([TrialState.STOPPED, TrialState.ERROR, TrialState.LOST]):
        s = opt.suggest()
        opt.on_trial_finished(Trial(i, s, state=state, metric=None if state is TrialState.ERROR else 1.0))  # type: ignore[arg-type]
    assert len(opt._history) == 0  # type: ignore[attr-defined]
    s = opt.suggest()
    opt.on_trial_finished(Trial(3, s, state=TrialState.EARLY_STOPPED, metric=0.5))  # type: ignore[arg-type]
    assert len(opt._history) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (TPE, {"n_startup": 0}, "n_startup must be an int >= 1"),
        (TPE, {"n_candidates": 2.5}, "n_candidates"),
        (GP, {"max_observations": 5}, "max_observations must be an int >= 10"),
        (GP, {"n_startup": True}, "n_startup"),
    ],
)
def test_bad_arguments_are_rejected(cls: type, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_gp_caps_its_history_keeping_the_best_and_the_latest() -> None:
    from maggy.optimizer.gp import _cap

    losses = np.array([5.0, 0.0, 7.0, 1.0, 9.0, 8.0, 6.0, 4.0, 3.0, 2.0])
    assert _cap(losses, 20).tolist() == list(range(10))
    assert _cap(losses, 4).tolist() == [1, 3, 8, 9]  # best two (0.0, 1.0) + the two most recent others


def test_gp_without_scipy_fails_at_setup_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.delitem(sys.modules, "maggy.optimizer._gp_model", raising=False)
    opt = GP()  # constructing (get_optimizer('gp')) needs no scipy
    with pytest.raises(ImportError, match="pip install scipy"):
        opt.setup(MIXED, 10, "max", np.random.default_rng(0))
