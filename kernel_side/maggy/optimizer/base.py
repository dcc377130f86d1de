"""The optimizer interface: ask/tell on plain data, no sockets, no threads.

The driver calls, from one thread and never concurrently:
  1. ``setup(searchspace, num_trials, direction, rng)`` once before the first suggestion;
  2. ``suggest()`` whenever a worker is free: it returns a params dict, ``WAIT`` (nothing now; the
     driver asks again after the next trial finishes) or ``FINISHED`` (no more trials will come);
  3. ``on_trial_finished(trial)`` with the finished :class:`maggy.trial.Trial` (any terminal state).

The driver stops asking after ``planned_trials()`` suggestions, so a simple optimizer never has
to count. Retries of LOST trials are re-queued by the driver without asking the optimizer.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Final

import numpy as np

if TYPE_CHECKING:
    from maggy.searchspace import Searchspace
    from maggy.trial import Trial


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        return self._name


WAIT: Final = _Sentinel("WAIT")
FINISHED: Final = _Sentinel("FINISHED")


class AbstractOptimizer(abc.ABC):
    """Base class for optimizers; subclass it and pass an instance as ``lagom(optimizer=...)``.

    Attributes available after ``setup``: ``searchspace``, ``num_trials``, ``direction`` ('max' or
    'min'), ``rng`` (a ``numpy.random.Generator``; use it for every random choice so a seed
    reproduces the run), ``trials`` (finished trials seen so far, in finish order).
    """

    searchspace: Searchspace
    num_trials: int
    direction: str
    rng: np.random.Generator

    #: False when ``suggest`` never depends on finished trials (random, grid, ablation): the driver
    #: may then draw a worker's next trial while its current one still runs and hand it over ahead,
    #: so short trials follow each other without a round trip to the driver. Keep True (the safe
    #: default) for anything that learns from results: a suggestion made ahead misses one result.
    #: A subclass of an optimizer that sets False, whose ``suggest`` reads results, sets it back.
    uses_results: bool = True

    def setup(
        self, searchspace: Searchspace, num_trials: int, direction: str, rng: np.random.Generator
    ) -> None:
        self.searchspace = searchspace
        self.num_trials = num_trials
        self.direction = direction
        self.rng = rng
        self.trials: list[Trial] = []
        self.initialize()

    def initialize(self) -> None:  # noqa: B027 - optional hook
        """Hook run at the end of ``setup``; override to precompute (e.g. a grid)."""

    @abc.abstractmethod
    def suggest(self) -> dict[str, Any] | _Sentinel:
        """Return the next params dict, ``WAIT`` or ``FINISHED``."""

    def on_trial_finished(self, trial: Trial) -> None:
        """Called with each finished trial; the default records it in ``self.trials``."""
        self.trials.append(trial)

    def planned_trials(self) -> int:
        """How many trials this optimizer will run; defaults to the ``num_trials`` asked for."""
        return self.num_trials

    @property
    def name(self) -> str:
        return type(self).__name__
