"""Typed events the driver publishes, and the bus listeners subscribe to.

Listeners (the store writer, the terminal progress bar, the Jupyter widgets and comm bridge) are
called one at a time, in publication order, from the driver's dispatcher thread. A listener that
raises is logged and kept; it never breaks the experiment. Trials inside events are snapshots:
listeners may keep them. A trial's ``history`` there is bounded (a long curve is thinned evenly,
see :func:`maggy.trial.extend_bounded`); every point is in the ``MetricPoints`` events, whose
point lists are shared with the driver and other listeners: read them, never change them. The
dispatcher tells the driver when each event has been delivered, and workers wait while too many
points are undelivered (``DriverCore.wait_for_room``), so a slow listener slows the workers down
rather than filling the driver's memory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from maggy.trial import Trial

log = logging.getLogger("maggy")


@dataclass(frozen=True)
class Event:
    experiment_id: str


@dataclass(frozen=True)
class ExperimentStarted(Event):
    name: str
    num_trials: int
    num_workers: int
    driver_address: tuple[str, int]
    config: dict[str, Any] = field(default_factory=dict)
    #: A resumed experiment's trials from its earlier runs (terminal, history thinned), which count
    #: towards ``num_trials``; views show them greyed beside this run's. Empty for a new experiment.
    earlier_trials: tuple[Trial, ...] = ()


@dataclass(frozen=True)
class TrialStarted(Event):
    trial: Trial


@dataclass(frozen=True)
class MetricPoints(Event):
    trial_id: int
    points: list[list[float]]


@dataclass(frozen=True)
class TrialLog(Event):
    trial_id: int
    lines: list[str]


@dataclass(frozen=True)
class TrialFinished(Event):
    trial: Trial


@dataclass(frozen=True)
class WorkerOutput(Event):
    """Lines a worker process wrote to its stdout/stderr outside any trial's capture (a library's
    start-up logs, C-level warnings, a crash's last words); see maggy.backends.worker_output."""

    worker_id: str
    lines: list[str]


@dataclass(frozen=True)
class ExperimentFinished(Event):
    status: str
    result: dict[str, Any]


Listener = Callable[[Event], None]


class EventBus:
    """Fan-out of events to listeners; subscribe/unsubscribe are thread-safe."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add ``listener``; returns a function that removes it."""
        with self._lock:
            self._listeners = [*self._listeners, listener]

        def unsubscribe() -> None:
            with self._lock:
                self._listeners = [x for x in self._listeners if x is not listener]

        return unsubscribe

    def publish(self, event: Event) -> None:
        for listener in self._listeners:  # copy-on-write list: safe to iterate without the lock
            try:
                listener(event)
            except Exception:
                log.exception("maggy: event listener %r failed on %s", listener, type(event).__name__)
