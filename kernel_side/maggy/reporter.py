"""The reporter a training function receives to stream metrics and log lines to the driver.

Thread-safety: ``broadcast`` and ``log`` are called by the training function (any thread, e.g. a
Keras callback); ``drain`` and ``request_stop`` by the worker's heartbeat thread. One lock guards
the buffers, so no point is lost between two heartbeats.
"""

from __future__ import annotations

import math
import numbers
import threading

from maggy.exceptions import EarlyStopException


class Reporter:
    """Collects ``[step, value]`` points and log lines for one trial at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._points: list[list[float]] = []
        self._logs: list[str] = []
        self._stop = False
        self._last_step: float | None = None
        self._last_value: float | None = None
        self.trial_id: int | None = None

    def reset(self, trial_id: int | None) -> None:
        """Start a new trial (worker loop only)."""
        with self._lock:
            self._points, self._logs = [], []
            self._stop = False
            self._last_step = None
            self._last_value = None
            self.trial_id = trial_id

    def broadcast(self, metric: float, step: float | None = None) -> None:
        """Report ``metric`` at ``step`` (auto-incremented from the last step when omitted).

        Raises TypeError for a non-numeric metric, ValueError for NaN/inf or a step smaller than
        the previous one, and :class:`EarlyStopException` when the driver has ordered this trial
        to stop (the point is recorded first, so it becomes the trial's final metric).
        """
        if isinstance(metric, bool) or not isinstance(metric, numbers.Real):
            raise TypeError(
                f"reporter.broadcast: metric must be a number, got {metric!r} ({type(metric).__name__})"
            )
        value = float(metric)
        if not math.isfinite(value):
            raise ValueError(f"reporter.broadcast: metric must be finite, got {value}")
        with self._lock:
            if step is None:
                step_value = 0.0 if self._last_step is None else self._last_step + 1
            else:
                if (
                    isinstance(step, bool)
                    or not isinstance(step, numbers.Real)
                    or not math.isfinite(float(step))
                ):
                    raise TypeError(f"reporter.broadcast: step must be a finite number, got {step!r}")
                step_value = float(step)
                if self._last_step is not None and step_value < self._last_step:
                    raise ValueError(
                        f"reporter.broadcast: steps must not decrease (got {step_value} after {self._last_step})"
                    )
            self._last_step = step_value
            self._last_value = value
            self._points.append([_compact(step_value), value])
            stop = self._stop
        if stop:
            raise EarlyStopException(value)

    def log(self, msg: object) -> None:
        """Record a log line for this trial; it reaches the driver with the next heartbeat."""
        text = str(msg)
        with self._lock:
            self._logs.extend(text.splitlines() or [""])

    @property
    def last_value(self) -> float | None:
        return self._last_value

    @property
    def stop_requested(self) -> bool:
        return self._stop

    def request_stop_for(self, trial_id: int) -> None:
        """Make the next ``broadcast`` raise EarlyStopException if ``trial_id`` is still running."""
        with self._lock:
            if self.trial_id == trial_id:
                self._stop = True

    def drain(self) -> tuple[int | None, list[list[float]], list[str]]:
        """Take the current trial id and every point and log line buffered since the last drain."""
        with self._lock:
            points, logs = self._points, self._logs
            self._points, self._logs = [], []
            return self.trial_id, points, logs


def _compact(step: float) -> float:
    # Integral steps travel and display as ints (0, 1, 2), fractional ones as floats.
    return int(step) if step.is_integer() else step
