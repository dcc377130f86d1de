"""Grid search: the cartesian product of a finite set of points per parameter, in a fixed order."""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from maggy.optimizer._encoding import config_key
from maggy.optimizer.base import FINISHED, AbstractOptimizer, Decision
from maggy.searchspace import DOUBLE, INTEGER, Parameter

if TYPE_CHECKING:
    from maggy.trial import Trial

logger = logging.getLogger("maggy")


class GridSearch(AbstractOptimizer):
    """Suggest every point of a grid over the search space, once each, then FINISHED.

    Points per parameter:
    - DOUBLE: ``grid_points_per_double`` evenly spaced values including both bounds (geometrically
      spaced for scale 'log');
    - INTEGER: every integer in ``[lower, upper]``; if ``grid_points_per_integer`` is set and the
      range holds more integers than that, that many evenly (or, for 'log', geometrically) spaced
      integers including both bounds instead;
    - DISCRETE, CATEGORICAL: every value, in the order given.

    The grid is the cartesian product in search-space order, the last parameter varying fastest,
    and does not depend on the seed. Its size replaces ``num_trials``: ``planned_trials()`` returns
    it, and an info line is logged when it differs from the ``num_trials`` asked for. ``setup``
    raises ValueError when the grid would exceed ``max_grid_size`` points.
    """

    uses_results = False  # suggestions never depend on results: the driver may hand trials out ahead

    def __init__(
        self,
        grid_points_per_double: int = 5,
        grid_points_per_integer: int | None = None,
        max_grid_size: int = 100_000,
    ) -> None:
        _check_count("grid_points_per_double", grid_points_per_double, minimum=2)
        if grid_points_per_integer is not None:
            _check_count("grid_points_per_integer", grid_points_per_integer, minimum=2)
        _check_count("max_grid_size", max_grid_size, minimum=1)
        self.grid_points_per_double = grid_points_per_double
        self.grid_points_per_integer = grid_points_per_integer
        self.max_grid_size = max_grid_size

    def initialize(self) -> None:
        params = self.searchspace.parameters()
        axes = [self._axis(p) for p in params]
        size = math.prod(_length(a) for a in axes)  # before listing anything: the product may be huge
        if size > self.max_grid_size:
            counts = " x ".join(f"{p.name}: {_length(a)}" for p, a in zip(params, axes, strict=True))
            raise ValueError(
                f"GridSearch: the grid has {size} points ({counts}), more than max_grid_size="
                f"{self.max_grid_size}. Lower grid_points_per_double, set grid_points_per_integer to thin "
                "out INTEGER ranges, narrow the ranges, raise max_grid_size, or use optimizer='randomsearch'"
            )
        names = [p.name for p in params]
        self.grid: list[dict[str, Any]] = [
            dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes)
        ]
        self._next = 0
        self._done: set[int] = set()  # grid points run before a resume or warm start
        self._off_grid = 0
        if size != self.num_trials:
            logger.info(
                "GridSearch: running all %d grid points (num_trials=%d was asked for)", size, self.num_trials
            )

    def planned_trials(self) -> int:
        # Earlier trials off this grid (a resumed experiment whose grid changed) were counted as
        # trials of the experiment without using a grid point: plan past them so that every grid
        # point still runs. Earlier trials on the grid are skipped by suggest.
        return len(self.grid) + self._off_grid

    def warm_start(self, trials: Sequence[Trial]) -> None:
        """Grid points an earlier trial ran are skipped (see base); the grid's order is kept."""
        super().warm_start(trials)
        keys = {config_key(point): i for i, point in enumerate(self.grid)}
        for trial in trials:
            index = keys.get(config_key(trial.params))
            if index is None:
                self._off_grid += 1
            else:
                self._done.add(index)

    def suggest(self) -> dict[str, Any] | Decision:
        while self._next < len(self.grid) and self._next in self._done:
            self._next += 1
        if self._next >= len(self.grid):
            return FINISHED
        self._next += 1
        return dict(self.grid[self._next - 1])  # a copy: the caller may mutate what it gets

    def _axis(self, p: Parameter) -> Sequence[Any]:
        """The grid points of one parameter; a lazy ``range`` for a full INTEGER range."""
        if p.type == DOUBLE:
            return _spaced(p, self.grid_points_per_double)
        if p.type == INTEGER:
            cap = self.grid_points_per_integer
            lo, hi = p.values
            if cap is None or hi - lo + 1 <= cap:
                return range(lo, hi + 1)
            # Log spacing may round two to one; beyond 2**53 a float end point may round past a bound.
            return sorted({min(max(round(x), lo), hi) for x in _spaced(p, cap)})
        return p.choices()


def _length(axis: Sequence[Any]) -> int:
    # len() of a range beyond sys.maxsize items (an INTEGER over the whole int64 span) overflows.
    return axis.stop - axis.start if isinstance(axis, range) else len(axis)


def _spaced(p: Parameter, n: int) -> list[float]:
    lo, hi = p.values
    points = np.geomspace(lo, hi, n) if p.scale == "log" else np.linspace(lo, hi, n)
    return [float(x) for x in points]  # plain floats for JSON; both ends are exactly the bounds


def _check_count(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"GridSearch: {name} must be an int >= {minimum}, got {value!r}")
