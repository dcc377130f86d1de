"""Trial states and the one function that changes them.

A trial moves PENDING -> RUNNING -> one terminal state. ``transition`` is the only place that
changes ``Trial.state``; every other module asks it, so an illegal move (e.g. FINISHED -> RUNNING)
fails loudly instead of corrupting an experiment's history.
"""

from __future__ import annotations

import enum
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any


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
    ``metric`` is the final value: the returned number, or for an early-stopped or stopped trial
    its last broadcast value. ``logs`` holds the trial's log lines and captured print() output.
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
