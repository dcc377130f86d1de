"""One experiment's running summary, folded from the driver's events: maggy's one progress model.

Every view of a running experiment (the terminal bar ``maggy.progress``, the notebook's text
progress line and live view, the comm stream to the JupyterLab panel) folds the same events into
an :class:`ExperimentSummary` and shows what it says: counts per state, done and running, the
best trial (by :func:`maggy.core.result.best_trial`), why the experiment failed or a warning
while it runs (by :mod:`maggy.core.failure`), the first error, elapsed time and an ETA. A view
renders these; it does not decide them again.

A resumed experiment (``lagom(..., resume=ID)``) starts with its earlier runs' trials in
``ExperimentStarted.earlier_trials``: they are folded in like any trial (progress counts them,
the best may be one of them) and their ids are kept in :attr:`ExperimentSummary.earlier`, so
views can show them apart (greyed). ``num_trials`` counts them as it counts any trial: every
trial the optimizer suggested, earlier or now, while each retry (of a LOST trial, or a re-run of
an earlier trial cut short) is one more to run.

Thread-safety: none of its own; the owner serialises calls (each view calls it under its lock,
or from the dispatcher thread only). Pure apart from the clock: methods that need the time take
``now`` (``time.time()``, the clock the engine stamps trials with), so tests use a fake one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from maggy.core import events as ev
from maggy.core.failure import error_tail, failing_so_far, first_error
from maggy.core.result import best_trial
from maggy.trial import TERMINAL_STATES, Trial, TrialState

#: ``status`` before ``ExperimentStarted`` (a view made before the experiment started).
WAITING = "WAITING"
RUNNING = "RUNNING"


@dataclass(frozen=True)
class FirstError:
    """The first failed trial (ERROR or LOST, the first to end) and its error's last lines
    (:func:`maggy.core.failure.error_tail`: maggy's worker frames left out)."""

    trial_id: int
    text: str


def first_failed(trials: Iterable[Trial]) -> FirstError | None:
    """The first failed trial of ``trials`` (:func:`maggy.core.failure.first_error`) with its
    error's tail (its state when it has no traceback, as a LOST trial may); None if none failed."""
    first = first_error(trials)
    if first is None:
        return None
    return FirstError(first.trial_id, error_tail(first.error or "") or first.state.value)


class ExperimentSummary:
    """The running summary of one experiment (see the module docstring).

    Events may be missed (a view attached late): every trial snapshot an event carries replaces
    what was known of that trial, so the summary agrees with the engine's ``TrialFinished``
    trials in the end. ``trials`` holds those snapshots without histories or logs (the views
    that draw curves keep their own).
    """

    def __init__(
        self, experiment_id: str = "", name: str = "", num_trials: int = 0, direction: str = "max"
    ) -> None:
        self.experiment_id = experiment_id
        self.name = name
        self.planned = num_trials
        self.direction = direction
        self.num_workers: int | None = None
        self.status = WAITING  # then RUNNING, then the engine's final status
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.result: dict[str, Any] | None = None
        self.trials: dict[int, Trial] = {}
        #: Ids of a resumed experiment's trials from its earlier runs (empty for a new one).
        self.earlier: frozenset[int] = frozenset()
        self._retries: set[int] = set()
        # Figures derived from the trials, computed once per change: views read them up to ten
        # times a second, and trials start or end far less often.
        self._derived: dict[str, Any] = {}

    @classmethod
    def from_handle(cls, handle: Any) -> ExperimentSummary:
        """Start from an ``ExperimentHandle`` (or anything with its attributes and ``trials()``)."""
        summary = cls(handle.experiment_id, handle.name, handle.num_trials, handle.direction)
        summary.seed(handle.trials())
        return summary

    # ---- folding -----------------------------------------------------------------------------

    def seed(self, trials: Iterable[Trial]) -> None:
        """Take in trial copies (e.g. ``handle.trials()`` when attaching to a running experiment)."""
        for trial in trials:
            self.upsert(trial)
            if self.status == WAITING:  # ExperimentStarted came before this summary existed
                self.status = RUNNING

    def apply(self, event: ev.Event, now: float) -> bool:
        """Fold one event in; True if the summary changed (point and log events never change it)."""
        if isinstance(event, (ev.TrialStarted, ev.TrialFinished)):
            self.upsert(event.trial)
        elif isinstance(event, ev.ExperimentStarted):
            self._derived.clear()
            self.name = event.name or self.name
            self.planned = event.num_trials
            self.num_workers = event.num_workers
            self.status = RUNNING
            self.started_at = now
            if event.earlier_trials:
                self._take_earlier(event.earlier_trials)
        elif isinstance(event, ev.ExperimentFinished):
            self._derived.clear()
            self.status = event.status
            self.result = dict(event.result)
            self.finished_at = now
        else:
            return False
        return True

    def _take_earlier(self, trials: Iterable[Trial]) -> None:
        trials = list(trials)
        self.earlier = frozenset(t.trial_id for t in trials)
        for trial in trials:
            self.upsert(trial)

    def upsert(self, trial: Trial) -> None:
        """Record ``trial``'s latest snapshot (kept without its history and logs)."""
        self.trials[trial.trial_id] = replace(trial, history=[], logs=[])
        if trial.retry_of is not None:
            self._retries.add(trial.trial_id)
        if self.status == WAITING and trial.state is not TrialState.PENDING:
            self.status = RUNNING
        self._derived.clear()

    def _cached(self, name: str, compute: Callable[[], Any]) -> Any:
        if name not in self._derived:
            self._derived[name] = compute()
        return self._derived[name]

    # ---- reading -----------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """Still running (or not started yet)."""
        return self.status in (WAITING, RUNNING)

    @property
    def total(self) -> int:
        """Trials to run: those planned plus one per retry (as ``num_trials`` counts; earlier runs'
        retries and a resume's re-runs of earlier trials included)."""
        return max(self.planned + len(self._retries), len(self.trials))

    def counts(self) -> dict[TrialState, int]:
        """How many trials are in each state (every state present, 0 for none)."""
        return dict(self._cached("counts", self._count))

    def _count(self) -> dict[TrialState, int]:
        counts = dict.fromkeys(TrialState, 0)
        for trial in self.trials.values():
            counts[trial.state] += 1
        return counts

    @property
    def done(self) -> int:
        """Trials in a terminal state (:data:`maggy.trial.TERMINAL_STATES`)."""
        counts: dict[TrialState, int] = self._cached("counts", self._count)
        return sum(n for state, n in counts.items() if state in TERMINAL_STATES)

    @property
    def running(self) -> int:
        return int(self._cached("counts", self._count)[TrialState.RUNNING])

    def best(self) -> Trial | None:
        """The best trial so far, by :func:`maggy.core.result.best_trial` (what the result names)."""
        best: Trial | None = self._cached("best", lambda: best_trial(self.trials.values(), self.direction))
        return best

    @property
    def failure(self) -> str | None:
        """Why a FAILED experiment failed (the engine's ``result["failure"]``); else None."""
        if self.status != "FAILED":
            return None
        return (self.result or {}).get("failure") or "the experiment failed"

    @property
    def warning(self) -> str | None:
        """While the experiment runs: "every trial so far failed (3)" when it is so
        (:func:`maggy.core.failure.failing_so_far`); else None."""
        if self.status != RUNNING:
            return None
        warning: str | None = self._cached("warning", lambda: failing_so_far(self.trials.values()))
        return warning

    def first_error(self) -> FirstError | None:
        """The first failed trial and its error's tail, whenever ``failure`` or ``warning`` is
        set and a trial failed; else None. A failed trial without a traceback (a LOST one) shows
        its state."""
        if self.failure is None and self.warning is None:
            return None
        first: FirstError | None = self._cached("first_error", lambda: first_failed(self.trials.values()))
        return first

    def began(self) -> float | None:
        """When the experiment started: ``ExperimentStarted``, else its first trial's start."""
        if self.started_at is not None:
            return self.started_at
        return min((t.start for t in self.trials.values() if t.start is not None), default=None)

    def elapsed(self, now: float) -> float:
        """Seconds from the start to the end (to ``now`` while running); 0 before any start."""
        began = self.began()
        end = self.finished_at if self.finished_at is not None else now
        return max(0.0, end - began) if began is not None else 0.0

    def eta(self, now: float) -> float | None:
        """Seconds left, from the throughput so far; None when unknown (nothing done yet) or when
        no longer running."""
        return self.eta_after(self.elapsed(now))

    def eta_after(self, elapsed: float) -> float | None:
        """:meth:`eta` for a view that measures ``elapsed`` itself (e.g. on a monotonic clock)."""
        # Throughput so far times what is left: with asynchronous workers trials end at a steady
        # rate, so this needs neither the worker count nor per-trial durations. A resumed
        # experiment's earlier trials (all ended) took no time in this run: not in the rate.
        done = self.done
        done_here = done - len(self.earlier)
        if not self.live or done_here <= 0:
            return None
        return elapsed / done_here * max(0, self.total - done)
