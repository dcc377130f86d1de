"""Optimization history: each trial's metric in the order trials ended, and the best so far."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from maggy.trial import Trial, TrialState

_PARTIAL = (TrialState.EARLY_STOPPED, TrialState.STOPPED)


@dataclass(frozen=True)
class History:
    """The trials that ended with a metric, in end order (ties by trial id).

    ``best`` and ``best_ids``: after each trial ended, the metric and id of the trial that
    :func:`maggy.core.result.best_trial` names among those ended so far (FINISHED trials at the
    largest budget reached, else partial metrics; the lowest id on a tie): the curve ends at the
    result dict's ``best_val``. NaN / None before any trial scores.
    """

    direction: str
    trial_ids: np.ndarray
    ends: np.ndarray
    values: np.ndarray
    states: tuple[str, ...]
    best: np.ndarray
    best_ids: tuple[int | None, ...]
    params: tuple[dict[str, Any], ...]

    def __len__(self) -> int:
        return len(self.trial_ids)


def _scores(t: Trial) -> bool:
    return t.state.is_terminal and t.metric is not None and not math.isnan(t.metric)


def optimization_history(trials: Iterable[Trial], direction: str) -> History:
    """The :class:`History` of ``trials`` (any order; running and metric-less ones are left out).

    One pass, O(n log n): the best-trial rule is kept incrementally (one best per budget, the
    largest budget seen, the best partial metric), not re-run per prefix.
    """
    if direction not in ("max", "min"):
        raise ValueError(f"direction must be 'max' or 'min', got {direction!r}")
    ended = sorted(
        (t for t in trials if _scores(t)),
        key=lambda t: (t.end if t.end is not None else math.inf, t.trial_id),
    )
    sign = 1.0 if direction == "max" else -1.0

    def better(a: tuple[float, int] | None, b: tuple[float, int]) -> tuple[float, int]:
        # (metric, id): higher sign*metric wins, then the lower id (best_trial's tie rule)
        if a is None:
            return b
        return b if (sign * b[0], -b[1]) > (sign * a[0], -a[1]) else a

    by_budget: dict[float | None, tuple[float, int]] = {}
    top_budget: float | None = None
    partial: tuple[float, int] | None = None
    best, best_ids = [], []
    for t in ended:
        entry = (float(t.metric or 0.0), t.trial_id)
        if t.state is TrialState.FINISHED:
            by_budget[t.budget] = better(by_budget.get(t.budget), entry)
            if t.budget is not None and (top_budget is None or t.budget > top_budget):
                top_budget = t.budget
        elif t.state in _PARTIAL:
            partial = better(partial, entry)
        current = by_budget.get(top_budget) if by_budget else partial
        best.append(current[0] if current else math.nan)
        best_ids.append(current[1] if current else None)
    return History(
        direction=direction,
        trial_ids=np.array([t.trial_id for t in ended], dtype=int),
        ends=np.array([t.end if t.end is not None else math.nan for t in ended], dtype=float),
        values=np.array([float(t.metric or 0.0) for t in ended], dtype=float),
        states=tuple(t.state.value for t in ended),
        best=np.array(best, dtype=float),
        best_ids=tuple(best_ids),
        params=tuple(dict(t.params) for t in ended),
    )
