"""The metric chart: one bqplot ``Lines`` mark per trial, coloured by state, best on top.

One mark per trial (rather than one multi-line mark) is what lets a redraw re-send only the
trials that moved: a running trial's arrays travel as two binary buffers, the 190 finished
ones not at all. A resumed experiment's trials from its earlier runs are drawn grey, faded and
dashed beside this run's (the best keeps its colour, dashed if it is an earlier one).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from bqplot import Axis, Figure, LinearScale, Lines, Tooltip
from ipywidgets import HTML, Layout, VBox

from maggy.trial import TrialState

from ._format import BEST_COLOR, EARLIER_COLOR, STATE_COLORS

LineData = tuple[np.ndarray, np.ndarray, TrialState]


def line_style(state: TrialState, best: bool, earlier: bool = False) -> dict[str, object]:
    """The traits that show a line's state, whether it is the best trial, and whether it is from
    the experiment's earlier run."""
    dash = "dashed" if earlier else "solid"
    if best:
        return {"colors": [BEST_COLOR], "stroke_width": 3.5, "opacities": [1.0], "line_style": dash}
    if earlier:  # ended before this run: behind everything else
        return {"colors": [EARLIER_COLOR], "stroke_width": 1.0, "opacities": [0.4], "line_style": dash}
    live = state in (TrialState.RUNNING, TrialState.PENDING)
    return {
        "colors": [STATE_COLORS[state]],
        "stroke_width": 2.0 if live else 1.5,
        "opacities": [1.0 if live else 0.6],  # finished lines recede; running ones stand out
        "line_style": dash,
    }


def legend_html(earlier: bool = False) -> str:
    """The colour legend; with ``earlier``, the swatch of a resumed experiment's earlier trials."""
    items = [
        (s.value.lower().replace("_", "-"), c) for s, c in STATE_COLORS.items() if s is not TrialState.PENDING
    ]
    items.append(("best", BEST_COLOR))
    if earlier:
        items.append(("earlier run", EARLIER_COLOR))
    swatches = "".join(
        f'<span style="margin-right:12px"><span style="display:inline-block;width:14px;height:3px;'
        f'background:{color};vertical-align:middle;margin-right:4px"></span>{label}</span>'
        for label, color in items
    )
    return f'<div style="font-size:0.85em">{swatches}</div>'


class Chart:
    """Owns the figure and its marks. ``update`` is called only from ``LiveView``'s redraw."""

    def __init__(self, height: str = "320px") -> None:
        self.x_scale = LinearScale()
        self.y_scale = LinearScale()
        # One tooltip shared by every line (a widget per line would double the widget count).
        self.tooltip = Tooltip(fields=["name"], labels=["trial"])
        self.figure = Figure(
            marks=[],
            axes=[
                Axis(scale=self.x_scale, label="step", grid_lines="none"),
                Axis(scale=self.y_scale, label="metric", side="left", grid_lines="dashed"),
            ],
            animation_duration=0,  # animating hundreds of lines at 10 Hz would only cost frames
            fig_margin={"top": 10, "bottom": 40, "left": 60, "right": 10},
            layout=Layout(width="100%", height=height),
        )
        self.legend = HTML(legend_html())
        self.widget = VBox([self.figure, self.legend])
        self.lines: dict[int, Lines] = {}
        self._states: dict[int, TrialState] = {}
        self._best_id: int | None = None
        self._earlier: frozenset[int] = frozenset()

    def update(
        self, changed: Mapping[int, LineData], best_id: int | None, earlier: frozenset[int] = frozenset()
    ) -> None:
        """Send the changed lines' data and styles; add marks for new trials; restyle on a new best.
        ``earlier``: ids of a resumed experiment's trials from its earlier runs (drawn greyed)."""
        if earlier != self._earlier:  # once per experiment: ExperimentStarted of a resumed one
            self._earlier = earlier
            self.legend.value = legend_html(bool(earlier))
        added = False
        for trial_id, (x, y, state) in sorted(changed.items()):
            self._states[trial_id] = state
            style = line_style(state, trial_id == best_id, trial_id in earlier)
            line = self.lines.get(trial_id)
            if line is None:
                self.lines[trial_id] = Lines(
                    x=x,
                    y=y,
                    scales={"x": self.x_scale, "y": self.y_scale},
                    labels=[f"trial {trial_id}"],
                    tooltip=self.tooltip,
                    **style,
                )
                added = True
                continue
            with line.hold_sync():
                line.x, line.y = x, y
                _restyle(line, style)
        best_moved = best_id != self._best_id
        if best_moved:
            for moved in (self._best_id, best_id):
                if moved is None or moved in changed or moved not in self.lines:
                    continue
                with self.lines[moved].hold_sync():
                    style = line_style(self._states[moved], moved == best_id, moved in earlier)
                    _restyle(self.lines[moved], style)
            self._best_id = best_id
        if added or best_moved:
            # SVG draws in mark order: earlier runs' lines first, the best line last so no other
            # line covers it.
            order = sorted(self.lines, key=lambda tid: (tid == best_id, tid not in earlier, tid))
            with self.figure.hold_sync():
                self.figure.marks = [self.lines[tid] for tid in order]


def _restyle(line: Lines, style: Mapping[str, object]) -> None:
    # Unchanged values send nothing: traitlets only notifies (and ipywidgets only syncs) changes.
    for name, value in style.items():
        setattr(line, name, value)
