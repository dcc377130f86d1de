"""Trial states and the one function that changes them.

A trial moves PENDING -> RUNNING -> one terminal state. ``transition`` is the only place that
changes ``Trial.state``; every other module asks it, so an illegal move (e.g. FINISHED -> RUNNING)
fails loudly instead of corrupting an experiment's history.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

#: Most points the driver keeps in a trial's in-memory ``history`` (see :func:`extend_bounded`).
HISTORY_LIMIT = 2048

#: Most of a trial's latest log lines, and characters in them, the driver keeps in its in-memory
#: ``logs`` (see :func:`extend_log_tail`); the whole log is in the store.
LOG_TAIL_LINES = 1000
LOG_TAIL_CHARS = 1 << 20


class TrialState(str, enum.Enum):
    """Lifecycle of one trial. The string values are what the store and the wire carry."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    EARLY_STOPPED = "EARLY_STOPPED"
    STOPPED = "STOPPED"  # by the user (stop button, interrupt)
    ERROR = "ERROR"  # the trial raised or returned a non-numeric/NaN value; traceback kept
    LOST = "LOST"  # its worker died or went silent

    @property
    def is_terminal(self) -> bool:
        return self not in (TrialState.PENDING, TrialState.RUNNING)


TERMINAL_STATES = frozenset(s for s in TrialState if s.is_terminal)

_ALLOWED: dict[TrialState, frozenset[TrialState]] = {
    TrialState.PENDING: frozenset({TrialState.RUNNING, TrialState.STOPPED}),
    TrialState.RUNNING: TERMINAL_STATES,
}


class IllegalTransition(RuntimeError):
    """Raised when code asks for a state change the lifecycle does not allow."""


