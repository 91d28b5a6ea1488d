"""The experiment schema as a Python API (the same one ``gpsim sweep`` reads from TOML files)::

    from gpsim.experiment import Experiment, load

    exp = load("experiments/numbers-game.toml")        # or Experiment(name=..., vary={...}, ...)
    outcome = exp.run("sweeps/numbers-game", workers=2)

See docs/SWEEPS.md for every field.
"""

from gpsim.sweep.spec import DESIGNS, Experiment, RunSpec, load

__all__ = ["DESIGNS", "Experiment", "RunSpec", "load"]
