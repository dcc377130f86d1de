"""The live view's model of one experiment: driver events folded into plain data, no widgets.

Progress figures (counts, best, failure, warning, first error, elapsed, ETA) come from the engine's
:class:`~maggy.core.summary.ExperimentSummary`, folded from the same events: the view shows what
every other view of the experiment shows, by the same rules.

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
from maggy.core.failure import user_traceback
from maggy.core.summary import ExperimentSummary
from maggy.trial import Trial, TrialState

from .records import Changes, Row, Summary, TrialRecord
from .series import Series

__all__ = ["Changes", "ExperimentState", "Row", "Summary", "TrialRecord"]


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
        self.max_log_lines = max_log_lines
        self.stop_requested = False
        self.trials: dict[int, TrialRecord] = {}
        # Counts, best, failure, warning, elapsed, ETA: the engine's summary, as every view shows it.
        self.progress = ExperimentSummary(experiment_id, name, num_trials, direction)
        self._changes = Changes()

    @classmethod
    def from_handle(cls, handle: Any, **kwargs: Any) -> ExperimentState:
        """Start from an ``ExperimentHandle`` (or anything with its attributes and ``trials()``)."""
        state = cls(handle.experiment_id, handle.name, handle.num_trials, handle.direction, **kwargs)
        state.seed(handle.trials())
        return state

    # ---- folding -----------------------------------------------------------------------------

    def seed(self, trials: Iterable[Trial]) -> None:
        """Take in trial copies (e.g. ``handle.trials()`` when attaching to a running experiment)."""
        trials = list(trials)
        self.progress.seed(trials)
        for trial in trials:
            self._upsert(trial)

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
        elif self.progress.apply(event, now):
            if isinstance(event, (ev.TrialStarted, ev.TrialFinished)):
                self._upsert(event.trial)
            elif isinstance(event, ev.ExperimentStarted):
                for trial in event.earlier_trials:  # a resumed experiment's: shown greyed
                    self._upsert(trial)
                    self.trials[trial.trial_id].earlier = True
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
        record.params = dict(trial.params) or record.params
        record.state = trial.state
        record.metric = trial.metric
        record.worker = trial.worker
        record.start, record.end = trial.start, trial.end
        record.retry_of = trial.retry_of
        record.info = dict(trial.info)
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

    def summary(self, now: float) -> Summary:
        """The header's figures (a copy), from the engine's summary ``progress``; no ETA once the
        user asked the experiment to stop."""
        p = self.progress
        counts = p.counts()
        best = p.best()
        first = p.first_error()
        eta = None if self.stop_requested else p.eta(now)
        return Summary(
            name=p.name,
            status=p.status,
            direction=p.direction,
            total=p.total,
            done=p.done,
            running=counts[TrialState.RUNNING],
            finished=counts[TrialState.FINISHED],
            early_stopped=counts[TrialState.EARLY_STOPPED],
            stopped=counts[TrialState.STOPPED],
            errors=counts[TrialState.ERROR],
            lost=counts[TrialState.LOST],
            best_id=best.trial_id if best else None,
            best_metric=best.metric if best else None,
            best_params=dict(best.params) if best else None,
            elapsed=p.elapsed(now),
            eta=eta,
            stop_requested=self.stop_requested,
            failure=p.failure,
            warning=p.warning,
            first_error=None if first is None else f"trial {first.trial_id}:\n{first.text}",
            earlier=len(p.earlier),
        )

    @property
    def earlier_ids(self) -> frozenset[int]:
        """Ids of a resumed experiment's trials from its earlier runs (shown greyed)."""
        return self.progress.earlier

    def running_ids(self) -> list[tuple[int, bool]]:
        """``(trial_id, stop_requested)`` of every RUNNING trial, by id."""
        return [
            (r.trial_id, r.stop_requested)
            for r in sorted(self.trials.values(), key=lambda r: r.trial_id)
            if r.state is TrialState.RUNNING
        ]

    def curve_ids(self, limit: int, best_id: int | None) -> set[int]:
        """The trials whose curves the chart draws: all of them up to ``limit``; beyond, the
        running ones, the best, and the best ended ones by metric up to ``limit`` (thousands of
        curves make an unreadable chart, and each is a widget the browser must keep)."""
        if len(self.trials) <= limit:
            return set(self.trials)
        live = (TrialState.RUNNING, TrialState.PENDING)
        shown = {tid for tid, r in self.trials.items() if r.state in live}
        if best_id is not None and best_id in self.trials:
            shown.add(best_id)
        sign = -1.0 if self.progress.direction == "max" else 1.0
        ranked = sorted(
            (sign * metric, tid)
            for tid, r in self.trials.items()
            if tid not in shown and (metric := r.live_metric()) is not None and np.isfinite(metric)
        )
        for _, tid in ranked[: max(0, limit - len(shown))]:
            shown.add(tid)
        return shown

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
            parts.extend(["", f"--- {record.state.value}: ---", user_traceback(record.error)])
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
                r.earlier,
            )
            for r in sorted(self.trials.values(), key=lambda r: r.trial_id)
        ]

    def param_names(self) -> list[str]:
        names: dict[str, None] = {}
        for record in self.trials.values():
            names.update(dict.fromkeys(record.params))
        return list(names)
