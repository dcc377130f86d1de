"""A trial's series in the live view stays bounded however many points the trial broadcasts."""

from __future__ import annotations

import numpy as np

from maggy_jupyter.live_view.series import Series


def test_a_long_curve_is_thinned_to_the_limit_keeping_its_shape_and_ends() -> None:
    series = Series(limit=1000)
    n = 1_000_000
    for start in range(0, n, 10_000):
        steps = np.arange(start, start + 10_000)
        series.extend(np.stack([steps, np.sqrt(steps)], axis=1))
        assert series.kept < 1000
    assert len(series) == n and series.last_value() == np.sqrt(n - 1)  # every point seen, the last kept
    x, y = series.arrays(max_points=2000)
    assert x[0] == 0 and x[-1] == n - 1 and len(x) >= 450
    assert np.diff(x).max() <= 2 * 2**11  # slices of 2048 steps (the least power of two >= n / 500)
    assert np.allclose(y, np.sqrt(x), rtol=1e-6)  # real points, not averages


def test_one_huge_beat_is_bounded_too() -> None:
    series = Series.from_points([[float(s), 1.0] for s in range(100_000)], limit=256)
    assert series.kept < 256 and len(series) == 100_000
    same_step = Series(limit=64)
    same_step.extend([[5.0, float(i)] for i in range(1000)])  # steps that do not spread: by position
    assert 0 < same_step.kept < 64 and same_step.last_value() == 999.0
