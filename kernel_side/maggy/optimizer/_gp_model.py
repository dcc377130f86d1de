"""Gaussian-process regression and expected improvement, for :mod:`maggy.optimizer.gp`.

Imports scipy at module level: gp.py imports this module only when a GP is set up, so neither
``import maggy`` nor ``get_optimizer('gp')`` pays for scipy.

Model: zero-mean GP on standardised losses, Matern-5/2 kernel with one lengthscale per input
dimension (ARD), signal variance and Gaussian noise. Hyperparameters maximise the marginal
likelihood plus weak log-normal priors (they keep a 10-point fit from collapsing to zero
lengthscales or pure noise), by L-BFGS-B with the analytic gradient.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg, optimize, special

_SQRT5 = math.sqrt(5.0)
_JITTER = 1e-8
# log-space bounds and prior centres (mean, sd) of lengthscale, signal variance and noise variance
_BOUNDS_LS, _PRIOR_LS = (math.log(1e-2), math.log(20.0)), (math.log(0.5), 1.5)
_BOUNDS_SF, _PRIOR_SF = (math.log(1e-2), math.log(1e2)), (0.0, 2.0)
_BOUNDS_SN, _PRIOR_SN = (math.log(1e-6), math.log(1.0)), (math.log(1e-3), 3.0)


def _matern(x1: np.ndarray, x2: np.ndarray, ls: np.ndarray, sf2: float) -> tuple[np.ndarray, np.ndarray]:
    """Kernel matrix and its ``r`` (scaled distance), for inputs ``(n1, d)`` and ``(n2, d)``."""
    a, b = x1 / ls, x2 / ls
    sq = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T
    r = np.sqrt(np.maximum(sq, 0.0))
    return sf2 * (1 + _SQRT5 * r + 5.0 / 3.0 * r**2) * np.exp(-_SQRT5 * r), r


class GaussianProcess:
    """A GP fitted to inputs ``x`` ``(n, d)`` in the unit cube and losses ``y`` ``(n,)``.

    ``y`` must be standardised by the caller (mean 0, sd 1): the priors assume that scale.
    ``theta`` (log lengthscales, log signal variance, log noise variance) is fitted unless given:
    from the previous fit's ``theta`` (``warm_start``) and/or from the priors' centres
    (``cold_start``; forced when there is no warm start), keeping the better optimum. ``predict`` returns the
    posterior mean and standard deviation; ``log_ei`` the log expected improvement over the best
    observed loss (lower is better).
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        theta: np.ndarray | None = None,
        warm_start: np.ndarray | None = None,
        cold_start: bool = True,
    ) -> None:
        self.x, self.y = x, y
        self.theta = theta if theta is not None else self._fit(warm_start, cold_start)
        ls, sf2, sn2 = self._unpack(self.theta)
        k, _ = _matern(x, x, ls, sf2)
        self._chol = linalg.cholesky(k + (sn2 + _JITTER) * np.eye(len(x)), lower=True)
        self._alpha = linalg.cho_solve((self._chol, True), self.y)
        self.best = float(self.y.min())

    def with_lies(self, x_extra: np.ndarray) -> GaussianProcess:
        """The same hyperparameters conditioned also on ``x_extra`` at the best loss (constant liar).

        Lying the best value keeps ``best`` (the EI target) unchanged and pulls the expected
        improvement near each pending point down to about zero, so the next suggestion goes elsewhere.
        """
        if len(x_extra) == 0:
            return self
        lies = np.full(len(x_extra), self.best)
        return GaussianProcess(np.vstack([self.x, x_extra]), np.append(self.y, lies), theta=self.theta)

    def predict(self, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ls, sf2, _ = self._unpack(self.theta)
        ks, _ = _matern(xq, self.x, ls, sf2)
        mean = ks @ self._alpha
        v = linalg.solve_triangular(self._chol, ks.T, lower=True)
        var = np.maximum(sf2 - (v**2).sum(0), 1e-12)
        return mean, np.sqrt(var)

    def log_ei(self, xq: np.ndarray) -> np.ndarray:
        mean, sd = self.predict(xq)
        z = (self.best - mean) / sd
        return np.log(sd) + _log_h(z)

    # -- fitting --------------------------------------------------------------------------------

    def _unpack(self, theta: np.ndarray) -> tuple[np.ndarray, float, float]:
        return np.exp(theta[:-2]), math.exp(theta[-2]), math.exp(theta[-1])

    def _fit(self, warm_start: np.ndarray | None, cold_start: bool) -> np.ndarray:
        d = self.x.shape[1]
        bounds = [_BOUNDS_LS] * d + [_BOUNDS_SF, _BOUNDS_SN]
        starts = []
        if warm_start is not None and len(warm_start) == d + 2:
            starts.append(warm_start)
        if cold_start or not starts:
            starts.append(np.array([_PRIOR_LS[0]] * d + [_PRIOR_SF[0], _PRIOR_SN[0]]))
        best_theta, best_value = starts[0], math.inf
        for start in starts:
            res = optimize.minimize(
                self._objective, start, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 50}
            )
            if res.fun < best_value:
                best_theta, best_value = res.x, float(res.fun)
        return np.asarray(best_theta)

    def _objective(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log marginal likelihood minus log prior, and its gradient in theta."""
        x, y, n = self.x, self.y, len(self.y)
        ls, sf2, sn2 = self._unpack(theta)
        k, r = _matern(x, x, ls, sf2)
        try:
            chol = linalg.cholesky(k + (sn2 + _JITTER) * np.eye(n), lower=True)
        except linalg.LinAlgError:
            return 1e25, np.zeros_like(theta)
        alpha = linalg.cho_solve((chol, True), y)
        nll = 0.5 * y @ alpha + np.log(np.diag(chol)).sum() + 0.5 * n * math.log(2 * math.pi)
        inv, _ = linalg.lapack.dpotri(chol, lower=True)  # K^-1 from the factor: half a solve's cost
        inv = np.tril(inv) + np.tril(inv, -1).T
        w = inv - np.outer(alpha, alpha)  # dnll = tr(w dK) / 2
        # dK/dlog(ls_i) = sf2 * 5/3 * (1 + sqrt5 r) exp(-sqrt5 r) * (x_ai - x_bi)^2 / ls_i^2
        a = w * (sf2 * 5.0 / 3.0 * (1 + _SQRT5 * r) * np.exp(-_SQRT5 * r))
        xs = x / ls
        sq_dist_terms = 2 * (a.sum(1) @ xs**2) - 2 * (xs * (a @ xs)).sum(0)
        grad = np.concatenate([0.5 * sq_dist_terms, [0.5 * (w * k).sum(), 0.5 * sn2 * np.trace(w)]])
        prior, prior_grad = _log_normal_penalty(theta, len(ls))
        return float(nll + prior), grad + prior_grad


def _log_normal_penalty(theta: np.ndarray, d: int) -> tuple[float, np.ndarray]:
    centres = np.array([_PRIOR_LS[0]] * d + [_PRIOR_SF[0], _PRIOR_SN[0]])
    sds = np.array([_PRIOR_LS[1]] * d + [_PRIOR_SF[1], _PRIOR_SN[1]])
    dev = (theta - centres) / sds
    return float(0.5 * (dev**2).sum()), dev / sds


def _log_h(z: np.ndarray) -> np.ndarray:
    """log(z * Phi(z) + phi(z)), stable for very negative z (where EI underflows but still ranks)."""
    out = np.empty_like(z)
    ok = z > -6
    zo = z[ok]
    out[ok] = np.log(
        np.maximum(zo * special.ndtr(zo) + np.exp(-0.5 * zo**2) / math.sqrt(2 * math.pi), 1e-300)
    )
    zt = z[~ok]  # h(z) ~ phi(z) / z^2 for z -> -inf
    out[~ok] = -0.5 * zt**2 - 0.5 * math.log(2 * math.pi) - 2 * np.log(-zt)
    return out
