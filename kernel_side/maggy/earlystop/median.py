"""The median stopping rule, compared step for step (as Optuna's MedianPruner)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from maggy.earlystop.base import EarlyStopPolicy, check_direction
from maggy.trial import Trial, TrialState

# Trials whose history ran its course. User-stopped, failed and lost trials are left out: their
# curves end for reasons unrelated to how good they were.
_REFERENCE_STATES = frozenset({TrialState.FINISHED, TrialState.EARLY_STOPPED})


class MedianStoppingRule(EarlyStopPolicy):
    """Stop a running trial whose latest value is worse than the median of the finished trials'
    values at the same step.

    Let ``s`` be the highest step the running trial has reported and ``v`` its value there. A
    reference is a trial in state FINISHED or EARLY_STOPPED, other than the running one, with a
    point at a step <= s; its value at ``s`` is its value at the highest step <= s (steps need not
    line up: heartbeats sample each curve at its own steps). An EARLY_STOPPED reference whose
    curve ends before ``s`` is left out: the rule cut it short, so it says nothing about step
    ``s``, and its early values would drag the median down. A FINISHED one that ended before ``s``
    (a shorter run) counts with its last value. The running trial is stopped when ``v`` is worse
    than the median of the references' values (lower for direction 'max', higher for 'min'); a
    tie is not stopped. With no references, or an empty running history, nothing is stopped.
    NaN values are ignored (they cannot be compared).

    Why step for step, and not Vizier's "best so far against the median of running averages"
    (the original Maggy rule): an average over steps <= s includes every reference's early, poor
    values, so on rising learning curves a mediocre trial's best stays above it for long. On the
    synthetic curves of bench/stopping_sim.py (60 seeds) Vizier's form saved 2.6x of the steps,
    this one 3.8x, at the same best final accuracy within the curves' noise.
    """

    def should_stop(self, running: Trial, finished: Sequence[Trial], direction: str) -> bool:
        judged = latest_and_references(running, finished, direction)
        if judged is None:
            return False
        latest, references = judged
        median = statistics.median(references)
        return latest < median if direction == "max" else latest > median


def latest_and_references(
    running: Trial, finished: Sequence[Trial], direction: str
) -> tuple[float, list[float]] | None:
    """The running trial's value at its highest step ``s`` and the reference trials' values at
    ``s`` (see MedianStoppingRule); None when there is nothing to compare."""
    check_direction(direction)
    points = _points(running)
    if not points:
        return None
    step, latest = points[-1]
    references = [
        value
        for t in finished
        if t.state in _REFERENCE_STATES
        and t.trial_id != running.trial_id
        and (value := value_at(t, step)) is not None
    ]
    return (latest, references) if references else None


def value_at(trial: Trial, step: float) -> float | None:
    """``trial``'s value at the highest step <= ``step``; None if it has no point at or before
    ``step``, or if it was early-stopped before reaching ``step``."""
    points = _points(trial)
    upto = [p for p in points if p[0] <= step]
    if not upto or (trial.state is TrialState.EARLY_STOPPED and points[-1][0] < step):
        return None
    return upto[-1][1]


def _points(trial: Trial) -> list[tuple[float, float]]:
    """The non-NaN ``(step, value)`` points ordered by step (stable: of equal steps, the last
    reported comes last), so a point that arrives out of order does not count as the latest.
    A null value (the wire's form of a value that is not a number) counts as NaN."""
    points = [(float(s), float(v)) for s, v in trial.history if v is not None and not math.isnan(v)]
    return sorted(points, key=lambda p: p[0])
