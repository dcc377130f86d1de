"""What TPE and GP share: ``n_startup`` random configurations, then the model's proposals.

Both keep the finished results (``Observations``), the running trials (``Pending``, so parallel
workers get different points) and the configurations already suggested (no repeats), and plan
``num_trials`` or the size of a smaller finite space. A subclass implements ``_from_model``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from maggy._rng import SeedLike, as_generator
from maggy.optimizer._encoding import Encoder, config_key
from maggy.optimizer._history import Observations, Pending, draw_new, space_size
from maggy.optimizer.base import FINISHED, AbstractOptimizer, Decision
from maggy.trial import Trial, was_cut_short


class ModelBasedOptimizer(AbstractOptimizer):
    """Base of model-based optimizers; subclasses set ``n_startup`` and ``seed`` in __init__."""

    n_startup: int
    seed: SeedLike

    def initialize(self) -> None:
        if self.seed is not None:  # the optimizer's own seed wins over lagom's generator
            self.rng = as_generator(self.seed)
        self._encoder = Encoder(self.searchspace)
        self._size = space_size(self.searchspace)
        self._history = Observations(self._encoder, self.direction, partial=self.learns_from_partial_trials)
        self._pending = Pending()
        self._seen: set[str] = set()
        self._suggested = 0

    def planned_trials(self) -> int:
        return self.num_trials if self._size is None else min(self.num_trials, self._size)

    def suggest(self) -> dict[str, Any] | Decision:
        if self._suggested >= self.planned_trials():
            return FINISHED
        if len(self._history) < self.n_startup:
            params = draw_new(self.searchspace, self.rng, self._seen)
        else:
            params = self._from_model()
        self._pending.add(params)
        self._seen.add(config_key(params))
        self._suggested += 1
        return params

    def on_trial_finished(self, trial: Trial) -> None:
        super().on_trial_finished(trial)
        self._history.add(trial)
        self._pending.pop(trial.params)

    def warm_start(self, trials: Sequence[Trial]) -> None:
        """Earlier results feed the model (see base), their configurations are not repeated, and
        those run again (cut short) are pending, as if just suggested."""
        super().warm_start(trials)
        self._seen.update(config_key(trial.params) for trial in trials)
        for trial in trials:
            if was_cut_short(trial):
                self._pending.add(trial.params)

    @abc.abstractmethod
    def _from_model(self) -> dict[str, Any]:
        """The model's next configuration (called once ``n_startup`` results are in)."""
