"""One Gaussian-process emulator per target, and implausibility (history matching).

Each emulator is a scikit-learn ``GaussianProcessRegressor`` on parameters scaled to the unit cube: a constant
times an anisotropic squared-exponential kernel (one length scale per parameter) plus a white-noise term for the
run-to-run variation of a stochastic model. The implausibility of a parameter setting ``x`` for a target with
observed value ``z`` is::

    I(x) = |z - E[f(x)]| / sqrt(V_emulator(x) + V_runs + V_observation + V_discrepancy)

and ``x`` is ruled out when the largest ``I(x)`` over the targets exceeds the cut-off (3; Pukelsheim's three
sigma rule covers any unimodal distribution with 95% probability).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

#: Fewest usable runs an emulator is fitted on.
MIN_RUNS = 8
#: Candidate points predicted at once (bounds memory: chunk x training runs).
CHUNK = 4_096


def _require_sklearn():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        from gpsim.errors import ExperimentError

        raise ExperimentError("calibration needs scikit-learn: pip install 'gpsim[calibrate]'") from None


@dataclass
class Emulator:
    """A fitted emulator of one target's output (or a constant when every run gave the same value)."""

    target: str
    n_train: int
    gp: object | None = None
    constant: float = math.nan
    noise_var: float = 0.0
    diagnostics: dict = field(default_factory=dict)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Emulator mean and emulator variance (without the run-to-run noise) at unit-cube points ``x``."""
        if self.gp is None:
            return np.full(len(x), self.constant), np.zeros(len(x))
        means, variances = [], []
        for start in range(0, len(x), CHUNK):
            m, s = self.gp.predict(x[start : start + CHUNK], return_std=True)
            means.append(m)
            variances.append(np.maximum(s**2 - self.noise_var, 0.0))
        return np.concatenate(means), np.concatenate(variances)

    def implausibility(self, x: np.ndarray, observed: float, variance: float) -> np.ndarray:
        mean, var = self.predict(x)
        return np.abs(observed - mean) / np.sqrt(var + self.noise_var + variance)


def _gp(d: int, seed: int, restarts: int):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.full(d, 0.3), (1e-2, 1e2)) + WhiteKernel(0.05, (1e-6, 1.0))
    return GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=restarts, random_state=seed)


def _fit_gp(x: np.ndarray, y: np.ndarray, seed: int, restarts: int = 2):
    gp = _gp(x.shape[1], seed, restarts)
    with warnings.catch_warnings():  # a length scale at its bound is information, not an error
        warnings.simplefilter("ignore")
        gp.fit(x, y)
    noise = float(gp.kernel_.k2.noise_level) * float(np.std(y)) ** 2
    return gp, noise


def fit(target: str, x: np.ndarray, y: np.ndarray, seed: int = 0, holdout: float = 0.2) -> Emulator:
    """Fit an emulator on unit-cube inputs ``x`` and outputs ``y`` (NaN outputs are dropped).

    Diagnostics come from a held-out share of the runs before the final fit on all of them: R^2 of the
    held-out predictions, the share of held-out runs inside the 95% predictive interval (about 0.95 for a good
    emulator), and the fitted length scales (short = the output depends strongly on that parameter).
    """
    _require_sklearn()
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(y)
    if n < MIN_RUNS:
        return Emulator(target, n, diagnostics={"status": f"not emulated: only {n} runs gave a value"})
    if np.ptp(y) == 0:
        return Emulator(target, n, constant=float(y[0]), diagnostics={"status": "constant output"})
    diag: dict = {"status": "ok"}
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_test = max(2, int(round(n * holdout)))
    test, train = order[:n_test], order[n_test:]
    if len(train) >= MIN_RUNS:
        gp, noise = _fit_gp(x[train], y[train], seed, restarts=0)  # a check of the method, not the emulator used
        m, s = gp.predict(x[test], return_std=True)
        resid = y[test] - m
        denom = float(np.sum((y[test] - y[test].mean()) ** 2))
        diag["holdout_runs"] = int(n_test)
        diag["holdout_r2"] = float(1 - np.sum(resid**2) / denom) if denom > 0 else math.nan
        diag["holdout_coverage95"] = float(np.mean(np.abs(resid) <= 1.96 * s))
    gp, noise = _fit_gp(x, y, seed)
    diag["run_sd"] = math.sqrt(noise)
    diag["length_scales"] = [float(v) for v in np.atleast_1d(gp.kernel_.k1.k2.length_scale)]
    return Emulator(target, n, gp=gp, noise_var=noise, diagnostics=diag)
