"""A terminal progress bar for experiments run outside a notebook (tqdm)."""

from __future__ import annotations

import sys
from typing import Any

from maggy.core import events as ev
from maggy.trial import TrialState


class ConsoleProgress:
    """Event listener drawing ``finished/total`` with running, best, early-stopped and error counts."""

    def __init__(self, direction: str, total: int, file: Any = None) -> None:
        from tqdm import tqdm

        self._direction = direction
        self._bar = tqdm(total=total, desc="maggy", unit="trial", file=file or sys.stderr, dynamic_ncols=True)
        self._running = 0
        self._best: float | None = None
        self._early = 0
        self._errors = 0

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.TrialStarted):
            self._running += 1
            if event.trial.retry_of is not None:  # a retry of a LOST trial is one more trial to run
                self._bar.total += 1
        elif isinstance(event, ev.TrialFinished):
            self._running -= 1
            trial = event.trial
            if trial.state is TrialState.EARLY_STOPPED:
                self._early += 1
            elif trial.state is TrialState.ERROR:
                self._errors += 1
            elif trial.state is TrialState.FINISHED and trial.metric is not None:
                better = max if self._direction == "max" else min
                self._best = trial.metric if self._best is None else better(self._best, trial.metric)
            self._bar.update(1)
        elif isinstance(event, ev.ExperimentFinished):
            self._refresh()
            self._bar.close()
            return
        else:
            return
        self._refresh()

    def _refresh(self) -> None:
        best = "-" if self._best is None else f"{self._best:.4g}"
        self._bar.set_postfix_str(
            f"running={self._running} best={best} early={self._early} errors={self._errors}"
        )
