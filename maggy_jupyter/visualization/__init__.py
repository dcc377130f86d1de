"""Analysis plots in the cell (bqplot), live while the experiment runs.

    from maggy_jupyter.visualization import plot_optimization_history   # or maggy.visualization
    plot_optimization_history("20260105")          # an experiment id (or unique prefix) in the store
    plot_param_importances(result)                 # the dict lagom returned
    plot_parallel_coordinate(handle)               # a running experiment: redraws as trials end

``experiment`` may be an experiment id or prefix (this kernel's experiments first, see
:mod:`maggy_jupyter.registry`, then the store at ``store``, default the default store), a result
dict (its ``experiment_id``), a :class:`maggy.experiments.Experiment`, a registry entry, or an
:class:`maggy.frontend.ExperimentHandle`. A running experiment's plot subscribes to its events and
recomputes from ``handle.trials()`` at most once per ``interval`` seconds as trials end, and once
more at the end; a finished one is drawn once. Each function returns a :class:`Plot`, which
displays as its widget (``plot.widget`` to place it in a layout of your own).

The numbers come from :mod:`maggy.visualization` (pure, tested there); this module only draws.
Threads: events arrive on the driver's dispatcher thread and only ask the throttle for a redraw;
redraws run on the throttle's thread (or the caller's, for the first and the final one) and are
the only code that changes the marks, inside ``hold_sync``.
"""

from __future__ import annotations

from typing import Any

from .base import BUSY, INTERVAL, MAX_LINES, MAX_POINTS, Plot
from .plots import AblationPlot, HistoryPlot, ImportancePlot, ParallelPlot, SlicePlot
from .source import Source, source

__all__ = [
    "BUSY",
    "INTERVAL",
    "MAX_LINES",
    "MAX_POINTS",
    "AblationPlot",
    "HistoryPlot",
    "ImportancePlot",
    "ParallelPlot",
    "Plot",
    "SlicePlot",
    "Source",
    "plot_ablation",
    "plot_optimization_history",
    "plot_parallel_coordinate",
    "plot_param_importances",
    "plot_slice",
    "source",
]


def _plot(cls: type[Plot], experiment: Any, store: Any, interval: float) -> Plot:
    return cls(source(experiment, store), interval=interval)


def plot_optimization_history(experiment: Any, *, store: Any = None, interval: float = INTERVAL) -> Plot:
    """Each trial's metric in end order and the best so far (maggy's best-trial rule)."""
    return _plot(HistoryPlot, experiment, store, interval)


def plot_parallel_coordinate(experiment: Any, *, store: Any = None, interval: float = INTERVAL) -> Plot:
    """Parameters (one axis each, categoricals by choice) against the metric (last axis, colour)."""
    return _plot(ParallelPlot, experiment, store, interval)


def plot_param_importances(experiment: Any, *, store: Any = None, interval: float = INTERVAL) -> Plot:
    """Each parameter's share of the metric's variance (:func:`maggy.visualization.param_importances`)."""
    return _plot(ImportancePlot, experiment, store, interval)


def plot_slice(experiment: Any, *, store: Any = None, interval: float = INTERVAL) -> Plot:
    """The metric against each parameter."""
    return _plot(SlicePlot, experiment, store, interval)


def plot_ablation(experiment: Any, *, store: Any = None, interval: float = INTERVAL) -> Plot:
    """An ablation study's components: each one's metric change against the base trial."""
    return _plot(AblationPlot, experiment, store, interval)
