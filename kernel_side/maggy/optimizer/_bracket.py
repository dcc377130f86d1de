"""Rung bookkeeping of one successive-halving bracket, shared by ASHA and Hyperband.

Pure data and decisions (no randomness, no clock): record results per rung, and say which
configuration to promote next under the asynchronous rule of Li et al., "A System for Massively
Parallel Hyperparameter Tuning" (MLSys 2020): a configuration at rung k is promotable once it is
among the best ``floor(n_k / eta)`` of the ``n_k`` results recorded at rung k and has not been
promoted yet. Higher rungs are served first, so the most promising configurations advance soonest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from maggy.optimizer._encoding import config_key


@dataclass(frozen=True)
class RungResult:
    """One configuration's result at one rung; ``loss`` None: it ended without a usable metric."""

    params: dict[str, Any]
    loss: float | None
    seq: int  # arrival order, to break ties between equal losses deterministically

    @property
    def rank_key(self) -> tuple[float, int]:
        return (math.inf if self.loss is None else self.loss, self.seq)


class Bracket:
    """The rungs of one bracket: ``budgets[k]`` is what a run at rung k gets (increasing).

    ``results[k]`` maps a configuration's key to its RungResult at rung k; ``promoted[k]`` holds
    the keys already sent from rung k to k+1 (marked when the promotion is suggested, not when it
    finishes, so one configuration is never promoted twice). ``started`` counts configurations
    that entered the bracket at its bottom rung.
    """

    def __init__(self, budgets: list[Any], eta: float) -> None:
        self.budgets = list(budgets)
        self.eta = eta
        self.results: list[dict[str, RungResult]] = [{} for _ in self.budgets]
        self.promoted: list[set[str]] = [set() for _ in self.budgets]
        self.started = 0
        self._seq = 0

    def record(self, params: dict[str, Any], rung: int, loss: float | None) -> None:
        """Record the result of ``params`` at ``rung`` (lower loss is better; None ranks last)."""
        self._seq += 1
        self.results[rung][config_key(params)] = RungResult(dict(params), loss, self._seq)

    def promotion(self) -> tuple[dict[str, Any], int] | None:
        """``(params, rung to run at)`` for the next promotion, marked as promoted; None if none is due.

        Only configurations with a usable loss are promoted; those without one still count in
        ``n_k`` (they did use up a slot at that rung, and were, by any measure, not the best).
        """
        for k in range(len(self.budgets) - 2, -1, -1):
            done = self.results[k]
            n_top = math.floor(len(done) / self.eta + 1e-9)
            if n_top == 0:
                continue
            for r in sorted(done.values(), key=lambda r: r.rank_key)[:n_top]:
                key = config_key(r.params)
                if r.loss is not None and key not in self.promoted[k]:
                    self.promoted[k].add(key)
                    return dict(r.params), k + 1
        return None

    def counts(self) -> list[int]:
        """Results recorded per rung (for logs and tests)."""
        return [len(r) for r in self.results]


#: Most rungs a schedule may have. Budgets grow by eta per rung, so 32 rungs already span
#: eta**31 (2e9 for eta=2); more come only from an eta barely above 1 or absurd bounds (eta=1.0001
#: over [1, 1e6] gave 138,000 rungs, and one full bracket would need more trials than anyone runs).
MAX_RUNGS = 32


def check_schedule(eta: float, min_budget: float, max_budget: float) -> None:
    """Raise ValueError, saying what to change, when ``rung_budgets`` would overflow or exceed MAX_RUNGS."""
    ratio = max_budget / min_budget
    if not math.isfinite(ratio):
        raise ValueError(
            f"max_budget / min_budget = {max_budget!r} / {min_budget!r} overflows a float; narrow the budgets"
        )
    rungs = math.floor(math.log(ratio) / math.log(eta) + 1e-9) + 1
    if rungs > MAX_RUNGS:
        raise ValueError(
            f"reduction_factor={eta!r} from min_budget={min_budget!r} to max_budget={max_budget!r} makes "
            f"{rungs} rungs, more than {MAX_RUNGS}: raise reduction_factor (2 to 4 is usual) or narrow the budgets"
        )


def rung_budgets(eta: float, min_budget: float, max_budget: float) -> list[Any]:
    """Budgets ``max_budget / eta**K, ..., max_budget / eta, max_budget`` with ``K = floor(log_eta(max/min))``.

    Counted down from ``max_budget`` so the top rung is exactly what the user asked for and the
    bottom one is at least ``min_budget``. Ints (rounded, duplicates dropped) when both bounds are
    ints, so a budget can be used as a number of epochs directly.
    """
    check_schedule(eta, min_budget, max_budget)
    top = math.floor(math.log(max_budget / min_budget) / math.log(eta) + 1e-9)
    budgets = [max_budget / eta ** (top - k) for k in range(top + 1)]
    if _is_int(min_budget) and _is_int(max_budget):
        return sorted({max(round(b), int(min_budget)) for b in budgets})
    return [float(b) for b in budgets[:-1]] + [float(max_budget)]


def derived_max_budget(eta: float, min_budget: float, num_trials: int) -> float:
    """The largest ``min_budget * eta**K`` for which one full synchronous bracket fits in ``num_trials`` runs.

    A full bracket runs ``eta**K`` configurations at the bottom rung, ``eta**(K-1)`` at the next,
    ..., one at the top: ``sum(eta**j for j <= K)`` runs. With eta=3 that is 13 runs for K=2, 40
    for K=3: 16 trials give rungs (1, 3, 9), 100 give (1, 3, 9, 27). K is 0 (a single rung, plain
    random search at ``min_budget``) when fewer than ``1 + eta`` trials are asked for.
    """
    k, runs = 0, 1.0  # runs: sum(eta**j for j <= k)
    while k + 1 < MAX_RUNGS and runs + eta ** (k + 1) <= num_trials + 1e-9:
        k += 1
        runs += eta**k
    value = min_budget * eta**k
    return int(round(value)) if _is_int(min_budget) and _is_int(eta) else float(value)


def full_bracket_runs(eta: float, rungs: int) -> int:
    """Runs of one synchronous bracket with ``rungs`` rungs (how many trials the top rung needs)."""
    return sum(math.ceil(eta**j) for j in range(rungs))


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)
