"""Stop buttons: one per RUNNING trial, bound to that trial's id for good, and one for the whole
experiment, which becomes a calm "finished" line at the end.

A trial's button is made when the trial is first seen running and is never given to another
trial: a click carries no trial id, so a reused button would stop whichever trial holds it when
the click lands (a click meant for a trial that had just ended once stopped the next one). The
table puts each button in its trial's row. When the trial ends its button is disabled, leaves
the row and is closed, so the widget count follows the worker count, not the trial count.

A click arrives on the kernel's main thread (the comm handler) and does nothing but call the
``stop_trial`` / ``stop_experiment`` callbacks it was given; every widget change happens in
``update`` and ``close_retired``, from ``LiveView``'s redraw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ipywidgets import HTML, Button, HBox, Layout

from . import _format as fmt
from .state import Summary

_FINAL = ("FINISHED", "STOPPED", "FAILED")

#: The end line's look per final status: green when it finished, neutral when the user stopped
#: it, red only when it failed (JupyterLab's theme colours, plain ones elsewhere).
_END_LOOK = {
    "FINISHED": ("success", "✓", "var(--jp-success-color1, #388e3c)"),
    "STOPPED": ("neutral", "■", "var(--jp-ui-font-color1, #333)"),
    "FAILED": ("error", "✗", "var(--jp-error-color1, #d32f2f)"),
}

#: Width of a trial's stop button; rows without one keep the same room, so columns line up.
BUTTON_WIDTH = "96px"


def end_html(status: str) -> str:
    """The line that replaces the stop button once the experiment is over."""
    kind, mark, color = _END_LOOK.get(status, _END_LOOK["STOPPED"])
    return (
        f'<span data-end="{kind}" style="color:{color};font-weight:600">'
        f"{mark} Experiment {fmt.esc(status.lower())}</span>"
    )


class StopControls:
    """The "Stop experiment" button, its end line, and each running trial's stop button."""

    def __init__(self, stop_trial: Callable[[int], None], stop_experiment: Callable[[], None]) -> None:
        self._stop_trial = stop_trial
        self.experiment_button = Button(
            description="Stop experiment",
            icon="stop",
            button_style="danger",
            tooltip="stop every trial and end",
            layout=Layout(width="auto"),
        )
        self.experiment_button.on_click(lambda _: stop_experiment())
        self.end_line = HTML(layout=Layout(display="none"))
        self.widget = HBox([self.experiment_button, self.end_line], layout=Layout(align_items="center"))
        self.buttons: dict[int, Button] = {}  # running trial id -> its own button
        self._stopping: dict[int, bool] = {}  # what each button shows now
        self._retired: list[Button] = []  # buttons of ended trials, to close after the table redraw

    @property
    def slots(self) -> list[Button]:
        """The live trial buttons (the benchmark counts them)."""
        return list(self.buttons.values())

    def button_for(self, trial_id: int) -> Button | None:
        """The stop button of ``trial_id`` while it runs (None once it ended)."""
        return self.buttons.get(trial_id)

    def _click(self, trial_id: int) -> None:
        # Only the trial this button was made for, and only while its button is live: a late
        # click on an ended trial's button stops nothing.
        if trial_id in self.buttons:
            self._stop_trial(trial_id)

    def update(self, running: Sequence[tuple[int, bool]], summary: Summary) -> None:
        """Make a button for each newly running trial, disable the ended ones' (closed by
        ``close_retired``), show "stopping" once asked, and the experiment's button or end line."""
        wanted = dict(running)
        for trial_id in [t for t in self.buttons if t not in wanted]:
            button = self.buttons.pop(trial_id)
            self._stopping.pop(trial_id, None)
            button.disabled = True
            self._retired.append(button)
        for trial_id, stopping in wanted.items():
            button = self.buttons.get(trial_id)
            if button is None:
                button = self.buttons[trial_id] = Button(
                    description=f"■ {trial_id}",
                    tooltip=f"stop trial {trial_id}",
                    layout=Layout(width=BUTTON_WIDTH, height="24px", margin="0"),
                )
                button.on_click(lambda _b, tid=trial_id: self._click(tid))
                self._stopping[trial_id] = False
            if self._stopping[trial_id] != stopping:
                self._stopping[trial_id] = stopping
                with button.hold_sync():
                    button.disabled = stopping
                    button.description = "stopping…" if stopping else f"■ {trial_id}"
        self._update_experiment(summary)

    def close_retired(self) -> None:
        """Close the ended trials' buttons (after the table took them out of its rows)."""
        retired, self._retired = self._retired, []
        for button in retired:
            button.close()

    def _update_experiment(self, summary: Summary) -> None:
        button = self.experiment_button
        if summary.status in _FINAL:
            self.end_line.value = end_html(summary.status)
            self.end_line.layout.display = None
            button.layout.display = "none"
            return
        with button.hold_sync():
            if summary.stop_requested:  # amber while it winds down: a disabled red reads as pink
                button.description, button.disabled, button.button_style = "Stopping…", True, "warning"
            else:
                button.description, button.disabled, button.button_style = "Stop experiment", False, "danger"
