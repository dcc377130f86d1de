"""What ``lagom`` does for ``experiment_type='ablation'`` before its usual steps.

``prepare_ablation`` checks the training function and the study (against its dataset and base
model), plans the trials with the ablator, and returns the three things the optimization path
then uses unchanged: the wrapped training function, a searchspace naming the trials, and the
ablator as the optimizer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from maggy.ablation.ablator import AbstractAblator, get_ablator
from maggy.ablation.ablator.abstractablator import PARAM
from maggy.ablation.resolve import resolve_study
from maggy.ablation.trial_function import TRAINING_ARGS, AblationTrialFunction
from maggy.searchspace import Searchspace
from maggy.worker.invoke import REPORTER_ARG, accepted_arguments


def prepare_ablation(
    map_fun: Callable[..., Any], ablation_study: Any, ablator: Any, searchspace: Any, optimizer: Any
) -> tuple[AblationTrialFunction, Searchspace, AbstractAblator]:
    """Return (wrapped map_fun, searchspace, ablator); ValueError/TypeError saying what to change."""
    if searchspace is not None or optimizer is not None:
        raise ValueError(
            "an ablation experiment takes its trials from ablation_study and ablator; drop searchspace= "
            "and optimizer= (they are for experiment_type='optimization')"
        )
    check_training_function(map_fun)
    if ablation_study is None:
        raise ValueError(
            "experiment_type='ablation' needs ablation_study=AblationStudy(...) (maggy.ablation)"
        )
    chosen = get_ablator(ablator, ablation_study)
    resolved = resolve_study(ablation_study)
    plan = chosen.prepare(resolved)
    space = Searchspace(**{PARAM: ("CATEGORICAL", [t.label for t in plan])})
    wrapped = AblationTrialFunction(
        map_fun,
        resolved,
        plan,
        ablation_study.model.base_model_generator,
        ablation_study.model.custom_model_generators,
        ablation_study.custom_dataset_generator,
    )
    return wrapped, space, chosen


def check_training_function(fn: Callable[..., Any]) -> None:
    """It must take ``dataset_function`` and ``model_function`` (and ``reporter`` if it wants it)."""
    names, required, var_kw = accepted_arguments(fn)
    given = {*TRAINING_ARGS, REPORTER_ARG}
    missing = [a for a in TRAINING_ARGS if a not in names and not var_kw]
    extra = sorted(required - given)
    if missing or extra:
        fn_name = getattr(fn, "__name__", "map_fun")
        problem = (
            f"it does not take {missing}"
            if missing
            else f"it also needs {extra}, which maggy does not pass (give them defaults)"
        )
        raise ValueError(
            f"{fn_name}() must take (dataset_function, model_function, reporter) in an ablation "
            f"experiment (reporter is optional); {problem}"
        )
