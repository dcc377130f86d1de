"""The Parzen estimator behind TPE: bandwidths, a proper density, sampling inside the cube."""

from __future__ import annotations

import numpy as np
import pytest

from maggy.optimizer._parzen import BANDWIDTH_FACTOR, ParzenEstimator, _ndtr, _neighbour_bandwidths


def test_neighbour_bandwidths_follow_optuna_rule() -> None:
    u = np.array([[0.1], [0.5], [0.6], [0.95]])
    # inner points: larger gap to a neighbour; outer points: the gap to their inner neighbour
    assert _neighbour_bandwidths(u)[:, 0].tolist() == pytest.approx([0.4, 0.4, 0.35, 0.35])
    same = np.full((3, 1), 0.5)
    assert _neighbour_bandwidths(same)[:, 0].tolist() == pytest.approx([0.2] * 3)  # clipped to 1/(m+2)
    assert _neighbour_bandwidths(np.zeros((0, 2))).shape == (0, 2)


def test_observation_kernels_are_the_neighbour_gaps_narrowed_and_the_prior_stays_wide() -> None:
    u = np.array([[0.1, 0.9], [0.5, 0.2], [0.6, 0.4]])
    est = ParzenEstimator(u, np.zeros((3, 0), dtype=int), [])
    assert est.sigmas[:3] == pytest.approx(BANDWIDTH_FACTOR * _neighbour_bandwidths(u))
    assert est.sigmas[3].tolist() == [1.0, 1.0] and est.mus[3].tolist() == [0.5, 0.5]


def test_log_pdf_is_a_density_on_the_unit_interval_times_categories() -> None:
    est = ParzenEstimator(np.array([[0.05], [0.3], [0.31]]), np.array([[0], [1], [1]]), [3])
    grid = np.linspace(0, 1, 20001)[:, None]
    total = 0.0
    for c in range(3):
        pdf = np.exp(est.log_pdf(grid, np.full((len(grid), 1), c)))
        total += float(pdf.mean())  # mean over [0, 1] of a density = its mass
    assert total == pytest.approx(1.0, abs=2e-3)


def test_samples_stay_in_the_cube_and_follow_the_categories() -> None:
    est = ParzenEstimator(np.array([[0.0, 1.0]] * 20), np.zeros((20, 1), dtype=int), [4])
    u, cats = est.sample(np.random.default_rng(0), 4000)
    assert ((u >= 0) & (u <= 1)).all() and u.shape == (4000, 2)
    share = np.bincount(cats[:, 0], minlength=4) / 4000
    assert share[0] == pytest.approx(0.85, abs=0.02) and (share[1:] > 0).all()  # 20/21 * 22/25 + 1/21 * 1/4


def test_ndtr_matches_the_normal_cdf() -> None:
    from math import erf, sqrt

    x = np.linspace(-8, 8, 161)
    expected = np.array([0.5 * (1 + erf(v / sqrt(2))) for v in x])
    assert np.abs(_ndtr(x) - expected).max() < 2e-7


def test_cell_masses_of_a_finite_parameter_sum_to_one() -> None:
    est = ParzenEstimator(np.array([[0.1], [0.5], [0.55]]), np.zeros((3, 0), dtype=int), [])
    edges = np.linspace(0, 1, 5)  # a DISCRETE with four values: cells of width 1/4
    centres = ((edges[:-1] + edges[1:]) / 2)[:, None]
    cells = (edges[:-1][:, None], edges[1:][:, None])
    masses = np.exp(est.log_pdf(centres, np.zeros((4, 0), dtype=int), cells))
    assert masses.sum() == pytest.approx(1.0, abs=1e-5)


def test_recency_weights_fade_only_beyond_the_newest_25() -> None:
    from maggy.optimizer.tpe import _recency_weights

    assert _recency_weights(np.array([5, 1, 3])).tolist() == [1.0, 1.0, 1.0]
    w = _recency_weights(np.arange(30)[::-1])  # given newest first
    assert w[0] == 1.0 and w[-1] == pytest.approx(1 / 30) and (np.diff(w[25:]) < 0).all()


def test_an_observation_lacking_a_coordinate_shapes_only_the_ones_it_has() -> None:
    rng = np.random.default_rng(0)
    # Eight observations near 0.2 on coordinate 0; four of them lack coordinate 1 (NaN) and the
    # category (-1): there their kernels are the prior's.
    u = np.column_stack([0.2 + 0.01 * rng.standard_normal(8), np.r_[np.full(4, 0.9), np.full(4, np.nan)]])
    cats = np.array([[1]] * 4 + [[-1]] * 4)
    pe = ParzenEstimator(u, cats, [3])
    assert np.allclose(pe.mus[4:8, 1], 0.5) and np.allclose(pe.sigmas[4:8, 1], 1.0)
    assert np.allclose(pe.cat_probs[0][4:8], 1 / 3)  # uniform where the category is missing
    assert np.all(pe.sigmas[:8, 0] < 0.5)  # coordinate 0 keeps narrow kernels for all eight
    samples, sampled_cats = pe.sample(rng, 4000)
    assert np.isfinite(samples).all() and ((samples >= 0) & (samples <= 1)).all()
    assert np.median(np.abs(samples[:, 0] - 0.2)) < 0.1  # all eight pull coordinate 0 to 0.2
    near = np.abs(samples[:, 1] - 0.9) < 0.1
    assert 0.3 < near.mean() < 0.8  # the four complete ones pull coordinate 1, the rest spread it
    assert np.isfinite(pe.log_pdf(samples[:50], sampled_cats[:50])).all()
    assert set(np.unique(sampled_cats)) <= {0, 1, 2}
