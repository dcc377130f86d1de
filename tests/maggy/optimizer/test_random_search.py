"""RandomSearch: reproducible, every type, no repeats while there is room, FINISHED."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from maggy import Searchspace
from maggy.optimizer import FINISHED, RandomSearch


def run(opt: RandomSearch, sp: Searchspace, num_trials: int, seed: int = 0, limit: int = 10_000) -> list[Any]:
    """Set ``opt`` up and collect suggestions until FINISHED (at most ``limit``)."""
    opt.setup(sp, num_trials, "max", np.random.default_rng(seed))
    out: list[Any] = []
    for _ in range(limit):
        s = opt.suggest()
        if s is FINISHED:
            return out
        out.append(s)
    raise AssertionError("RandomSearch never returned FINISHED")


MIXED = Searchspace(
    lr=("DOUBLE", [1e-4, 1e-1], "log"),
    units=("INTEGER", [8, 64]),
    batch=("DISCRETE", [16, 32, 64]),
    act=("CATEGORICAL", ["relu", "tanh", None]),
)


def test_same_seed_same_sequence() -> None:
    a = run(RandomSearch(), MIXED, 30, seed=42)
    b = run(RandomSearch(), MIXED, 30, seed=42)
    c = run(RandomSearch(), MIXED, 30, seed=43)
    assert a == b
    assert a != c


def test_covers_every_type_with_plain_values() -> None:
    out = run(RandomSearch(), MIXED, 200)
    assert len(out) == 200
    for s in out:
        assert set(s) == {"lr", "units", "batch", "act"}
        assert type(s["lr"]) is float and 1e-4 <= s["lr"] <= 1e-1
        assert type(s["units"]) is int and 8 <= s["units"] <= 64
        assert s["batch"] in (16, 32, 64)
        assert s["act"] in ("relu", "tanh", None)
    assert {s["act"] for s in out} == {"relu", "tanh", None}
    json.dumps(out)


def test_finished_after_num_trials_and_stays_finished() -> None:
    opt = RandomSearch()
    out = run(opt, MIXED, 5)
    assert len(out) == 5
    assert opt.planned_trials() == 5
    assert opt.suggest() is FINISHED


def test_all_categorical_space_is_exhausted_without_repeats() -> None:
    sp = Searchspace(a=("CATEGORICAL", ["x", "y", "z"]), b=("CATEGORICAL", [True, False]))
    opt = RandomSearch()
    opt.setup(sp, 100, "min", np.random.default_rng(0))
    assert opt.planned_trials() == 6  # the space is smaller than num_trials
    out = run(opt, sp, 100)
    assert len(out) == 6
    assert {(s["a"], s["b"]) for s in out} == {(a, b) for a in "xyz" for b in (True, False)}


def test_finite_space_exhaustion_uses_fallback_with_few_tries() -> None:
    # max_tries=1 forces the without-replacement fallback early; it must still cover the space once.
    sp = Searchspace(n=("INTEGER", [1, 50]), d=("DISCRETE", [1, 2]))
    out = run(RandomSearch(max_tries=1), sp, 1000, seed=3)
    keys = [(s["n"], s["d"]) for s in out]
    assert len(keys) == 100 and len(set(keys)) == 100
    assert run(RandomSearch(max_tries=1), sp, 1000, seed=3) == out  # fallback shuffle is seeded too


def test_no_repeats_when_the_space_has_room() -> None:
    sp = Searchspace(n=("INTEGER", [1, 30]))
    out = run(RandomSearch(), sp, 25)
    assert len(out) == 25 and len({s["n"] for s in out}) == 25


def test_infinite_space_plans_num_trials() -> None:
    opt = RandomSearch()
    opt.setup(Searchspace(x=("DOUBLE", [0, 1]), c=("CATEGORICAL", ["a"])), 7, "max", np.random.default_rng(0))
    assert opt.planned_trials() == 7


def test_max_tries_is_validated() -> None:
    for bad in (0, -1, 1.5, True):
        try:
            RandomSearch(max_tries=bad)  # type: ignore[arg-type]
        except ValueError as exc:
            assert "max_tries" in str(exc)
        else:
            raise AssertionError(f"max_tries={bad!r} was accepted")


def test_on_trial_finished_records_trials() -> None:
    from maggy.trial import Trial

    opt = RandomSearch()
    opt.setup(MIXED, 2, "max", np.random.default_rng(0))
    params = opt.suggest()
    assert isinstance(params, dict)
    trial = Trial(trial_id=0, params=params)
    opt.on_trial_finished(trial)
    assert opt.trials == [trial]
