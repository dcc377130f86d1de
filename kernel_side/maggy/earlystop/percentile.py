"""The percentile stopping rule: the median rule with a configurable cut (median = 50th percentile)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from maggy.earlystop.base import EarlyStopPolicy
from maggy.earlystop.median import latest_and_references
from maggy.trial import Trial


class PercentileStoppingRule(EarlyStopPolicy):
    """Stop a running trial whose latest value is worse than the ``percentile``-th best of the
    finished trials' values at the same step.

    ``percentile`` counts from the best (as Optuna's PercentilePruner): 25.0 keeps a trial only while
    it is within the top quarter, 50.0 is :class:`~maggy.earlystop.MedianStoppingRule` exactly (same
    references, same values, ties not stopped), 75.0 stops only the bottom quarter.
    With the references' values sorted from best to worst, the cut is interpolated
    linearly between neighbours (numpy's default percentile). Everything else (which trials are
    references, which step, NaN handling) is the median rule's. ``es_policy='percentile'`` uses
    the default 25.0; pass ``PercentileStoppingRule(percentile=...)`` for another.
    """

    def __init__(self, percentile: float = 25.0) -> None:
        if (
            isinstance(percentile, bool)
            or not isinstance(percentile, numbers.Real)
            or not 0.0 <= float(percentile) <= 100.0
        ):
            raise ValueError(
                f"PercentileStoppingRule: percentile must be a number in [0, 100], got {percentile!r}"
            )
        self.percentile: float = float(percentile)

    def should_stop(self, running: Trial, finished: Sequence[Trial], direction: str) -> bool:
        judged = latest_and_references(running, finished, direction)
        if judged is None:
            return False
        latest, references = judged
        ranked = sorted(references, reverse=direction == "max")  # best first
        cut = _interpolate(ranked, self.percentile)
        return latest < cut if direction == "max" else latest > cut

    @property
    def name(self) -> str:
        return f"PercentileStoppingRule({self.percentile:g})"


def _interpolate(ranked: list[float], percentile: float) -> float:
    """The value at ``percentile`` of ``ranked`` with linear interpolation.

    A midpoint is computed as ``(a + b) / 2``, as ``statistics.median`` does, so that 50 gives the
    median rule's threshold to the last bit and a tie is decided the same way.
    """
    pos = percentile / 100.0 * (len(ranked) - 1)
    lo = math.floor(pos)
    frac = pos - lo
    if frac == 0.0:
        return ranked[lo]
    a, b = ranked[lo], ranked[lo + 1]
    return (a + b) / 2 if frac == 0.5 else a + (b - a) * frac
