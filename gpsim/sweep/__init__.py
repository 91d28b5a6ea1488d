"""Batch experiments and parameter sweeps (``gpsim sweep``; docs/SWEEPS.md).

:mod:`~gpsim.sweep.spec` reads and checks experiment files, :mod:`~gpsim.sweep.designs` makes the design
points, :mod:`~gpsim.sweep.seeds` gives every run its seed, :mod:`~gpsim.sweep.engine` runs them (serially or
on Dask), :mod:`~gpsim.sweep.store` writes Parquet part files and the manifest, and :mod:`~gpsim.sweep.analyze`
computes sensitivity indices and the report.
"""

from gpsim.sweep.spec import DESIGNS, Experiment, load

__all__ = ["DESIGNS", "Experiment", "load", "run_sweep"]


def run_sweep(*args, **kwargs):
    """Run an experiment into a folder (see :func:`gpsim.sweep.engine.run_sweep`)."""
    from gpsim.sweep.engine import run_sweep as _run

    return _run(*args, **kwargs)
