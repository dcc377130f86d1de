"""One trial's metric history as growable numpy arrays.

Histories are kept as one contiguous float64 ``(n, 2)`` buffer rather than the events' lists of
``[step, value]`` lists: 200 trials x 1,000 steps is 3.2 MB this way and ~25 MB as Python lists,
and a line redraw is then one slice and one cast.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Series:
    """Append-only ``(step, value)`` points with amortised O(1) appends.

    Not thread-safe; the owner serialises access (see ``ExperimentState``).
    """

    __slots__ = ("_data", "_n")

    def __init__(self, capacity: int = 16) -> None:
        self._data = np.empty((max(1, capacity), 2), dtype=np.float64)
        self._n = 0

    @classmethod
    def from_points(cls, points: Sequence[Sequence[float]]) -> Series:
        series = cls(len(points))
        series.extend(points)
        return series

    def __len__(self) -> int:
        return self._n

    def extend(self, points: Sequence[Sequence[float]]) -> None:
        """Append ``[[step, value], ...]``; raises ValueError for anything not shaped like that."""
        if len(points) == 0:
            return
        new = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        end = self._n + len(new)
        if end > len(self._data):
            grown = np.empty((max(end, 2 * len(self._data)), 2), dtype=np.float64)
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n : end] = new
        self._n = end

    def last_value(self) -> float | None:
        return float(self._data[self._n - 1, 1]) if self._n else None

    def arrays(self, max_points: int) -> tuple[np.ndarray, np.ndarray]:
        """Fresh float32 copies of (steps, values), thinned evenly to at most ``max_points``.

        float32 halves what travels to the browser and is exact for steps below 2**24; the
        first and last points are always kept so a line's ends stay where they are.
        """
        view = self._data[: self._n]
        if self._n > max_points >= 2:
            view = view[np.linspace(0, self._n - 1, max_points).astype(np.intp)]
        return view[:, 0].astype(np.float32), view[:, 1].astype(np.float32)
