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

import importlib
from typing import Any

#: Public names and the module that holds each; imported on first use, so that ``gpsim --help`` (which registers
#: the ``calibrate`` command) loads no pandas, scikit-learn or matplotlib.
_LAZY = {
    "CalibrationFile": "gpsim.calibrate.targets",
    "Target": "gpsim.calibrate.targets",
    "load": "gpsim.calibrate.targets",
    "Ensemble": "gpsim.calibrate.ensemble",
    "run_ensemble": "gpsim.calibrate.ensemble",
}

__all__ = ["CalibrationFile", "Ensemble", "Target", "calibrate", "load", "run_ensemble"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gpsim.calibrate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def calibrate(*args, **kwargs):
    """Run a calibration into a folder (see :func:`gpsim.calibrate.waves.calibrate`)."""
    from gpsim.calibrate.waves import calibrate as _run

    return _run(*args, **kwargs)
