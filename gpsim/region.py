"""What the model starts from: practices, CCGs, hospitals, positions and peer relationships.

Both the synthetic generator (here) and the real-register loader (:mod:`gpsim.data`) return a
:class:`Region`; the model never knows which one it got. Helpers shared by both (hospital catchments,
peer edges) live here too.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from gpsim.errors import ParameterError


@dataclass(frozen=True, eq=False)
class Region:
    """A starting geography: per-practice arrays plus CCG and hospital tables.

    Attributes:
        name: human name of the area.
        practice_code: practice identifiers (e.g. ``A84002`` or ``P00017``), shape (N,).
        list_size: registered patients per practice, int64, shape (N,).
        x, y: positions in kilometres (OSGB eastings/northings / 1000 for real data), shape (N,).
        ccg: CCG index of each practice, shape (N,).
        hospital: hospital (catchment) index of each practice, shape (N,).
        ccg_code: code of each CCG, shape (C,).
        hospital_name: name of each hospital, shape (H,).
        hospital_xy: hospital positions (population-weighted catchment centres), shape (H, 2).
        peer_edges: undirected practice-practice edges ``(i, j)`` with ``i < j``, shape (E, 2).
        source: where the region came from (``synthetic`` or a file description).
        warnings: data-quality notes collected while building it (dropped rows and the like).
        register_sha256: SHA-256 of the register file's content for a real region ("" for a synthetic one):
            what identifies the data the region was built from (recorded in ``final.json`` and sweep manifests).
    """

    name: str
    practice_code: np.ndarray
    list_size: np.ndarray
    x: np.ndarray
    y: np.ndarray
    ccg: np.ndarray
    hospital: np.ndarray
    ccg_code: np.ndarray
    hospital_name: np.ndarray
    hospital_xy: np.ndarray
    peer_edges: np.ndarray
    source: str = "synthetic"
    warnings: tuple[str, ...] = field(default=())
    register_sha256: str = ""

    @property
    def n_practices(self) -> int:
        return len(self.list_size)

    @property
    def n_ccgs(self) -> int:
        return len(self.ccg_code)

    @property
    def n_hospitals(self) -> int:
        return len(self.hospital_name)

    @property
    def population(self) -> int:
        return int(self.list_size.sum())

    def ccg_xy(self) -> np.ndarray:
        """Population-weighted centre of each CCG, shape (C, 2)."""
        w = self.list_size.astype(float)
        c = self.n_ccgs
        tot = np.bincount(self.ccg, w, minlength=c)
        tot[tot == 0] = 1.0
        return np.column_stack(
            [np.bincount(self.ccg, w * self.x, minlength=c) / tot, np.bincount(self.ccg, w * self.y, minlength=c) / tot]
        )


# --- shared construction helpers ----------------------------------------------------------------


def peer_edges(x: np.ndarray, y: np.ndarray, ccg: np.ndarray, degree: int) -> np.ndarray:
    """Undirected peer edges from proximity and shared CCG.

    Each practice links to its ``degree - 1`` nearest practices in its own CCG and to its single nearest
    practice anywhere (which links neighbouring CCGs). Built with a k-d tree, so O(N log N).

    Returns:
        int64 array (E, 2) of unique pairs ``i < j``, sorted.
    """
    n = len(x)
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    pts = np.column_stack([x, y])
    pairs = []
    # nearest anywhere
    k_any = min(2, n)
    _, idx = cKDTree(pts).query(pts, k=k_any)
    pairs.append(np.column_stack([np.arange(n), idx[:, 1]]))
    # nearest within the CCG
    k_in = degree - 1
    order = np.argsort(ccg, kind="stable")
    bounds = np.flatnonzero(np.diff(ccg[order])) + 1
    for members in np.split(order, bounds):
        m = len(members)
        if m < 2:
            continue
        k = min(k_in, m - 1) + 1
        _, idx = cKDTree(pts[members]).query(pts[members], k=k)
        idx = np.atleast_2d(idx)[:, 1:]
        src = np.repeat(members, idx.shape[1])
        pairs.append(np.column_stack([src, members[idx.ravel()]]))
    e = np.concatenate(pairs)
    e = np.sort(e, axis=1)
    e = e[e[:, 0] != e[:, 1]]
    return np.unique(e, axis=0).astype(np.int64)


def catchments(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, catchment: float, rng: np.random.Generator, iterations: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """Group practices into hospital catchments of about ``catchment`` patients.

    Population-weighted k-means (k = round(total / catchment), at least 1) seeded by weighted sampling, then
    each practice goes to its nearest centre. Deterministic for a given ``rng`` state.

    Returns:
        (hospital index per practice, centres array (H, 2)).
    """
    n = len(x)
    pts = np.column_stack([x, y]).astype(float)
    w = weight.astype(float)
    k = int(max(1, min(n, round(w.sum() / catchment))))
    # k-means++-style seeding, weighted by population
    centres = np.empty((k, 2))
    centres[0] = pts[rng.choice(n, p=w / w.sum())]
    d2 = ((pts - centres[0]) ** 2).sum(1)
    for c in range(1, k):
        p = w * d2
        p = p / p.sum() if p.sum() > 0 else w / w.sum()
        centres[c] = pts[rng.choice(n, p=p)]
        d2 = np.minimum(d2, ((pts - centres[c]) ** 2).sum(1))
    for _ in range(iterations):
        _, label = cKDTree(centres).query(pts)
        tot = np.bincount(label, w, minlength=k)
        keep = tot > 0
        cx = np.bincount(label, w * pts[:, 0], minlength=k)
        cy = np.bincount(label, w * pts[:, 1], minlength=k)
        centres[keep] = np.column_stack([cx[keep] / tot[keep], cy[keep] / tot[keep]])
    _, label = cKDTree(centres).query(pts)
    # drop empty catchments and renumber
    used = np.unique(label)
    remap = np.full(k, -1)
    remap[used] = np.arange(len(used))
    return remap[label].astype(np.int64), centres[used]


# --- the synthetic generator ---------------------------------------------------------------------


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
