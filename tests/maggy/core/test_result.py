"""The result dict lagom returns, from plain trials."""

from __future__ import annotations

import pytest

from maggy.core.result import build_result
from maggy.trial import Trial, TrialState


def t(i, metric, state=TrialState.FINISHED, budget=None):
    return Trial(i, {"x": i}, state=state, metric=metric, budget=budget)


@pytest.mark.parametrize("direction,best,worst", [("max", 2, 0), ("min", 0, 2)])
def test_best_worst_avg_by_direction_and_counts(direction, best, worst):
    trials = [
        t(0, 1.0),
        t(1, 2.0),
        t(2, 3.0),
        t(3, 9.0, TrialState.EARLY_STOPPED),
        t(4, None, TrialState.ERROR),
        t(5, 0.5, TrialState.STOPPED),
        t(6, None, TrialState.LOST),
    ]
    r = build_result("e", trials, direction, 4.5, "FINISHED")
    assert (r["best_id"], r["worst_id"]) == (best, worst)
    assert r["best_config"] == {"x": best} and r["avg"] == 2.0 and r["metric_list"] == [1.0, 2.0, 3.0]
    assert (r["num_trials"], r["early_stopped"], r["errors"], r["stopped"], r["lost"]) == (7, 1, 1, 1, 1)
    assert r["duration"] == 4.5 and r["status"] == "FINISHED" and r["experiment_id"] == "e"


def test_without_finished_trials_partial_metrics_are_reported():
    r = build_result(
        "e", [t(0, 0.4, TrialState.STOPPED), t(1, 0.7, TrialState.EARLY_STOPPED)], "max", 1, "STOPPED"
    )
    assert r["best_id"] == 1 and r["best_val"] == 0.7


def test_with_budgets_only_the_largest_budget_reached_is_compared():
    trials = [t(0, 0.95, budget=1), t(1, 0.80, budget=9), t(2, 0.85, budget=9), t(3, 0.99, budget=3)]
    r = build_result("e", trials, "max", 1, "FINISHED")
    assert r["best_id"] == 2 and r["worst_id"] == 1 and r["metric_list"] == [0.80, 0.85]


def test_no_metric_at_all_gives_none_everywhere():
    r = build_result("e", [t(0, None, TrialState.ERROR)], "max", 1, "FINISHED")
    assert r["best_id"] is None and r["best_val"] is None and r["avg"] is None and r["metric_list"] == []


# ---- best_trial: maggy's one rule for "the best trial" -------------------------------------------


@pytest.mark.parametrize("direction,best", [("max", 3), ("min", 2)])
def test_best_trial_compares_only_the_largest_budget_reached(direction, best):
    from maggy.core.result import best_trial

    trials = [t(0, 0.99, budget=1), t(1, 0.01, budget=1), t(2, 0.80, budget=9), t(3, 0.85, budget=9)]
    assert best_trial(trials, direction).trial_id == best


def test_best_trial_falls_back_to_partial_metrics_and_skips_nan():
    from maggy.core.result import best_trial

    nan = float("nan")
    # NaN first: max() keeps a NaN it starts with (nothing compares greater), so it must be left out.
    assert best_trial([t(0, nan), t(1, 0.5), t(2, 0.4)], "max").trial_id == 1
    assert best_trial([t(0, nan), t(1, 0.7, TrialState.EARLY_STOPPED)], "max").trial_id == 1
    assert (
        best_trial([t(0, 0.2, TrialState.STOPPED), t(1, 0.7, TrialState.EARLY_STOPPED)], "min").trial_id == 0
    )
    assert best_trial([t(0, None, TrialState.ERROR), t(1, 0.3, TrialState.LOST)], "max") is None
    assert best_trial([], "min") is None


def test_best_trial_breaks_ties_by_the_lowest_id_in_any_order():
    from maggy.core.result import best_trial

    assert best_trial([t(4, 0.5), t(2, 0.5), t(3, 0.1)], "max").trial_id == 2
    assert best_trial([t(4, 0.1), t(2, 0.1), t(3, 0.5)], "min").trial_id == 2


def test_best_trial_refuses_an_unknown_direction():
    from maggy.core.result import best_trial

    with pytest.raises(ValueError, match="direction must be 'max' or 'min', got 'maximize'"):
        best_trial([t(0, 1.0)], "maximize")


def test_the_result_names_best_trials_choice():
    from maggy.core.result import best_trial

    trials = [t(0, float("nan")), t(1, 0.5, budget=3), t(2, 0.9, budget=1), t(3, 0.4, budget=3)]
    r = build_result("e", trials, "max", 1, "FINISHED")
    assert r["best_id"] == best_trial(trials, "max").trial_id == 1 and r["worst_id"] == 3
