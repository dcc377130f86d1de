"""One experiment's event stream to the browser: coalesced batches plus a mirror for snapshots.

The driver's dispatcher thread calls :meth:`ExperimentStream.add` for every event (a heartbeat
every 0.1 s from each of 200 workers would be 2,000 events a second). Events are folded into one
pending batch; :meth:`take` turns it into a ``batch`` message at most once per ``interval``, so
the browser gets at most ``1 / interval`` messages a second per experiment, and every point and
log line travels in exactly one batch.

The mirror (every trial with its history and logs, as the batches so far describe it) is what a
frontend that subscribes late receives as a snapshot: because it is built from the same events
as the batches, ``snapshot at seq S`` + ``batches S+1, S+2, ...`` is exactly the stream, with no
point repeated. (The driver's own trial copies could be ahead of the batches by the events
still queued for the dispatcher, which would duplicate points.) The mirror's histories are
bounded: each is a :class:`~maggy_jupyter.live_view.series.Series` of at most
:data:`HISTORY_LIMIT` points (16 bytes each), thinned evenly over the steps with the first and
latest point kept, so a snapshot of a long curve is a downsampled one (the chart draws no more
anyway); the whole curve is in the experiment store.

A resumed experiment's earlier trials (``ExperimentStarted.earlier_trials``) go into the mirror
marked ``earlier`` (so snapshots and ``trial`` replies carry them like any trial) and travel once,
in the ``experiment_started`` part, each with its history thinned to at most
:data:`EARLIER_POINTS_PER_TRIAL` points and all of them together to at most
:data:`EARLIER_POINTS_BUDGET`: they no longer move, and the panel draws them faded.

The summary every message carries (counts, best, failure, warning, first error) is the engine's
:class:`~maggy.core.summary.ExperimentSummary`, folded from the same events, so the panel shows
what the other views show and computes none of it.

Not thread-safe by itself: the bridge calls everything under its lock. Pure (the caller passes
``now``), so tests drive it with a fake clock.
"""

from __future__ import annotations

import time
from typing import Any

from maggy.core import events as ev
from maggy.core.summary import ExperimentSummary
from maggy.trial import extend_log_tail, log_count, thin_points
from maggy_jupyter.comm_bridge import wire
from maggy_jupyter.live_view.series import Series

#: Most points of one trial's history the mirror keeps (and a snapshot sends).
HISTORY_LIMIT = 4096

#: Points a snapshot sends of all ended trials together (each at least SNAPSHOT_MIN_POINTS, at most
#: HISTORY_LIMIT): a 10,000-trial snapshot was 17 MB and took 2.5 s to build, while the panel draws
#: ended curves thinned to 50,000 points anyway; ``get_trial`` still returns one trial's whole mirror.
SNAPSHOT_POINTS = 100_000
SNAPSHOT_MIN_POINTS = 16
_LIVE = ("PENDING", "RUNNING")  # a live trial's curve is sent whole (up to HISTORY_LIMIT)

#: Most points of one earlier trial's history, and of all of them, that ``experiment_started``
#: carries (16-25 bytes each as JSON: about 1 MB at most; a snapshot later carries up to
#: :data:`HISTORY_LIMIT` each, as for every trial).
EARLIER_POINTS_PER_TRIAL = 512
EARLIER_POINTS_BUDGET = 50_000


