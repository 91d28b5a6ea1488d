"""Experimental designs: the rows of varied parameter values an experiment runs.

``grid`` (Cartesian product) and ``zip`` (lists side by side) are plain pandas; ``lhs``, ``sobol`` (Saltelli's
scheme) and ``morris`` (trajectories) are drawn by SALib from the experiment's root seed, so the same file gives
the same points everywhere; ``csv`` reads explicit points. Integer parameters are rounded after sampling.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gpsim.errors import ExperimentError
from gpsim.params import SPECS_BY_NAME

if TYPE_CHECKING:
    from gpsim.sweep.spec import Experiment


def make_design(exp: Experiment) -> pd.DataFrame:
    """The design rows of ``exp`` (one column per varied parameter), in design order."""
    kind = exp.design
    if kind == "grid":
        names = list(exp.vary)
        return pd.DataFrame(list(itertools.product(*exp.vary.values())), columns=names, dtype=object)
    if kind == "zip":
        return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in exp.vary.items()})
    if kind in ("lhs", "sobol", "morris"):
        return _typed(exp, sample(exp))
    raise ExperimentError(f"design {kind!r} has no generator")  # csv rows come from the file


def sample(exp: Experiment) -> np.ndarray:
    """The raw SALib sample matrix (rows x parameters) for a sampled design."""
    return sample_matrix(
        exp.design, exp.problem(), exp.samples, levels=exp.levels, second_order=exp.second_order, seed=exp.seed
    )


def sample_matrix(
    kind: str, problem: dict, samples: int, *, levels: int = 4, second_order: bool = False, seed: int = 0
) -> np.ndarray:
    """Draw a SALib sample: ``lhs`` (``latin``), ``sobol`` (Saltelli) or ``morris`` (trajectories)."""
    seed = int(seed) % (2**32)
    if kind == "lhs":
        from SALib.sample import latin

        return latin.sample(problem, samples, seed=seed)
    if kind == "sobol":
        import warnings

        from SALib.sample import sobol

        with warnings.catch_warnings():  # SALib warns when N is not a power of 2; the docs say to use one
            warnings.simplefilter("ignore")
            return sobol.sample(problem, samples, calc_second_order=second_order, seed=seed)
    if kind == "morris":
        from SALib.sample import morris

        return morris.sample(problem, samples, num_levels=levels, seed=seed)
    raise ExperimentError(f"design {kind!r} is not sampled")


def n_rows(exp: Experiment) -> int:
    """How many design rows a design has (before duplicate points are merged)."""
    d = len(exp.vary)
    if exp.design == "grid":
        return int(np.prod([len(v) for v in exp.vary.values()]))
    if exp.design == "zip":
        return len(next(iter(exp.vary.values())))
    if exp.design == "lhs":
        return exp.samples
    if exp.design == "sobol":
        return exp.samples * (2 * d + 2 if exp.second_order else d + 2)
    if exp.design == "morris":
        return exp.samples * (d + 1)
    return len(exp.design_rows())


def _typed(exp: Experiment, matrix: np.ndarray) -> pd.DataFrame:
    cols = {}
    for j, name in enumerate(exp.vary):
        spec = SPECS_BY_NAME[name]
        col = matrix[:, j]
        if spec.kind is int:
            lo, hi = exp.vary[name]
            cols[name] = pd.Series(np.clip(np.rint(col), lo, hi).astype(int), dtype=object).map(int)
        else:
            # 12 significant digits: the same point on every platform, and a readable point id
            cols[name] = pd.Series([float(f"{x:.12g}") for x in col], dtype=object)
    return pd.DataFrame(cols)
