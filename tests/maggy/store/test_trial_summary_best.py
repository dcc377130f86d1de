"""A store's listing names the best trial by maggy's one rule (``maggy.core.result.best_trial``),
in SQLiteStore's own query and in the ExperimentStore default alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from maggy.core.result import best_trial
from maggy.store import ExperimentRecord, ExperimentStore, open_store
from maggy.trial import Trial, TrialState

EXP = "20250101-000000-000001"


def _record(direction: str) -> ExperimentRecord:
    return ExperimentRecord(
        experiment_id=EXP,
        name="asha",
        description="",
        experiment_type="optimization",
        searchspace={},
        optimizer="asha",
        direction=direction,
        num_trials=6,
        config={},
        status="RUNNING",
        start=10.0,
    )


TRIALS = [
    Trial(0, {"x": 0}, TrialState.FINISHED, metric=0.99, budget=1.0),  # best of all, but at budget 1
    Trial(1, {"x": 1}, TrialState.FINISHED, metric=0.01, budget=1.0),  # worst of all, at budget 1
    Trial(2, {"x": 2}, TrialState.FINISHED, metric=0.80, budget=9.0),
    Trial(3, {"x": 3}, TrialState.FINISHED, metric=0.85, budget=9.0),
    Trial(4, {"x": 4}, TrialState.EARLY_STOPPED, metric=0.95, budget=3.0),
    Trial(5, {"x": 5}, TrialState.ERROR),
]


@pytest.mark.parametrize(("direction", "best"), [("max", 3), ("min", 2)])
@pytest.mark.parametrize("summary", ["sqlite", "default"])
def test_trial_summary_compares_only_the_largest_budget_reached(tmp_path: Path, direction, best, summary):
    with open_store(tmp_path / "store.db") as store:
        store.create_experiment(_record(direction))
        for trial in TRIALS:
            store.save_trial(EXP, trial)
        # The base class's default (reading trials) and SQLiteStore's override must agree.
        got = (
            store.trial_summary(EXP, direction)
            if summary == "sqlite"
            else ExperimentStore.trial_summary(store, EXP, direction)
        )
    assert (got.total, got.done) == (6, 6)
    assert (got.best_id, got.best_metric) == (best, TRIALS[best].metric)
    assert best_trial(TRIALS, direction).trial_id == best


@pytest.mark.parametrize("summary", ["sqlite", "default"])
def test_trial_summary_falls_back_to_partial_metrics(tmp_path: Path, summary):
    with open_store(tmp_path / "store.db") as store:
        store.create_experiment(_record("max"))
        store.save_trial(EXP, Trial(0, {}, TrialState.STOPPED, metric=0.4))
        store.save_trial(EXP, Trial(1, {}, TrialState.EARLY_STOPPED, metric=0.7))
        store.save_trial(EXP, Trial(2, {}, TrialState.RUNNING))
        got = (
            store.trial_summary(EXP, "max")
            if summary == "sqlite"
            else ExperimentStore.trial_summary(store, EXP, "max")
        )
    assert (got.total, got.done, got.best_id, got.best_metric) == (3, 2, 1, 0.7)
