"""Calibration by history matching (``gpsim calibrate``; docs/CALIBRATION.md).

:mod:`~gpsim.calibrate.targets` reads a targets file (what is observed, how uncertain it is, which model output
it is compared with, train or test period) and measures those outputs on a run; :mod:`~gpsim.calibrate.design`
draws space-filling designs over the part of parameter space not yet ruled out; :mod:`~gpsim.calibrate.emulator`
fits one Gaussian-process emulator per target and computes implausibility; :mod:`~gpsim.calibrate.waves` runs the
waves through the sweep engine and writes the outputs; :mod:`~gpsim.calibrate.report` writes ``report.html``;
:mod:`~gpsim.calibrate.ensemble` runs the model over posterior draws.

The model never imports this package. Only the emulator needs scikit-learn (``pip install 'gpsim[calibrate]'``).
"""

from __future__ import annotations

from gpsim.calibrate.ensemble import Ensemble, run_ensemble
from gpsim.calibrate.targets import CalibrationFile, Target, load

__all__ = ["CalibrationFile", "Ensemble", "Target", "calibrate", "load", "run_ensemble"]


def calibrate(*args, **kwargs):
    """Run a calibration into a folder (see :func:`gpsim.calibrate.waves.calibrate`)."""
    from gpsim.calibrate.waves import calibrate as _run

    return _run(*args, **kwargs)
