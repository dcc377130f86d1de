"""Parameters against the metric: parallel coordinates and slice plots.

Both draw the trials whose metrics compare, :func:`maggy.core.result.scored_trials` (FINISHED
ones, at the largest budget reached; partial metrics only when there are none): a metric after
one epoch of ASHA beside one after 27 would mislead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from maggy.core.result import scored_trials
from maggy.trial import Trial

from ._columns import Column, SearchspaceLike, columns


@dataclass(frozen=True)
class ParallelCoordinates:
    """One polyline per trial across one axis per parameter, then the metric's.

    ``axes``: the parameters' columns (``unit`` is each trial's height on the axis, a
    categorical's choices evenly spaced, see :mod:`maggy.visualization._columns`).
    ``metric_unit``: the metric mapped onto [0, 1] between its min and max, oriented so that 1 is
    best for ``direction``: the colour scale and last axis.
    """

    direction: str
    trial_ids: np.ndarray
    metric: np.ndarray
    metric_unit: np.ndarray
    axes: tuple[Column, ...]
    params: tuple[dict[str, Any], ...]

    def matrix(self) -> np.ndarray:
        """``(trials, axes + 1)`` heights in unit space, the metric last (NaN where missing)."""
        cols = [a.unit for a in self.axes] + [self.metric_unit]
        return np.column_stack(cols) if len(self.trial_ids) else np.zeros((0, len(cols)))


@dataclass(frozen=True)
class Slice:
    """The metric against one parameter: ``x`` is the value (a categorical's choice index, with
    ``column.choices`` for the tick labels), NaN for trials without it."""

    column: Column
    x: np.ndarray
    metric: np.ndarray
    trial_ids: np.ndarray


def _metric_unit(metric: np.ndarray, direction: str) -> np.ndarray:
    if metric.size == 0:
        return metric.copy()
    lo, hi = float(metric.min()), float(metric.max())
    unit = (metric - lo) / (hi - lo) if hi > lo else np.full_like(metric, 0.5)
    return unit if direction == "max" else 1.0 - unit


def parallel_coordinates(
    trials: Iterable[Trial], direction: str, searchspace: SearchspaceLike = None
) -> ParallelCoordinates:
    """The :class:`ParallelCoordinates` of ``trials`` (any order) for ``direction``."""
    if direction not in ("max", "min"):
        raise ValueError(f"direction must be 'max' or 'min', got {direction!r}")
    scored = scored_trials(trials)
    metric = np.array([float(t.metric or 0.0) for t in scored], dtype=float)
    return ParallelCoordinates(
        direction=direction,
        trial_ids=np.array([t.trial_id for t in scored], dtype=int),
        metric=metric,
        metric_unit=_metric_unit(metric, direction),
        axes=tuple(columns(scored, searchspace)),
        params=tuple(dict(t.params) for t in scored),
    )


def slices(trials: Iterable[Trial], searchspace: SearchspaceLike = None) -> list[Slice]:
    """One :class:`Slice` per parameter of ``trials`` (any order), in the space's order."""
    scored = scored_trials(trials)
    metric = np.array([float(t.metric or 0.0) for t in scored], dtype=float)
    ids = np.array([t.trial_id for t in scored], dtype=int)
    return [Slice(col, col.values, metric, ids) for col in columns(scored, searchspace)]
