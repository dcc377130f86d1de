"""Random search: independent uniform draws from the search space, without repeats where possible."""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from maggy._rng import SeedLike, as_generator
from maggy.optimizer.base import FINISHED, AbstractOptimizer, Decision

if TYPE_CHECKING:
    from maggy.trial import Trial

logger = logging.getLogger("maggy")

# A finite space at most this large may be listed in full once random draws keep hitting
# configurations already suggested; beyond it repeats are allowed (reaching that point would
# take about this many trials, which no one runs).
_ENUMERATE_LIMIT = 1_000_000


class RandomSearch(AbstractOptimizer):
    """Suggest configurations drawn uniformly at random (log-uniformly for scale 'log') from any space.

    Contract:
    - every draw uses ``self.rng``, so the same seed and search space give the same sequence;
    - a configuration is not suggested twice while the space has room: each suggestion is redrawn up
      to ``max_tries`` times if it repeats an earlier one; if all of those repeat and the space is
      finite (no DOUBLE), the next suggestions are drawn without replacement from the configurations
      not yet suggested;
    - ``suggest`` returns FINISHED after ``num_trials`` suggestions, or earlier once a finite space
      is exhausted: ``planned_trials()`` is ``min(num_trials, size of the space)``.

    ``on_trial_finished`` results do not influence the draws. ``seed`` (optional) replaces the
    generator lagom passes (``lagom(seed=...)``), as for every built-in optimizer.
    """

    uses_results = False  # suggestions never depend on results: the driver may hand trials out ahead

    def __init__(self, max_tries: int = 100, seed: SeedLike = None) -> None:
        if isinstance(max_tries, bool) or not isinstance(max_tries, int) or max_tries < 1:
            raise ValueError(f"RandomSearch: max_tries must be an int >= 1, got {max_tries!r}")
        self.max_tries = max_tries
        self.seed = seed

    def initialize(self) -> None:
        if self.seed is not None:
            self.rng = as_generator(self.seed)
        self._params = self.searchspace.parameters()
        cards = [p.cardinality for p in self._params]
        # A product, not a count: an INTEGER [0, 10**9] is finite but must never be listed.
        self._size: int | None = None if None in cards else math.prod(c for c in cards if c is not None)
        self._seen: set[tuple[Any, ...]] = set()
        self._remaining: list[tuple[Any, ...]] | None = None  # set once draws keep repeating
        self._suggested = 0

    def planned_trials(self) -> int:
        return self.num_trials if self._size is None else min(self.num_trials, self._size)

    def warm_start(self, trials: Sequence[Trial]) -> None:
        """Earlier configurations count as drawn: a finite space is not sampled twice (see base)."""
        super().warm_start(trials)
        for trial in trials:
            self._seen.add(tuple(trial.params[p.name] for p in self._params))

    def suggest(self) -> dict[str, Any] | Decision:
        if self._suggested >= self.planned_trials():
            return FINISHED
        key = self._draw()
        if key is None:
            return FINISHED
        self._seen.add(key)
        self._suggested += 1
        return {p.name: v for p, v in zip(self._params, key, strict=True)}

    def _draw(self) -> tuple[Any, ...] | None:
        """A new configuration as a tuple in parameter order; None when a finite space is used up."""
        if self._remaining is None:
            for _ in range(self.max_tries):
                key = self._sample()
                if key not in self._seen:
                    return key
            if self._size is None or self._size > _ENUMERATE_LIMIT:
                logger.debug(
                    "RandomSearch: %d draws all repeated earlier configurations; repeating one",
                    self.max_tries,
                )
                return key
            self._remaining = self._unseen()
        return self._remaining.pop() if self._remaining else None

    def _sample(self) -> tuple[Any, ...]:
        return tuple(p.sample(self.rng) for p in self._params)

    def _unseen(self) -> list[tuple[Any, ...]]:
        """Configurations not yet suggested, shuffled with ``self.rng`` (so ``pop()`` draws uniformly)."""
        unseen = [c for c in itertools.product(*(p.choices() for p in self._params)) if c not in self._seen]
        order = self.rng.permutation(len(unseen))
        return [unseen[i] for i in order]
