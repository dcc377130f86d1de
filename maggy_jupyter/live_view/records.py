"""Plain records the live view's state hands out: one trial, one table row, progress, changes.

Widget-free, like ``state.py``. ``Summary`` and ``Row`` are copies, safe to read outside the
state's lock; ``TrialRecord`` is the state's own mutable record and stays behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from maggy.trial import TrialState

from .series import Series


@dataclass
class TrialRecord:
    """What the view knows about one trial (the engine's ``Trial`` plus live metric history)."""

    trial_id: int
    params: dict[str, Any]
    state: TrialState = TrialState.PENDING
    metric: float | None = None
    worker: str | None = None
    start: float | None = None
    end: float | None = None
    retry_of: int | None = None
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    logs: list[str] = field(default_factory=list)
    dropped_logs: int = 0  # oldest lines discarded to bound memory (see ExperimentState.max_log_lines)
    series: Series = field(default_factory=Series)
    stop_requested: bool = False
    earlier: bool = False  # from a resumed experiment's earlier run (ExperimentStarted.earlier_trials)

    def live_metric(self) -> float | None:
        """The final metric once there is one, else the last broadcast value."""
        if self.metric is not None:
            return self.metric
        return self.series.last_value()

    def duration(self, now: float) -> float | None:
        if self.start is None:
            return None
        return max(0.0, (self.end if self.end is not None else now) - self.start)


@dataclass(frozen=True)
class Summary:
    """Progress figures for the header; ``done`` counts trials in any final state."""

    name: str
    status: str  # WAITING until ExperimentStarted, then RUNNING, then the engine's final status
    direction: str
    total: int
    done: int
    running: int
    finished: int
    early_stopped: int
    stopped: int
    errors: int
    lost: int
    best_id: int | None
    best_metric: float | None
    best_params: dict[str, Any] | None
    elapsed: float
    eta: float | None  # seconds; None when unknown (nothing done yet) or when no longer running
    stop_requested: bool
    # Why the experiment failed (the engine's result["failure"]); None otherwise.
    failure: str | None = None
    # While it runs: that every trial so far failed (maggy.core.failure.failing_so_far); else None.
    warning: str | None = None
    # "trial N:" and the first failed trial's last traceback lines (maggy's frames left out),
    # with ``failure`` or ``warning``.
    first_error: str | None = None
    # A resumed experiment's trials from its earlier runs (counted in ``done`` and ``total``).
    earlier: int = 0


@dataclass(frozen=True)
class Row:
    """One trial as the table shows it (a copy: safe to use outside the state's lock)."""

    trial_id: int
    params: dict[str, Any]
    state: TrialState
    metric: float | None  # final, or the last broadcast value while running
    duration: float | None
    worker: str | None
    info: dict[str, Any]
    retry_of: int | None
    earlier: bool = False  # from the experiment's earlier run: shown greyed


@dataclass
class Changes:
    """What moved since the last ``take_changes``: the minimum a redraw must re-send."""

    lines: set[int] = field(default_factory=set)  # trials whose points or state changed
    logs: set[int] = field(default_factory=set)  # trials whose log lines or traceback changed
    structure: bool = False  # a trial appeared or changed state: table and buttons must redraw
    live: bool = False  # only live metrics moved: the table may redraw at a slower pace

    def __bool__(self) -> bool:
        return bool(self.lines or self.logs or self.structure or self.live)
