"""Ensembles over a calibration's posterior: K draws, each with its own seed, summarised as bands.

::

    ens = gpsim.run(posterior="calibration/calibrate-england", samples=50, seed=1)
    ens.bands                       # per month and output: p05, median, p95 over the draws
    ens.band("share_practices_in_org")
    ens.members[0]                  # each draw's Results
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gpsim.errors import ExperimentError, GpsimError, one_line

#: Largest calibration record and posterior read (kilobytes and a few MB when written by gpsim calibrate).
MAX_RECORD_BYTES = 64 << 20
MAX_DRAWS_BYTES = 1 << 30

#: The band an ensemble reports: 90% (5th to 95th percentile) around the median.
QUANTILES = {"p05": 0.05, "median": 0.5, "p95": 0.95}


@dataclass
class Ensemble:
    """Runs of K posterior draws of one calibration.

    Attributes:
        members: each draw's :class:`gpsim.Results`, in draw order.
        draws: the parameter values of each draw (one row per member) with its seed.
        bands: one row per month and output: ``step``, ``date``, ``output``, ``p05``, ``median``, ``p95``.
        posterior: the calibration folder the draws came from.
    """

    members: list
    draws: pd.DataFrame
    bands: pd.DataFrame
    posterior: str

    def band(self, output: str) -> pd.DataFrame:
        """One output's band: ``step``, ``date``, ``p05``, ``median``, ``p95``."""
        sel = self.bands[self.bands["output"] == output]
        if sel.empty:
            raise GpsimError(f"unknown output {output!r}; the ensemble has {', '.join(self.outputs)}")
        return sel.drop(columns="output").reset_index(drop=True)

    @property
    def outputs(self) -> list[str]:
        return list(dict.fromkeys(self.bands["output"]))

    def summary_table(self) -> pd.DataFrame:
        """Median [5th-95th percentile] of the key figures at years 0, 2, 5 and the end."""
        steps = self.bands["step"].unique()
        last = int(steps.max())
        months = sorted({m for m in (0, 24, 60) if m < last} | {last})
        names = {
            "n_practices_open": "practices open",
            "share_practices_in_org": "in an organisation",
            "n_orgs": "organisations",
            "relationships_per_hospital_mean": "relationships / hospital",
            "share_population_committable": "population committable",
            "gp_fte_per_1000": "GP FTE per 1,000",
        }
        rows = {}
        for col, label in names.items():
            if col not in self.outputs:
                continue
            b = self.band(col).set_index("step")
            pct = col.startswith("share_")
            fmt = (lambda v: f"{v:.0%}") if pct else (lambda v: f"{v:,.3g}" if abs(v) < 10 else f"{v:,.0f}")
            rows[label] = [f"{fmt(b.loc[m, 'median'])} [{fmt(b.loc[m, 'p05'])}-{fmt(b.loc[m, 'p95'])}]" for m in months]
        return pd.DataFrame(rows, index=[f"year {m / 12:g}" for m in months])


def read_posterior(folder: str | os.PathLike, flag: str = "--posterior") -> tuple[pd.DataFrame, dict[str, Any]]:
    """A calibration folder's posterior draws and its record (``calibration.json``), checked.

    A folder that is not a finished calibration (no record, a record or draws of the wrong shape, a pipe or a
    device in place of a file, weights that are not finite and non-negative) is refused with one line.
    """
    import io

    from gpsim.data.files import read_limited

    root = Path(folder)
    meta_path, post_path = root / "calibration.json", root / "posterior.parquet"
    where = f"{flag} {folder}"  # messages name the option the folder came from
    if not root.is_dir():
        raise ExperimentError(f"{where}: no such folder")
    if not meta_path.exists() or not post_path.exists():
        raise ExperimentError(f"{where}: not a finished calibration (no calibration.json/posterior)")
    try:
        meta = json.loads(read_limited(meta_path, MAX_RECORD_BYTES, "calibration record", ExperimentError))
        draws = pd.read_parquet(io.BytesIO(read_limited(post_path, MAX_DRAWS_BYTES, "posterior", ExperimentError)))
    except GpsimError as err:
        raise ExperimentError(f"{where}: {err}") from None
    except (OSError, ValueError, RecursionError) as err:
        raise ExperimentError(f"{where}: cannot read the calibration: {one_line(err)[:300]}") from None
    record = meta.get("calibration") if isinstance(meta, dict) else None
    if (
        not isinstance(record, dict)
        or meta.get("complete") is not True
        or not isinstance(record.get("scenario"), str)
        or not isinstance(record.get("fixed", {}), dict)
    ):
        raise ExperimentError(f"{where}: calibration.json is not the record of a finished gpsim calibration")
    names = [c for c in draws.columns if c not in ("max_implausibility", "weight")]
    bad = [c for c in names if not pd.api.types.is_numeric_dtype(draws[c])]
    if not names or bad:
        raise ExperimentError(f"{where}: posterior.parquet: {bad[0] if bad else 'no parameter'} column of draws")
    if "weight" in draws:
        w = draws["weight"].to_numpy(float) if pd.api.types.is_numeric_dtype(draws["weight"]) else np.array([np.nan])
        if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
            raise ExperimentError(f"{where}: posterior.parquet: weights must be finite, >= 0 and not all 0")
    return draws, meta


