"""Hyperband as brackets of ASHA (asynchronous Hyperband, Li et al., MLSys 2020, section 3.3).

ASHA's one bracket bets on low budgets predicting high ones. Hyperband hedges that bet: bracket
s (s = 0..K) starts its configurations at rung s of ASHA's budgets ``b_0 < ... < b_K`` and halves
from there, so bracket 0 is ASHA itself and bracket K runs every configuration at the full
budget (plain random search). Each bracket promotes by ASHA's rule, independently.

Whenever a worker is free: a promotion due in any bracket (bracket 0 first), else a new random
configuration in the bracket furthest behind its Hyperband share, where bracket s's share is the
number of configurations synchronous Hyperband would start in it,
``ceil((K+1) / (K-s+1) * eta**(K-s))``. Bracket choice is deterministic (no randomness), so the
seed only drives the configurations, and single-worker runs repeat exactly.

Budgets, ``budget`` passed to the training function, num_trials (trial runs, promotions
included; ``max_budget=None`` derived from num_trials), how EARLY_STOPPED/STOPPED/ERROR trials
count and the seed: as for :mod:`maggy.optimizer.asha`.

**Early stopping**: Hyperband does its own stopping; use ``lagom(..., es_policy='none')`` (see
:mod:`maggy.optimizer.asha` for what the median rule would do).
"""

from __future__ import annotations

import math

from maggy.optimizer._bracket import Bracket
from maggy.optimizer.asha import Asha


class Hyperband(Asha):
    """Asynchronous Hyperband: ASHA brackets with every possible starting rung.

    Same arguments as :class:`~maggy.optimizer.asha.Asha`. ``brackets[s]`` starts at budget
    ``budgets[s]``; ``shares[s]`` is its Hyperband share of new configurations.
    """

    def _make_brackets(self) -> list[Bracket]:
        top = len(self.budgets) - 1
        eta = self.reduction_factor
        self.shares = [math.ceil((top + 1) / (top - s + 1) * eta ** (top - s)) for s in range(top + 1)]
        return [Bracket(self.budgets[s:], eta) for s in range(top + 1)]

    def _bracket_for_new_config(self) -> int:
        # The bracket whose next configuration brings it least far past its share; ties go to the
        # more aggressive (cheaper) bracket, so small runs start with ASHA's cheap bottom rung.
        ratios = [(b.started + 1) / share for b, share in zip(self.brackets, self.shares, strict=True)]
        return ratios.index(min(ratios))
