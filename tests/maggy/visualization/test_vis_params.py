"""Parallel coordinates and slices: per-axis normalisation, categoricals as indices, comparable trials."""

from __future__ import annotations

import math

import numpy as np

from maggy import Searchspace
from maggy.trial import Trial, TrialState
from maggy.visualization import parallel_coordinates, slices

SPACE = Searchspace(
    lr=("DOUBLE", [0.001, 0.1], "log"),
    units=("INTEGER", [8, 64]),
    act=("CATEGORICAL", ["relu", "tanh", "gelu"]),
)


def trial(tid, lr, units, act, metric, state=TrialState.FINISHED, budget=None):
    return Trial(
        tid, {"lr": lr, "units": units, "act": act}, state, metric=metric, end=float(tid), budget=budget
    )


def test_axes_map_params_onto_unit_space_as_the_space_spreads_them():
    trials = [
        trial(0, 0.001, 8, "relu", 0.5),
        trial(1, 0.01, 36, "gelu", 0.9),
        trial(2, 0.1, 64, "tanh", 0.7),
    ]
    pc = parallel_coordinates(trials, "max", SPACE)
    lr, units, act = pc.axes
    assert [a.name for a in pc.axes] == ["lr", "units", "act"]
    assert np.allclose(lr.unit, [0.0, 0.5, 1.0])  # log scale: 0.01 is halfway between 0.001 and 0.1
    assert np.allclose(units.unit, [0.0, 0.5, 1.0])
    assert act.kind == "categorical" and act.choices == ("relu", "tanh", "gelu")
    assert act.values.tolist() == [0.0, 2.0, 1.0]  # indices in the space's order
    assert np.allclose(act.unit, [0.0, 1.0, 0.5])
    assert [label for _, label in act.ticks()] == ["relu", "tanh", "gelu"]
    assert np.allclose(pc.metric_unit, [0.0, 1.0, 0.5])  # 1 is best for max
    assert np.allclose(parallel_coordinates(trials, "min", SPACE).metric_unit, [1.0, 0.0, 0.5])
    assert pc.matrix().shape == (3, 4)


def test_without_a_space_types_and_ranges_come_from_the_trials_and_missing_params_are_nan():
    trials = [
        Trial(0, {"a": 2, "b": "x"}, TrialState.FINISHED, metric=1.0),
        Trial(1, {"a": 4}, TrialState.FINISHED, metric=2.0),  # a trial run before 'b' existed
    ]
    a, b = parallel_coordinates(trials, "max").axes
    assert a.kind == "numeric" and np.allclose(a.unit, [0.0, 1.0])
    assert b.kind == "categorical" and b.values[0] == 0 and math.isnan(b.values[1])


def test_only_comparable_trials_are_drawn_and_slices_carry_raw_values():
    trials = [
        trial(0, 0.01, 8, "relu", 0.3, budget=1.0),  # a low-budget metric does not compare
        trial(1, 0.02, 16, "tanh", 0.8, budget=9.0),
        trial(2, 0.05, 32, "gelu", None, state=TrialState.ERROR),
        trial(3, 0.03, 24, "relu", 0.6, budget=9.0),
    ]
    assert parallel_coordinates(trials, "max", SPACE.to_dict()).trial_ids.tolist() == [1, 3]
    by_name = {s.column.name: s for s in slices(trials, SPACE)}
    assert by_name["units"].x.tolist() == [16.0, 24.0]
    assert by_name["act"].x.tolist() == [1.0, 0.0]
    assert by_name["lr"].metric.tolist() == [0.8, 0.6]
    assert by_name["lr"].trial_ids.tolist() == [1, 3]
