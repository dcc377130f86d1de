"""TPE: the tree-structured Parzen estimator (Bergstra et al., NeurIPS 2011), multivariate.

After ``n_startup`` usable results (random configurations until then), each suggestion:

1. ranks the observations by loss (the metric, negated for direction 'max') and splits them into
   the best ``min(ceil(0.1 * n), 25)`` ("below") and the rest ("above"), as Optuna does;
2. fits a multivariate Parzen estimator l(x) to "below" and g(x) to "above" plus every pending
   (suggested, not yet finished) configuration: a constant liar that counts running trials as bad,
   so parallel workers are steered away from each other's points. Beyond 25 observations in a
   group, older ones weigh less (``_recency_weights``, Optuna's default);
3. draws ``n_candidates`` points from l(x), snaps them to valid values, and returns the one with
   the highest l(x)/g(x) that has not been suggested before (a repeat only when all are). For an
   INTEGER or DISCRETE parameter the ratio uses each kernel's mass over the value's cell, not its
   density at one point.

All four parameter types are modelled in the unit cube of :mod:`maggy.optimizer._encoding`
(DOUBLE, INTEGER with their scale, 'log' included; DISCRETE by rank) and CATEGORICAL by
per-category weights (:mod:`maggy.optimizer._parzen`). The kernels are joint (multivariate), which
captures interactions that the classic per-parameter TPE misses.

**Which trials count** (:class:`maggy.optimizer._history.Observations`): FINISHED as is;
EARLY_STOPPED with its partial metric but never better than the median FINISHED trial, so it
lands among the bad ones; STOPPED, ERROR and LOST not at all.

**Early stopping**: works with any ``es_policy`` (the median rule saves time on bad trials, which
then inform TPE as above). **Seed**: ``TPE(seed=...)``, else lagom's generator; a single-worker
run repeats exactly. ``planned_trials()`` is num_trials, or the size of a smaller finite space.
Cost: O(n) per suggestion in the number of results; about 3 ms at 1000 (bench/optimizers.py).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from maggy._rng import SeedLike
from maggy.optimizer._encoding import config_key
from maggy.optimizer._history import draw_new
from maggy.optimizer._model_based import ModelBasedOptimizer
from maggy.optimizer._parzen import ParzenEstimator

#: Optuna's default split: the best 10% are "good", but never more than this many.
_MAX_BELOW = 25


class TPE(ModelBasedOptimizer):
    """Tree-structured Parzen estimator; see the module docstring.

    ``n_startup`` (int >= 1): random configurations until this many results are usable;
    ``n_candidates`` (int >= 1): draws from l(x) scored per suggestion; ``seed``: see module docstring.
    """

    #: A trial that lacks a parameter (run before the search space gained it, without a default)
    #: still shapes the kernels of the parameters it has; on the missing one its kernel is the
    #: prior's (see maggy.optimizer._parzen).
    learns_from_partial_trials = True

    def __init__(self, n_startup: int = 10, n_candidates: int = 24, seed: SeedLike = None) -> None:
        for name, value in (("n_startup", n_startup), ("n_candidates", n_candidates)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"TPE: {name} must be an int >= 1, got {value!r}")
        self.n_startup = int(n_startup)
        self.n_candidates = int(n_candidates)
        self.seed = seed

    def _from_model(self) -> dict[str, Any]:
        ranked = np.argsort(self._history.losses(), kind="stable")  # equal losses keep finish order
        n_below = min(math.ceil(0.1 * len(ranked)), _MAX_BELOW)
        enc = self._encoder
        below, above = ranked[:n_below], ranked[n_below:]
        good = ParzenEstimator(*self._history.rows(below), enc.n_choices, _recency_weights(below))
        above_u, above_cats = self._history.rows(above)
        pending = self._pending.configs()
        pending_u, pending_cats = enc.encode(pending)
        bad = ParzenEstimator(
            np.vstack([above_u, pending_u]),
            np.vstack([above_cats, pending_cats]),
            enc.n_choices,
            np.append(_recency_weights(above), np.ones(len(pending))),  # pending: the newest of all
        )
        u, cats = good.sample(self.rng, self.n_candidates)
        # Score what would actually be suggested: integers rounded, DISCRETE snapped to a value.
        configs = [enc.decode(u[i], cats[i]) for i in range(self.n_candidates)]
        u, cats = enc.encode(configs)
        cells = enc.cells(u)
        score = good.log_pdf(u, cats, cells) - bad.log_pdf(u, cats, cells)
        for i in sorted(range(len(configs)), key=lambda i: -score[i]):
            if config_key(configs[i]) not in self._seen:
                return configs[i]
        return draw_new(self.searchspace, self.rng, self._seen)


def _recency_weights(index: np.ndarray) -> np.ndarray:
    """Kernel weights for observations at arrival positions ``index`` (Optuna's default).

    The newest 25 weigh 1; older ones, if there are more, weigh linearly less down to 1/n, so the
    model follows where the search has moved.
    """
    n = len(index)
    if n < 25:
        return np.ones(n)
    by_age = np.concatenate([np.linspace(1.0 / n, 1.0, n - 25), np.ones(25)])
    out = np.empty(n)
    out[np.argsort(index, kind="stable")] = by_age
    return out
