"""Stop buttons: one per RUNNING trial (from a reused pool) and one for the whole experiment.

Only running trials get a button, so the widget count follows the worker count, not the trial
count. A click arrives on the kernel's main thread (the comm handler) and does nothing but call
the ``stop_trial`` / ``stop_experiment`` callbacks it was given; every widget change happens in
``update``, from ``LiveView``'s redraw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ipywidgets import HTML, Button, HBox, Layout

from .state import Summary

#: A freed button is not given to another trial for this long, so a click aimed at a trial that
#: just ended cannot land on the trial that took its place (the click carries no trial id)...
REUSE_AFTER = 1.0
#: ...unless the pool is this large: very short trials must not grow it without bound.
MAX_BUTTONS = 64

_FINAL = ("FINISHED", "STOPPED", "FAILED")


@dataclass
class _Slot:
    button: Button
    trial_id: int | None = None
    freed_at: float = float("-inf")
    shown: tuple[int | None, bool] | None = None  # what the button shows now: (trial id, stopping)


class StopControls:
    """The "Stop experiment" button and the per-trial stop buttons."""

    def __init__(
        self,
        stop_trial: Callable[[int], None],
        stop_experiment: Callable[[], None],
        reuse_after: float = REUSE_AFTER,
    ) -> None:
        self._stop_trial = stop_trial
        self._reuse_after = reuse_after
        self.experiment_button = Button(
            description="Stop experiment",
            icon="stop",
            button_style="danger",
            tooltip="stop every trial and end",
            layout=Layout(width="auto"),  # room for "Experiment finished" once the run ends
        )
        self.experiment_button.on_click(lambda _: stop_experiment())
        self.label = HTML("<b>Stop a trial:</b>")
        self.trial_buttons = HBox([], layout=Layout(flex_flow="row wrap"))
        self.widget = HBox([self.label, self.trial_buttons], layout=Layout(align_items="center"))
        self.slots: list[_Slot] = []

    def _click(self, slot: _Slot) -> None:
        trial_id = slot.trial_id  # one read: the redraw thread may reassign the slot right after
        if trial_id is not None:
            self._stop_trial(trial_id)

    def button_for(self, trial_id: int) -> Button | None:
        """The button currently showing ``trial_id`` (for tests and the README's screenshots)."""
        for slot in self.slots:
            if slot.trial_id == trial_id:
                return slot.button
        return None

    def update(self, running: Sequence[tuple[int, bool]], summary: Summary, now: float) -> None:
        """Show one button per running trial; ``now`` is a monotonic clock for the reuse delay."""
        wanted = dict(running)
        for slot in self.slots:
            if slot.trial_id is not None and slot.trial_id not in wanted:
                slot.trial_id, slot.freed_at = None, now
        shown = {slot.trial_id for slot in self.slots}
        grew = False
        for trial_id in wanted:
            if trial_id in shown:
                continue
            free = [s for s in self.slots if s.trial_id is None]
            reusable: _Slot | None = next((s for s in free if now - s.freed_at >= self._reuse_after), None)
            if reusable is None and len(self.slots) >= MAX_BUTTONS and free:
                reusable = min(free, key=lambda s: s.freed_at)  # the longest free
            if reusable is None:
                slot = _Slot(Button(layout=Layout(width="auto")))
                slot.button.on_click(lambda _b, s=slot: self._click(s))
                self.slots.append(slot)
                grew = True
            else:
                slot = reusable
            slot.trial_id = trial_id
        for slot in self.slots:
            _show(slot, wanted.get(slot.trial_id, False) if slot.trial_id is not None else None)
        if grew:
            with self.trial_buttons.hold_sync():
                self.trial_buttons.children = [s.button for s in self.slots]
        self.label.layout.display = None if wanted else "none"
        button = self.experiment_button
        with button.hold_sync():
            if summary.status in _FINAL:
                button.description, button.disabled = f"Experiment {summary.status.lower()}", True
            elif summary.stop_requested:
                button.description, button.disabled = "Stopping…", True
            else:
                button.description, button.disabled = "Stop experiment", False


def _show(slot: _Slot, stopping: bool | None) -> None:
    """Style a slot: hidden when free (None), "stopping" once its trial was asked to stop."""
    look = (slot.trial_id, bool(stopping))
    if look == slot.shown:
        return  # nothing to send; skipping also keeps a redraw's cost off the idle pool
    slot.shown = look
    button = slot.button
    with button.hold_sync():
        if stopping is None:
            button.layout.display = "none"
            button.disabled = True
            return
        button.layout.display = None
        button.disabled = stopping
        button.description = f"stopping {slot.trial_id}…" if stopping else f"■ {slot.trial_id}"
        button.tooltip = f"stop trial {slot.trial_id}"
