"""GP: Bayesian optimization with a Gaussian process and expected improvement.

After ``n_startup`` usable results (random configurations until then), each suggestion fits a GP
(:mod:`maggy.optimizer._gp_model`: Matern-5/2 with one lengthscale per dimension, noise learned;
losses standardised after squashing their worse half logarithmically, see ``_warp``) and returns
the configuration that maximises expected improvement over the best loss seen. Loss is the
metric, negated for direction 'max'.

**Inputs**: DOUBLE and INTEGER in the unit cube with their scale ('log' honoured), DISCRETE by
rank (:mod:`maggy.optimizer._encoding`); CATEGORICAL one-hot, one lengthscale per category. EI is
maximised in the continuous relaxation (1024 random points and 40 perturbations of each of the
5 best results, then a vectorised local search from the 5 best of those, categories held fixed);
the winners are snapped to valid values (integers rounded, DISCRETE and one-hot to the nearest
choice) and scored again, so the suggestion is the best *valid* point, not a rounded one. A configuration
already suggested is skipped (random when every candidate repeats).

**Pending trials**: constant liar. Running trials are added to the GP at the best loss seen
(hyperparameters unchanged), which flattens EI around them, so parallel workers get different
points.

**History cap**: at most ``max_observations`` results enter the GP (the fit is cubic in them): the
best half of the cap and the most recent of the rest. That keeps a suggestion under 0.1 s at 1000
results (bench/optimizers.py) while keeping the incumbent region and the latest exploration.

**Which trials count**: as for TPE (:class:`maggy.optimizer._history.Observations`): FINISHED as
is; EARLY_STOPPED at its partial metric but never better than the median finished one; STOPPED,
ERROR, LOST not at all. Works with any ``es_policy``.

**Seed**: ``GP(seed=...)``, else lagom's generator; a single-worker run repeats exactly.
``planned_trials()`` is num_trials, or the size of a smaller finite space. Needs scipy, imported
when the optimizer is set up (not at ``import maggy``); uses threadpoolctl when installed to keep
BLAS on one thread during a suggestion.
"""

from __future__ import annotations

import contextlib
import importlib
import numbers
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import numpy as np

from maggy._rng import SeedLike
from maggy.optimizer._encoding import config_key
from maggy.optimizer._history import draw_new
from maggy.optimizer._model_based import ModelBasedOptimizer

if TYPE_CHECKING:
    from maggy.optimizer._gp_model import GaussianProcess

_N_RANDOM = 1024  # random candidates per suggestion
_N_LOCAL = 40  # perturbations around each of the best results
_N_STARTS = 5  # best results perturbed, and best candidates refined by local search
_N_CHECK = 50  # best-scoring candidates checked for repeats before falling back to random
_LOCAL_STEPS = np.array([0.02, 0.08, 0.2])  # perturbation sizes around the best results
_FLIP = 0.2  # chance that a perturbation redraws each categorical parameter
_REFINE_STEPS = (0.05, 0.02, 0.01, 0.005, 0.002, 0.001)  # local search step sizes, in the unit cube
_REFINE_PER_STEP = 64
_COLD_EVERY = (
    10  # GP fits between fits that also start from the priors' centres  # trial points per start and step
)


