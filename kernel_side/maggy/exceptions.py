"""Exceptions a training function may meet."""

from __future__ import annotations


class EarlyStopException(Exception):
    """Raised by ``reporter.broadcast`` after the driver ordered this trial to stop.

    The worker loop catches it; the trial's final metric is its last broadcast value. A training
    function need not catch it (if it does, it should re-raise or return promptly).
    """

    def __init__(self, metric: float | None = None) -> None:
        super().__init__(f"trial stopped by the experiment driver (last metric {metric})")
        self.metric = metric
