"""The ablator interface: a study in, a fixed list of trials out, served as an optimizer.

An ablator plays the optimizer's part in the driver (``suggest`` hands out one trial's params at
a time, then FINISHED), so ablation trials get the same scheduling, heartbeats, early stopping
and fault isolation as hyperparameter trials. A trial's params are ``{'ablated': label}`` with
the label of ``AblationTrial`` ('base', 'feature:pclass', 'layer:my_dense_two', ...); JSON, so
they travel to workers like any params.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from maggy.ablation.summary import PARAM
from maggy.optimizer.base import FINISHED, AbstractOptimizer, Decision

if TYPE_CHECKING:
    from maggy.ablation.ablationstudy import AblationStudy
    from maggy.ablation.resolve import AblationTrial, ResolvedStudy
    from maggy.trial import Trial


class AbstractAblator(AbstractOptimizer):
    """Base class of ablators. Subclasses implement ``plan_trials``; pass an instance (or the
    class) as ``lagom(ablator=...)``.

    Lifecycle: ``lagom`` resolves the study (``maggy.ablation.resolve``) and calls
    ``prepare(resolved)`` once, before any worker starts; the driver then calls ``setup`` and
    ``suggest`` as for any optimizer.
    """

    uses_results = False  # suggestions never depend on results: the driver may hand trials out ahead

    def __init__(self, ablation_study: AblationStudy | None = None) -> None:
        self.ablation_study = ablation_study
        self.plan: list[AblationTrial] = []
        self._next = 0

    @abc.abstractmethod
    def plan_trials(self, study: ResolvedStudy) -> list[AblationTrial]:
        """Every trial to run, in order. Called once, from ``prepare``."""

    def prepare(self, study: ResolvedStudy) -> list[AblationTrial]:
        """Plan the trials; ValueError if the plan is empty or has two trials with one label."""
        plan = list(self.plan_trials(study))
        if not plan:
            raise ValueError(f"{self.name} planned no trials for this ablation study")
        labels = [t.label for t in plan]
        twice = sorted({x for x in labels if labels.count(x) > 1})
        if twice:
            raise ValueError(
                f"{self.name} planned several trials named {twice}: a layer name clashes with a group "
                "label; rename the layer or drop one of the two"
            )
        self.plan = plan
        self._next = 0
        return plan

    def get_number_of_trials(self) -> int:
        """How many trials the study runs (the Maggy ablator's name for ``planned_trials``)."""
        return len(self.plan)

    def planned_trials(self) -> int:
        return len(self.plan)

    def initialize(self) -> None:
        self._next = 0
        self._ran: set[Any] = set()  # labels a resumed study ran (or runs again) already

    def warm_start(self, trials: Sequence[Trial]) -> None:
        """A resumed ablation (same study) skips the labels its earlier trials ran (see base)."""
        super().warm_start(trials)
        self._ran.update(trial.params.get(PARAM) for trial in trials)

    def suggest(self) -> dict[str, Any] | Decision:
        while self._next < len(self.plan) and self.plan[self._next].label in self._ran:
            self._next += 1
        if self._next >= len(self.plan):
            return FINISHED
        trial = self.plan[self._next]
        self._next += 1
        return {PARAM: trial.label}
