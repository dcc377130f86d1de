"""The ablation keys of the result dict, computed from trials (no workers, no TensorFlow)."""

from __future__ import annotations

import pytest

from maggy.core.result import build_result
from maggy.trial import Trial, TrialState


def trial(trial_id, label, metric, state=TrialState.FINISHED, retry_of=None):
    return Trial(trial_id, {"ablated": label}, state=state, metric=metric, retry_of=retry_of)


TRIALS = [
    trial(0, "base", 0.80),
    trial(1, "feature:pclass", 0.70),
    trial(2, "feature:fare", 0.82),
    trial(3, "layer:my_dense_two", None, TrialState.ERROR),
    trial(4, "group:my_dense*", 0.60, TrialState.EARLY_STOPPED),
    trial(5, "model:small", 0.79),
]


def test_each_trial_says_what_was_ablated_and_its_change_against_the_base():
    result = build_result("e1", list(reversed(TRIALS)), "max", 1.0, "FINISHED", "ablation")
    assert result["base_id"] == 0 and result["base_val"] == 0.80
    assert [r["ablated"] for r in result["ablations"]] == [t.params["ablated"] for t in TRIALS]
    first, pclass, _, broken, group, _ = result["ablations"]
    assert first == {
        "trial_id": 0,
        "ablated": "base",
        "kind": "base",
        "component": None,
        "state": "FINISHED",
        "metric": 0.80,
        "delta": 0.0,
    }
    assert (pclass["kind"], pclass["component"]) == ("feature", "pclass")
    assert pclass["delta"] == pytest.approx(-0.10)
    assert broken["delta"] is None and broken["state"] == "ERROR"
    assert (group["kind"], group["component"], group["state"]) == ("group", "my_dense*", "EARLY_STOPPED")
    assert result["deltas"] == pytest.approx(
        {"feature:pclass": -0.10, "feature:fare": 0.02, "group:my_dense*": -0.20, "model:small": -0.01}
    )
    assert result["most_important"] == "group:my_dense*"
    # The optimization keys stay as they were.
    assert result["best_config"] == {"ablated": "feature:fare"} and result["errors"] == 1


def test_min_direction_flips_what_counts_as_worse():
    result = build_result("e", TRIALS, "min", 1.0, "FINISHED", "ablation")
    assert result["most_important"] == "feature:fare"
    improving = [trial(0, "base", 1.0), trial(1, "feature:a", 0.5)]
    assert build_result("e", improving, "min", 1.0, "FINISHED", "ablation")["most_important"] is None


def test_a_retried_component_counts_once_preferring_its_finished_attempt():
    trials = [
        trial(0, "base", None, TrialState.LOST),
        trial(1, "feature:a", 0.5),
        trial(2, "base", 0.9, retry_of=0),
    ]
    result = build_result("e", trials, "max", 1.0, "FINISHED", "ablation")
    assert result["base_id"] == 2 and result["deltas"] == pytest.approx({"feature:a": -0.4})
    assert [r["delta"] for r in result["ablations"]] == [None, pytest.approx(-0.4), 0.0]


def test_without_a_base_metric_there_are_no_deltas():
    trials = [trial(0, "base", None, TrialState.ERROR), trial(1, "feature:a", 0.5)]
    result = build_result("e", trials, "max", 1.0, "FINISHED", "ablation")
    assert result["base_id"] is None and result["deltas"] == {} and result["most_important"] is None


def test_optimization_results_get_no_ablation_keys():
    # even when a trial's params happen to look like an ablation label
    trials = [Trial(0, {"ablated": "base"}, state=TrialState.FINISHED, metric=1.0)]
    assert "ablations" not in build_result("e", trials, "max", 1.0, "FINISHED")
    assert "ablations" not in build_result("e", [], "max", 1.0, "FINISHED")
