"""AbstractOptimizer.warm_start: each built-in optimizer learns from earlier trials it never suggested."""

from __future__ import annotations

import numpy as np
import pytest

from maggy.optimizer import get_optimizer
from maggy.optimizer._encoding import config_key
from maggy.optimizer.asha import Asha
from maggy.optimizer.base import FINISHED, Suggestion
from maggy.optimizer.gridsearch import GridSearch
from maggy.searchspace import Searchspace
from maggy.trial import Trial, TrialState


def _done(
    i: int, params: dict, metric: float | None, budget: float | None = None, state=TrialState.FINISHED
) -> Trial:
    return Trial(trial_id=i, params=dict(params), state=state, metric=metric, budget=budget)


def _drain(opt) -> list[dict]:
    out = []
    while (s := opt.suggest()) is not FINISHED:
        out.append(s.params if isinstance(s, Suggestion) else s)
    return out


def test_grid_search_skips_points_run_before_and_plans_past_off_grid_ones() -> None:
    space = Searchspace(a=("INTEGER", [0, 2]), b=("CATEGORICAL", ["x", "y"]))
    opt = GridSearch()
    opt.setup(space, 6, "max", np.random.default_rng(0))
    earlier = [
        _done(0, {"a": 0, "b": "x"}, 1.0),
        _done(1, {"a": 2, "b": "y"}, 2.0),
        _done(2, {"a": 7, "b": "x"}, 0.5),
    ]
    opt.warm_start(earlier)
    assert opt.planned_trials() == 7  # six grid points plus the off-grid trial the experiment counted
    assert _drain(opt) == [{"a": 0, "b": "y"}, {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}]


def test_random_search_never_repeats_an_earlier_configuration_of_a_finite_space() -> None:
    space = Searchspace(a=("INTEGER", [0, 3]), b=("CATEGORICAL", [True, False]))
    opt = get_optimizer("randomsearch")
    opt.setup(space, 8, "max", np.random.default_rng(1))
    earlier = [_done(i, {"a": i, "b": True}, float(i)) for i in range(4)]
    opt.warm_start(earlier)
    rest = _drain(opt)
    assert sorted((p["a"], p["b"]) for p in rest) == [(i, False) for i in range(4)]


@pytest.mark.parametrize("name", ["tpe", "gp"])
def test_model_based_optimizers_fit_earlier_results_and_skip_their_configurations(name: str) -> None:
    space = Searchspace(x=("DOUBLE", [0.0, 1.0]), k=("CATEGORICAL", ["a", "b"]))
    rng = np.random.default_rng(3)
    earlier = [
        _done(i, {"x": float(x), "k": "a" if i % 2 else "b"}, -((float(x) - 0.8) ** 2))
        for i, x in enumerate(rng.uniform(0, 1, 12))
    ]
    cold = get_optimizer(name)
    cold.setup(space, 20, "max", np.random.default_rng(7))
    warm = get_optimizer(name)
    warm.setup(space, 20, "max", np.random.default_rng(7))
    warm.warm_start(earlier)
    assert len(warm._history) == 12 and len(cold._history) == 0
    assert {config_key(t.params) for t in earlier} <= warm._seen
    # Past its random start-up phase already: the model's pick lies near the earlier best region.
    picks = [warm.suggest() for _ in range(5)]
    assert all(isinstance(p, dict) for p in picks)
    assert np.median([p["x"] for p in picks]) > 0.5


def test_same_seed_same_history_same_suggestions() -> None:
    space = Searchspace(x=("DOUBLE", [0.0, 1.0]))
    earlier = [_done(i, {"x": i / 10}, -abs(i / 10 - 0.3)) for i in range(10)]
    runs = []
    for _ in range(2):
        opt = get_optimizer("tpe")
        opt.setup(space, 30, "max", np.random.default_rng(11))
        opt.warm_start(earlier)
        runs.append([opt.suggest() for _ in range(5)])
    assert runs[0] == runs[1]


