"""Asha and Hyperband driven with plain Trial objects: rungs, promotions, directions, WAIT/FINISHED."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from maggy import Searchspace
from maggy.optimizer import FINISHED, WAIT, Asha, Hyperband, Suggestion, get_optimizer
from maggy.optimizer._bracket import derived_max_budget, rung_budgets
from maggy.trial import Trial, TrialState

SPACE = Searchspace(x=("DOUBLE", [0.0, 1.0]))


def setup(
    opt: Asha, num_trials: int, direction: str = "max", space: Searchspace = SPACE, seed: int = 0
) -> Asha:
    opt.setup(space, num_trials, direction, np.random.default_rng(seed))
    return opt


def finish(opt: Asha, suggestion: Any, metric: float | None, state: TrialState = TrialState.FINISHED) -> None:
    assert isinstance(suggestion, Suggestion) and "budget" not in suggestion.params
    opt.on_trial_finished(
        Trial(len(opt.trials), suggestion.params, state=state, metric=metric, budget=suggestion.budget)
    )


def test_names_classes_and_the_budget_flag() -> None:
    assert type(get_optimizer("asha")) is Asha and type(get_optimizer("Hyper-Band")) is Hyperband
    assert Asha.uses_budget is True and Hyperband.uses_budget is True


@pytest.mark.parametrize(
    ("eta", "lo", "hi", "budgets"),
    [
        (3, 1, 27, [1, 3, 9, 27]),
        (3, 1, 30, [1, 3, 10, 30]),  # counted down from max_budget: the top is what was asked for
        (2, 1, 8, [1, 2, 4, 8]),
        (3, 5, 5, [5]),
        (3, 0.5, 4.5, [0.5, 1.5, 4.5]),
    ],
)
def test_rung_budgets(eta: float, lo: float, hi: float, budgets: list[Any]) -> None:
    got = rung_budgets(eta, lo, hi)
    assert got == pytest.approx(budgets)
    assert all(type(b) is type(budgets[0]) for b in got)


@pytest.mark.parametrize(
    ("num_trials", "top"), [(1, 1), (3, 1), (4, 3), (12, 3), (13, 9), (16, 9), (39, 9), (40, 27), (100, 27)]
)
def test_derived_max_budget_fits_one_full_bracket(num_trials: int, top: int) -> None:
    assert derived_max_budget(3, 1, num_trials) == top


def test_sixteen_trials_just_work_with_the_defaults() -> None:
    opt = setup(Asha(), 16)
    assert opt.budgets == [1, 3, 9] and opt.planned_trials() == 16
    values = iter(np.linspace(0.1, 1.6, 16))  # later results better: promotions happen
    budgets = []
    for _ in range(16):
        s = opt.suggest()
        assert isinstance(s, Suggestion)
        budgets.append(s.budget)
        finish(opt, s, float(next(values)))
    assert opt.suggest() is FINISHED
    assert 9 in budgets and budgets.count(1) > budgets.count(3) > budgets.count(9)


def test_promotes_the_top_third_as_results_arrive_max() -> None:
    opt = setup(Asha(reduction_factor=3, min_budget=1, max_budget=9), 100)
    first = [opt.suggest() for _ in range(3)]
    assert [s.budget for s in first] == [1, 1, 1]  # type: ignore[union-attr]
    for s, v in zip(first, [0.2, 0.9, 0.5], strict=True):
        finish(opt, s, v)
    promoted = opt.suggest()
    assert (
        isinstance(promoted, Suggestion)
        and promoted.budget == 3
        and promoted.params["x"] == first[1].params["x"]
    )  # type: ignore[union-attr]
    assert isinstance(opt.suggest(), Suggestion)  # nothing else is due: a new config, no waiting
    assert opt.brackets[0].counts() == [3, 0, 0]
    finish(opt, promoted, 0.95)
    assert opt.brackets[0].counts() == [3, 1, 0]


def test_direction_min_promotes_the_smallest() -> None:
    opt = setup(Asha(reduction_factor=2, min_budget=1, max_budget=2), 10, direction="min")
    a, b = opt.suggest(), opt.suggest()
    finish(opt, a, 5.0)
    finish(opt, b, 1.0)
    promoted = opt.suggest()
    assert promoted.budget == 2 and promoted.params["x"] == b.params["x"]  # type: ignore[union-attr]


def test_highest_rung_first_and_no_double_promotion() -> None:
    opt = setup(Asha(reduction_factor=2, min_budget=1, max_budget=4), 100)
    s = [opt.suggest() for _ in range(2)]
    finish(opt, s[0], 1.0)
    finish(opt, s[1], 2.0)
    p1 = opt.suggest()  # s[1] to budget 2
    assert p1.budget == 2  # type: ignore[union-attr]
    finish(opt, p1, 3.0)
    s2 = opt.suggest()  # rung 1 has one result: nothing due at rung 1; rung 0 top-1 already promoted
    assert s2.budget == 1  # type: ignore[union-attr]
    q = opt.suggest()
    finish(opt, q, 0.5)  # rung 1 gets a second result via promotion later; rung 0 now 3 results
    finish(opt, s2, 9.0)  # rung 0: 4 results, top 2 = s2 (9.0) and s[1] (already promoted)
    p2 = opt.suggest()
    assert p2.budget == 2 and p2.params["x"] == s2.params["x"]  # type: ignore[union-attr]
    finish(opt, p2, 4.0)  # rung 1: 2 results, top 1 = p2 -> promoted to the top rung first
    p3 = opt.suggest()
    assert p3.budget == 4 and p3.params["x"] == s2.params["x"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "state", [TrialState.EARLY_STOPPED, TrialState.STOPPED, TrialState.ERROR, TrialState.LOST]
)
def test_unfinished_results_count_but_are_never_promoted(state: TrialState) -> None:
    opt = setup(Asha(reduction_factor=2, min_budget=1, max_budget=2), 10)
    a, b = opt.suggest(), opt.suggest()
    finish(opt, a, 100.0, state=state)  # a huge partial metric must not win
    finish(opt, b, 1.0)
    promoted = opt.suggest()
    assert promoted.budget == 2 and promoted.params["x"] == b.params["x"]  # type: ignore[union-attr]
    assert opt.brackets[0].counts() == [2, 0]


def test_waits_only_when_a_finite_space_is_used_up_and_trials_are_running() -> None:
    space = Searchspace(k=("DISCRETE", [1, 2, 3]))
    opt = setup(Asha(reduction_factor=3, min_budget=1, max_budget=3), 10, space=space)
    s = [opt.suggest() for _ in range(3)]
    assert sorted(x.params["k"] for x in s) == [1, 2, 3]  # type: ignore[union-attr]
    assert opt.suggest() is WAIT
    for x, v in zip(s, [1.0, 3.0, 2.0], strict=True):
        finish(opt, x, v)
    top = opt.suggest()
    assert top == Suggestion({"k": 2}, budget=3)
    assert opt.suggest() is WAIT
    finish(opt, top, 5.0)
    assert opt.suggest() is FINISHED


def test_same_seed_same_suggestions_and_seed_argument_wins() -> None:
    def run(opt: Asha, rng_seed: int) -> list[Any]:
        setup(opt, 30, seed=rng_seed)
        out = []
        for i in range(30):
            s = opt.suggest()
            out.append(s)
            finish(opt, s, float(np.sin(7 * s.params["x"]) + i / 100))  # type: ignore[union-attr]
        return out

    assert run(Asha(), 1) == run(Asha(), 1)
    assert run(Asha(), 1) != run(Asha(), 2)
    assert run(Asha(seed=5), 1) == run(Asha(seed=5), 2)


def test_results_of_other_trials_are_ignored() -> None:
    opt = setup(Asha(), 10)
    opt.on_trial_finished(Trial(0, {"x": 0.5}, state=TrialState.FINISHED, metric=1.0, budget=1))
    assert opt.brackets[0].counts() == [0, 0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reduction_factor": 1}, "reduction_factor must be a number > 1"),
        ({"reduction_factor": "3"}, "reduction_factor"),
        ({"min_budget": 0}, "min_budget must be a number > 0"),
        ({"min_budget": 2, "max_budget": 1}, r"max_budget must be a number >= min_budget \(2\)"),
        ({"max_budget": True}, "max_budget"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Asha(**kwargs)


def test_a_budget_hyperparameter_is_rejected() -> None:
    with pytest.raises(ValueError, match="parameter named 'budget'"):
        setup(Asha(), 10, space=Searchspace(budget=("INTEGER", [1, 5])))


def test_too_few_trials_for_the_top_rung_logs_a_hint(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="maggy"):
        setup(Asha(max_budget=27), 16)
    assert "one full bracket takes 40 trials" in caplog.text


def test_hyperband_brackets_start_at_every_rung_and_follow_their_shares() -> None:
    opt = setup(Hyperband(reduction_factor=3, min_budget=1, max_budget=9), 1000)
    assert [b.budgets for b in opt.brackets] == [[1, 3, 9], [3, 9], [9]]
    assert opt.shares == [9, 5, 3]
    budgets = [opt.suggest().budget for _ in range(17)]  # type: ignore[union-attr]
    assert [b.started for b in opt.brackets] == [9, 5, 3]  # no results yet: only new configs
    assert budgets[:4] == [1, 3, 1, 1]  # the bracket furthest behind its share; ties: cheapest


def test_hyperband_promotes_within_a_bracket() -> None:
    opt = setup(Hyperband(reduction_factor=2, min_budget=1, max_budget=2), 100)
    a = opt.suggest()  # bracket 0 (budget 1)
    b = opt.suggest()  # bracket 1 (budget 2, no promotions)
    c = opt.suggest()  # bracket 0
    assert [a.budget, b.budget, c.budget] == [1, 2, 1]  # type: ignore[union-attr]
    finish(opt, b, 10.0)
    finish(opt, a, 1.0)
    finish(opt, c, 2.0)
    promoted = opt.suggest()
    assert promoted == Suggestion({"x": c.params["x"]}, budget=2)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reduction_factor": 1.0001, "min_budget": 1, "max_budget": 1e6}, "138163 rungs, more than 32"),
        ({"reduction_factor": 3, "min_budget": 1e-300, "max_budget": 1e300}, "overflows a float"),
    ],
)
def test_absurd_schedules_are_refused_up_front(kwargs: dict[str, Any], match: str) -> None:
    # Before: 138,163 rungs (and a full bracket no run could fill), or an OverflowError at setup.
    with pytest.raises(ValueError, match=match):
        Asha(**kwargs)


def test_a_derived_schedule_stays_within_the_rung_limit_even_for_huge_num_trials() -> None:
    opt = setup(Asha(reduction_factor=1.001), 10**9)  # the derivation used to loop O(k**2) here
    assert len(opt.budgets) <= 32


def test_suggestions_carry_the_budget_beside_params_never_inside() -> None:
    opt = setup(Hyperband(reduction_factor=2, min_budget=1, max_budget=4), 50)
    for _ in range(20):
        s = opt.suggest()
        assert isinstance(s, Suggestion) and set(s.params) == {"x"} and s.budget in (1, 2, 4)
        finish(opt, s, float(s.params["x"]))
