"""Fewer points to draw, chosen so that the picture does not change: used by the widgets and
:func:`maggy.visualization.analysis_payload` alike."""

from __future__ import annotations

import numpy as np


def sample(score: np.ndarray, limit: int) -> list[int]:
    """Indices (increasing) of at most ``limit`` of ``score``'s rows: the best (highest score)
    and an even spread of the rest, so a 10,000-trial cloud keeps its shape and its best."""
    n = len(score)
    if n <= limit:
        return list(range(n))
    if limit <= 0:
        return []
    best = int(np.nanargmax(score)) if np.isfinite(score).any() else 0
    others = np.delete(np.arange(n), best)
    spread = others[np.linspace(0, n - 2, limit - 1).round().astype(int)] if limit > 1 else others[:0]
    return sorted([best, *spread.tolist()])


def steps(curve: np.ndarray) -> np.ndarray:
    """Indices where a step curve (a best so far) changes, and its last point: all a step line
    needs, exactly."""
    if len(curve) == 0:
        return np.zeros(0, dtype=int)
    b = np.nan_to_num(curve, nan=np.inf)
    changed = np.flatnonzero(np.concatenate([[True], b[1:] != b[:-1]]))
    return np.union1d(changed, [len(curve) - 1]).astype(int)
