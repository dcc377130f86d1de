"""A terminal progress bar for experiments run outside a notebook (tqdm).

At the end the bar says how the experiment ended; a FAILED experiment's bar turns red and the
reason (``result["failure"]``) is printed under it with the first error's last traceback lines.
A resumed experiment's bar starts at its earlier trials (they count) and says so once.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from maggy.core import events as ev
from maggy.core.summary import ExperimentSummary
from maggy.trial import TrialState

#: Bar colours by final status (tqdm names); FINISHED keeps the terminal's default.
_COLOUR = {"FAILED": "red", "STOPPED": "yellow"}


class ConsoleProgress:
    """Event listener drawing ``finished/total`` with running, best, early-stopped and error counts,
    as the experiment's :class:`~maggy.core.summary.ExperimentSummary` says them."""

    def __init__(self, direction: str, total: int, file: Any = None) -> None:
        from tqdm import tqdm

        self.summary = ExperimentSummary(num_trials=total, direction=direction)
        self._file = file or sys.stderr
        self._bar = tqdm(total=total, desc="maggy", unit="trial", file=self._file, dynamic_ncols=True)

    def __call__(self, event: ev.Event) -> None:
        if not self.summary.apply(event, time.time()):
            return
        if isinstance(event, ev.ExperimentFinished):
            self._end(event.status)
            return
        if isinstance(event, ev.ExperimentStarted) and event.earlier_trials:
            n = len(event.earlier_trials)
            self._bar.write(f"maggy: resumed: {n} earlier trial{'s' if n != 1 else ''}", file=self._file)
            # Where the bar starts, not progress of this run: tqdm's rate and ETA leave it out.
            done = self.summary.done
            self._bar.initial = self._bar.n = self._bar.last_print_n = done
        self._bar.total = self.summary.total  # a retry of a LOST trial is one more trial to run
        self._bar.update(self.summary.done - self._bar.n)
        self._refresh()

    def _end(self, status: str) -> None:
        if status != "FINISHED":
            self._bar.set_description_str(f"maggy {status.lower()}")
            self._bar.colour = _COLOUR.get(status)
        self._refresh()
        self._bar.close()
        if status == "FAILED":
            lines = [f"maggy: experiment FAILED: {self.summary.failure}"]
            first = self.summary.first_error()
            if first is not None:
                lines += ["  " + line for line in first.text.splitlines()]
            self._bar.write("\n".join(lines), file=self._file)

    def _refresh(self) -> None:
        counts = self.summary.counts()
        best = self.summary.best()
        metric = "-" if best is None or best.metric is None else f"{best.metric:.4g}"
        self._bar.set_postfix_str(
            f"running={counts[TrialState.RUNNING]} best={metric} "
            f"early={counts[TrialState.EARLY_STOPPED]} errors={counts[TrialState.ERROR]}"
        )