class ExperimentStream:
    """Pending batch, sequence number and mirror of one experiment (see the module docstring)."""

    def __init__(self, handle: Any, interval: float, now: float, start: float | None = None) -> None:
        self.handle = handle  # what stop requests go to (``stop_trial``, ``stop_experiment``)
        self.experiment_id: str = handle.experiment_id
        self.num_trials: int = handle.num_trials
        self.progress = ExperimentSummary(
            handle.experiment_id, handle.name, handle.num_trials, handle.direction
        )
        self.interval = interval
        self.start = start
        self.end: float | None = None
        self.result: dict[str, Any] | None = None
        self.seq = 0
        # -inf: the first batch may go out at once
        self.last_sent = float("-inf")
        self.trials: dict[int, dict[str, Any]] = {}
        self._series: dict[int, Series] = {}  # each trial's history, bounded
        self._pending = _Batch()

    # ---- fed by the dispatcher ---------------------------------------------------------------

    @property
    def status(self) -> str:
        """RUNNING, then the experiment's final status."""
        return "RUNNING" if self.progress.live else self.progress.status

    def add(self, event: ev.Event, now: float | None = None) -> None:
        """Fold ``event`` into the pending batch, the mirror and the summary (unknown event types
        are ignored); ``now`` (default ``time.time()``) stamps the summary's start and end."""
        self.progress.apply(event, time.time() if now is None else now)
        batch = self._pending
        if isinstance(event, ev.ExperimentStarted):
            batch.experiment_started = {
                "name": event.name,
                "num_trials": event.num_trials,
                "num_workers": event.num_workers,
            }
            if event.earlier_trials:
                batch.experiment_started["earlier_trials"] = self._add_earlier(event.earlier_trials)
        elif isinstance(event, (ev.TrialStarted, ev.TrialFinished)):
            fields = wire.trial_fields(event.trial)
            mirrored = self._trial(event.trial.trial_id)
            mirrored.update(fields)
            (batch.started if isinstance(event, ev.TrialStarted) else batch.finished).append(fields)
        elif isinstance(event, ev.MetricPoints):
            self._trial(event.trial_id)
            _extend(self._series[event.trial_id], event.points)
            # Made JSON-safe once, when the batch becomes a message (take).
            batch.points.setdefault(event.trial_id, []).extend(event.points)
        elif isinstance(event, ev.TrialLog):
            lines = [str(line) for line in event.lines]
            # The mirror keeps a trial's log tail, as the driver does (a trial may print millions of
            # lines); `get_trial` says how many earlier lines only the store has.
            extend_log_tail(self._trial(event.trial_id)["logs"], lines)
            batch.logs.setdefault(event.trial_id, []).extend(lines)
        elif isinstance(event, ev.ExperimentFinished):
            self.result = wire.json_safe(event.result)
            batch.experiment_finished = {"status": event.status, "result": self.result}

    def _add_earlier(self, trials: tuple[Any, ...]) -> list[dict[str, Any]]:
        """Mirror a resumed experiment's earlier trials; their part of ``experiment_started``."""
        per_trial = max(3, min(EARLIER_POINTS_PER_TRIAL, EARLIER_POINTS_BUDGET // len(trials)))
        out = []
        for trial in trials:
            fields = {**wire.trial_fields(trial), "earlier": True}
            mirrored = self._trial(trial.trial_id)
            mirrored.update(fields)
            mirrored["logs"] = list(trial.logs)  # a tail keeps its ElidedLines head (log_count)
            series = self._series[trial.trial_id] = Series(limit=HISTORY_LIMIT)
            _extend(series, trial.history)
            sent = Series(limit=per_trial + 1)  # keeps at most limit - 1 points
            _extend(sent, trial.history)
            out.append({**fields, "history": sent.points(), "num_logs": log_count(mirrored["logs"])})
        return out

    # ---- read by the flusher -----------------------------------------------------------------

    @property
    def pending(self) -> bool:
        return not self._pending.empty

    def wait_time(self, now: float) -> float | None:
        """Seconds until a batch may go out (0 if now), or None if nothing is pending."""
        if self._pending.empty:
            return None
        return max(0.0, self.last_sent + self.interval - now)

    def take(self, now: float, force: bool = False) -> dict[str, Any] | None:
        """The pending batch as a message if one is due (or ``force``), else None."""
        if self._pending.empty or (not force and now < self.last_sent + self.interval):
            return None
        batch, self._pending = self._pending, _Batch()
        self.seq += 1
        self.last_sent = now
        # A batch that started or ended a trial or the experiment changed the summary: it goes
        # along, as it stands after the batch (points and logs never change it).
        summary = self.summary() if batch.changes_summary else None
        return batch.to_message(self.experiment_id, self.seq, summary)

    # ---- snapshots (caller flushed the pending batch first) ----------------------------------

    def summary(self) -> dict[str, Any]:
        """The *summary* object of docs/protocol.md, from :func:`summary_fields`."""
        return summary_fields(self.progress, num_trials=self.num_trials, start=self.start, end=self.end)

    def snapshot(self) -> dict[str, Any]:
        """An ``experiment`` message: summary, every trial with its history (logs counted, not
        sent), and the ``seq`` of the last batch it includes. Requires no pending batch."""
        assert self._pending.empty, "flush the pending batch before taking a snapshot"
        ended_cap = max(SNAPSHOT_MIN_POINTS, SNAPSHOT_POINTS // max(1, len(self.trials)))
        trials = [
            {
                **{k: v for k, v in t.items() if k != "logs"},
                "history": self._history(i, None if t["state"] in _LIVE else ended_cap),
                "num_logs": log_count(t["logs"]),
            }
            for i, t in sorted(self.trials.items())
        ]
        return wire.message("experiment", experiment=self.summary(), trials=trials, seq=self.seq)

    def trial_message(self, trial_id: int) -> dict[str, Any] | None:
        """A ``trial`` message (history and logs) as of ``seq``, or None for an unknown trial."""
        assert self._pending.empty, "flush the pending batch before reading a trial"
        trial = self.trials.get(trial_id)
        if trial is None:
            return None
        trial = {**trial, "history": self._history(trial_id)}
        return wire.message("trial", experiment_id=self.experiment_id, trial=trial, seq=self.seq)

    def _history(self, trial_id: int, cap: int | None = None) -> list[list[float]]:
        """The mirrored points of a trial, thinned evenly to ``cap`` (first and last kept) if given."""
        series = self._series.get(trial_id)
        points = [] if series is None else series.points()  # message() makes NaN values null
        return points if cap is None or len(points) <= cap else thin_points(points, cap)

    def _trial(self, trial_id: int) -> dict[str, Any]:
        trial = self.trials.get(trial_id)
        if trial is None:
            trial = {name: None for name in wire.TRIAL_FIELDS}
            trial.update(trial_id=trial_id, params={}, state="PENDING", logs=[])
            self.trials[trial_id] = trial
            self._series[trial_id] = Series(limit=HISTORY_LIMIT)
        return trial


class _Batch:
    """Events folded since the last batch. The receiver applies the parts in the order of
    :meth:`to_message`'s keys, which is a valid order for every trial's lifecycle."""

    def __init__(self) -> None:
        self.experiment_started: dict[str, Any] | None = None
        self.started: list[dict[str, Any]] = []
        self.points: dict[int, list[Any]] = {}
        self.logs: dict[int, list[str]] = {}
        self.finished: list[dict[str, Any]] = []
        self.experiment_finished: dict[str, Any] | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.experiment_started
            or self.started
            or self.points
            or self.logs
            or self.finished
            or self.experiment_finished
        )

    @property
    def changes_summary(self) -> bool:
        return bool(self.experiment_started or self.started or self.finished or self.experiment_finished)

    def to_message(
        self, experiment_id: str, seq: int, summary: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {"experiment_id": experiment_id, "seq": seq}
        if self.experiment_started is not None:
            fields["experiment_started"] = self.experiment_started
        if self.started:
            fields["started"] = self.started
        if self.points:
            fields["points"] = {str(k): v for k, v in self.points.items()}
        if self.logs:
            fields["logs"] = {str(k): v for k, v in self.logs.items()}
        if self.finished:
            fields["finished"] = self.finished
        if self.experiment_finished is not None:
            fields["experiment_finished"] = self.experiment_finished
        if summary is not None:
            fields["summary"] = summary
        return wire.message("batch", **fields)


def _extend(series: Series, points: Any) -> None:
    try:
        series.extend(points)
    except (TypeError, ValueError):  # a null value: NaN in the array, null again on the wire
        series.extend([[_num(s), _num(v)] for s, v in wire.json_safe(points)])


def _num(value: Any) -> float:
    """A point's coordinate for the mirror's float array: NaN for what json_safe made null."""
    return float(value) if isinstance(value, (int, float)) else float("nan")


def summary_fields(
    progress: ExperimentSummary, num_trials: int, start: float | None, end: float | None
) -> dict[str, Any]:
    """The *summary* object of docs/protocol.md for a running (or just finished) experiment.

    Everything the panel shows of the experiment's progress is decided here, by the engine's
    rules (best: ``maggy.core.result.best_trial``; failure, warning, first error:
    ``maggy.core.failure``); the browser recomputes none of it."""
    best = progress.best()
    first = progress.first_error()
    return wire.json_safe(
        {
            "experiment_id": progress.experiment_id,
            "name": progress.name,
            "status": "RUNNING" if progress.live else progress.status,
            "direction": progress.direction,
            "num_trials": num_trials,
            "start": start,
            "end": end,
            "live": progress.live,
            "done": progress.done,
            "running": progress.running,
            "earlier": len(progress.earlier),
            "best": None if best is None else {"trial_id": best.trial_id, "metric": best.metric},
            "failure": progress.failure,
            "warning": progress.warning,
            "first_error": None if first is None else {"trial_id": first.trial_id, "text": first.text},
        }
    )
