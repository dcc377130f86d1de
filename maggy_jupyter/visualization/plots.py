"""The five analysis plots, each a :class:`~maggy_jupyter.visualization.base.Plot`."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
from bqplot import Axis, Bars, ColorScale, Figure, Label, LinearScale, Lines, OrdinalScale, Scatter, Tooltip
from ipywidgets import Box, Layout

from maggy import visualization as viz
from maggy.trial import Trial, TrialState
from maggy.visualization._sampling import sample, steps

from .base import _BEST, _COLORS, _STATE_COLORS, MAX_LINES, MAX_POINTS, Plot, _drawn, _figure, _params_text


class HistoryPlot(Plot):
    """Each trial's metric in the order trials ended (dots, coloured by state), and the best so far."""

    title = "Optimization history"

    def _build(self) -> None:
        x, y = LinearScale(), LinearScale()
        self.points = Scatter(
            x=[],
            y=[],
            scales={"x": x, "y": y},
            default_size=24,
            colors=[_STATE_COLORS[TrialState.FINISHED]],
            tooltip=Tooltip(fields=["name"], labels=["trial"]),
            display_names=False,
        )
        self.best = Lines(
            x=[], y=[], scales={"x": x, "y": y}, colors=[_BEST], stroke_width=2.5, interpolation="step-after"
        )
        self.body = _figure(
            [self.points, self.best],
            [Axis(scale=x, label="trials ended"), Axis(scale=y, label="metric", side="left")],
        )

    def draw(self, trials: Sequence[Trial]) -> None:
        h = viz.optimization_history(trials, self.source.direction)
        order = np.arange(1, len(h) + 1, dtype=float)
        sign = 1.0 if h.direction == "max" else -1.0
        rows = sample(sign * h.values, MAX_POINTS)
        names = [_params_text(int(h.trial_ids[i]), h.params[i], float(h.values[i])) for i in rows]
        colors = [_STATE_COLORS.get(TrialState(h.states[i]), "#7f7f7f") for i in rows]
        with self.points.hold_sync():
            self.points.x, self.points.y = order[rows], h.values[rows]
            self.points.names = names
            self.points.colors = colors or ["#2ca02c"]
        change = steps(h.best)
        with self.best.hold_sync():
            self.best.x, self.best.y = order[change], h.best[change]
        last = next((b for b in reversed(h.best_ids) if b is not None), None)
        self.note.value = (
            f"{_drawn(len(rows), len(h))} trials with a metric · best {h.best[-1]:.4g} (trial {last})"
            if last is not None
            else "no trial has a metric yet"
        )


class ParallelPlot(Plot):
    """One line per trial across an axis per parameter and the metric, coloured by the metric."""

    title = "Parallel coordinates"

    def _build(self) -> None:
        self.xs, self.ys = LinearScale(min=0.0, max=1.0), LinearScale(min=-0.05, max=1.05)
        self.colour = ColorScale(colors=_COLORS, min=0.0, max=1.0)
        self.lines = Lines(
            x=[],
            y=[],
            color=[],
            scales={"x": self.xs, "y": self.ys, "color": self.colour},
            stroke_width=1.2,
            opacities=[0.55],
            tooltip=Tooltip(fields=["name"], labels=["trial"]),
        )
        self.ticks = Label(
            x=[], y=[], text=[], scales={"x": self.xs, "y": self.ys}, default_size=11, align="middle"
        )
        self.rules = Lines(
            x=[], y=[], scales={"x": self.xs, "y": self.ys}, colors=["#888888"], stroke_width=1
        )
        self.body = _figure([self.rules, self.lines, self.ticks], [], height="360px")

    def draw(self, trials: Sequence[Trial]) -> None:
        pc = viz.parallel_coordinates(trials, self.source.direction, self.source.searchspace)
        n_axes = len(pc.axes) + 1
        pos = np.linspace(0.0, 1.0, n_axes) if n_axes > 1 else np.array([0.5])
        rows = sample(pc.metric_unit, MAX_LINES)
        m = pc.matrix()[rows]
        labels = [_params_text(int(pc.trial_ids[i]), pc.params[i], float(pc.metric[i])) for i in rows]
        tx, ty, tt = [], [], []
        for a, column in zip(pos, pc.axes, strict=False):
            tx.append(a)
            ty.append(1.04)
            tt.append(column.name)
            for u, text in column.ticks():
                tx.append(a)
                ty.append(u)
                tt.append(text)
        if len(pc.metric):
            lo, hi = float(pc.metric.min()), float(pc.metric.max())
            best_u, worst_u = 1.0, 0.0
            best, worst = (hi, lo) if pc.direction == "max" else (lo, hi)
            tx += [pos[-1]] * 3
            ty += [1.04, best_u, worst_u]
            tt += ["metric", f"{best:.4g}", f"{worst:.4g}"]
        with self.lines.hold_sync():
            self.lines.x = pos
            self.lines.y = m if len(rows) else np.zeros((0, n_axes))
            self.lines.color = pc.metric_unit[rows]
            self.lines.labels = labels
        with self.rules.hold_sync():  # the axes: one vertical rule per parameter and the metric
            self.rules.x = np.repeat(pos[:, None], 2, axis=1)
            self.rules.y = np.tile([0.0, 1.0], (n_axes, 1))
        with self.ticks.hold_sync():
            self.ticks.x, self.ticks.y, self.ticks.text = tx, ty, tt
        self.note.value = (
            f"{_drawn(len(rows), len(pc.trial_ids))} trials drawn · colour: metric, best in green"
        )


