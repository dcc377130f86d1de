"""When every trial failed, and the part of a trial's traceback worth showing.

``all_failed`` is the engine's one rule for "the experiment failed because its trials did"
(``ExperimentRun`` ends such an experiment FAILED with ``result["failure"]`` set to its text);
the views, the panel and the CLI show that status and text rather than deciding again.
``failing_so_far`` is the same rule while the experiment runs (a warning, not yet a failure).
``user_traceback`` takes maggy's own worker frames out of a trial's traceback text, so that what
a user reads starts at their training function.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from maggy.trial import Trial, TrialState

_FAILED = (TrialState.ERROR, TrialState.LOST)

#: A traceback frame line of maggy's worker (the loop and the call into the training function).
_MAGGY_FRAME = re.compile(r'^ {2}File ".*[\\/]maggy[\\/]worker[\\/][^"\\/]+\.py", line \d+')


def user_traceback(text: str) -> str:
    """``text`` (a trial's error) without the frames of maggy's worker modules.

    A frame is its ``  File "...", line N, in f`` line and the indented lines under it (source,
    carets); everything else (the header, the exception line, chained tracebacks) is kept.
    Text that is not a traceback comes back unchanged.
    """
    kept: list[str] = []
    skipping = False
    for line in text.splitlines():
        if line.startswith('  File "'):
            skipping = _MAGGY_FRAME.match(line) is not None
        elif not line.startswith("    "):
            skipping = False
        if not skipping:
            kept.append(line)
    return "\n".join(kept)


def error_tail(text: str, lines: int = 8) -> str:
    """The last ``lines`` lines of :func:`user_traceback` (the user's frames and the exception)."""
    shown = [line for line in user_traceback(text).splitlines() if line.strip()]
    return "\n".join(shown[-lines:])


def first_error(trials: Iterable[Trial]) -> Trial | None:
    """The failed (ERROR or LOST) trial that ended first; None if none failed."""
    failed = [t for t in trials if t.state in _FAILED]
    return min(failed, key=lambda t: (t.end if t.end is not None else float("inf"), t.trial_id), default=None)


def all_failed(trials: Iterable[Trial]) -> str | None:
    """``"all 20 trials failed; first error (trial 3): ValueError: ..."`` if every trial that
    ended is ERROR or LOST (and at least one ended); else None.

    A trial the user or the early-stopping rule stopped is not a failure: an experiment stopped
    before any trial finished is not "all failed".
    """
    ended = _ended_all_failed(trials)
    if not ended:
        return None
    first = first_error(ended)
    assert first is not None  # ended is non-empty and all failed
    last = error_tail(first.error or "", lines=1) or first.state.value
    if len(ended) == 1:
        return f"the only trial failed (trial {first.trial_id}): {last}"
    return f"all {len(ended)} trials failed; first error (trial {first.trial_id}): {last}"


def failing_so_far(trials: Iterable[Trial]) -> str | None:
    """``"every trial so far failed (3)"`` while an experiment runs and every trial that ended so
    far is ERROR or LOST (at least one): the sign of a bug in the training function, worth a
    warning before the experiment ends FAILED by :func:`all_failed`; else None."""
    ended = _ended_all_failed(trials)
    if not ended:
        return None
    return f"every trial so far failed ({len(ended)})"


def _ended_all_failed(trials: Iterable[Trial]) -> list[Trial]:
    """The trials that ended, if there are some and all of them failed; else an empty list."""
    ended = [t for t in trials if t.state.is_terminal]
    return [] if any(t.state not in _FAILED for t in ended) else ended