def run_ensemble(
    posterior: str | os.PathLike,
    samples: int = 20,
    params=None,
    seed: int = 0,
    *,
    progress: Callable[[int, int], None] | None = None,
    **overrides: Any,
) -> Ensemble:
    """Run ``samples`` posterior draws of a calibration, each with its own seed.

    Args:
        posterior: the calibration folder (``gpsim calibrate --out``).
        samples: how many draws (at most the number in ``posterior.parquet``; drawn without replacement).
        params: what the draws apply to; None uses the calibration's own scenario and fixed values.
        seed: picks the draws and seeds each run (``SeedSequence(seed, spawn_key=(draw,))``).
        progress: called as ``progress(done, samples)`` after each run.
        **overrides: parameter overrides applied on top (not to the calibrated parameters).
    """
    import gpsim
    from gpsim.params import Params, check_seed

    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ExperimentError(f"--samples {samples!r}: must be a whole number of at least 1")
    check_seed(seed)
    draws, meta = read_posterior(posterior)
    names = [c for c in draws.columns if c not in ("max_implausibility", "weight")]
    if samples > len(draws):
        raise ExperimentError(f"--samples {samples}: the posterior holds only {len(draws)} draws")
    if params is None:
        c = meta["calibration"]
        base = Params.from_mapping(c.get("fixed", {}), gpsim.scenario(c["scenario"]))
    else:
        base = gpsim.resolve_params(params)
    clash = sorted(set(overrides) & set(names))
    if clash:
        raise ExperimentError(f"{clash[0]}: is calibrated; an ensemble takes its values from the posterior")
    base = base.replace(**overrides) if overrides else base
    rng = np.random.default_rng(seed)
    weights = draws["weight"].to_numpy(float) if "weight" in draws else None
    pick = rng.choice(len(draws), size=samples, replace=False, p=None if weights is None else weights / weights.sum())
    from gpsim.region import region_key

    regions: dict[tuple, Any] = {}
    members, rows = [], []
    for i, row in enumerate(pick):
        values = {n: _py(draws.iloc[row][n]) for n in names}
        p = Params.from_mapping(values, base)
        key = region_key(p)
        if key not in regions:  # one region build, shared by every draw that does not change it
            regions[key] = gpsim.region_for(p)
        ss = np.random.SeedSequence(seed, spawn_key=(i,))
        members.append(gpsim.run(p, seed=ss, region=regions[key]))
        rows.append({"member": i, "posterior_row": int(row), "seed": seed, "spawn_key": i, **values})
        if progress is not None:
            progress(i + 1, samples)
    return Ensemble(members, pd.DataFrame(rows), bands(members), str(posterior))


def bands(members: list) -> pd.DataFrame:
    """Median and 90% band of every numeric ``steps`` column over ``members``, per month."""
    steps = [m.steps for m in members]
    base = steps[0]
    numeric = [c for c in base.columns if c not in ("step", "date") and pd.api.types.is_numeric_dtype(base[c])]
    stack = np.stack([s[numeric].to_numpy(float) for s in steps])  # members x months x outputs
    q = np.nanquantile(stack, list(QUANTILES.values()), axis=0)  # quantiles x months x outputs
    frames = []
    for j, col in enumerate(numeric):
        f = pd.DataFrame({"step": base["step"].to_numpy(), "date": base["date"].to_numpy(), "output": col})
        for k, name in enumerate(QUANTILES):
            f[name] = q[k, :, j]
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
