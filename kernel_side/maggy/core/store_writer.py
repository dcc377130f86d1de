"""Listener that writes an experiment's trials to the experiment store as they run."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from maggy.core import events as ev
from maggy.store import ExperimentStore
from maggy.trial import Trial

log = logging.getLogger("maggy")

#: Seconds between two saves of a running trial's progress (new points and logs so far).
PROGRESS_INTERVAL = 2.0

#: A running trial's new points are written once this many wait, even within the interval, so
#: that a fast curve never piles up here (about 1 MB of points per trial).
PROGRESS_MAX_POINTS = 8192

#: Likewise for its new log lines: written once this many characters wait.
PROGRESS_MAX_LOG_CHARS = 1 << 20

#: Pauses (seconds) between the tries of one failed write: a write is tried len + 1 times.
RETRY_BACKOFF = (0.05, 0.2)


@dataclass
class _Unsaved:
    """What the store does not have yet of one trial: its latest fields (``trial``, history and
    logs left empty) and the points and log lines that arrived since its last successful write."""

    trial: Trial
    points: list[list[float]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    log_chars: int = 0  # characters in ``logs``
    dirty: bool = True  # the trial's fields changed since the last write
    final: bool = False  # the trial ended: forgotten once written
    saved_at: float | None = None  # when its progress was last written (None: never)
    error: str | None = None  # why its last write failed

    @property
    def pending(self) -> bool:
        """Whether the store lacks anything of the trial."""
        return self.dirty or bool(self.points) or bool(self.logs)


class StoreWriter:
    """Saves each trial when it starts; while it runs, its new points and log lines (the first
    ones at once, then at most every ``progress_interval`` seconds, on the first point or log
    line after the interval, or once :data:`PROGRESS_MAX_POINTS` new points or
    :data:`PROGRESS_MAX_LOG_CHARS` characters of new lines wait); and the trial's fields, with
    its metric, when it ends.

    Points and lines are appended (``ExperimentStore.save_trial_progress``), never the whole
    history or log rewritten, and the writer keeps only those not yet written: a long curve or
    log costs neither memory nor write time here. They come from the ``MetricPoints`` and
    ``TrialLog`` events alone (the trial in ``TrialFinished`` holds only the driver's bounded
    history and log tail). The progress saves are what keep a running trial's curve when
    the driver dies outright (a killed kernel runs no cleanup): at most ``progress_interval``
    seconds of points (plus one heartbeat) are lost, and :mod:`maggy.core.recovery` later marks
    the trial LOST with what was saved.

    A write that fails (a full disk, a locked file) is tried again at once, a few times with a
    short backoff (:data:`RETRY_BACKOFF`); if it still fails, the trial's latest state and every
    unwritten point are kept, and written at the first event after ``progress_interval`` (a
    later write of a trial supersedes the failed one), or by :meth:`flush`. The experiment's
    runner calls :meth:`flush` at the end; what it returns goes into the result dict
    (``store_errors``) and a warning, so a full disk is never silent.
    """

    def __init__(
        self,
        store: ExperimentStore,
        experiment_id: str,
        progress_interval: float = PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.experiment_id = experiment_id
        self.progress_interval = progress_interval
        self._clock = clock
        self._sleep = sleep
        self._trials: dict[int, _Unsaved] = {}  # trial id -> what the store lacks of it
        self._retry_at: float | None = None  # while writes fail: not before then

    def __call__(self, event: ev.Event) -> None:
        entry: _Unsaved | None
        if isinstance(event, ev.TrialStarted):
            entry = self._trials[event.trial.trial_id] = _new_entry(event.trial)
            self._write(entry)
            entry.saved_at = None  # the trial's first points or log lines are written at once
        elif isinstance(event, ev.TrialFinished):
            entry = self._trials.get(event.trial.trial_id)
            if entry is None:  # its start was not seen: what the event carries is all there is
                entry = self._trials[event.trial.trial_id] = _new_entry(event.trial)
            entry.trial, entry.dirty, entry.final = _fields_of(event.trial), True, True
            self._write(entry)
        elif isinstance(event, (ev.MetricPoints, ev.TrialLog)):
            entry = self._trials.get(event.trial_id)
            if entry is None or entry.final:  # a late point after the end changes nothing
                return
            if isinstance(event, ev.MetricPoints):
                entry.points.extend(event.points)  # events are snapshots: shared, not copied
            else:
                entry.logs.extend(event.lines)
                entry.log_chars += sum(map(len, event.lines))
            if (
                entry.saved_at is None
                or self._clock() - entry.saved_at >= self.progress_interval
                or len(entry.points) >= PROGRESS_MAX_POINTS
                or entry.log_chars >= PROGRESS_MAX_LOG_CHARS
            ):
                self._write(entry)
        else:
            return
        self._retry_due()

    def flush(self) -> dict[int, str]:
        """Write everything not yet written; returns ``{trial_id: error}`` for the trials still
        unsaved (empty when the store has every trial). Called once the events have all been
        delivered; tries each trial with the backoff, but once one still fails, each of the
        rest only once, so that a full disk does not hold up the end."""
        patient = True
        for entry in list(self._trials.values()):
            if entry.pending and not self._write(entry, patient, wait_for_retry=False):
                patient = False
        return {tid: e.error or "not written" for tid, e in self._trials.items() if e.pending}

    def unsaved(self) -> dict[int, str]:
        """``{trial_id: error}`` of the trials whose last write failed (nothing is flushed)."""
        return {tid: e.error for tid, e in self._trials.items() if e.error is not None}

    # ---- internals ---------------------------------------------------------------------------

    def _retry_due(self) -> None:
        """While writes fail, try the trials left unwritten again, once per progress interval."""
        if self._retry_at is None or self._clock() < self._retry_at:
            return
        self._retry_at = None
        for entry in [e for e in self._trials.values() if e.error is not None]:
            if not self._write(entry, retries=False):
                return

    def _write(self, entry: _Unsaved, retries: bool = True, wait_for_retry: bool = True) -> bool:
        """One write of ``entry`` (tried again with the backoff if ``retries``); True if done.

        ``wait_for_retry``: while the store is failing, only note the trial as unwritten until
        the next retry is due (the dispatcher thread must not stall on every event).
        """
        if wait_for_retry and self._retry_at is not None and self._clock() < self._retry_at:
            entry.error = entry.error or "not written yet: the store was failing"
            return False  # the store is failing: wait for the retry instead of blocking the events
        pauses = RETRY_BACKOFF if retries else ()
        trial_id = entry.trial.trial_id
        for attempt in range(len(pauses) + 1):
            try:
                self.store.save_trial_progress(self.experiment_id, entry.trial, entry.points, entry.logs)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                if attempt < len(pauses):
                    self._sleep(pauses[attempt])
                    continue
                if entry.error is None:  # one line per trial, not one traceback per event
                    log.warning(
                        "maggy: could not save trial %d of experiment %s to the store (%s); "
                        "keeping it to try again",
                        trial_id,
                        self.experiment_id,
                        error,
                    )
                entry.error = error
                self._retry_at = self._clock() + self.progress_interval
                return False
            if entry.error is not None:
                log.warning("maggy: trial %d saved to the store after all", trial_id)
            entry.points, entry.logs, entry.log_chars, entry.dirty, entry.error = [], [], 0, False, None
            entry.saved_at = self._clock()
            if entry.final:
                del self._trials[trial_id]
            return True
        return False  # not reached


def _fields_of(trial: Trial) -> Trial:
    """A copy of ``trial`` without its history and logs (the points and lines travel apart)."""
    return replace(trial, history=[], logs=[], params=dict(trial.params), info=dict(trial.info))


def _new_entry(trial: Trial) -> _Unsaved:
    """What the store lacks of a trial seen for the first time: all of it."""
    logs = list(trial.logs)
    return _Unsaved(_fields_of(trial), [list(p) for p in trial.history], logs, sum(map(len, logs)))
