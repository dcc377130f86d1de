"""ASHA: asynchronous successive halving (Li et al., MLSys 2020), direction-aware.

Every trial runs one configuration with a budget (epochs, steps, data fraction: whatever the
training function makes of it): ``def train(lr, units, budget, reporter): ...`` -- lagom checks
that the function takes ``budget``. Rungs hold budgets ``b_0 < b_1 < ... < b_K = max_budget``, a
factor ``reduction_factor`` (eta) apart. Whenever a worker is free, ASHA hands it, in order:

1. a promotion, if one is due: a configuration among the best ``floor(n_k / eta)`` of the ``n_k``
   results at rung k, not yet promoted, is run again at budget ``b_{k+1}`` (highest rung first);
2. otherwise a new random configuration at the bottom rung ``b_0``.

No worker ever waits for a rung to fill up. ``WAIT`` comes only when a finite search space has no
new configuration left and no promotion is due while trials are still running.

**num_trials** counts trial runs, promotions included: each run of the training function is one
trial in the store, the UI and the result, and ``planned_trials() == num_trials``. A promoted
configuration starts from scratch at its larger budget (or resumes from a checkpoint that the
training function keys by its parameters). With ``max_budget=None`` (the default) the rungs are
chosen so that one configuration can reach the top: ``max_budget = min_budget * eta**K`` with the
largest K whose synchronous bracket (``eta**K + ... + eta + 1`` runs) fits in num_trials, e.g.
eta=3: 16 trials -> budgets (1, 3, 9), 100 trials -> (1, 3, 9, 27), 1-3 trials -> (1,). With an
explicit ``max_budget`` any num_trials works; if it is too small for a configuration to reach the
top rung, an info line says how many trials that would take.

**Results**: a FINISHED trial's metric is its result at its rung. An EARLY_STOPPED, STOPPED,
ERROR or LOST (not retried) trial counts at its rung as worse than every finished one and is never
promoted. Compare configurations at the same rung: a metric after 1 epoch and one after 27 are
different quantities, so lagom's ``best_*`` (``maggy.core.result.best_trial``, the one rule every
view uses) compares only the finished trials at the largest budget reached.

**Early stopping**: ASHA does its own stopping (a configuration not promoted simply is not run
further), so use ``lagom(..., es_policy='none')``. Under lagom's default median rule, a run the
rule stops counts as the worst at its rung (see Results), so the rule overrides ASHA's ranking,
and it judges a long promoted run by the averages of short bottom-rung curves.

**Seed**: ``Asha(seed=...)``; without one, the generator lagom passes (``lagom(seed=...)``).
Promotion decisions use no randomness, so a single-worker run with a deterministic training
function repeats exactly.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from maggy._rng import SeedLike, as_generator
from maggy.optimizer._bracket import (
    Bracket,
    check_schedule,
    derived_max_budget,
    full_bracket_runs,
    rung_budgets,
)
from maggy.optimizer._encoding import config_key
from maggy.optimizer._history import Pending
from maggy.optimizer.base import BUDGET_ARG, FINISHED, WAIT, AbstractOptimizer, Decision, Suggestion
from maggy.optimizer.randomsearch import RandomSearch
from maggy.trial import Trial, TrialState, was_cut_short

logger = logging.getLogger("maggy")


class Asha(AbstractOptimizer):
    """Asynchronous successive halving; see the module docstring for the rules and num_trials.

    ``reduction_factor`` (eta, a number > 1): keep the best 1/eta at each rung and multiply the
    budget by eta; ``min_budget`` (> 0): the bottom rung's budget; ``max_budget`` (>= min_budget,
    or None to derive it from num_trials): the top rung's. Budgets are ints when the bounds are
    ints. ``seed``: see module docstring.

    After ``setup``: ``budgets`` (the rungs) and ``brackets`` (one :class:`Bracket` here; its
    ``results`` and ``counts()`` show the rungs' bookkeeping).
    """

    uses_budget = True  # suggestions carry a budget, which the training function gets as `budget`

    def __init__(
        self,
        reduction_factor: float = 3,
        min_budget: float = 1,
        max_budget: float | None = None,
        seed: SeedLike = None,
    ) -> None:
        _check_number(self, "reduction_factor", reduction_factor, "> 1", lambda x: x > 1)
        _check_number(self, "min_budget", min_budget, "> 0", lambda x: x > 0)
        if max_budget is not None:
            _check_number(
                self, "max_budget", max_budget, f">= min_budget ({min_budget})", lambda x: x >= min_budget
            )
        if max_budget is not None:
            try:
                check_schedule(reduction_factor, min_budget, max_budget)
            except ValueError as exc:
                raise ValueError(f"{type(self).__name__}: {exc}") from None
        self.reduction_factor = reduction_factor
        self.min_budget = min_budget
        self.max_budget = max_budget
        self.seed = seed

    def initialize(self) -> None:
        if BUDGET_ARG in self.searchspace:  # lagom refuses this earlier; a direct setup() lands here
            raise ValueError(
                f"{self.name}: the searchspace has a parameter named 'budget', which {self.name} passes to "
                "the training function itself; rename the hyperparameter"
            )
        if self.seed is not None:
            self.rng = as_generator(self.seed)
        eta = self.reduction_factor
        top = self.max_budget
        if top is None:
            top = derived_max_budget(eta, self.min_budget, self.num_trials)
        self.budgets = rung_budgets(eta, self.min_budget, top)
        self.brackets = self._make_brackets()
        self._sampler = RandomSearch()  # new configurations: uniform, no repeats, finite spaces end
        self._sampler.setup(self.searchspace, self.num_trials, self.direction, self.rng)
        self._pending = Pending()
        self._suggested = 0
        needed = full_bracket_runs(eta, len(self.budgets))
        logger.info("maggy: %s rung budgets %s (num_trials=%d)", self.name, self.budgets, self.num_trials)
        if self.num_trials < needed:
            logger.info(
                "maggy: %s: with num_trials=%d a configuration may not reach max_budget=%s; one full "
                "bracket takes %d trials (raise num_trials, lower max_budget or raise min_budget)",
                self.name,
                self.num_trials,
                self.budgets[-1],
                needed,
            )

    def suggest(self) -> Suggestion | Decision:
        if self._suggested >= self.num_trials:
            return FINISHED
        for index, bracket in enumerate(self.brackets):
            promotion = bracket.promotion()
            if promotion is not None:
                params, rung = promotion
                return self._hand_out(params, index, rung)
        new = self._sampler.suggest()
        if new is FINISHED or not isinstance(new, dict):  # a finite space, every configuration drawn
            return WAIT if len(self._pending) else FINISHED
        index = self._bracket_for_new_config()
        self.brackets[index].started += 1
        return self._hand_out(new, index, 0)

    def on_trial_finished(self, trial: Trial) -> None:
        super().on_trial_finished(trial)
        tag = self._pending.pop(trial.params, extra=trial.budget)
        if tag is None:
            logger.debug("maggy: %s ignores trial %d, which it did not suggest", self.name, trial.trial_id)
            return
        index, rung = tag
        self.brackets[index].record(trial.params, rung, self._loss(trial))

    def warm_start(self, trials: Sequence[Trial]) -> None:
        """Rebuild the rungs from earlier trials' budgets (see base).

        Each configuration joins the bracket that starts at the lowest budget it ran with, and
        each of its results is recorded at its budget's rung; a result above the bracket's bottom
        rung marks the configuration promoted from the rung below, so it is not promoted twice.
        A run cut short (run again now) is pending at its rung instead, its result recorded when
        the re-run reports. Trials whose budget is not a rung of this schedule (changed budgets or
        num_trials) are not used. Configurations already run are not drawn again.
        """
        self.trials.extend(trials)
        runs: dict[str, list[Trial]] = {}
        for trial in trials:
            if trial.budget is not None and trial.budget in self.budgets:
                runs.setdefault(config_key(trial.params), []).append(trial)
        for key, config_runs in runs.items():
            config_runs.sort(key=lambda t: t.budget or 0)
            lowest = config_runs[0].budget
            bracket = next((b for b in self.brackets if b.budgets[0] == lowest), None)
            if bracket is None:
                continue
            bracket.started += 1
            index = self.brackets.index(bracket)
            for trial in config_runs:
                rung = bracket.budgets.index(trial.budget)
                if rung > 0:
                    bracket.promoted[rung - 1].add(key)
                if was_cut_short(trial):
                    self._pending.add(trial.params, tag=(index, rung), extra=trial.budget)
                else:
                    bracket.record(trial.params, rung, self._loss(trial))
            self._sampler.warm_start(config_runs[:1])

    def _loss(self, trial: Trial) -> float | None:
        """The trial's loss for the rungs (lower is better), None when it has no usable result."""
        if trial.state is TrialState.FINISHED and trial.metric is not None and math.isfinite(trial.metric):
            return -trial.metric if self.direction == "max" else trial.metric
        return None

    # -- what Hyperband overrides ---------------------------------------------------------------

    def _make_brackets(self) -> list[Bracket]:
        return [Bracket(self.budgets, self.reduction_factor)]

    def _bracket_for_new_config(self) -> int:
        return 0

    # -- internals ------------------------------------------------------------------------------

    def _hand_out(self, params: dict[str, Any], index: int, rung: int) -> Suggestion:
        budget = self.brackets[index].budgets[rung]
        self._pending.add(params, tag=(index, rung), extra=budget)
        self._suggested += 1
        return Suggestion(params, budget=budget)  # the budget beside the params, never inside


def _check_number(opt: object, name: str, value: Any, rule: str, ok: Callable[[Any], bool]) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or not ok(value)
    ):
        raise ValueError(f"{type(opt).__name__}: {name} must be a number {rule}, got {value!r}")
