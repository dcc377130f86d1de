"""One trial's metric history as a bounded, growable numpy array.

Histories are kept as one contiguous float64 ``(n, 2)`` buffer rather than the events' lists of
``[step, value]`` lists: 200 trials x 1,000 steps is 3.2 MB this way and ~25 MB as Python lists,
and a line redraw is then one slice and one cast.

Bounded: a trial may broadcast millions of points, and the view draws at most ~1,000 per line;
once a series holds ``limit`` points it is thinned to about half of them, evenly over the steps,
keeping the first and the latest point (the same slicing as the driver's own histories,
:func:`maggy.trial.thin_points`). The whole curve is in the experiment store.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: Most points one series keeps (16 bytes each, 128 KB): 4 to 8x what a line draws.
SERIES_LIMIT = 8192


class Series:
    """Append-only ``(step, value)`` points with amortised O(1) appends, at most ``limit`` kept.

    ``len()`` counts every point appended (what the view has seen), not what is kept.
    Not thread-safe; the owner serialises access (see ``ExperimentState``).
    """

    __slots__ = ("_data", "_n", "_seen", "limit")

    def __init__(self, capacity: int = 16, limit: int = SERIES_LIMIT) -> None:
        self.limit = max(4, limit)
        self._data = np.empty((min(max(1, capacity), self.limit), 2), dtype=np.float64)
        self._n = 0
        self._seen = 0

    @classmethod
    def from_points(cls, points: Sequence[Sequence[float]], limit: int = SERIES_LIMIT) -> Series:
        series = cls(len(points), limit)
        series.extend(points)
        return series

    def __len__(self) -> int:
        return self._seen

    @property
    def kept(self) -> int:
        """How many points the series holds (at most ``limit``)."""
        return self._n

    def extend(self, points: Sequence[Sequence[float]]) -> None:
        """Append ``[[step, value], ...]``; raises ValueError for anything not shaped like that."""
        if len(points) == 0:
            return
        new = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        self._seen += len(new)
        start = 0
        while start < len(new):  # in pieces that fit below the limit, thinning in between
            take = min(len(new) - start, self.limit - self._n)
            end = self._n + take
            if end > len(self._data):
                grown = np.empty((min(self.limit, max(end, 2 * len(self._data))), 2), dtype=np.float64)
                grown[: self._n] = self._data[: self._n]
                self._data = grown
            self._data[self._n : end] = new[start : start + take]
            self._n = end
            start += take
            if self._n >= self.limit:
                self._thin()

    def _thin(self) -> None:
        n, target = self._n, self.limit // 2
        steps = self._data[:n, 0]
        lo = steps[0]
        span = float(steps.max() - lo)
        if not (math.isfinite(span) and span > 0) or steps.min() < lo:
            keep = np.arange(0, n - 1, math.ceil(n / target))
        else:  # first point of each power-of-two slice from the first step (see thin_points)
            width = 2.0 ** math.ceil(math.log2(span / target))
            _, keep = np.unique(np.floor((steps[:-1] - lo) / width), return_index=True)
            keep.sort()
        keep = np.append(keep, n - 1)
        self._data[: len(keep)] = self._data[keep]
        self._n = len(keep)

    def last_value(self) -> float | None:
        return float(self._data[self._n - 1, 1]) if self._n else None

    def points(self) -> list[list[float]]:
        """The kept points as ``[[step, value], ...]`` (float64, as appended)."""
        points: list[list[float]] = self._data[: self._n].tolist()
        return points

    def arrays(self, max_points: int) -> tuple[np.ndarray, np.ndarray]:
        """Fresh float32 copies of (steps, values), thinned evenly to at most ``max_points``.

        float32 halves what travels to the browser and is exact for steps below 2**24; the
        first and last points are always kept so a line's ends stay where they are.
        """
        view = self._data[: self._n]
        if self._n > max_points >= 2:
            view = view[np.linspace(0, self._n - 1, max_points).astype(np.intp)]
        return view[:, 0].astype(np.float32), view[:, 1].astype(np.float32)
