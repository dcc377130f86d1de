"""The log pane: pick a trial, read its log lines and traceback in one scrolling HTML block.

One widget for all lines of all trials (never one per line); only the selected trial's text is
ever sent, and only its last lines (``LiveView(log_lines=...)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ipywidgets import HTML, Dropdown, Layout, VBox

from maggy.trial import TrialState

from . import _format as fmt

NONE = -1  # the picker's "no trial chosen" value


class LogPane:
    """Trial picker and text. ``set_trials`` and ``show`` are called only from ``LiveView``'s
    redraw; ``on_select`` (main thread) is told when the user picks another trial."""

    def __init__(self, on_select: Callable[[], None]) -> None:
        self.picker = Dropdown(options=[("choose a trial", NONE)], value=NONE, description="Log of")
        self.text = HTML(layout=Layout(max_height="300px", overflow="auto"))
        self.widget = VBox([self.picker, self.text])
        self._labels: list[tuple[str, int]] = []
        self._quiet = False  # set while the redraw itself changes the picker
        self.picker.observe(lambda _: None if self._quiet else on_select(), names="value")

    @property
    def selected(self) -> int | None:
        value = self.picker.value
        return None if value is None or value == NONE else int(value)

    def set_trials(self, trials: Sequence[tuple[int, TrialState]]) -> None:
        """Offer every trial; labels carry the state so errors are easy to find."""
        labels = [("choose a trial", NONE)] + [(f"trial {tid} · {state.value}", tid) for tid, state in trials]
        if labels == self._labels:
            return
        self._labels = labels
        chosen = self.picker.value
        self._quiet = True
        try:
            with self.picker.hold_sync():
                self.picker.options = labels  # ipywidgets 8 selects the first option here...
                self.picker.value = chosen if chosen in {v for _, v in labels} else NONE  # ...so restore
        finally:
            self._quiet = False

    def show(self, text: str | None) -> None:
        """Show a trial's text; None when no trial is chosen."""
        if text is None:
            self.text.value = "<i>choose a trial to read its log lines and traceback</i>"
            return
        body = fmt.esc(text) if text else "<i>no log lines yet</i>"
        self.text.value = f'<pre style="margin:0;font-size:0.85em;white-space:pre-wrap">{body}</pre>'