class GP(ModelBasedOptimizer):
    """Gaussian-process Bayesian optimization with expected improvement; see the module docstring.

    ``n_startup`` (int >= 1): random configurations until this many results are usable;
    ``max_observations`` (int >= 10): history cap; ``seed``: see module docstring.
    """

    def __init__(self, n_startup: int = 10, max_observations: int = 200, seed: SeedLike = None) -> None:
        for name, value, low in (("n_startup", n_startup, 1), ("max_observations", max_observations, 10)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(f"GP: {name} must be an int >= {low}, got {value!r}")
        self.n_startup = int(n_startup)
        self.max_observations = int(max_observations)
        self.seed = seed

    def initialize(self) -> None:
        try:
            self._model = importlib.import_module("maggy.optimizer._gp_model")
        except ImportError as exc:  # scipy missing
            raise ImportError(f"optimizer 'gp' needs scipy ({exc}); install it: pip install scipy") from exc
        self._blas = _one_blas_thread()
        super().initialize()
        self._theta: np.ndarray | None = None  # last fit, to warm-start the next
        self._fits = 0

    # -- the model step -------------------------------------------------------------------------

    def _from_model(self) -> dict[str, Any]:
        with self._blas():
            return self._fit_and_pick()

    def _fit_and_pick(self) -> dict[str, Any]:
        losses = self._history.losses()
        keep = _cap(losses, self.max_observations)
        x = self._join(*self._history.rows(keep))
        y = _warp(losses[keep])
        # A cold start too every few fits, in case the warm one sits in a stale local optimum.
        cold = self._fits % _COLD_EVERY == 0
        fitted = self._model.GaussianProcess(x, y, warm_start=self._theta, cold_start=cold)
        self._theta, self._fits = fitted.theta, self._fits + 1
        pending = self._pending.configs()
        gp = fitted.with_lies(self._to_x(pending)) if pending else fitted
        # Every candidate is a valid point (snapped), so EI ranks what would really be suggested.
        candidates = self._candidates(x[np.argsort(y, kind="stable")[:_N_STARTS]])
        scores = gp.log_ei(candidates)
        refined = self._refine(gp, candidates[np.argsort(-scores, kind="stable")[:_N_STARTS]])
        pool = np.vstack([candidates, refined])
        pool_scores = np.concatenate([scores, gp.log_ei(refined)])
        for i in np.argsort(-pool_scores, kind="stable")[:_N_CHECK]:
            config = self._from_x(pool[i])
            if config_key(config) not in self._seen:
                return config
        return draw_new(self.searchspace, self.rng, self._seen)

    def _candidates(self, best: np.ndarray) -> np.ndarray:
        """Random valid points plus perturbations of the ``best`` inputs (numeric and categorical)."""
        enc = self._encoder
        u = enc.snap(self.rng.random((_N_RANDOM, len(enc.numeric))))
        cats = np.zeros((_N_RANDOM, len(enc.n_choices)), dtype=int)
        for j, k in enumerate(enc.n_choices):
            cats[:, j] = self.rng.integers(k, size=_N_RANDOM)
        local_u, local_cats = self._split(np.repeat(best, _N_LOCAL, axis=0))
        # Mixed step sizes: small ones polish a continuous optimum, large ones reach the next cell
        # of a coarse INTEGER or DISCRETE parameter.
        steps = self.rng.choice(_LOCAL_STEPS, size=(len(local_u), 1))
        local_u = enc.snap(local_u + steps * self.rng.standard_normal(local_u.shape))
        for j, k in enumerate(enc.n_choices):
            flip = self.rng.random(len(local_cats)) < _FLIP
            local_cats[flip, j] = self.rng.integers(k, size=int(flip.sum()))
        return np.vstack([self._join(u, cats), self._join(local_u, local_cats)])

    def _refine(self, gp: GaussianProcess, starts: np.ndarray) -> np.ndarray:
        """Local search on the numeric coordinates around each start (categories held fixed).

        Rounds of Gaussian steps of shrinking size, keeping the better point per start; each step
        is snapped to valid values. Vectorised: a few thousand EI evaluations cost less than one
        scipy minimize call per start.
        """
        enc, d = self._encoder, len(self._encoder.numeric)
        best = starts.copy()
        if d == 0:
            return best
        best_score = gp.log_ei(best)
        for step in _REFINE_STEPS:
            trial = np.repeat(best, _REFINE_PER_STEP, axis=0)
            trial[:, :d] = enc.snap(trial[:, :d] + step * self.rng.standard_normal((len(trial), d)))
            scores = gp.log_ei(trial).reshape(len(best), _REFINE_PER_STEP)
            pick = scores.argmax(axis=1)
            better = scores[np.arange(len(best)), pick] > best_score
            best[better] = trial.reshape(len(best), _REFINE_PER_STEP, -1)[np.arange(len(best)), pick][better]
            best_score = np.maximum(best_score, scores.max(axis=1))
        return best

    # -- encoding: numeric unit coordinates, then one-hot blocks --------------------------------

    def _to_x(self, configs: list[dict[str, Any]]) -> np.ndarray:
        return self._join(*self._encoder.encode(configs))

    def _join(self, u: np.ndarray, cats: np.ndarray) -> np.ndarray:
        blocks = [u] + [np.eye(k)[cats[:, j]] for j, k in enumerate(self._encoder.n_choices)]
        return np.hstack(blocks)

    def _split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of ``_join``: numeric coordinates and category indices (argmax of each block)."""
        d = len(self._encoder.numeric)
        cats = np.zeros((len(x), len(self._encoder.n_choices)), dtype=int)
        offset = d
        for j, k in enumerate(self._encoder.n_choices):
            cats[:, j] = np.argmax(x[:, offset : offset + k], axis=1)
            offset += k
        return x[:, :d].copy(), cats

    def _from_x(self, point: np.ndarray) -> dict[str, Any]:
        u, cats = self._split(point[None])
        return self._encoder.decode(u[0], cats[0])


def _one_blas_thread() -> Callable[[], AbstractContextManager[Any]]:
    """A context factory limiting BLAS to one thread (no-op without threadpoolctl).

    The matrices are at most ``max_observations`` wide, where threads gain little, and the driver
    shares the machine with busy workers: measured on 2 cores under load, OpenBLAS's threads made
    a suggestion at 1000 results take over 1 s instead of about 0.15 s.
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return contextlib.nullcontext
    controller = ThreadpoolController()  # inspecting the loaded libraries once, not per suggestion
    return lambda: controller.limit(limits=1, user_api="blas")


def _cap(losses: np.ndarray, cap: int) -> np.ndarray:
    """Indices of at most ``cap`` observations: the best ``cap // 2`` and the most recent others."""
    n = len(losses)
    if n <= cap:
        return np.arange(n)
    best = np.argsort(losses, kind="stable")[: cap // 2]
    rest = np.setdiff1d(np.arange(n), best)
    return np.sort(np.concatenate([best, rest[-(cap - len(best)) :]]))


def _warp(losses: np.ndarray) -> np.ndarray:
    """Losses as the GP sees them: the worse half squashed logarithmically, then standardised.

    A few terrible results (a diverged run, Branin's 300 next to its 0.4) would otherwise
    dominate the variance, so the GP would model the bad region and treat parameters that matter
    only near the optimum as irrelevant. Above the median m, ``y -> m + s * log1p((y - m) / s)``
    with ``s = m - best``: continuous, increasing, identity on the better half. Measured on Branin,
    Hartmann6 and a 4-d mixed function (bench/optimizers.py), it never hurt and fixed the last.
    """
    median, best = float(np.median(losses)), float(losses.min())
    scale = median - best or float(losses.max() - best) or 1.0
    worse = losses > median
    y = losses.copy()
    y[worse] = median + scale * np.log1p((losses[worse] - median) / scale)
    return (y - y.mean()) / (y.std() or 1.0)
