"""GridSearch: all types, deterministic order, planned_trials, size limits, logging."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from maggy import Searchspace
from maggy.optimizer import FINISHED, GridSearch


def grid(opt: GridSearch, sp: Searchspace, num_trials: int = 1, seed: int = 0) -> list[dict]:
    opt.setup(sp, num_trials, "max", np.random.default_rng(seed))
    out = []
    while (s := opt.suggest()) is not FINISHED:
        assert isinstance(s, dict)
        out.append(s)
    return out


def test_covers_all_types_in_cartesian_order() -> None:
    sp = Searchspace(
        x=("DOUBLE", [0.0, 1.0]),
        n=("INTEGER", [1, 2]),
        d=("DISCRETE", [8, 16]),
        c=("CATEGORICAL", ["a", "b"]),
    )
    out = grid(GridSearch(grid_points_per_double=3), sp)
    assert len(out) == 3 * 2 * 2 * 2
    # First parameter varies slowest, the last fastest.
    assert out[:3] == [
        {"x": 0.0, "n": 1, "d": 8, "c": "a"},
        {"x": 0.0, "n": 1, "d": 8, "c": "b"},
        {"x": 0.0, "n": 1, "d": 16, "c": "a"},
    ]
    assert out[-1] == {"x": 1.0, "n": 2, "d": 16, "c": "b"}
    assert sorted({s["x"] for s in out}) == [0.0, 0.5, 1.0]
    assert all(type(s["x"]) is float and type(s["n"]) is int for s in out)
    assert len({tuple(s.values()) for s in out}) == len(out)


def test_deterministic_and_independent_of_seed() -> None:
    sp = Searchspace(x=("DOUBLE", [1e-3, 1e-1], "log"), c=("CATEGORICAL", ["a", "b"]))
    assert grid(GridSearch(), sp, seed=1) == grid(GridSearch(), sp, seed=2)


def test_planned_trials_is_grid_size_and_finished_after_it(caplog: pytest.LogCaptureFixture) -> None:
    sp = Searchspace(x=("DOUBLE", [0, 1]), c=("CATEGORICAL", ["a", "b", "c"]))
    opt = GridSearch()  # 5 points per DOUBLE
    with caplog.at_level(logging.INFO, logger="maggy"):
        opt.setup(sp, 10, "max", np.random.default_rng(0))
    assert opt.planned_trials() == 15
    assert any(
        "15 grid points" in r.getMessage() and "num_trials=10" in r.getMessage() for r in caplog.records
    )
    out = [opt.suggest() for _ in range(15)]
    assert all(isinstance(s, dict) for s in out)
    assert opt.suggest() is FINISHED
    assert opt.suggest() is FINISHED


def test_no_log_when_num_trials_matches(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="maggy"):
        GridSearch().setup(Searchspace(c=("CATEGORICAL", ["a", "b"])), 2, "max", np.random.default_rng(0))
    assert not [r for r in caplog.records if "GridSearch" in r.getMessage()]


def test_log_double_is_geometric_with_exact_bounds() -> None:
    out = grid(GridSearch(grid_points_per_double=3), Searchspace(lr=("DOUBLE", [1e-4, 1e-2], "log")))
    assert [s["lr"] for s in out] == pytest.approx([1e-4, 1e-3, 1e-2])
    assert out[0]["lr"] == 1e-4 and out[-1]["lr"] == 1e-2


def test_integer_full_range_or_capped() -> None:
    sp = Searchspace(n=("INTEGER", [0, 100]))
    assert [s["n"] for s in grid(GridSearch(), sp)] == list(range(101))
    capped = [s["n"] for s in grid(GridSearch(grid_points_per_integer=5), sp)]
    assert capped == [0, 25, 50, 75, 100]
    log_capped = [
        s["n"]
        for s in grid(GridSearch(grid_points_per_integer=4), Searchspace(n=("INTEGER", [1, 1000], "log")))
    ]
    assert log_capped == [1, 10, 100, 1000]
    small = [s["n"] for s in grid(GridSearch(grid_points_per_integer=10), Searchspace(n=("INTEGER", [3, 5])))]
    assert small == [3, 4, 5]  # the cap only thins out ranges larger than it


def test_suggestions_are_copies() -> None:
    opt = GridSearch()
    opt.setup(Searchspace(c=("CATEGORICAL", ["a"])), 1, "max", np.random.default_rng(0))
    s = opt.suggest()
    assert isinstance(s, dict)
    s["c"] = "mutated"
    assert opt.grid == [{"c": "a"}]


def test_absurd_grid_is_refused_with_a_fix() -> None:
    sp = Searchspace(a=("INTEGER", [0, 10**9]), b=("DOUBLE", [0, 1]))
    opt = GridSearch()
    with pytest.raises(
        ValueError, match=r"a: 1000000001 x b: 5.*max_grid_size=100000.*grid_points_per_integer"
    ):
        opt.setup(sp, 10, "max", np.random.default_rng(0))
    opt = GridSearch(grid_points_per_integer=10, max_grid_size=50)
    opt.setup(sp, 10, "max", np.random.default_rng(0))
    assert opt.planned_trials() == 50


@pytest.mark.parametrize(
    "kwargs",
    [
        {"grid_points_per_double": 1},
        {"grid_points_per_double": 2.5},
        {"grid_points_per_integer": 1},
        {"max_grid_size": 0},
        {"grid_points_per_double": True},
    ],
)
def test_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        GridSearch(**kwargs)


def test_an_integer_over_the_whole_int64_span_is_refused_as_too_big_or_thinned_within_bounds() -> None:
    # len(range(...)) of 2**64 integers overflowed (OverflowError), and thinned end points beyond
    # 2**53 were rounded past the upper bound.
    sp = Searchspace(n=("INTEGER", [-(2**63), 2**63 - 1]))
    with pytest.raises(ValueError, match="the grid has 18446744073709551616 points"):
        GridSearch().setup(sp, 5, "max", np.random.default_rng(0))
    values = [s["n"] for s in grid(GridSearch(grid_points_per_integer=5), sp)]
    assert values[0] == -(2**63) and values[-1] == 2**63 - 1 and len(values) == 5
    log_sp = Searchspace(n=("INTEGER", [1, 2**63 - 1], "log"))
    assert [s["n"] for s in grid(GridSearch(grid_points_per_integer=3), log_sp)][-1] == 2**63 - 1
