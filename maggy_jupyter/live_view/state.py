"""The live view's model of one experiment: driver events folded into plain data, no widgets.

``ExperimentState.apply`` is cheap (a dict update, an array append) because it runs on the
driver's dispatcher thread for every event; everything costly (formatting, sorting, sending to
the browser) happens later, at most ~10 times a second, from what ``take_changes`` says moved.

Thread-safety: none of its own. ``LiveView`` calls every method under one lock; tests call it
from one thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from maggy.core import events as ev
from maggy.core.failure import error_tail
from maggy.trial import Trial, TrialState

from .records import Changes, Row, Summary, TrialRecord
from .series import Series

__all__ = ["Changes", "ExperimentState", "Row", "Summary", "TrialRecord"]

_PARTIAL = (TrialState.EARLY_STOPPED, TrialState.STOPPED)
_FAILED = (TrialState.ERROR, TrialState.LOST)


class ExperimentState:
    """One experiment as the live view shows it, folded from ``maggy.core.events`` events.

    Events may be missed (a view attached late, a seed from ``Trial`` copies): every trial
    snapshot an event carries overrides what was folded so far when it knows more, so the
    final state always agrees with the engine's ``TrialFinished`` trials.
    """

    def __init__(
        self,
        experiment_id: str = "",
        name: str = "",
        num_trials: int = 0,
        direction: str = "max",
        max_log_lines: int = 5000,
    ) -> None:
        self.experiment_id = experiment_id
        self.name = name
        self.planned = num_trials
        self.direction = direction
        self.max_log_lines = max_log_lines
        self.status = "WAITING"
        self.num_workers: int | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.result: dict[str, Any] | None = None
        self.stop_requested = False
        self.trials: dict[int, TrialRecord] = {}
        self._retries: set[int] = set()
        self._changes = Changes()
        self._best: TrialRecord | None = None
        self._best_valid = True

    @classmethod
    def from_handle(cls, handle: Any, **kwargs: Any) -> ExperimentState:
        """Start from an ``ExperimentHandle`` (or anything with its attributes and ``trials()``)."""
        state = cls(handle.experiment_id, handle.name, handle.num_trials, handle.direction, **kwargs)
        state.seed(handle.trials())
        return state

    # ---- folding -----------------------------------------------------------------------------

    def seed(self, trials: Iterable[Trial]) -> None:
        """Take in trial copies (e.g. ``handle.trials()`` when attaching to a running experiment)."""
        for trial in trials:
            self._upsert(trial)
            if self.status == "WAITING":  # ExperimentStarted came before this view existed
                self.status = "RUNNING"

    def apply(self, event: ev.Event, now: float) -> None:
        """Fold one event in; ``now`` is ``time.time()`` (the clock the engine stamps trials with)."""
        if isinstance(event, ev.MetricPoints):
            record = self._record(event.trial_id)
            if event.points:
                record.series.extend(event.points)
                self._changes.lines.add(record.trial_id)
                self._changes.live = True
        elif isinstance(event, ev.TrialLog):
            self._add_logs(self._record(event.trial_id), event.lines)
        elif isinstance(event, (ev.TrialStarted, ev.TrialFinished)):
            self._upsert(event.trial)
        elif isinstance(event, ev.ExperimentStarted):
            self.name = event.name or self.name
            self.planned = event.num_trials
            self.num_workers = event.num_workers
            self.status = "RUNNING"
            self.started_at = now
            self._changes.structure = True
        elif isinstance(event, ev.ExperimentFinished):
            self.status = event.status
            self.result = dict(event.result)
            self.finished_at = now
            self._changes.structure = True

    def request_stop_trial(self, trial_id: int) -> None:
        """Remember that the user asked (the button shows "stopping" until the trial ends)."""
        record = self.trials.get(trial_id)
        if record is not None and not record.state.is_terminal:
            record.stop_requested = True
            self._changes.structure = True

    def request_stop_experiment(self) -> None:
        self.stop_requested = True
        self._changes.structure = True

    def take_changes(self) -> Changes:
        """Return what changed since the last call, and start collecting afresh."""
        changes, self._changes = self._changes, Changes()
        return changes

    def _record(self, trial_id: int) -> TrialRecord:
        record = self.trials.get(trial_id)
        if record is None:  # a point before its TrialStarted: only when attached mid-experiment
            record = self.trials[trial_id] = TrialRecord(trial_id, {}, TrialState.RUNNING)
            self._changes.structure = True
        return record

    def _upsert(self, trial: Trial) -> None:
        record = self.trials.get(trial.trial_id)
        if record is None:
            record = self.trials[trial.trial_id] = TrialRecord(trial.trial_id, dict(trial.params))
        self._best_valid = False  # upserts are rare (a trial starts, a trial ends): recompute lazily
        record.params = dict(trial.params) or record.params
        record.state = trial.state
        record.metric = trial.metric
        record.worker = trial.worker
        record.start, record.end = trial.start, trial.end
        record.retry_of = trial.retry_of
        record.info = dict(trial.info)
        if trial.retry_of is not None:
            self._retries.add(trial.trial_id)
        if trial.state.is_terminal:
            record.stop_requested = False
        if len(trial.history) > len(record.series):  # the snapshot saw points this view missed
            record.series = Series.from_points(trial.history)
        if len(trial.logs) > len(record.logs) + record.dropped_logs:
            record.logs, record.dropped_logs = [], 0
            self._add_logs(record, trial.logs)
        if trial.error != record.error:
            record.error = trial.error
            self._changes.logs.add(record.trial_id)
        self._changes.lines.add(record.trial_id)
        self._changes.structure = True

    def _add_logs(self, record: TrialRecord, lines: list[str]) -> None:
        if not lines:
            return
        record.logs.extend(lines)
        excess = len(record.logs) - self.max_log_lines
        if excess > 0:
            del record.logs[:excess]
            record.dropped_logs += excess
        self._changes.logs.add(record.trial_id)

    # ---- reading -----------------------------------------------------------------------------

    @property
    def total(self) -> int:
        """Trials to run: those planned plus one per retry of a LOST trial (as ``num_trials`` counts)."""
        return max(self.planned + len(self._retries), len(self.trials))

    def best(self) -> TrialRecord | None:
        """The best trial by the result dict's rule (``maggy.core.result``): FINISHED trials by
        ``direction``, else those that ended early with a partial metric; ties go to the lowest id."""
        if not self._best_valid:
            ordered = sorted(self.trials.values(), key=lambda r: r.trial_id)
            scored = [r for r in ordered if r.state is TrialState.FINISHED and r.metric is not None]
            if not scored:
                scored = [r for r in ordered if r.state in _PARTIAL and r.metric is not None]
            pick = max if self.direction == "max" else min
            self._best = pick(scored, key=lambda r: r.metric or 0.0) if scored else None
            self._best_valid = True
        return self._best

    def summary(self, now: float) -> Summary:
        counts = {s: 0 for s in TrialState}
        for record in self.trials.values():
            counts[record.state] += 1
        done = sum(n for s, n in counts.items() if s.is_terminal)
        best = self.best()
        end = self.finished_at if self.finished_at is not None else now
        starts = [r.start for r in self.trials.values() if r.start is not None]
        began = self.started_at if self.started_at is not None else min(starts, default=None)
        elapsed = max(0.0, end - began) if began is not None else 0.0
        failure, first_error = self._failure()
        return Summary(
            name=self.name,
            status=self.status,
            direction=self.direction,
            total=self.total,
            done=done,
            running=counts[TrialState.RUNNING],
            finished=counts[TrialState.FINISHED],
            early_stopped=counts[TrialState.EARLY_STOPPED],
            stopped=counts[TrialState.STOPPED],
            errors=counts[TrialState.ERROR],
            lost=counts[TrialState.LOST],
            best_id=best.trial_id if best else None,
            best_metric=best.metric if best else None,
            best_params=dict(best.params) if best else None,
            elapsed=elapsed,
            eta=self._eta(done, elapsed),
            stop_requested=self.stop_requested,
            failure=failure,
            first_error=first_error,
        )

    def _failure(self) -> tuple[str | None, str | None]:
        """``(failure, first_error)`` for the summary.

        The engine decides when an experiment failed (``maggy.core.failure``): its result's
        ``failure`` is shown as it is. While trials run, the view only warns when every trial
        that ended so far failed, the sign of a bug in the training function.
        """
        failed = [r for r in self.trials.values() if r.state in _FAILED]
        if self.status == "FAILED":
            failure = (self.result or {}).get("failure") or "the experiment failed"
        elif (
            self.status == "RUNNING"
            and failed
            and all(r.state in _FAILED for r in self.trials.values() if r.state.is_terminal)
        ):
            failure = f"every trial so far failed ({len(failed)})"
        else:
            return None, None
        first = min(
            failed, key=lambda r: (r.end if r.end is not None else float("inf"), r.trial_id), default=None
        )
        if first is None or not first.error:
            return failure, None
        return failure, f"trial {first.trial_id}:\n{error_tail(first.error)}"

    def _eta(self, done: int, elapsed: float) -> float | None:
        # Throughput so far times what is left: with asynchronous workers trials end at a steady
        # rate, so this needs neither the worker count nor per-trial durations.
        if self.status not in ("RUNNING", "WAITING") or self.stop_requested or done == 0:
            return None
        remaining = max(0, self.total - done)
        return elapsed / done * remaining

    def running_ids(self) -> list[tuple[int, bool]]:
        """``(trial_id, stop_requested)`` of every RUNNING trial, by id."""
        return [
            (r.trial_id, r.stop_requested)
            for r in sorted(self.trials.values(), key=lambda r: r.trial_id)
            if r.state is TrialState.RUNNING
        ]

    def line(self, trial_id: int, max_points: int) -> tuple[np.ndarray, np.ndarray, TrialState]:
        """Copies of a trial's (steps, values), at most ``max_points`` of them, and its state."""
        record = self.trials[trial_id]
        x, y = record.series.arrays(max_points)
        return x, y, record.state

    def log_text(self, trial_id: int, max_lines: int) -> str:
        """A trial's last ``max_lines`` log lines, then its traceback if it has one."""
        record = self.trials.get(trial_id)
        if record is None:
            return ""
        hidden = record.dropped_logs + max(0, len(record.logs) - max_lines)
        parts = [f"... {hidden} earlier lines not shown"] if hidden else []
        parts.extend(record.logs[-max_lines:] if max_lines > 0 else [])
        if record.error:
            parts.extend(["", f"--- {record.state.value}: ---", record.error])
        return "\n".join(parts)

    def rows(self, now: float) -> list[Row]:
        """Every trial, by id, for the table."""
        return [
            Row(
                r.trial_id,
                dict(r.params),
                r.state,
                r.live_metric(),
                r.duration(now),
                r.worker,
                dict(r.info),
                r.retry_of,
            )
            for r in sorted(self.trials.values(), key=lambda r: r.trial_id)
        ]

    def param_names(self) -> list[str]:
        names: dict[str, None] = {}
        for record in self.trials.values():
            names.update(dict.fromkeys(record.params))
        return list(names)
