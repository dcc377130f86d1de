"""A terminal progress bar for experiments run outside a notebook (tqdm).

At the end the bar says how the experiment ended; a FAILED experiment's bar turns red and the
reason (``result["failure"]``) is printed under it with the first error's last traceback lines.
"""

from __future__ import annotations

import sys
from typing import Any

from maggy.core import events as ev
from maggy.core.failure import error_tail
from maggy.trial import TrialState

#: Bar colours by final status (tqdm names); FINISHED keeps the terminal's default.
_COLOUR = {"FAILED": "red", "STOPPED": "yellow"}


class ConsoleProgress:
    """Event listener drawing ``finished/total`` with running, best, early-stopped and error counts."""

    def __init__(self, direction: str, total: int, file: Any = None) -> None:
        from tqdm import tqdm

        self._direction = direction
        self._file = file or sys.stderr
        self._bar = tqdm(total=total, desc="maggy", unit="trial", file=self._file, dynamic_ncols=True)
        self._running = 0
        self._best: float | None = None
        self._early = 0
        self._errors = 0
        self._first_error: str | None = None

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
                if self._first_error is None:
                    self._first_error = trial.error
            elif trial.state is TrialState.FINISHED and trial.metric is not None:
                better = max if self._direction == "max" else min
                self._best = trial.metric if self._best is None else better(self._best, trial.metric)
            self._bar.update(1)
        elif isinstance(event, ev.ExperimentFinished):
            self._end(event.status, event.result.get("failure"))
            return
        else:
            return
        self._refresh()

    def _end(self, status: str, failure: str | None) -> None:
        if status != "FINISHED":
            self._bar.set_description_str(f"maggy {status.lower()}")
            self._bar.colour = _COLOUR.get(status)
        self._refresh()
        self._bar.close()
        if status == "FAILED":
            lines = [f"maggy: experiment FAILED: {failure or 'see maggy experiments show'}"]
            if self._first_error:
                lines += ["  " + line for line in error_tail(self._first_error).splitlines()]
            self._bar.write("\n".join(lines), file=self._file)

    def _refresh(self) -> None:
        best = "-" if self._best is None else f"{self._best:.4g}"
        self._bar.set_postfix_str(
            f"running={self._running} best={best} early={self._early} errors={self._errors}"
        )
