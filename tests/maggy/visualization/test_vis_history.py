"""Optimization history: best so far in end order, by maggy's one best-trial rule."""

from __future__ import annotations

import math
import random

import pytest

from maggy.core.result import best_trial
from maggy.trial import Trial, TrialState
from maggy.visualization import optimization_history


def T(tid, metric, end, state=TrialState.FINISHED, budget=None):
    return Trial(tid, {"x": tid}, state, metric=metric, start=0.0, end=end, budget=budget)


def test_points_follow_end_order_and_best_so_far_follows_the_direction():
    trials = [
        T(0, 3.0, end=30.0),
        T(1, 5.0, end=10.0),
        T(2, 1.0, end=20.0),
        T(3, None, end=5.0, state=TrialState.ERROR),
    ]
    high = optimization_history(trials, "max")
    assert high.trial_ids.tolist() == [1, 2, 0]  # the ERROR trial has no metric: not a point
    assert high.values.tolist() == [5.0, 1.0, 3.0]
    assert high.best.tolist() == [5.0, 5.0, 5.0]
    assert high.best_ids == (1, 1, 1)
    low = optimization_history(trials, "min")
    assert low.best.tolist() == [5.0, 1.0, 1.0]
    assert low.best_ids == (1, 2, 2)


def test_running_trials_are_left_out_and_an_empty_history_is_empty():
    running = Trial(0, {"x": 1}, TrialState.RUNNING, metric=None, start=0.0)
    assert len(optimization_history([running], "max")) == 0
    with pytest.raises(ValueError, match="direction"):
        optimization_history([], "up")


def test_partial_metrics_count_only_until_a_trial_finishes():
    trials = [T(0, 9.0, end=1.0, state=TrialState.EARLY_STOPPED), T(1, 2.0, end=2.0)]
    h = optimization_history(trials, "max")
    assert h.best.tolist() == [9.0, 2.0]  # as best_trial: FINISHED trials beat partial ones
    assert h.best_ids == (0, 1)


def test_best_so_far_is_best_trial_of_every_prefix_with_budgets_states_and_ties():
    rng = random.Random(7)
    states = [TrialState.FINISHED] * 4 + [TrialState.EARLY_STOPPED, TrialState.STOPPED, TrialState.ERROR]
    for _ in range(50):
        trials = []
        for tid in range(rng.randint(1, 25)):
            state = rng.choice(states)
            metric = None if state is TrialState.ERROR else float(rng.randint(0, 5))
            budget = rng.choice([None, 1.0, 3.0, 9.0]) if rng.random() < 0.5 else None
            trials.append(T(tid, metric, end=float(rng.randint(0, 10)), state=state, budget=budget))
        for direction in ("max", "min"):
            h = optimization_history(trials, direction)
            by_id = {t.trial_id: t for t in trials}
            for k in range(len(h)):
                prefix = [by_id[int(i)] for i in h.trial_ids[: k + 1]]
                expected = best_trial(prefix, direction)
                assert h.best_ids[k] == (expected.trial_id if expected else None)
                if expected is None:
                    assert math.isnan(h.best[k])
                else:
                    assert h.best[k] == expected.metric
