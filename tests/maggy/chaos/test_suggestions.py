"""Hostile suggestions against real worker processes: what the wire cannot carry, and `budget`.

A suggestion the wire cannot carry (NaN, an object JSON cannot encode) used to go out to a
worker: the driver's reply failed to encode, every worker got ERR and exited, and lagom waited
forever. It must end as that trial's ERROR, naming the parameter, and the experiment must finish.
A hyperparameter named ``budget`` used to be taken for ASHA's budget by every optimizer (wrong
best trial, metrics dropped); it must be an ordinary hyperparameter.
"""

from __future__ import annotations

import pytest

from maggy import Searchspace, experiment
from maggy.optimizer import FINISHED, AbstractOptimizer, Suggestion
from maggy.store import open_store
from maggy.trial import TrialState


class Scripted(AbstractOptimizer):
    """Suggests ``items`` in order, then FINISHED."""

    def __init__(self, items, uses_budget=False):
        self.items = list(items)
        self.uses_budget = uses_budget

    def planned_trials(self):
        return len(self.items)

    def suggest(self):
        return self.items.pop(0) if self.items else FINISHED


def identity(x):
    return float(x) if isinstance(x, (int, float)) else 0.0


def run(fn, tmp_path, **kwargs):
    store_path = str(tmp_path / "store.db")
    kwargs.setdefault("num_workers", 2)
    result = experiment.lagom(fn, store=store_path, progress=False, **kwargs)
    store = open_store(store_path)
    try:
        return (
            result,
            store.get_experiment(result["experiment_id"]),
            store.get_trials(result["experiment_id"]),
        )
    finally:
        store.close()


@pytest.mark.timeout(60)
def test_a_nan_suggestion_is_that_trials_error_and_the_experiment_finishes(tmp_path):
    items = [{"x": 0.1}, {"x": float("nan")}, {"x": 0.3}, {"x": [1, object()]}, {"x": 0.5}]
    result, record, trials = run(
        identity, tmp_path, searchspace=Searchspace(x=("DOUBLE", [0, 1])), optimizer=Scripted(items)
    )
    assert record.status == "FINISHED" and result["num_trials"] == 5 and result["errors"] == 2
    assert sorted(result["metric_list"]) == [0.1, 0.3, 0.5] and result["best_val"] == 0.5
    states = {t.trial_id: t.state for t in trials}
    assert states == {0: TrialState.FINISHED, 1: TrialState.ERROR, 2: TrialState.FINISHED,
                      3: TrialState.ERROR, 4: TrialState.FINISHED}  # fmt: skip
    bad = {t.trial_id: t for t in trials if t.state is TrialState.ERROR}
    assert "parameter 'x' is nan" in bad[1].error and "cannot be sent to a worker" in bad[1].error
    assert "parameter 'x' = [1, <object object" in bad[3].error and bad[1].worker is None


@pytest.mark.timeout(60)
def test_only_unsendable_suggestions_still_finish(tmp_path):
    items = [{"x": float("inf")}, {"x": float("nan")}]
    result, record, _ = run(
        identity, tmp_path, searchspace=Searchspace(x=("DOUBLE", [0, 1])), optimizer=Scripted(items)
    )
    assert record.status in ("FINISHED", "FAILED") and result["errors"] == 2 and result["best_val"] is None


def with_budget(x, budget):
    return x * budget


@pytest.mark.timeout(60)
@pytest.mark.parametrize("optimizer", ["randomsearch", "gridsearch", "tpe"])
def test_a_hyperparameter_named_budget_is_an_ordinary_one(tmp_path, optimizer):
    space = Searchspace(x=("DOUBLE", [0.1, 1.0]), budget=("INTEGER", [1, 3]))
    result, _, trials = run(
        with_budget, tmp_path, searchspace=space, optimizer=optimizer, num_trials=6, seed=1
    )
    finished = [t for t in trials if t.state is TrialState.FINISHED]
    assert len(finished) == result["num_trials"] >= 6
    assert all(t.budget is None and set(t.params) == {"x", "budget"} for t in trials)
    for t in finished:  # the function received the user's own `budget`
        assert t.metric == pytest.approx(t.params["x"] * t.params["budget"])
    assert len(result["metric_list"]) == len(finished)  # none dropped as "another budget"
    best = max(finished, key=lambda t: t.metric)
    assert result["best_val"] == best.metric and result["best_config"] == best.params


@pytest.mark.timeout(60)
@pytest.mark.parametrize("optimizer", ["asha", "hyperband"])
def test_a_budget_hyperparameter_is_refused_with_budget_optimizers_before_any_worker(tmp_path, optimizer):
    space = Searchspace(x=("DOUBLE", [0.1, 1.0]), budget=("INTEGER", [1, 3]))
    with pytest.raises(ValueError, match=f"named 'budget', but {optimizer.capitalize()} passes its own"):
        run(with_budget, tmp_path, searchspace=space, optimizer=optimizer, num_trials=4)
    assert not (tmp_path / "store.db").exists()  # refused before anything was registered


def x_at_budget(x, budget):
    return x + budget / 100


@pytest.mark.timeout(60)
def test_a_custom_optimizer_grants_budgets_with_suggestion(tmp_path):
    items = [Suggestion({"x": 0.2}, budget=1), Suggestion({"x": 0.2}, budget=3), {"x": 0.4}]
    opt = Scripted(items, uses_budget=True)
    result, _, trials = run(
        x_at_budget, tmp_path, searchspace=Searchspace(x=("DOUBLE", [0, 1])), optimizer=opt
    )
    by_id = {t.trial_id: t for t in trials}
    assert [by_id[i].budget for i in range(3)] == [1, 3, None]
    assert all(t.params == {"x": t.params["x"]} for t in trials)  # the budget never enters the params
    assert by_id[1].metric == pytest.approx(0.23) and by_id[0].metric == pytest.approx(0.21)
    assert (
        by_id[2].state is TrialState.ERROR and "budget" in by_id[2].error
    )  # no budget: x_at_budget needs one
