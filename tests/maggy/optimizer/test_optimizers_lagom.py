"""Each new optimizer name through a real lagom(): local worker processes, sockets, SQLite store."""

from __future__ import annotations

import pytest

from maggy import Searchspace, experiment
from maggy.optimizer import Asha
from maggy.store import open_store
from maggy.trial import TrialState

pytestmark = pytest.mark.integration

SPACE = Searchspace(
    x=("DOUBLE", [0.0, 6.0]),
    lr=("DOUBLE", [1e-4, 1.0], "log"),
    k=("INTEGER", [-2, 4]),
    act=("CATEGORICAL", ["relu", "tanh"]),
)


def toy(x, lr, k, act):
    import math

    return -((x - 3) ** 2) - (math.log10(lr) + 2) ** 2 - (k - 1) ** 2 - (0 if act == "tanh" else 1)


def toy_budget(x, lr, k, act, budget):
    # More budget, closer to the true value (an under-trained model looks worse).
    return toy(x, lr, k, act) - 3.0 / budget


def run(fn, tmp_path, num_workers=2, **kwargs):
    store_path = str(tmp_path / "s.db")
    result = experiment.lagom(
        fn, num_workers=num_workers, progress=False, store=store_path, searchspace=SPACE, **kwargs
    )
    return result, open_store(store_path).get_trials(result["experiment_id"])


@pytest.mark.parametrize("name", ["tpe", "gp"])
def test_model_based_optimizers_run_in_parallel_without_repeats(tmp_path, name):
    result, trials = run(toy, tmp_path, optimizer=name, num_trials=20, seed=1)
    assert result["num_trials"] == 20 and result["errors"] == 0
    assert all(t.state is TrialState.FINISHED and t.budget is None for t in trials)
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 20  # pending trials are not re-proposed
    assert result["best_val"] == max(result["metric_list"])


@pytest.mark.parametrize(("name", "floor"), [("tpe", -2.0), ("gp", -0.1)])
def test_model_based_optimizers_improve_on_a_seeded_single_worker_run(tmp_path, name, floor):
    # One worker makes the run deterministic (same seed, same suggestions); with two the order in
    # which results arrive varies and so does the best value, which made a threshold flaky.
    # Seeds 1-5 reach >= -1.8 (tpe) and >= -0.08 (gp); random search over seeds 1-7: median -2.2, worst -4.
    result, _ = run(toy, tmp_path, num_workers=1, optimizer=name, num_trials=20, seed=1)
    assert result["best_val"] > floor


@pytest.mark.parametrize("name", ["asha", "hyperband"])
def test_budgeted_optimizers_pass_budgets_and_promote(tmp_path, name):
    result, trials = run(toy_budget, tmp_path, optimizer=name, num_trials=16, seed=2, es_policy="none")
    assert result["num_trials"] == 16 and result["errors"] == 0
    budgets = [t.budget for t in trials]
    assert set(budgets) <= {1, 3, 9} and 3 in budgets  # 16 trials -> rungs (1, 3, 9)
    by_config: dict = {}
    for t in trials:
        by_config.setdefault(tuple(sorted(t.params.items())), []).append(t.budget)
    assert any(len(b) > 1 for b in by_config.values())  # the same configuration ran again, bigger
    for t in trials:
        assert t.metric == pytest.approx(toy(**t.params) - 3.0 / t.budget)  # budget reached map_fun


def test_configured_asha_instance_and_the_budget_check(tmp_path):
    result, trials = run(
        toy_budget,
        tmp_path,
        optimizer=Asha(reduction_factor=2, min_budget=1, max_budget=4),
        num_trials=8,
        es_policy="none",
    )
    assert result["num_trials"] == 8 and {t.budget for t in trials} <= {1, 2, 4}
    with pytest.raises(ValueError, match="budget"):
        run(toy, tmp_path, optimizer="asha", num_trials=4)  # toy() takes no budget