@dataclass
class Trial:
    """One evaluation of the training function with one set of parameters.

    ``history`` is the list of ``[step, value]`` points broadcast by the trial, in arrival order.
    In the driver (the trials in events, ``ExperimentHandle.trials()``) a long history is thinned
    to at most :data:`HISTORY_LIMIT` points spread evenly over its steps, the first and last
    points kept (:func:`extend_bounded`); every point is in the ``MetricPoints`` events and in
    the store, whose ``get_trials`` returns whole histories.
    ``metric`` is the final value: the returned number, or for an early-stopped or stopped trial
    its last broadcast value. ``logs`` holds the trial's log lines and captured print() output; in
    the driver only their tail (at most :data:`LOG_TAIL_LINES` lines and :data:`LOG_TAIL_CHARS`
    characters, :func:`extend_log_tail`), behind a first line, an :class:`ElidedLines`, that
    counts the earlier lines; every line is in the ``TrialLog`` events and in the store.
    """

    trial_id: int
    params: dict[str, Any]
    state: TrialState = TrialState.PENDING
    metric: float | None = None
    history: list[list[float]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    error: str | None = None
    worker: str | None = None
    start: float | None = None
    end: float | None = None
    retry_of: int | None = None
    budget: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        if self.start is None:
            return None
        return (self.end if self.end is not None else time.time()) - self.start

    def last_value(self) -> float | None:
        return self.history[-1][1] if self.history else None

    def copy(self) -> Trial:
        """A copy whose lists and dicts (params, history, logs, info) are the copy's own."""
        return replace(
            self,
            params=dict(self.params),
            history=[list(p) for p in self.history],
            logs=list(self.logs),
            info=dict(self.info),
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["state"] = self.state.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trial:
        d = dict(d)
        d["state"] = TrialState(d["state"])
        return cls(**d)


#: How the ``error`` of a trial ended STOPPED because its whole experiment ended (a stop of the
#: experiment, an interrupt) begins; a trial stopped on its own (its stop button, early stopping)
#: has no such error. A resumed experiment runs the first kind again (:func:`was_cut_short`).
CUT_SHORT = "cut short: the experiment ended"


def was_cut_short(trial: Trial) -> bool:
    """Whether ``trial`` did not get to end by its own result or stop: LOST, STOPPED with the
    experiment (:data:`CUT_SHORT`), or never ended (PENDING, RUNNING)."""
    if trial.state is TrialState.STOPPED:
        return (trial.error or "").startswith(CUT_SHORT)
    return trial.state in (TrialState.LOST, TrialState.PENDING, TrialState.RUNNING)


def transition(trial: Trial, new_state: TrialState, *, now: float | None = None) -> None:
    """Move ``trial`` to ``new_state``, stamping start/end times.

    Raises IllegalTransition for a move the lifecycle forbids (any move out of a terminal state).
    """
    allowed = _ALLOWED.get(trial.state, frozenset())
    if new_state not in allowed:
        raise IllegalTransition(
            f"trial {trial.trial_id}: {trial.state.value} -> {new_state.value} is not allowed"
        )
    now = time.time() if now is None else now
    if new_state is TrialState.RUNNING:
        trial.start = now
    elif new_state.is_terminal:
        trial.end = now
    trial.state = new_state


def extend_bounded(history: list[Any], points: Sequence[Any], limit: int = HISTORY_LIMIT) -> None:
    """Append ``points`` to ``history``, thinning it in place to between ``limit // 4`` and
    ``limit // 2`` points each time it reaches ``limit``, so that it never holds more.

    Thinning keeps, of each slice of the step range, the point that arrived first in it, and
    always the first and the latest point (:func:`thin_points`): the kept points spread evenly
    over the steps however long the curve grows, so a value looked up at a step (as the
    early-stopping rules do) comes from at most two slices before it (a slice is at most 1/512
    of the curve's steps at the default limit), and the latest value is exact. Amortised O(1)
    per point. The points themselves are not copied (they are shared with the caller's list).
    """
    history.extend(points)
    if len(history) >= max(4, limit):
        history[:] = thin_points(history, max(2, limit // 2))


def thin_points(points: Sequence[Any], target: int) -> list[Any]:
    """At most ``target + 2`` of ``points`` spread evenly over their steps, in their order, the
    first and last always kept (see :func:`extend_bounded`); the kept points are not copied.

    The steps from the first point's are cut into slices of one width, the least power of two
    that makes at most ``target`` of them, and the first point to arrive in each slice is kept.
    Being powers of two anchored at the first point (always kept), the slices of a later, wider
    thinning are unions of earlier ones: thinning again keeps a subset of what it kept before,
    so no holes open up however often a growing curve is thinned; two kept points are less than
    two slices apart wherever the curve has points.

    Steps are expected finite and non-decreasing (the reporter enforces it); points whose steps
    do not spread (all equal, or not finite) are thinned by position instead.
    """
    n = len(points)
    if n <= target + 2:
        return list(points)
    lo = points[0][0]
    span = max(p[0] for p in points) - lo
    if not (math.isfinite(span) and span > 0) or min(p[0] for p in points) < lo:
        stride = math.ceil(n / target)
        kept = list(points[: n - 1 : stride])
    else:
        width = 2.0 ** math.ceil(math.log2(span / target))
        kept, seen = [], set()
        for p in points[:-1]:
            bucket = int((p[0] - lo) / width)
            if bucket not in seen:
                seen.add(bucket)
                kept.append(p)
    kept.append(points[-1])
    return kept


class ElidedLines(str):
    """The first line of a trial's log tail in the driver: how many earlier lines are only in the
    store (``elided``). Reads as a plain line wherever the log is shown or serialised; copies and
    pickles keep its type, so that :func:`extend_log_tail` tells it from a user's line."""

    elided: int

    def __new__(cls, count: int) -> ElidedLines:
        s = "s are" if count != 1 else " is"
        line = super().__new__(
            cls,
            f"[maggy: {count:,} earlier line{s} in the experiment store: maggy experiments show ID --trial N]",
        )
        line.elided = count
        return line

    def __getnewargs__(self) -> tuple[int]:  # type: ignore[override]  # copies and pickles: from the count
        return (self.elided,)


def log_count(logs: Sequence[str]) -> int:
    """How many lines a log tail made by :func:`extend_log_tail` stands for: those it holds, and
    those its first line (an :class:`ElidedLines`) counts."""
    if logs and isinstance(logs[0], ElidedLines):
        return logs[0].elided + len(logs) - 1
    return len(logs)


def extend_log_tail(logs: list[str], lines: Sequence[str]) -> None:
    """Append ``lines`` to ``logs``, keeping at most the latest :data:`LOG_TAIL_LINES` lines and
    :data:`LOG_TAIL_CHARS` characters; once lines are dropped, ``logs[0]`` is an
    :class:`ElidedLines` counting all those dropped so far.

    A single line longer than the whole allowance is kept cut to its last characters, saying
    so. The lines are not copied. Costs O(tail) per call (a heartbeat's worth of lines).
    """
    logs.extend(lines)
    elided = logs[0].elided if logs and isinstance(logs[0], ElidedLines) else 0
    first = 1 if elided else 0
    keep = min(len(logs) - first, LOG_TAIL_LINES)
    size = sum(map(len, logs[len(logs) - keep :]))
    while keep > 1 and size > LOG_TAIL_CHARS:  # drop the oldest kept lines until the rest fit
        size -= len(logs[len(logs) - keep])
        keep -= 1
    dropped = len(logs) - first - keep
    if dropped:
        logs[:] = [ElidedLines(elided + dropped), *logs[len(logs) - keep :]]
    if keep and len(logs[-1]) > LOG_TAIL_CHARS:
        cut = len(logs[-1]) - LOG_TAIL_CHARS
        logs[-1] = (
            f"[maggy: the first {cut:,} characters of this line are in the experiment store] "
            + logs[-1][-LOG_TAIL_CHARS:]
        )