class ImportancePlot(Plot):
    """Horizontal bars: each parameter's share of the metric's variance (fANOVA main effects)."""

    title = "Hyperparameter importance"

    def _build(self) -> None:
        self.names, self.share = OrdinalScale(), LinearScale(min=0.0)
        self.bars = Bars(
            x=[],
            y=[],
            scales={"x": self.names, "y": self.share},
            orientation="horizontal",
            colors=["#1f77b4"],
            tooltip=Tooltip(fields=["x", "y"], labels=["parameter", "importance"], formats=["", ".3f"]),
        )
        self.body = _figure(
            [self.bars],
            [
                Axis(scale=self.names, side="left"),
                Axis(scale=self.share, label="share of the metric's variance", tick_format=".0%"),
            ],
        )

    def draw(self, trials: Sequence[Trial]) -> None:
        imp = viz.param_importances(trials, self.source.searchspace)
        ranked = list(reversed(imp.importances.items()))  # bqplot draws the first name at the bottom
        with self.bars.hold_sync():
            self.bars.x = [name for name, _ in ranked]
            self.bars.y = [value for _, value in ranked]
        self.importances = imp
        self.note.value = f"{imp.n_trials} trials · {html.escape(imp.method)}; main effects only"


class SlicePlot(Plot):
    """The metric against each parameter, one small scatter per parameter, coloured by trial order."""

    title = "Slice"

    def _build(self) -> None:
        self.figures: dict[str, Figure] = {}
        self.scatters: dict[str, Scatter] = {}
        self.body = Box(layout=Layout(display="flex", flex_flow="row wrap", width="100%"))

    def _panel(self, name: str, categorical: bool) -> Scatter:
        x = OrdinalScale() if categorical else LinearScale()
        y, colour = LinearScale(), ColorScale(scheme="Blues")
        scatter = Scatter(
            x=[],
            y=[],
            color=[],
            scales={"x": x, "y": y, "color": colour},
            default_size=20,
            tooltip=Tooltip(fields=["name"], labels=["trial"]),
            display_names=False,
        )
        fig = _figure(
            [scatter],
            [Axis(scale=x, label=name), Axis(scale=y, label="metric", side="left")],
            height="260px",
        )
        fig.layout.width = "320px"
        self.figures[name], self.scatters[name] = fig, scatter
        return scatter

    def draw(self, trials: Sequence[Trial]) -> None:
        panels = viz.slices(trials, self.source.searchspace)
        by_id = {t.trial_id: t.params for t in trials}
        sign = 1.0 if self.source.direction == "max" else -1.0
        added, shown = False, 0
        for s in panels:
            categorical = s.column.kind == "categorical"
            scatter = self.scatters.get(s.column.name)
            if scatter is None or isinstance(scatter.scales["x"], OrdinalScale) != categorical:
                scatter, added = self._panel(s.column.name, categorical), True
            keep = np.flatnonzero(~np.isnan(s.x))
            keep = keep[sample(sign * s.metric[keep], MAX_POINTS)]
            x = s.x[keep]
            xs: Any = [s.column.label(s.column.choices[int(i)]) for i in x] if categorical else x
            ids = s.trial_ids[keep]
            metric = s.metric[keep]
            shown = max(shown, len(keep))
            with scatter.hold_sync():
                scatter.x, scatter.y = xs, metric
                scatter.color = ids.astype(float)
                scatter.names = [
                    _params_text(int(i), by_id[int(i)], float(m)) for i, m in zip(ids, metric, strict=True)
                ]
        if added:
            self.body.children = [
                self.figures[s.column.name] for s in panels if s.column.name in self.figures
            ]
        total = len(panels[0].trial_ids) if panels else 0
        self.note.value = f"{_drawn(shown, total)} trials drawn · colour: later trials darker"


class AblationPlot(Plot):
    """One bar per removed component: its metric minus the base trial's (red where it hurt)."""

    title = "Ablation: metric change when each component is removed"

    def _build(self) -> None:
        self.labels, self.delta = OrdinalScale(), LinearScale()
        self.bars = Bars(
            x=[],
            y=[],
            scales={"x": self.labels, "y": self.delta},
            orientation="horizontal",
            colors=["#2ca02c"],
            tooltip=Tooltip(fields=["x", "y"], labels=["removed", "delta"], formats=["", ".4g"]),
        )
        self.body = _figure(
            [self.bars],
            [
                Axis(scale=self.labels, side="left"),
                Axis(scale=self.delta, label="metric - base metric"),
            ],
        )

    def draw(self, trials: Sequence[Trial]) -> None:
        if trials and not viz.is_ablation(trials):
            raise ValueError(
                f"experiment {self.source.experiment_id} is not an ablation study: its trials' params are "
                "hyperparameters, not ablated components; plot_param_importances shows what mattered"
            )
        d = viz.ablation_deltas(trials, self.source.direction)
        bars = list(reversed(d.bars))  # the most harmful removal at the top
        with self.bars.hold_sync():
            self.bars.x = [b.label for b in bars]
            self.bars.y = [b.delta for b in bars]
            self.bars.colors = [_COLORS[0] if b.hurt else _COLORS[2] for b in bars] or ["#2ca02c"]
        self.deltas = d
        base = (
            f"base {d.base_val:.4g} (trial {d.base_id})" if d.base_val is not None else "no base metric yet"
        )
        top = f" · most important: {html.escape(d.most_important)}" if d.most_important else ""
        self.note.value = f"{base}{top} · red: removing it made the metric worse"
