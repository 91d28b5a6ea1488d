"""One Gaussian-process emulator per target, and implausibility (history matching).

Each emulator is a scikit-learn ``GaussianProcessRegressor`` on parameters scaled to the unit cube: a constant
times an anisotropic squared-exponential kernel (one length scale per parameter) plus a white-noise term for the
run-to-run variation of a stochastic model. The implausibility of a parameter setting ``x`` for a target with
observed value ``z`` is::

    I(x) = |z - E[f(x)]| / sqrt(V_emulator(x) + V_runs + V_observation + V_discrepancy)

and ``x`` is ruled out when the largest ``I(x)`` over the targets exceeds the cut-off (3; Pukelsheim's three
sigma rule covers any unimodal distribution with 95% probability).

Fitting is the slow part of a wave (the log marginal likelihood and its gradient over a few hundred runs, tens of
times per optimiser start). Three choices keep it short without changing what is fitted:

* The final fit on all runs starts from the hyperparameters the held-out check fitted on 80% of them, and tries
  the random restarts only when that check was poor (held-out R^2 below :data:`GOOD_R2` or 95% coverage below
  :data:`GOOD_COVERAGE`). On the recorded England calibration the restarts never raised the likelihood of a target
  that passed the check; they are kept where the surface is rough.
* Linear algebra runs on one thread per fit: the matrices are a few hundred rows, too small for threaded BLAS,
  whose threads spin against each other and other processes on a busy machine (2-3 times the CPU time).
* :func:`fit_many` fits the targets in parallel processes (joblib). Every fit is seeded and single-threaded, so
  the emulators are the same bit for bit whether fitted serially or in parallel.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

#: Fewest usable runs an emulator is fitted on.
MIN_RUNS = 8
#: Candidate points predicted at once (bounds memory: chunk x training runs).
CHUNK = 4_096
#: Random optimiser restarts of the final fit when the held-out check is poor.
RESTARTS = 2
#: A held-out check at or above both of these is good: the final fit needs no random restarts.
GOOD_R2 = 0.9
GOOD_COVERAGE = 0.85
#: Fewest runs for which :func:`fit_many` uses worker processes.
PARALLEL_MIN_RUNS = 100


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
        with _one_thread():
            for start in range(0, len(x), CHUNK):
                m, s = self.gp.predict(x[start : start + CHUNK], return_std=True)
                means.append(m)
                variances.append(np.maximum(s**2 - self.noise_var, 0.0))
        return np.concatenate(means), np.concatenate(variances)

    def implausibility(self, x: np.ndarray, observed: float, variance: float) -> np.ndarray:
        """``I(x)`` of this target at unit-cube points ``x`` (``variance``: observation plus discrepancy)."""
        mean, var = self.predict(x)
        return np.abs(observed - mean) / np.sqrt(var + self.noise_var + variance)


def _one_thread():
    """BLAS and OpenMP limited to one thread for the block (see the module's note on speed)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def _gp(d: int, seed: int, restarts: int, start=None):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.full(d, 0.3), (1e-2, 1e2)) + WhiteKernel(0.05, (1e-6, 1.0))
    if start is not None:  # same kernel and bounds, first optimiser start at these hyperparameters
        kernel = kernel.clone_with_theta(start)
    return GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=restarts, random_state=seed)


def _fit_gp(x: np.ndarray, y: np.ndarray, seed: int, restarts: int, start=None):
    gp = _gp(x.shape[1], seed, restarts, start)
    with warnings.catch_warnings(), _one_thread():  # a length scale at its bound is information, not an error
        warnings.simplefilter("ignore")
        gp.fit(x, y)
    noise = float(gp.kernel_.k2.noise_level) * float(np.std(y)) ** 2
    return gp, noise


def fit(target: str, x: np.ndarray, y: np.ndarray, seed: int = 0, holdout: float = 0.2) -> Emulator:
    """Fit an emulator on unit-cube inputs ``x`` and outputs ``y`` (NaN outputs are dropped).

    Diagnostics come from a held-out share of the runs before the final fit on all of them: R^2 of the
    held-out predictions, the share of held-out runs inside the 95% predictive interval (about 0.95 for a good
    emulator), the fitted length scales (short = the output depends strongly on that parameter), the random
    optimiser restarts the final fit tried and its time.
    """
    _require_sklearn()
    t0 = time.perf_counter()
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
    start, restarts = None, RESTARTS
    if len(train) >= MIN_RUNS:
        gp, noise = _fit_gp(x[train], y[train], seed, restarts=0)  # a check of the method, not the emulator used
        with _one_thread():
            m, s = gp.predict(x[test], return_std=True)
        resid = y[test] - m
        denom = float(np.sum((y[test] - y[test].mean()) ** 2))
        diag["holdout_runs"] = int(n_test)
        diag["holdout_r2"] = r2 = float(1 - np.sum(resid**2) / denom) if denom > 0 else math.nan
        diag["holdout_coverage95"] = coverage = float(np.mean(np.abs(resid) <= 1.96 * s))
        start = gp.kernel_.theta
        if r2 >= GOOD_R2 and coverage >= GOOD_COVERAGE:
            restarts = 0
    gp, noise = _fit_gp(x, y, seed, restarts, start)
    diag["restarts"] = restarts
    diag["run_sd"] = math.sqrt(noise)
    diag["length_scales"] = [float(v) for v in np.atleast_1d(gp.kernel_.k1.k2.length_scale)]
    diag["fit_seconds"] = round(time.perf_counter() - t0, 2)
    return Emulator(target, n, gp=gp, noise_var=noise, diagnostics=diag)


def fit_many(
    outputs: dict[str, np.ndarray],
    x: np.ndarray,
    seed: int = 0,
    workers: int = 1,
    expected_seconds: dict[str, float] | None = None,
) -> dict[str, Emulator]:
    """:func:`fit` for each target's outputs at the same inputs ``x``, in up to ``workers`` processes.

    The result does not depend on ``workers``: each fit is seeded and single-threaded wherever it runs. Waves of
    fewer than :data:`PARALLEL_MIN_RUNS` runs are fitted in this process (starting the worker processes would
    take longer than the fits). ``expected_seconds`` (e.g. the previous wave's fitting times) sends the slowest
    fits out first, so that no process is left with a long one at the end.
    """
    _require_sklearn()
    names = list(outputs)
    workers = max(1, min(workers, len(names)))
    if workers == 1 or len(x) < PARALLEL_MIN_RUNS:
        return {name: fit(name, x, outputs[name], seed=seed) for name in names}
    from joblib import Parallel, delayed

    expected = expected_seconds or {}
    order = sorted(names, key=lambda name: -expected.get(name, 0.0))  # stable: ties keep the targets' order
    fitted = Parallel(n_jobs=workers, backend="loky", batch_size=1)(
        delayed(fit)(name, x, outputs[name], seed=seed) for name in order
    )
    by_name = dict(zip(order, fitted, strict=True))
    return {name: by_name[name] for name in names}
