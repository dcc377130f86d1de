"""The metric chart: one bqplot ``Lines`` mark per trial, in the trial's own colour, its state
shown by the line's style; the best trial thickest and on top.

A trial's colour is the one the JupyterLab panel gives it (``_format.trial_color``), so the same
trial is the same colour in the cell and in the panel; its state is the line's dash, width and
opacity, and a failed (ERROR or LOST) trial's last point is marked with a cross.

One mark per trial (rather than one multi-line mark) is what lets a redraw re-send only the
trials that moved: a running trial's arrays travel as two binary buffers, the 190 finished
ones not at all. A resumed experiment's trials from its earlier runs are drawn grey, faded and
dashed beside this run's (the best keeps its colour, dashed if it is an earlier one).
"""

from __future__ import annotations

from collections.abc import Mapping, Set

import numpy as np
from bqplot import Axis, Figure, LinearScale, Lines, Scatter, Tooltip
from ipywidgets import HTML, Layout, VBox

from maggy.trial import TrialState

from ._format import EARLIER_COLOR, trial_color

LineData = tuple[np.ndarray, np.ndarray, TrialState]

#: (bqplot line_style, stroke width, opacity) per state: running lines stand out, ended ones recede.
STATE_LINES: dict[TrialState, tuple[str, float, float]] = {
    TrialState.PENDING: ("solid", 2.0, 1.0),
    TrialState.RUNNING: ("solid", 2.0, 1.0),
    TrialState.FINISHED: ("solid", 1.5, 0.6),
    TrialState.EARLY_STOPPED: ("dashed", 1.5, 0.6),
    TrialState.STOPPED: ("dotted", 1.5, 0.6),
    TrialState.ERROR: ("dash_dotted", 1.5, 0.6),
    TrialState.LOST: ("dash_dotted", 1.5, 0.6),
}
#: States whose line ends in a cross: the trial failed there.
FAILED_STATES = (TrialState.ERROR, TrialState.LOST)
BEST_WIDTH = 3.5

#: SVG dash arrays that look like bqplot's line styles, for the legend.
_DASHES = {"solid": "", "dashed": "6,3", "dotted": "2,2", "dash_dotted": "6,2,2,2"}


def line_style(trial_id: int, state: TrialState, best: bool, earlier: bool = False) -> dict[str, object]:
    """The traits of a trial's line: its colour, and the style that shows its state, whether it is
    the best trial, and whether it is from the experiment's earlier run."""
    if earlier and not best:  # ended before this run: behind everything else
        return {"colors": [EARLIER_COLOR], "stroke_width": 1.0, "opacities": [0.4], "line_style": "dashed"}
    dash, width, opacity = STATE_LINES[state]
    if earlier:
        dash = "dashed"
    if best:
        width, opacity = BEST_WIDTH, 1.0
    return {
        "colors": [trial_color(trial_id)],
        "stroke_width": width,
        "opacities": [opacity],
        "line_style": dash,
    }


def _legend_item(
    label: str,
    dash: str,
    width: float = 2.0,
    opacity: float = 1.0,
    mark: str = "",
    color: str = "currentColor",
) -> str:
    array = _DASHES[dash]
    dasharray = f' stroke-dasharray="{array}"' if array else ""
    return (
        f'<span style="margin-right:12px;white-space:nowrap"><svg width="24" height="8" '
        f'style="vertical-align:middle;margin-right:4px"><line x1="0" y1="4" x2="24" y2="4" '
        f'stroke="{color}" stroke-width="{width}" stroke-opacity="{opacity}"{dasharray}/></svg>'
        f"{mark}{label}</span>"
    )


def legend_html(earlier: bool = False) -> str:
    """The style legend (colours are per trial, as in the Experiments panel); with ``earlier``,
    the look of a resumed experiment's earlier trials."""
    items = [
        _legend_item("running", "solid"),
        _legend_item("finished", "solid", 1.5, 0.6),
        _legend_item("early-stopped", "dashed", 1.5, 0.6),
        _legend_item("stopped", "dotted", 1.5, 0.6),
        _legend_item("error / lost", "dash_dotted", 1.5, 0.6, mark="✚ "),
        _legend_item("best", "solid", BEST_WIDTH),
    ]
    if earlier:
        items.append(_legend_item("earlier run", "dashed", 1.0, color=EARLIER_COLOR))
    return (
        '<div style="font-size:0.85em;color:var(--jp-ui-font-color2, #666)">'
        + "".join(items)
        + " · one colour per trial, as in the Experiments panel</div>"
    )


