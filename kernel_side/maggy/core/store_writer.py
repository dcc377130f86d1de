"""Listener that writes an experiment's trials to the experiment store as they run."""

from __future__ import annotations

import time
from collections.abc import Callable

from maggy.core import events as ev
from maggy.store import ExperimentStore
from maggy.trial import Trial

#: Seconds between two saves of a running trial's progress (history and logs so far).
PROGRESS_INTERVAL = 2.0


class StoreWriter:
    """Saves each trial when it starts; while it runs, its history and logs so far, at most every
    ``progress_interval`` seconds (on the first point or log line after the interval); and the
    whole trial, with its metric, when it ends.

    The progress saves are what keep a running trial's curve when the driver dies outright (a
    killed kernel runs no cleanup): at most ``progress_interval`` seconds of points are lost, and
    :mod:`maggy.core.recovery` later marks the trial LOST with what was saved. Each save rewrites
    the trial's whole history, so the interval bounds that cost too.
    """

    def __init__(
        self,
        store: ExperimentStore,
        experiment_id: str,
        progress_interval: float = PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.experiment_id = experiment_id
        self.progress_interval = progress_interval
        self._clock = clock
        self._running: dict[int, tuple[Trial, float]] = {}  # trial id -> (own copy, last saved at)

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.TrialStarted):
            self._running[event.trial.trial_id] = (event.trial.copy(), self._clock())
            self.store.save_trial(self.experiment_id, event.trial)
        elif isinstance(event, ev.TrialFinished):
            self._running.pop(event.trial.trial_id, None)
            self.store.save_trial(self.experiment_id, event.trial)
        elif isinstance(event, (ev.MetricPoints, ev.TrialLog)) and event.trial_id in self._running:
            trial, saved_at = self._running[event.trial_id]
            if isinstance(event, ev.MetricPoints):
                trial.history.extend(list(p) for p in event.points)
            else:
                trial.logs.extend(event.lines)
            now = self._clock()
            if now - saved_at >= self.progress_interval:
                self.store.save_trial(self.experiment_id, trial)
                self._running[event.trial_id] = (trial, now)
