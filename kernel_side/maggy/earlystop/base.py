"""The early-stopping interface, the policy that never stops, and when the driver should check.

A policy is a pure function of trial histories: no I/O, no clocks, no state that changes between
calls. The driver decides *when* to ask (``check_due``) and what to do with the answer.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from maggy.trial import Trial

DIRECTIONS = ("max", "min")


class EarlyStopPolicy(abc.ABC):
    """Decides whether a running trial should be stopped, given the finished ones.

    The driver calls ``should_stop`` from its event loop thread, at most every ``es_interval``
    seconds once ``es_min`` trials have finished (see ``check_due``), once per running trial. It
    passes the trials as they are at that moment and must not expect the policy to modify them.
    Subclass it and pass an instance as ``lagom(es_policy=...)`` for a custom rule.
    """

    @abc.abstractmethod
    def should_stop(self, running: Trial, finished: Sequence[Trial], direction: str) -> bool:
        """True if ``running`` should be stopped now.

        ``running.history`` and each ``finished[i].history`` are lists of ``[step, value]`` points;
        a curve longer than :data:`maggy.trial.HISTORY_LIMIT` points arrives thinned evenly over
        its steps (first and latest point kept, see :func:`maggy.trial.extend_bounded`), so
        that the driver's memory stays bounded however long the curves: a rule should look
        values up by step (as the median rule does), not count points.
        ``direction`` is 'max' (higher is better) or 'min'. ``finished`` may contain trials in any
        terminal state; a policy picks the ones it trusts. Must not mutate its arguments.
        """

    @property
    def name(self) -> str:
        return type(self).__name__


class NoStopping(EarlyStopPolicy):
    """The policy ``'none'``: never stops a trial."""

    def should_stop(self, running: Trial, finished: Sequence[Trial], direction: str) -> bool:
        check_direction(direction)
        return False


def check_direction(direction: str) -> str:
    """Return ``direction`` if it is 'max' or 'min'; raise ValueError otherwise."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'max' or 'min', got {direction!r}")
    return direction


def check_due(now: float, last_check: float | None, es_interval: float, n_finished: int, es_min: int) -> bool:
    """Whether the driver should run the early-stopping check now.

    Due once at least ``es_min`` trials have finished and ``es_interval`` seconds have passed since
    ``last_check`` (``None``: never checked, so due as soon as ``es_min`` is reached). ``now`` and
    ``last_check`` are on the same clock (the driver's ``time.monotonic()``).
    """
    if n_finished < es_min:
        return False
    return last_check is None or now - last_check >= es_interval