class Chart:
    """Owns the figure and its marks. ``update`` and ``set_notice`` are called only from
    ``LiveView``'s redraw."""

    def __init__(self, height: str = "320px") -> None:
        self.x_scale = LinearScale()
        self.y_scale = LinearScale()
        # One tooltip shared by every line (a widget per line would double the widget count).
        self.tooltip = Tooltip(fields=["name"], labels=["trial"])
        # The last point of every failed trial, one mark for all of them.
        self.ends = Scatter(
            x=np.zeros(0, np.float32),
            y=np.zeros(0, np.float32),
            scales={"x": self.x_scale, "y": self.y_scale},
            marker="cross",
            default_size=40,
            colors=[],
        )
        self.figure = Figure(
            marks=[self.ends],
            axes=[
                Axis(scale=self.x_scale, label="step", grid_lines="none"),
                Axis(scale=self.y_scale, label="metric", side="left", grid_lines="dashed"),
            ],
            animation_duration=0,  # animating hundreds of lines at 10 Hz would only cost frames
            fig_margin={"top": 10, "bottom": 40, "left": 60, "right": 10},
            layout=Layout(width="100%", height=height),
        )
        # What the chart waits for while it has nothing to draw ("starting workers…").
        self.notice = HTML(layout=Layout(margin="0 0 0 60px"))
        self.legend = HTML(legend_html())
        self.widget = VBox([self.notice, self.figure, self.legend])
        self.lines: dict[int, Lines] = {}
        self._states: dict[int, TrialState] = {}
        self._best_id: int | None = None
        self._earlier: frozenset[int] = frozenset()
        self._ends: dict[int, tuple[float, float]] = {}

    def set_notice(self, text: str | None) -> None:
        """Show ``text`` above the chart (hidden when None)."""
        with self.notice.hold_sync():
            if text is None:
                self.notice.layout.display = "none"
            else:
                self.notice.value = (
                    f'<i style="color:var(--jp-ui-font-color2, #666)">{text}</i>'  # plain text from the view
                )
                self.notice.layout.display = None

    def update(
        self,
        changed: Mapping[int, LineData],
        best_id: int | None,
        earlier: frozenset[int] = frozenset(),
        removed: Set[int] = frozenset(),
    ) -> None:
        """Send the changed lines' data and styles; add marks for new trials; restyle on a new best.
        ``earlier``: ids of a resumed experiment's trials from its earlier runs (drawn greyed).
        ``removed``: trials whose curves leave the chart (the view draws a bounded set of curves);
        the marks and the crosses are re-sent once for removals and additions together."""
        if earlier != self._earlier:  # once per experiment: ExperimentStarted of a resumed one
            self._earlier = earlier
            self.legend.value = legend_html(bool(earlier))
        gone = [tid for tid in removed if tid in self.lines]
        for trial_id in gone:
            self.lines.pop(trial_id).close()
            self._states.pop(trial_id, None)
        added = False
        ends_moved = any(self._ends.pop(tid, None) is not None for tid in gone)
        for trial_id, (x, y, state) in sorted(changed.items()):
            self._states[trial_id] = state
            ends_moved |= self._mark_end(trial_id, x, y, state, trial_id in earlier)
            style = line_style(trial_id, state, trial_id == best_id, trial_id in earlier)
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
                    style = line_style(moved, self._states[moved], moved == best_id, moved in earlier)
                    _restyle(self.lines[moved], style)
            self._best_id = best_id
        if ends_moved:
            ids = sorted(self._ends)
            with self.ends.hold_sync():
                self.ends.x = np.array([self._ends[t][0] for t in ids], np.float32)
                self.ends.y = np.array([self._ends[t][1] for t in ids], np.float32)
                self.ends.colors = [trial_color(t) for t in ids]
        if added or best_moved or gone:
            # SVG draws in mark order: earlier runs' lines first, the best line last so no other
            # line covers it; the failed trials' crosses above all lines.
            order = sorted(self.lines, key=lambda tid: (tid == best_id, tid not in earlier, tid))
            with self.figure.hold_sync():
                self.figure.marks = [*(self.lines[tid] for tid in order), self.ends]

    def _mark_end(
        self, trial_id: int, x: np.ndarray, y: np.ndarray, state: TrialState, earlier: bool
    ) -> bool:
        """Keep the cross at a failed trial's last point; returns whether the crosses moved."""
        end = (float(x[-1]), float(y[-1])) if state in FAILED_STATES and not earlier and len(x) else None
        if end == self._ends.get(trial_id):
            return False
        if end is None:
            del self._ends[trial_id]
        else:
            self._ends[trial_id] = end
        return True


def _restyle(line: Lines, style: Mapping[str, object]) -> None:
    # Unchanged values send nothing: traitlets only notifies (and ipywidgets only syncs) changes.
    for name, value in style.items():
        setattr(line, name, value)
