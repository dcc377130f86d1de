"""Exceptions a training function may meet, and the one ``lagom`` raises on Ctrl-C."""

from __future__ import annotations

from typing import Any


class EarlyStopException(Exception):
    """Raised by ``reporter.broadcast`` after the driver ordered this trial to stop.

    The worker loop catches it; the trial's final metric is its last broadcast value. A training
    function need not catch it (if it does, it should re-raise or return promptly).
    """

    def __init__(self, metric: float | None = None) -> None:
        super().__init__(f"trial stopped by the experiment driver (last metric {metric})")
        self.metric = metric


class ExperimentInterrupted(KeyboardInterrupt):
    """Raised by ``lagom`` when Ctrl-C (a notebook's interrupt button) ended the experiment.

    A ``KeyboardInterrupt``, so code that catches that still does. By the time it is raised the
    experiment has ended cleanly: workers stopped, and the store holds its final status and
    result. ``result`` is the dict ``lagom`` would have returned: status STOPPED (trials still
    running were stopped and keep what they reported), or the experiment's own status if every
    trial had already ended. ``planned`` is the number of trials asked for. ``where`` says where
    the result can be found (the ``%%lagom`` magic sets its variable there).

    IPython shows it as its one-line message (``_render_traceback_``), not as a traceback.
    """

    def __init__(self, result: dict[str, Any], planned: int, where: str | None = None) -> None:
        super().__init__(result.get("experiment_id"))
        self.result = result
        self.planned = planned
        self.where = where

    def summary(self) -> str:
        """``maggy: experiment ID stopped by interrupt, 7/20 trials kept``."""
        r = self.result
        ended = f"{r.get('num_trials', 0)}/{self.planned} trials"
        if r.get("status") == "STOPPED":
            what = f"stopped by interrupt, {ended} kept"
        else:  # every trial had ended when the interrupt came: the experiment's own outcome stands
            what = f"{str(r.get('status', 'ended')).lower()} as the interrupt came, {ended}"
        return f"maggy: experiment {r.get('experiment_id')} {what}"

    def __str__(self) -> str:
        return f"{self.summary()}; {self.where or 'the result dict is its .result'}"

    def _render_traceback_(self) -> list[str]:
        # IPython's hook: this line replaces the traceback, which runs through maggy's frames and
        # says nothing the user can act on. IPython keeps the exception in sys.last_value.
        return [f"{self.summary()}; {self.where or 'the result dict is in sys.last_value.result'}"]
