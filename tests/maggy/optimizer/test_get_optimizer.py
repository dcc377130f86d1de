"""get_optimizer: names, instances, classes, and user subclasses of AbstractOptimizer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from maggy import Searchspace
from maggy.optimizer import FINISHED, WAIT, AbstractOptimizer, GridSearch, RandomSearch, get_optimizer


class CountingOptimizer(AbstractOptimizer):
    """A user-written optimizer: suggests lr = 0.1, 0.2, ... and waits for results in between."""

    def initialize(self) -> None:
        self.issued = 0

    def suggest(self) -> Any:
        if self.issued >= self.num_trials:
            return FINISHED
        if self.issued > len(self.trials):
            return WAIT
        self.issued += 1
        return {"lr": self.issued / 10}


@pytest.mark.parametrize(
    ("spec", "cls"),
    [
        (None, RandomSearch),
        ("randomsearch", RandomSearch),
        ("RandomSearch", RandomSearch),
        ("random_search", RandomSearch),
        ("gridsearch", GridSearch),
        ("GRIDSEARCH", GridSearch),
        (GridSearch, GridSearch),
        (CountingOptimizer, CountingOptimizer),
    ],
)
def test_resolves_names_and_classes(spec: Any, cls: type) -> None:
    assert type(get_optimizer(spec)) is cls


def test_instance_is_returned_as_is() -> None:
    opt = GridSearch(grid_points_per_double=2)
    assert get_optimizer(opt) is opt


def test_unknown_name_lists_valid_ones() -> None:
    with pytest.raises(
        ValueError, match="unknown optimizer 'bayes'.*asha, gp, gridsearch, hyperband, randomsearch, tpe"
    ):
        get_optimizer("bayes")


@pytest.mark.parametrize("spec", [3, object(), Searchspace, ["randomsearch"]])
def test_other_types_are_rejected(spec: Any) -> None:
    with pytest.raises(TypeError, match="optimizer must be None, a name .*AbstractOptimizer"):
        get_optimizer(spec)


def test_classes_needing_arguments_are_rejected_with_a_hint() -> None:
    class NeedsArg(CountingOptimizer):
        def __init__(self, x: int) -> None:
            self.x = x

    with pytest.raises(TypeError, match=r"pass an instance instead, e.g. optimizer=NeedsArg\(...\)"):
        get_optimizer(NeedsArg)
    with pytest.raises(TypeError, match="AbstractOptimizer"):
        get_optimizer(AbstractOptimizer)  # abstract: suggest is missing


def test_user_subclass_runs_the_ask_tell_loop() -> None:
    from maggy.trial import Trial

    opt = get_optimizer(CountingOptimizer)
    opt.setup(Searchspace(lr=("DOUBLE", [0, 1])), 2, "max", np.random.default_rng(0))
    first = opt.suggest()
    assert first == {"lr": 0.1}
    assert opt.suggest() is WAIT
    opt.on_trial_finished(Trial(trial_id=0, params={"lr": 0.1}, metric=1.0))
    assert opt.suggest() == {"lr": 0.2}
    assert opt.suggest() is FINISHED
    assert opt.planned_trials() == 2
    assert opt.name == "CountingOptimizer"


def test_new_classes_load_lazily_by_name() -> None:
    import subprocess
    import sys

    code = (
        "import sys, maggy.optimizer as o; assert 'maggy.optimizer.gp' not in sys.modules; "
        "assert o.GP.__name__ == 'GP' and o.Asha.__name__ == 'Asha'; "
        "assert 'maggy.optimizer.gp' in sys.modules and 'scipy' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    import maggy.optimizer as o

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        o.Nope  # noqa: B018


def test_wait_and_finished_are_members_of_a_public_type_that_suggest_declares() -> None:
    import pickle
    import typing

    from maggy.optimizer import Decision

    assert WAIT is Decision.WAIT and FINISHED is Decision.FINISHED
    assert repr(WAIT) == "WAIT" and repr(FINISHED) == "FINISHED"
    assert pickle.loads(pickle.dumps(WAIT)) is WAIT  # they may cross a process boundary
    returns = typing.get_type_hints(AbstractOptimizer.suggest)["return"]
    assert Decision in typing.get_args(returns)


def test_uses_results_and_uses_budget_are_declared_with_their_defaults() -> None:
    from maggy.optimizer import Asha

    assert AbstractOptimizer.uses_results is True and AbstractOptimizer.uses_budget is False
    assert RandomSearch.uses_results is False and GridSearch.uses_results is False
    assert Asha.uses_budget is True