def test_asha_rebuilds_its_rungs_from_earlier_budgets() -> None:
    space = Searchspace(x=("DOUBLE", [0.0, 1.0]))
    opt = Asha(reduction_factor=3, min_budget=1, max_budget=9)
    opt.setup(space, 30, "max", np.random.default_rng(0))
    assert opt.budgets == [1, 3, 9]
    # Six configurations ran at budget 1; the best (x=0.5) was promoted and ran at 3 (stored as 3.0).
    earlier = [_done(i, {"x": i / 10}, float(i), budget=1) for i in range(6)]
    earlier[5] = _done(5, {"x": 0.5}, 5.0, budget=1)
    earlier.append(_done(6, {"x": 0.5}, 5.5, budget=3.0))
    earlier.append(_done(7, {"x": 0.9}, None, budget=27))  # not a rung of this schedule: ignored
    opt.warm_start(earlier)
    bracket = opt.brackets[0]
    assert bracket.counts() == [6, 1, 0]
    assert bracket.started == 6
    # 6 results at the bottom rung allow two promotions: x=0.5 went already, so x=0.4 goes next.
    first = opt.suggest()
    assert isinstance(first, Suggestion) and (first.params, first.budget) == ({"x": 0.4}, 3)
    second = opt.suggest()
    assert (
        isinstance(second, Suggestion)
        and second.budget == 1
        and second.params["x"] not in {i / 10 for i in range(6)}
    )


def test_grid_search_leaves_a_point_being_run_again_to_its_rerun() -> None:
    space = Searchspace(a=("INTEGER", [0, 3]))
    opt = GridSearch()
    opt.setup(space, 4, "max", np.random.default_rng(0))
    opt.warm_start([_done(0, {"a": 0}, 1.0), _done(1, {"a": 1}, None, state=TrialState.LOST)])
    assert opt.planned_trials() == 4 and _drain(opt) == [{"a": 2}, {"a": 3}]  # a=1 is its rerun's


def test_model_based_optimizers_count_a_rerun_as_pending_and_learn_its_result() -> None:
    space = Searchspace(x=("DOUBLE", [0.0, 1.0]))
    opt = get_optimizer("tpe")
    opt.setup(space, 10, "max", np.random.default_rng(0))
    cut = _done(3, {"x": 0.7}, None, state=TrialState.STOPPED)
    cut.error = "cut short: the experiment ended (interrupted by the user)"
    opt.warm_start([_done(0, {"x": 0.1}, 0.1), cut])
    assert len(opt._history) == 1 and len(opt._pending) == 1
    opt.on_trial_finished(_done(9, {"x": 0.7}, 0.7))  # the re-run reports
    assert len(opt._history) == 2 and len(opt._pending) == 0


def test_asha_records_a_rerun_at_the_rung_its_cut_short_run_had() -> None:
    space = Searchspace(x=("DOUBLE", [0.0, 1.0]))
    opt = Asha(reduction_factor=3, min_budget=1, max_budget=9)
    opt.setup(space, 30, "max", np.random.default_rng(0))
    earlier = [_done(i, {"x": i / 10}, float(i), budget=1) for i in range(3)]
    earlier.append(_done(3, {"x": 0.2}, None, budget=3, state=TrialState.LOST))  # promoted, then lost
    opt.warm_start(earlier)
    bracket = opt.brackets[0]
    assert bracket.counts() == [3, 0, 0] and len(opt._pending) == 1
    assert bracket.promotion() is None  # x=0.2 was promoted already: its rerun is that promotion
    opt.on_trial_finished(_done(9, {"x": 0.2}, 2.5, budget=3))
    assert bracket.counts() == [3, 1, 0] and len(opt._pending) == 0


def test_tpe_learns_from_trials_that_lack_a_parameter_the_space_gained() -> None:
    space = Searchspace(x=("DOUBLE", [0.0, 1.0]), depth=("INTEGER", [1, 8]))  # depth: gained, no default
    opt = get_optimizer("tpe")
    assert opt.learns_from_partial_trials and not get_optimizer("gp").learns_from_partial_trials
    opt.setup(space, 40, "max", np.random.default_rng(5))
    earlier = [_done(i, {"x": i / 20}, -abs(i / 20 - 0.8)) for i in range(20)]  # x only
    opt.warm_start(earlier)
    assert len(opt._history) == 20  # past its random start-up: it models x already
    picks = [opt.suggest() for _ in range(8)]
    assert all(set(p) == {"x", "depth"} for p in picks)  # suggestions are whole
    assert np.median([p["x"] for p in picks]) > 0.55  # and lean where the earlier trials were good
