"""What the model starts from: practices, CCGs, hospitals, positions and peer relationships.

Both the synthetic generator (here) and the real-register loader (:mod:`gpsim.data`) return a
:class:`Region`; the model never knows which one it got. The type and the helpers shared by both (hospital
catchments, peer edges) live in :mod:`gpsim.geography`, re-exported here.
"""

from __future__ import annotations

import functools

import numpy as np

from gpsim.errors import ParameterError
from gpsim.geography import Region, catchments, peer_edges

__all__ = ["Region", "catchments", "from_params", "peer_edges", "region_key", "synthetic"]


def synthetic(
    n_practices: int = 180,
    n_ccgs: int = 5,
    mean_list_size: float = 7_300.0,
    list_size_sigma: float = 0.58,
    hospital_catchment: float = 300_000.0,
    peer_degree: int = 6,
    rng: np.random.Generator | int | None = 0,
) -> Region:
    """A synthetic region shared by every synthetic scenario (from ``baseline`` to ``england-2013``).

    CCG centres are scattered on a square whose area grows with the number of practices (about 1 km^2 per
    60 patients, close to England's average density); practices cluster around their CCG centre; list sizes
    are lognormal with the requested mean; hospitals are population-weighted catchments.
    """
    if n_ccgs > n_practices:
        raise ParameterError(f"parameter 'n_ccgs' = {n_ccgs} exceeds 'n_practices' = {n_practices}")
    rng = np.random.default_rng(rng)
    mu = np.log(mean_list_size) - list_size_sigma**2 / 2
    list_size = np.maximum(np.rint(rng.lognormal(mu, list_size_sigma, n_practices)), 50).astype(np.int64)
    side = np.sqrt(n_practices * mean_list_size / 60.0)  # km
    centres = rng.uniform(0, side, size=(n_ccgs, 2))
    # every CCG gets at least one practice; the rest spread in proportion to random CCG sizes
    share = rng.dirichlet(np.full(n_ccgs, 8.0))
    extra = rng.multinomial(n_practices - n_ccgs, share)
    ccg = np.repeat(np.arange(n_ccgs), extra + 1)
    spread = side / np.sqrt(n_ccgs) * 0.35
    xy = centres[ccg] + rng.normal(0, spread, size=(n_practices, 2))
    x, y = xy[:, 0], xy[:, 1]
    hospital, hxy = catchments(x, y, list_size, hospital_catchment, rng)
    edges = peer_edges(x, y, ccg, peer_degree)
    return Region(
        name=f"synthetic ({n_practices} practices, {n_ccgs} CCGs)",
        practice_code=np.array([f"P{i:05d}" for i in range(n_practices)]),
        list_size=list_size,
        x=x,
        y=y,
        ccg=ccg.astype(np.int64),
        hospital=hospital,
        ccg_code=np.array([f"C{c:03d}" for c in range(n_ccgs)]),
        hospital_name=np.array([f"Hospital {h + 1}" for h in range(len(hxy))]),
        hospital_xy=hxy,
        peer_edges=edges,
    )


def region_key(params) -> tuple:
    """What decides the starting region (runs sharing it share one region).

    For a real region this includes the SHA-256 of the register file's *content*, so an edited register is never
    served from the cache under its old name.
    """
    register = ""
    if params.region != "synthetic":
        from gpsim.data import region_register_sha256

        register = region_register_sha256(params.region)
    return (
        params.region,
        params.n_practices,
        params.n_ccgs,
        params.mean_list_size,
        params.list_size_sigma,
        params.hospital_catchment,
        params.peer_degree,
        params.region_seed,
        register,
    )


@functools.lru_cache(maxsize=16)
def _cached(key: tuple) -> Region:
    name, n, c, mean, sigma, catchment, degree, seed, register = key
    if name == "synthetic":
        return synthetic(n, c, mean, sigma, catchment, degree, np.random.default_rng(seed))
    from gpsim import data  # real data is loaded only when asked for

    region = data.load_region(name, catchment=catchment, peer_degree=degree, seed=seed)
    if region.register_sha256 != register:  # the file changed between hashing it and reading it
        from gpsim.errors import DataError

        raise DataError(f"region {name!r}: the register file changed while it was being read; try again")
    return region


def from_params(params) -> Region:
    """The region a :class:`~gpsim.params.Params` asks for: a deterministic function of its region parameters.

    ``region='synthetic'`` builds one from the synthetic-region parameters; anything else is looked up by the
    real-data loader (:func:`gpsim.data.load_region`). Regions are cached by :func:`region_key` (for real data,
    the register's content hash), so repeated runs share them.
    """
    return _cached(region_key(params))
