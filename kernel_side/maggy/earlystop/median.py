"""The median stopping rule (Golovin et al., "Google Vizier", KDD 2017), as Maggy applies it."""

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
    """Stop a running trial whose best value so far is strictly worse than the median of the
    running averages of the finished trials at the same step.

    Let ``s`` be the highest step the running trial has reported. A reference trial is one in state
    FINISHED or EARLY_STOPPED, other than the running one, with at least one point at a step <= s;
    its running average at ``s`` is the mean of its values at steps <= s. A reference that ended
    before ``s`` (a shorter run, or one stopped early) thus counts with the average of its whole
    curve, as in the original Maggy rule, so that trials longer than the finished ones are judged.
    The running trial is stopped when its best value (max for direction 'max', min for 'min') is
    worse than the median of those averages; a tie is not stopped. With no reference trials, or an empty running history, nothing is stopped. NaN values
    are ignored (they cannot be compared).
    """

    def should_stop(self, running: Trial, finished: Sequence[Trial], direction: str) -> bool:
        judged = best_and_references(running, finished, direction)
        if judged is None:
            return False
        best, averages = judged
        median = statistics.median(averages)
        return best < median if direction == "max" else best > median


def best_and_references(
    running: Trial, finished: Sequence[Trial], direction: str
) -> tuple[float, list[float]] | None:
    """The running trial's best value so far and the reference trials' running averages at its
    latest step (see MedianStoppingRule); None when there is nothing to compare."""
    check_direction(direction)
    points = _points(running)
    if not points:
        return None
    step = max(s for s, _ in points)
    values = [v for _, v in points]
    best = max(values) if direction == "max" else min(values)
    averages = [
        avg
        for t in finished
        if t.state in _REFERENCE_STATES
        and t.trial_id != running.trial_id
        and (avg := running_average(t, step)) is not None
    ]
    return (best, averages) if averages else None


def running_average(trial: Trial, step: float) -> float | None:
    """Mean of ``trial``'s values at steps <= ``step``, or None if it has no point at or before it."""
    points = _points(trial)
    upto = [v for s, v in points if s <= step]
    return sum(upto) / len(upto) if upto else None


def _points(trial: Trial) -> list[tuple[float, float]]:
    return [(float(s), float(v)) for s, v in trial.history if not math.isnan(v)]
